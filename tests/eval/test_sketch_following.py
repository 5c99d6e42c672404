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


def test_the_benchmark_prints_each_ratio_and_draws_the_strip(tmp_path, capsys, monkeypatch):
    """benchmarks/sketch_dependence.py on the classroom's drawn hold-out (smoke: 8 items): a
    row per model with its ratio to pix2pix, and a strip of sketch, pix2pix, the model and the
    photo, six drawings a class at most, whose model row is the model's own pictures."""
    import importlib.util
    from pathlib import Path

    from sketchwidgets.io import read_image

    benchmarks = Path(__file__).resolve().parents[2] / "benchmarks"
    monkeypatch.syspath_prepend(str(benchmarks))  # it imports drawn_holdout beside it
    path = benchmarks / "sketch_dependence.py"
    spec = importlib.util.spec_from_file_location("sketch_dependence", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    strip = tmp_path / "strip.png"
    model = "pretrained:edgegan/classroom"
    args = ["classroom", "--smoke", "--models", model, "--strip", str(strip)]
    assert module.main(args) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("pretrained:edgegan/"))
    dependence, spread, ratio_dependence, ratio_spread = map(float, row.split()[1:])
    reference = next(line for line in out.splitlines() if line.startswith("pretrained:pix2pix/"))
    assert dependence / float(reference.split()[1]) == pytest.approx(ratio_dependence, abs=0.011)
    assert spread / float(reference.split()[2]) == pytest.approx(ratio_spread, abs=0.011)
    image = read_image(strip)
    columns = (image.shape[1] - 2) // 66
    assert image.shape == (4 * 66 + 2, columns * 66 + 2, 3) and 2 <= columns <= 12
    pix2pix_row, model_row = image[68:132], image[134:198]
    assert abs(pix2pix_row.astype(int) - model_row).mean() > 5  # two models, two rows
