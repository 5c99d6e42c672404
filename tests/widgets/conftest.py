"""Small models and helpers for the widget tests (no browser, no training)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from sketchwidgets.models.base import SketchModel


@dataclass(frozen=True)
class EchoConfig:
    image_size: int = 32
    class_names: tuple[str, ...] = ()


class Echo(SketchModel):
    """Returns the sketch as an RGB image (tinted by the label, if any): output follows input."""

    name = "echo"
    config_class = EchoConfig

    def __init__(self, config: EchoConfig | None = None) -> None:
        super().__init__(config)
        self.weight = nn.Parameter(torch.zeros(1))

    def generate_tensor(self, sketch, *, rng=None, label=None, z=None):
        image = sketch.repeat(1, 3, 1, 1)
        if label is not None:
            image[:, 0] = -1.0 + 0.5 * label.float().view(-1, 1, 1)
        return image


class Labelled(Echo):
    """An Echo that insists on a class label (like SketchyGAN / EdgeGAN)."""

    name = "labelled"
    needs_label = True

    def __init__(self, config: EchoConfig | None = None) -> None:
        super().__init__(config or EchoConfig(class_names=("cat", "dog", "shoe")))


@dataclass(frozen=True)
class ClassEdgeConfig:
    image_size: int = 32
    class_names: tuple[str, ...] = ("apple", "ball", "mug")
    z_dim: int = 2


class ClassEdge(SketchModel):
    """Shaped like EdgeGAN: needs a class, draws z, and returns an image and an edge map.

    image: the sketch's ink, red channel = the class, green channel = z[0];
    edge: the sketch inverted (white lines on black).
    """

    name = "class_edge"
    config_class = ClassEdgeConfig
    needs_label = True
    output_names = ("image", "edge")

    def __init__(self, config: ClassEdgeConfig | None = None) -> None:
        super().__init__(config)
        self.weight = nn.Parameter(torch.zeros(1))

    @property
    def latent_dim(self) -> int:
        return self.config.z_dim

    def generate_tensor(self, sketch, *, rng=None, label=None, z=None):
        return self.generate_outputs(sketch, rng=rng, label=label, z=z)["image"]

    def generate_outputs(self, sketch, *, rng=None, label=None, z=None):
        z = self.latent_codes(sketch.shape[0], rng, z)
        image = sketch.repeat(1, 3, 1, 1)
        image[:, 0] = -1.0 + 0.5 * label.float().view(-1, 1, 1)
        image[:, 1] = z[:, :1, None].tanh()
        return {"image": image, "edge": -sketch.repeat(1, 3, 1, 1)}


class Broken(Echo):
    """A model whose generator raises."""

    name = "broken"

    def generate_tensor(self, sketch, *, rng=None, label=None, z=None):
        raise RuntimeError("generator exploded")


@pytest.fixture
def echo():
    return Echo()


@pytest.fixture
def labelled():
    return Labelled()


@pytest.fixture
def broken():
    return Broken()


@pytest.fixture
def class_edge():
    return ClassEdge()


@pytest.fixture
def tiny_pix2pix():
    """Two tiny pix2pix generators (32 px, ngf 8, ndf 8) with different weights."""
    from sketchwidgets.models import build_model

    torch.manual_seed(0)
    first = build_model("pix2pix", image_size=32, ngf=8, ndf=8)
    torch.manual_seed(1)
    second = build_model("pix2pix", image_size=32, ngf=8, ndf=8)
    return {"pix2pix_a": first, "pix2pix_b": second}
