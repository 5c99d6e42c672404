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
    num_classes: int = 3


class Echo(SketchModel):
    """Returns the sketch as an RGB image (tinted by the label, if any): output follows input."""

    name = "echo"
    config_class = EchoConfig

    def __init__(self, config: EchoConfig | None = None) -> None:
        super().__init__(config)
        self.weight = nn.Parameter(torch.zeros(1))

    def generate_tensor(self, sketch, *, generator=None, label=None):
        image = sketch.repeat(1, 3, 1, 1)
        if label is not None:
            image[:, 0] = -1.0 + 0.5 * label.float().view(-1, 1, 1)
        return image


class Labelled(Echo):
    """An Echo that insists on a class label (like SketchyGAN / EdgeGAN)."""

    name = "labelled"
    needs_label = True


class Broken(Echo):
    """A model whose generator raises."""

    name = "broken"

    def generate_tensor(self, sketch, *, generator=None, label=None):
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
def tiny_pix2pix():
    """Two tiny pix2pix generators (32 px, ngf 8, ndf 8) with different weights."""
    from sketchwidgets.models import build_model

    torch.manual_seed(0)
    first = build_model("pix2pix", image_size=32, ngf=8, ndf=8)
    torch.manual_seed(1)
    second = build_model("pix2pix", image_size=32, ngf=8, ndf=8)
    return {"pix2pix_a": first, "pix2pix_b": second}
