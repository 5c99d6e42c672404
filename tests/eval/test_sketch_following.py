"""Sketch dependence and spread tell a model that redraws its sketch from one that ignores it."""

from __future__ import annotations

import pytest
import torch

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.eval.sketch_following import following_scores, relative_to


class _Stub:
    """The parts of the model contract ``heldout_images`` uses; ``draw`` makes the images."""

    device = torch.device("cpu")
    needs_label = False

    def __init__(self, draw) -> None:
        self.draw = draw

    def label_indices(self, label, batch):
        return None

    def generate_tensor(self, sketch, *, rng=None, label=None):
        return self.draw(sketch)


@pytest.fixture(scope="module")
def held_out():
    return EmbeddedDataset(16, size=64, seed=3, split="all", workers=1)


def test_a_model_that_paints_its_sketch_follows_it(held_out):
    copier = _Stub(lambda sketch: sketch.expand(-1, 3, -1, -1))
    scores = following_scores(copier, held_out)
    assert scores["dependence"] > 0.2
    assert scores["spread"] > 0.1


def test_a_model_that_gives_one_picture_neither_follows_nor_spreads(held_out):
    photo = held_out[0]["photo"]
    stamp = _Stub(lambda sketch: photo.expand(len(sketch), -1, -1, -1))
    scores = following_scores(stamp, held_out)
    assert scores["dependence"] == pytest.approx(0.0, abs=1e-9)
    assert scores["spread"] == pytest.approx(0.0, abs=1e-9)


def test_ratios_are_figure_by_figure():
    ratio = relative_to({"dependence": 0.1, "spread": 0.9}, {"dependence": 0.2, "spread": 0.6})
    assert ratio == pytest.approx({"dependence": 0.5, "spread": 1.5})


def test_a_handful_of_items_of_different_classes_are_compared_across_classes():
    one_each = EmbeddedDataset(8, size=64, seed=3, split="all", workers=1)  # 8 classes, 1 each
    copier = _Stub(lambda sketch: sketch.expand(-1, 3, -1, -1))
    assert following_scores(copier, one_each)["dependence"] > 0.2
