"""Drawn-style sketches: ink on the photo's lines, the canvas's rasteriser, seeds, pen widths."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.data.drawn_style import (
    HandStyle,
    chaikin,
    drawn_sketch,
    hand_strokes,
    render_drawn,
)
from sketchwidgets.data.pairs import read_joint
from sketchwidgets.data.photo_lines import photo_lines
from sketchwidgets.data.strokes import rasterize
from sketchwidgets.drawing.skeleton import thin
from sketchwidgets.io import to_gray


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return EmbeddedDataset(8, size=64, split="all", workers=1).photos


def _edge_zone(photo: np.ndarray, reach: int) -> np.ndarray:
    """Pixels within ``reach`` of the photo's strongest 15 % gradients (any channel)."""
    blurred = cv2.GaussianBlur(photo.astype(np.float32), (0, 0), 1.0)
    magnitude = np.zeros(photo.shape[:2], np.float32)
    for c in range(3):
        dx = cv2.Sobel(blurred[..., c], cv2.CV_32F, 1, 0)
        dy = cv2.Sobel(blurred[..., c], cv2.CV_32F, 0, 1)
        magnitude = np.maximum(magnitude, np.hypot(dx, dy))
    strong = (magnitude >= np.percentile(magnitude, 85)).astype(np.uint8)
    return cv2.dilate(strong, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0


def _on_edges(sketch: np.ndarray, photo: np.ndarray) -> float:
    """Share of the sketch's ink that lies on the photo's edges (within 2 px)."""
    ink = sketch < 128
    return float((ink & _edge_zone(photo, 2)).sum() / max(ink.sum(), 1))


def test_ink_lies_on_the_photos_edges_and_not_on_another_photos(photos):
    own, other = [], []
    for index, photo in enumerate(photos):
        for seed in range(3):
            sketch = render_drawn(photo, seed)
            assert sketch.shape == (64, 64) and sketch.dtype == np.uint8
            assert (sketch < 128).sum() > 40  # something is drawn
            own.append(_on_edges(sketch, photo))
            other.append(_on_edges(sketch, photos[(index + 4) % len(photos)]))
    assert np.mean(own) > 0.8, own
    assert np.mean(own) > np.mean(other) + 0.25, (np.mean(own), np.mean(other))


def test_a_face_is_drawn_where_its_xdog_sketch_has_lines(shared_data):
    root = shared_data("celeba_xdog_joint64") / "pairs_64x128"
    shares = []
    for file in sorted(root.glob("*.png"))[:6]:
        machine, photo = read_joint(file)
        drawn = render_drawn(photo, 0)
        near_machine = cv2.dilate((machine < 128).astype(np.uint8), np.ones((5, 5), np.uint8))
        ink = drawn < 128
        shares.append((ink & (near_machine > 0)).sum() / ink.sum())
    assert np.mean(shares) > 0.75, shares


def test_same_seed_same_sketch_other_seed_other_sketch(photos):
    photo = photos[3]
    assert np.array_equal(render_drawn(photo, 7), render_drawn(photo, 7))
    assert drawn_sketch(photo, 7) == drawn_sketch(photo, 7)
    assert not np.array_equal(render_drawn(photo, 7), render_drawn(photo, 8))


def test_rendered_by_the_canvas_rasteriser_on_a_256_px_canvas(photos):
    sketch = drawn_sketch(photos[0], 2)
    assert (sketch.width, sketch.height) == (256, 256) and not sketch.is_empty
    assert all(s.tool == "pen" for s in sketch.strokes)
    assert np.array_equal(render_drawn(photos[0], 2), rasterize(sketch, 64))
    assert np.array_equal(render_drawn(photos[0], 2, size=128), sketch.to_array(128))


def _mean_line_width(sketch: np.ndarray) -> float:
    """Ink area over skeleton length, in pixels."""
    ink = sketch < 128
    return float(ink.sum() / max(thin(ink).sum(), 1))


def test_pen_width_varies_with_the_seed_within_the_style(photos):
    style = HandStyle()
    widths, raster_widths = [], []
    for seed in range(12):
        sketch = drawn_sketch(photos[1], seed)
        stroke_widths = [s.width for s in sketch.strokes]
        low, high = style.pen_width
        assert low * (1 - style.width_spread) <= min(stroke_widths)
        assert max(stroke_widths) <= high * (1 + style.width_spread)
        widths.append(float(np.median(stroke_widths)))
        raster_widths.append(_mean_line_width(rasterize(sketch, 256)))
    assert max(widths) / min(widths) > 2.5, widths
    # the drawn lines are as wide as the pens that drew them
    assert np.corrcoef(widths, raster_widths)[0, 1] > 0.9


def test_short_strokes_are_left_out_and_long_ones_kept():
    rng = np.random.default_rng(0)
    style = HandStyle(min_length=(20.0, 20.0), dropout=(0.0, 0.0), gap_chance=0.0)
    short = np.array([[10.0, 10.0], [15.0, 10.0]])
    long = np.array([[10.0, 50.0], [200.0, 50.0]])
    strokes = hand_strokes([short, long], rng, style)
    assert len(strokes) == 1
    xs = [p[0] for p in strokes[0].points]
    # overshoot or stop short by at most a few pixels at either end, plus the shift
    assert 0 < min(xs) < 25 and 185 < max(xs) < 220


def test_chaikin_rounds_corners_and_keeps_the_ends():
    corner = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    round_ = chaikin(corner, 2)
    assert np.array_equal(round_[0], corner[0]) and np.array_equal(round_[-1], corner[-1])
    assert len(round_) > len(corner)
    assert not any(np.allclose(p, corner[1]) for p in round_)  # the corner is cut


def test_unknown_line_source_is_named(photos):
    with pytest.raises(ValueError, match="unknown line source 'pencil'"):
        photo_lines(photos[0], "pencil", np.random.default_rng(0))


def test_both_line_sources_give_thin_lines(photos):
    for source in ("canny", "xdog"):
        lines = photo_lines(photos[2], source, np.random.default_rng(0))
        assert lines.shape == (256, 256) and lines.any()
        assert np.array_equal(thin(lines), lines)  # already one pixel wide


def test_a_gray_photo_is_drawn_too(photos):
    gray = to_gray(photos[4])
    assert (render_drawn(gray, 0) < 128).any()
