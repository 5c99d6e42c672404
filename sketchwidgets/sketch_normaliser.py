"""One sketch normaliser: map a drawing to the line statistics a model was trained on.

A model learned from one kind of line (thin grey edge maps, XDoG strokes, ...); a person
draws another (thick canvas strokes, shaded pencil, white chalk on black). Before the model
sees a drawing, :func:`normalise_sketch` redraws it in the training sketches' style, as
recorded in the model's :class:`~sketchwidgets.line_stats.LineStats`:

1. **polarity** -- a light-on-dark drawing is turned dark-on-light (the caller's choice
   when it forces one), and the result is turned back when the model trained on light lines;
2. **background flattened** -- the paper's own tone (a grey scan, uneven light) is divided
   out: each pixel over the paper's brightness around it (a grey closing wider than a line);
3. **binarised adaptively** -- a pixel is line when it is dark outright (below mid-grey) or
   clearly darker than its surroundings (the local mean minus :data:`LOCAL_CONTRAST`), so
   grey pencil lines stay and smooth shading goes; specks smaller than a dot are dropped;
4. **thinned** -- the lines' centres (:func:`~sketchwidgets.line_stats.skeleton`);
5. **redrawn** -- anti-aliased at the training width and grey level, at
   :func:`~sketchwidgets.line_stats.measure_side` and area-averaged down to the model's
   side; the width and darkness are corrected from what the result measures (a few
   rounds, the closest kept), so the output's ``stroke_width`` and ``line_grey`` come out
   as recorded.

The work runs at :func:`~sketchwidgets.line_stats.measure_side` (256 px for a 64-px model).
"""

from __future__ import annotations

import cv2
import numpy as np

from sketchwidgets.line_stats import (
    INK_LEVEL,
    LineStats,
    line_stats,
    measure_side,
    resize_gray,
    skeleton,
)

LOCAL_CONTRAST = 12  # grey levels a line pixel is darker than its neighbourhood's mean
DARK_LEVEL = 128  # a pixel darker than this is line whatever surrounds it
CORRECTIONS = 3  # rounds of width / darkness correction after the first drawing


def flatten_background(gray: np.ndarray) -> np.ndarray:
    """Divide out the paper's tone: each pixel over the local paper brightness (uint8)."""
    side = max(gray.shape)
    reach = max(3, side // 4) | 1  # wider than any line, so the closing removes the lines
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))
    paper = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, kernel)
    paper = cv2.GaussianBlur(paper, (0, 0), reach / 4).astype(np.float32)
    flat = gray.astype(np.float32) / np.maximum(paper, 1.0) * 255.0
    return np.clip(flat, 0, 255).astype(np.uint8)


def line_mask(flat: np.ndarray) -> np.ndarray:
    """Bool mask of the lines of a flattened sketch: dark outright, or darker than around."""
    side = max(flat.shape)
    window = max(3, side // 16) | 1
    local = cv2.blur(flat.astype(np.float32), (window, window))
    darker = (flat < local - LOCAL_CONTRAST) & (flat < INK_LEVEL)
    lines = (flat < DARK_LEVEL) | darker
    return drop_specks(lines, min_area=max(2, round((side / 100) ** 2)))


def drop_specks(mask: np.ndarray, *, min_area: int) -> np.ndarray:
    """``mask`` without its 8-connected pieces smaller than ``min_area`` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False  # the background
    return keep[labels] if count > 1 else mask.astype(bool)


def draw_lines(distance: np.ndarray, width: float, grey: float) -> np.ndarray:
    """Anti-aliased lines of ``width`` px and core ``grey`` around the centre lines whose
    distance map is ``distance`` (uint8, white paper)."""
    coverage = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)
    return np.round(255.0 - coverage * (255.0 - grey)).astype(np.uint8)


def style_distance(measured: LineStats, target: LineStats) -> float:
    """How far a drawing's lines are from ``target``'s: relative width plus grey in 64ths
    (infinite when no line was found)."""
    if measured.stroke_width <= 0:
        return float("inf")
    width = abs(measured.stroke_width - target.stroke_width) / max(target.stroke_width, 0.5)
    return width + abs(measured.line_grey - target.line_grey) / 64


def _redraw(distance: np.ndarray, target: LineStats, scale: float) -> np.ndarray:
    """Draw, measure, correct; the drawing whose width and grey come closest to ``target``."""
    width = max(target.stroke_width, 0.25) * scale
    # a line under a pixel wide is greyed by the area-averaging: start darker by as much
    darkness = min(255.0, (255.0 - target.line_grey) / min(1.0, max(target.stroke_width, 0.25)))
    tries = []
    for _ in range(1 + CORRECTIONS):
        drawn = resize_gray(draw_lines(distance, width, 255.0 - darkness), target.size)
        measured = line_stats(drawn, target.size)
        tries.append((style_distance(measured, target), len(tries), drawn))
        if measured.stroke_width <= 0:  # too faint to count as a line: darker
            darkness = min(255.0, 2 * darkness)
            continue
        width *= target.stroke_width / measured.stroke_width
        darkness *= (255.0 - target.line_grey) / max(1.0, 255.0 - measured.line_grey)
        darkness = min(255.0, darkness)
    return min(tries)[2]


def normalise_sketch(gray: np.ndarray, target: LineStats) -> np.ndarray:
    """A dark-on-light uint8 sketch of any size -> ``target.size`` square uint8, redrawn in
    the style ``target`` describes (see the module docstring). A drawing whose lines all
    vanish as specks is returned merely resized."""
    work = measure_side(target.size)
    lines = line_mask(flatten_background(resize_gray(np.asarray(gray, np.uint8), work)))
    centre = skeleton(lines)
    if not centre.any():
        drawn = resize_gray(np.asarray(gray, np.uint8), target.size)
    else:
        distance = cv2.distanceTransform((~centre).astype(np.uint8), cv2.DIST_L2, 5)
        drawn = _redraw(distance, target, work / target.size)
    return drawn if target.dark_on_light else 255 - drawn
