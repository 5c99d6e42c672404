"""generate(..., normalise=True): the drawing redrawn in the training style; False: raw."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from sketchwidgets.drawing.line_stats import LineStats, line_stats
from sketchwidgets.models import build_model
from sketchwidgets.sketch_input import prepare_sketch

CLASSROOM = LineStats(64, 0.085, 1.875, 0.0, 0.0002, True)  # black 1.9-px lines at 64 px


def box(width: int, side: int = 256) -> np.ndarray:
    """A square outline drawn ``width`` px wide (dark on white)."""
    image = np.full((side, side), 255, np.uint8)
    image[60:196, 60:196] = 0
    image[60 + width : 196 - width, 60 + width : 196 - width] = 255
    return image


@pytest.fixture
def model():
    torch.manual_seed(0)
    built = build_model("pix2pix", image_size=64, ngf=4, ndf=4).eval()
    built.record_line_stats(CLASSROOM)
    return built


def test_a_thick_drawing_reaches_the_model_redrawn_at_the_training_width(model):
    thick = box(28)  # 7 px at 64: almost four times the training width
    seen = model.model_input(thick)
    assert seen.shape == (64, 64) and seen.dtype == np.uint8
    assert abs(line_stats(seen, 64).stroke_width - CLASSROOM.stroke_width) <= 0.5
    raw = model.model_input(thick, normalise=False)
    assert line_stats(raw, 64).stroke_width > 3 * CLASSROOM.stroke_width
    assert not np.array_equal(model.generate(thick), model.generate(thick, normalise=False))


def test_normalise_false_is_the_raw_behaviour(model):
    thick = box(28)
    raw = prepare_sketch(thick, 64).tensor  # prepare_sketch without line statistics
    assert model.prepare(thick, normalise=False).tensor.equal(raw)
    untrained = dataclasses.replace(model.config, line_stats=None)
    model.config = untrained  # a model that never saw data: nothing to normalise to
    assert model.prepare(thick).tensor.equal(raw)


def test_a_drawing_in_the_training_style_gives_the_image_it_always_gave(model):
    drawing = box(8)  # 2 px at 64, black: the classroom style
    np.testing.assert_array_equal(model.generate(drawing), model.generate(drawing, normalise=False))


def test_batches_and_statistics_recorded_at_another_side(model):
    model.record_line_stats(dataclasses.replace(CLASSROOM, size=32, stroke_width=0.94))
    seen = model.model_input([box(28), box(20)])
    assert seen.shape == (2, 64, 64)
    for image in seen:  # the width scaled with the side: about 1.9 px at 64
        assert abs(line_stats(image, 64).stroke_width - 1.875) <= 0.5
