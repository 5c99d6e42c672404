"""Tiny models and data for the trainer tests: a dummy SketchModel, a tensor dataset, pix2pix."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from sketchwidgets.models import build_model
from sketchwidgets.models.base import SketchModel


class TinyPairs(Dataset):
    """``n`` random sketch/photo pairs of side ``size``; item i depends only on (seed, i)."""

    def __init__(self, n: int = 16, size: int = 8, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.sketches = torch.rand(n, 1, size, size, generator=g) * 2 - 1
        self.photos = (self.sketches.repeat(1, 3, 1, 1) * 0.5).tanh()  # a learnable mapping
        self.class_names: list[str] = []

    def __len__(self) -> int:
        return len(self.sketches)

    def __getitem__(self, i: int) -> dict:
        return {
            "sketch": self.sketches[i],
            "photo": self.photos[i],
            "label": -1,
            "path": f"tiny://{i}",
        }


@dataclass(frozen=True)
class RegressorConfig:
    image_size: int = 8
    lr: float = 0.05
    nan_at: int = 0  # train_step call (1-based) whose loss is NaN; 0 = never
    dropout: float = 0.0


class Regressor(SketchModel):
    """The contract at its smallest: one conv mapping sketch -> photo, an L1 loss, Adam."""

    name = "regressor"
    config_class = RegressorConfig
    network_names = ("net",)

    def __init__(self, config: RegressorConfig | None = None) -> None:
        super().__init__(config)
        self.net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Dropout(self.config.dropout))
        self.calls = 0

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": torch.optim.Adam(self.net.parameters(), lr=self.config.lr)}

    def train_step(self, batch, optimizers):
        self.calls += 1
        optimizers["G"].zero_grad()
        loss = (self.net(batch["sketch"]) - batch["photo"]).abs().mean()
        if self.calls == self.config.nan_at:
            loss = loss * float("nan")
        loss.backward()
        optimizers["G"].step()
        return {"G/l1": loss.detach()}

    def validation_losses(self, batch):
        return {"val/l1": (self.net(batch["sketch"]) - batch["photo"]).abs().mean()}

    def generate_tensor(self, sketch, *, rng=None, label=None, z=None):
        return self.net(sketch).tanh()


@pytest.fixture
def tiny_data() -> TinyPairs:
    return TinyPairs()


@pytest.fixture
def regressor():
    """``regressor(**config)`` -> a seeded Regressor."""

    def make(**overrides) -> Regressor:
        torch.manual_seed(0)
        return Regressor(RegressorConfig(**overrides))

    return make


@pytest.fixture
def pix2pix():
    """``pix2pix(seed=0, **overrides)`` -> a tiny pix2pix (32 px, 8 filters)."""

    def make(seed: int = 0, **overrides):
        torch.manual_seed(seed)
        return build_model("pix2pix", **{"image_size": 32, "ngf": 8, "ndf": 8, **overrides})

    return make


@pytest.fixture(scope="session")
def embedded_train():
    from sketchwidgets.data.builtin import EmbeddedDataset

    return EmbeddedDataset(24, size=32, seed=0, val_fraction=0.25, workers=1)


@pytest.fixture(scope="session")
def embedded_val():
    from sketchwidgets.data.builtin import EmbeddedDataset

    return EmbeddedDataset(24, size=32, seed=0, split="val", val_fraction=0.25, workers=1)
