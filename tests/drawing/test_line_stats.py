"""Line statistics: ink share, stroke width, line grey, shading and polarity of sketches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchwidgets.drawing.line_stats import (
    INK_LEVEL,
    LineStats,
    batch_line_stats,
    ink_mask,
    line_stats,
    tensor_line_stats,
)
from sketchwidgets.drawing.skeleton import thin
from sketchwidgets.eval import shape_metrics


def lines(width: int, grey: int = 0, side: int = 64) -> np.ndarray:
    """Three horizontal lines ``width`` px thick, of grey ``grey``, on white paper."""
    image = np.full((side, side), 255, np.uint8)
    for top in (12, 30, 48):
        image[top : top + width, 8:56] = grey
    return image


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_stroke_width_is_the_drawn_width_within_half_a_pixel(width):
    stats = line_stats(lines(width), 64)
    assert abs(stats.stroke_width - width) <= 0.5, stats
    assert stats.ink_share == pytest.approx(3 * width * 48 / 64**2)
    assert stats.line_grey == 0 and stats.dark_on_light and stats.shading_share == 0


def test_a_grey_line_is_as_wide_as_a_black_one_and_its_grey_is_measured():
    black, grey = line_stats(lines(2), 64), line_stats(lines(2, grey=170), 64)
    assert grey.stroke_width == black.stroke_width
    assert grey.line_grey == pytest.approx(170, abs=2)


def test_width_is_measured_at_the_model_side():
    drawing = lines(8, side=256)  # 8 px at 256 is 2 px at 64
    assert abs(line_stats(drawing, 64).stroke_width - 2) <= 0.5
    assert abs(line_stats(drawing, 256).stroke_width - 8) <= 0.5


def test_light_lines_on_dark_give_the_statistics_of_their_inverse():
    drawing = lines(3, grey=40)
    flipped = line_stats(255 - drawing, 64)
    assert not flipped.dark_on_light
    assert flipped == LineStats(**{**line_stats(drawing, 64).to_dict(), "dark_on_light": False})


def test_light_grey_paper_counts_as_shading_not_ink():
    drawing = lines(1)
    drawing[:32, :] = np.minimum(drawing[:32, :], 225)  # the top half shaded light grey
    stats = line_stats(drawing, 64)
    assert stats.shading_share == pytest.approx(0.5 - 2 * 48 / 64**2)  # two lines up there
    assert stats.ink_share == pytest.approx(3 * 48 / 64**2)


def test_skeleton_of_a_thick_bar_is_one_pixel_wide_and_unbroken():
    bar = np.zeros((40, 80), bool)
    bar[10:25, 10:70] = True
    centre = thin(bar)
    columns = centre[:, 20:60].sum(axis=0)
    assert (columns == 1).all()  # one pixel per column along the bar
    assert not centre[~bar].any()


def test_batch_statistics_are_medians_with_the_majority_polarity():
    drawings = [lines(1), lines(3), lines(5), 255 - lines(3)]
    stats = batch_line_stats(drawings, 64)
    each = [line_stats(d, 64) for d in drawings]
    assert stats.stroke_width == pytest.approx(np.median([s.stroke_width for s in each]))
    assert stats.ink_share == pytest.approx(np.median([s.ink_share for s in each]), abs=1e-4)
    assert stats.dark_on_light
    with pytest.raises(ValueError, match="no sketches"):
        batch_line_stats([], 64)


def test_dataset_tensors_give_the_statistics_of_their_images():
    drawings = [lines(2), lines(4)]
    tensors = [torch.from_numpy(d).float().div(127.5).sub(1).unsqueeze(0) for d in drawings]
    assert tensor_line_stats(tensors, 64) == batch_line_stats(drawings, 64)


def test_dict_round_trip_rescaling_and_bad_keys():
    stats = line_stats(lines(2), 64)
    assert LineStats.from_dict(stats.to_dict()) == stats
    assert stats.at_size(128).stroke_width == pytest.approx(2 * stats.stroke_width)
    assert stats.at_size(64) is stats
    with pytest.raises(ValueError, match="exactly the keys"):
        LineStats.from_dict({**stats.to_dict(), "colour": 1})


def test_one_ink_definition_for_the_shape_metrics():
    drawing = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(shape_metrics.ink_mask(drawing), ink_mask(drawing))
    assert ink_mask(drawing).sum() == INK_LEVEL
