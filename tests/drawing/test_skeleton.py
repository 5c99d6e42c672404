"""Thinning to a one-pixel skeleton and redrawing it at a pen width; tracing polylines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sketchwidgets.data.stroke_tracing import polyline_length, trace_polylines
from sketchwidgets.drawing.skeleton import redraw, thin, zhang_suen


def _bar(thickness: int) -> np.ndarray:
    mask = np.zeros((40, 80), bool)
    mask[20 - thickness // 2 : 20 - thickness // 2 + thickness, 10:70] = True
    return mask


@pytest.mark.parametrize("thickness", [1, 3, 6, 9])
def test_a_bar_thins_to_one_pixel_per_column(thickness):
    skeleton = zhang_suen(_bar(thickness))
    columns = skeleton[:, 15:65].sum(axis=0)
    assert (columns == 1).all()
    rows = np.flatnonzero(skeleton[:, 40])
    assert abs(rows[0] - 19.5) <= 1.5  # in the middle of the bar


def test_thinning_keeps_a_ring_in_one_piece():
    ring = np.zeros((64, 64), np.uint8)
    cv2.circle(ring, (32, 32), 20, 1, 5)
    skeleton = thin(ring > 0)
    count, _ = cv2.connectedComponents(skeleton.astype(np.uint8), connectivity=8)
    assert count == 2  # background + one ring
    assert np.array_equal(thin(skeleton), skeleton)  # a skeleton stays as it is


@pytest.mark.parametrize("width", [1.0, 2.5, 4.0, 7.0])
def test_redraw_inks_about_width_times_length(width):
    skeleton = zhang_suen(_bar(5))
    ink = redraw(skeleton, width)
    assert ink.dtype == np.float32 and 0.0 <= ink.min() and ink.max() == 1.0
    per_column = ink[:, 20:60].sum(axis=0)
    assert np.allclose(per_column, width, atol=0.6)


def test_redraw_refuses_a_non_positive_width():
    with pytest.raises(ValueError, match="pen width must be positive"):
        redraw(np.ones((4, 4), bool), 0.0)


def test_trace_polylines_follows_a_line_once():
    line = np.zeros((50, 100), np.uint8)
    cv2.line(line, (10, 25), (90, 25), 1, 1)
    polylines = trace_polylines(line > 0, epsilon=1.0)
    assert len(polylines) == 1
    assert polyline_length(polylines[0]) == pytest.approx(80.0, abs=1.0)
    assert np.allclose(polylines[0][:, 1], 25.5)  # pixel centres
    assert trace_polylines(line > 0, min_length=100.0) == []
