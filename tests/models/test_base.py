"""The contract's shared parts (models/base.py) on a toy class-conditional, two-output model:
labels by name or index, z, outputs, and label-aware evaluate() and SampleGrid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from sketchwidgets.eval.metrics import evaluate
from sketchwidgets.models.base import SketchModel
from sketchwidgets.train.callbacks import SampleGrid
from sketchwidgets.train.trainer import Trainer

CLASSES = ("apple", "ball", "mug")


@dataclass(frozen=True)
class ToyConfig:
    image_size: int = 16
    class_names: tuple[str, ...] = CLASSES
    z_dim: int = 3


class Toy(SketchModel):
    """Image = a flat colour per class (learned), plus 0.1 * z[:3]; edge = the sketch, negated."""

    name = "toy"
    config_class = ToyConfig
    network_names = ("colour",)
    needs_label = True
    output_names = ("image", "edge")

    def __init__(self, config: ToyConfig | None = None) -> None:
        super().__init__(config)
        self.colour = nn.Embedding(self.num_classes, 3)
        with torch.no_grad():
            self.colour.weight.copy_(torch.linspace(-0.6, 0.6, 3 * self.num_classes).view(-1, 3))

    @property
    def latent_dim(self) -> int:
        return self.config.z_dim

    def configure_optimizers(self):
        return {"G": torch.optim.SGD(self.parameters(), lr=0.1)}

    def train_step(self, batch, optimizers):
        optimizers["G"].zero_grad()
        image = self.colour(batch["label"])[:, :, None, None].expand_as(batch["photo"])
        loss = (image - batch["photo"]).abs().mean()
        loss.backward()
        optimizers["G"].step()
        return {"G/l1": loss.detach()}

    def generate_tensor(self, sketch, *, rng=None, label=None, z=None):
        return self.generate_outputs(sketch, rng=rng, label=label, z=z)["image"]

    def generate_outputs(self, sketch, *, rng=None, label=None, z=None):
        if label is None:
            raise AssertionError("the contract passes a label to a model that needs one")
        z = self.latent_codes(sketch.shape[0], rng, z)
        n, _, h, w = sketch.shape
        image = self.colour(label) + 0.1 * z[:, :3]
        return {
            "image": image[:, :, None, None].expand(n, 3, h, w),
            "edge": -sketch.expand(n, 3, h, w),
        }


class LabelledPairs(torch.utils.data.Dataset):
    """Photos flat in their class's colour, so only the right label reproduces them."""

    def __init__(self, model: Toy, n: int = 6) -> None:
        self.labels = [i % len(CLASSES) for i in range(n)]
        with torch.no_grad():
            colours = model.colour.weight.detach().clone()
        self.photos = [colours[c][:, None, None].expand(3, 16, 16).clone() for c in self.labels]
        self.sketch = torch.ones(1, 16, 16)
        self.sketch[:, 4:12, 8] = -1.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"sketch": self.sketch, "photo": self.photos[i], "label": self.labels[i]}


@pytest.fixture
def toy() -> Toy:
    return Toy()


def sketch() -> np.ndarray:
    image = np.full((16, 16), 255, np.uint8)
    image[4:12, 8] = 0
    return image


def test_labels_by_name_index_sequence_or_tensor(toy):
    assert toy.class_names == CLASSES and toy.num_classes == 3
    assert toy.label_indices("mug", 2).tolist() == [2, 2]
    assert toy.label_indices(["ball", 0], 2).tolist() == [1, 0]
    assert toy.label_indices(torch.tensor([2, 1]), 2).tolist() == [2, 1]
    assert toy.label_indices(np.int64(1), 1).tolist() == [1]
    with pytest.raises(ValueError, match="unknown class 'zebra'.*0='apple', 1='ball', 2='mug'"):
        toy.label_indices("zebra", 1)
    with pytest.raises(ValueError, match="class index 3 out of range.*'mug'"):
        toy.label_indices(3, 1)
    with pytest.raises(ValueError, match="class index -1 out of range"):
        toy.label_indices(torch.tensor([-1]), 1)
    with pytest.raises(ValueError, match="needs a class label.*'apple'"):
        toy.label_indices(None, 1)
    with pytest.raises(ValueError, match="got 2 labels for 3 sketches"):
        toy.label_indices([0, 1], 3)


def test_a_model_needing_a_label_must_know_its_classes():
    with pytest.raises(ValueError, match="needs class labels: build it with class_names"):
        Toy(ToyConfig(class_names=()))


def test_generate_by_class_name_z_and_outputs(toy):
    apple = toy.generate(sketch(), label="apple", seed=0)
    assert apple.shape == (16, 16, 3) and apple.dtype == np.uint8
    assert not np.array_equal(toy.generate(sketch(), label="mug", seed=0), apple)
    z = toy.sample_z(1, torch.Generator().manual_seed(1))
    assert z.shape == (1, 3)
    np.testing.assert_array_equal(
        toy.generate(sketch(), label=0, z=z, seed=5), toy.generate(sketch(), label=0, z=z)
    )
    assert not np.array_equal(toy.generate(sketch(), label=0, z=z), apple)
    with pytest.raises(ValueError, match=r"z must be a \(1, 3\) tensor, got \(1, 2\)"):
        toy.generate(sketch(), label=0, z=torch.zeros(1, 2))
    outputs = toy.generate(sketch(), label="apple", seed=0, outputs=True)
    assert list(outputs) == ["image", "edge"]
    np.testing.assert_array_equal(outputs["image"], apple)
    assert outputs["edge"][8, 8].min() > 200 and outputs["edge"][0, 0].max() < 50


def test_evaluate_generates_each_sketch_for_its_own_class(toy):
    data = LabelledPairs(toy)
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    result = evaluate(toy, loader, seed=0)
    assert result.protocol["labels"] == "each sketch's own class"
    assert result.metrics["l1"] < 0.2  # only z's 0.1-scaled offset is left
    wrong = [{**b, "label": (b["label"] + 1) % 3} for b in loader]
    assert evaluate(toy, wrong, seed=0).metrics["l1"] > result.metrics["l1"] + 0.1
    unlabelled = [{"sketch": b["sketch"], "photo": b["photo"]} for b in loader]
    with pytest.raises(ValueError, match="needs labels: the batches have no 'label'"):
        evaluate(toy, unlabelled)


def test_sample_grid_uses_the_labels_and_shows_every_output(toy):
    data = LabelledPairs(toy)
    grid = SampleGrid(1, n=3, seed=0)
    Trainer(toy, data, steps=1, batch_size=3, callbacks=[grid], device="cpu").fit()
    rows = grid.latest  # image_grid: 16 px tiles, 2 px gaps, one row per line below
    assert rows is not None and rows.shape[0] == 4 * 18 + 2  # sketch, image, edge, photo
    # the image row matches the photo row (each item's own class), the edge row does not
    image_row, edge_row, photo_row = (rows[2 + k * 18 : 18 + k * 18] for k in (1, 2, 3))
    assert np.abs(image_row.astype(int) - photo_row.astype(int)).mean() < 30
    assert np.abs(edge_row.astype(int) - photo_row.astype(int)).mean() > 30
