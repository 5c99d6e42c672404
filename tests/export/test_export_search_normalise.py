"""The exported Contextual GAN search redraws a drawing to the model's line statistics first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sketchwidgets.device import torch_threads
from sketchwidgets.drawing.line_stats import LineStats
from sketchwidgets.export import export, side_file_path
from sketchwidgets.export.search import search
from sketchwidgets.models import build_model
from tests.models.tiny_configs import TINY_CONFIGS

SIZE = 32
STATS = LineStats(SIZE, 0.085, 0.94, 0.0, 0.0002, True)  # the classroom style at 32 px


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    with torch_threads(1):
        torch.manual_seed(0)
        model = build_model("contextual_gan", **TINY_CONFIGS["contextual_gan"]).eval()
        model.record_line_stats(STATS)
        folder = tmp_path_factory.mktemp("cgan")
        return model, export(model, folder / "cgan.pt", format="torchscript").files[0]


def thick_squares() -> np.ndarray:
    """Two square outlines drawn 6 px wide at 32 px (three times the training width)."""
    sketches = np.full((2, SIZE, SIZE), 255, np.uint8)
    for sketch, (top, side) in zip(sketches, [(6, 20), (4, 24)], strict=True):
        sketch[top : top + side, top : top + side] = 0
        sketch[top + 6 : top + side - 6, top + 6 : top + side - 6] = 255
    return sketches


def test_side_file_records_the_line_statistics(exported):
    _, path = exported
    assert json.loads(side_file_path(path).read_text())["line_stats"] == STATS.to_dict()


def test_search_sees_what_generate_sees(exported):
    model, path = exported
    drawings = thick_squares()
    seen = model.model_input(drawings)  # the package's one normaliser
    with torch_threads(1):
        normalised = search(path, drawings, iterations=1)
        given = search(path, seen, iterations=1, normalise=False)
        raw = search(path, drawings, iterations=1, normalise=False)
    np.testing.assert_array_equal(normalised["photo"], given["photo"])
    np.testing.assert_allclose(normalised["contextual"], given["contextual"])
    assert not np.allclose(normalised["contextual"], raw["contextual"])


@pytest.mark.parametrize("name", ["pix2pix", "sketchygan"])
def test_a_model_with_line_statistics_exports_and_passes_the_check(name, tmp_path):
    """The graph takes the sketch as given; the export check compares with generate() raw."""
    with torch_threads(1):
        torch.manual_seed(0)
        model = build_model(name, **TINY_CONFIGS[name], class_names=("a", "b")).eval()
        model.record_line_stats(LineStats(SIZE, 0.3, 3.0, 120.0, 0.0, True))  # far from any
        result = export(model, tmp_path / "m.pt", format="torchscript")  # check=True: raises
    assert json.loads(result.side_file.read_text())["line_stats"]["stroke_width"] == 3.0
