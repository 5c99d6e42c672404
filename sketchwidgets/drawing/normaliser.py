"""One sketch normaliser: map a drawing to the line statistics a model was trained on.

A model learned from one kind of line (thin grey edge maps, XDoG strokes, ...); a person
draws another (thick canvas strokes, shaded pencil, white chalk on black). Before the model
sees a drawing, :func:`normalise_sketch` redraws it in the training sketches' style, as
recorded in the model's :class:`~sketchwidgets.drawing.line_stats.LineStats`:

1. **polarity** -- :func:`~sketchwidgets.sketch_input.prepare_sketch` has turned a
   light-on-dark drawing dark-on-light (detected, or its ``invert=``); the result is turned
   back when the model trained on light lines;
2. **background flattened** -- the paper's own tone (a grey scan, uneven light) is divided
   out: each pixel over the paper's brightness around it (a grey closing wider than a line);
3. **binarised adaptively** -- a pixel is line when it is dark outright (below mid-grey) or
   clearly darker than its surroundings (the local mean minus :data:`LOCAL_CONTRAST`), so
   grey pencil lines stay and smooth shading goes; specks smaller than a dot are dropped;
4. **thinned** -- the lines' centres (:func:`~sketchwidgets.drawing.skeleton.thin`);
5. **redrawn** -- training lines about a pixel wide (edge maps) as such: every model pixel
   a centre line crosses, at the training grey. Wider ones anti-aliased around the centre
   lines, each as wide as it was drawn times one factor that brings the typical width to the
   training width (so a filled area stays wider than a line), at the training grey, at
   :func:`~sketchwidgets.drawing.line_stats.measure_side` and area-averaged down to the model's
   side; the width and darkness are corrected from what the result measures (a few rounds,
   the closest kept), so the output's ``stroke_width`` and ``line_grey`` come out as
   recorded.

A drawing whose lines already look like the training sketches'
(:func:`~sketchwidgets.drawing.style_gap.in_style`: same polarity, width, grey and shading within
tolerances) is left as it is, merely resized: a sketch of the training kind gives the image it
always gave. The work runs at :func:`~sketchwidgets.drawing.line_stats.measure_side` (256 px for a
64-px model).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sketchwidgets.drawing.line_stats import (
    INK_LEVEL,
    LineStats,
    line_stats,
    measure_side,
    resize_gray,
)
from sketchwidgets.drawing.skeleton import thin
from sketchwidgets.drawing.style_gap import in_style

LOCAL_CONTRAST = 12  # grey levels a line pixel is darker than its neighbourhood's mean
DARK_LEVEL = 128  # a pixel darker than this is line whatever surrounds it
PIXEL_LINE = 1.25  # training lines at most this wide (px) are redrawn one pixel wide
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


@dataclass(frozen=True)
class CentreLines:
    """A drawing's lines as centre lines: for every pixel, the distance to the nearest centre
    pixel and that centre pixel's line radius (px, at the working side)."""

    distance: np.ndarray
    radius: np.ndarray

    @classmethod
    def of(cls, lines: np.ndarray) -> CentreLines | None:
        """The centre lines of a bool line mask (None when it has none)."""
        centre = thin(lines)
        if not centre.any():
            return None
        inside = cv2.distanceTransform(np.pad(lines, 1).astype(np.uint8), cv2.DIST_L2, 5)
        distance, labels = cv2.distanceTransformWithLabels(
            (~centre).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        by_label = np.zeros(int(labels.max()) + 1, np.float32)
        by_label[labels[centre]] = np.maximum(inside[1:-1, 1:-1][centre] - 0.5, 0.5)
        return cls(distance=distance, radius=by_label[labels])

    def median_width(self) -> float:
        """Twice the median radius of the centre pixels."""
        return float(2 * np.median(self.radius[self.distance == 0]))


def draw_lines(lines: CentreLines, scale: float, grey: float) -> np.ndarray:
    """The lines redrawn anti-aliased, each ``scale`` times as wide as drawn, core ``grey``
    (uint8, white paper)."""
    coverage = np.clip(scale * lines.radius + 0.5 - lines.distance, 0.0, 1.0)
    return np.round(255.0 - coverage * (255.0 - grey)).astype(np.uint8)


def style_distance(measured: LineStats, target: LineStats) -> float:
    """How far a drawing's lines are from ``target``'s: relative width plus grey in 64ths
    (infinite when no line was found)."""
    if measured.stroke_width <= 0:
        return float("inf")
    width = abs(measured.stroke_width - target.stroke_width) / max(target.stroke_width, 0.5)
    return width + abs(measured.line_grey - target.line_grey) / 64


def pixel_lines(lines: CentreLines, target: LineStats) -> np.ndarray:
    """Every model pixel a centre line crosses, at the training grey (uint8, white paper)."""
    centre = (lines.distance == 0).astype(np.float32)
    crossed = cv2.resize(centre, (target.size, target.size), interpolation=cv2.INTER_AREA) > 0
    return np.where(crossed, round(target.line_grey), 255).astype(np.uint8)


def _redraw(lines: CentreLines, target: LineStats, work: int) -> np.ndarray:
    """Draw, measure, correct; the drawing whose width and grey come closest to ``target``.

    Lines at most :data:`PIXEL_LINE` px wide are drawn as the training edge maps hold them:
    one model pixel wide, at the training grey (:func:`pixel_lines`).
    """
    if target.stroke_width <= PIXEL_LINE:
        return pixel_lines(lines, target)
    wanted = max(target.stroke_width, 0.25) * work / target.size
    scale = wanted / lines.median_width()
    # a line under a pixel wide is greyed by the area-averaging: start darker by as much
    darkness = min(255.0, (255.0 - target.line_grey) / min(1.0, max(target.stroke_width, 0.25)))
    tries = []
    for _ in range(1 + CORRECTIONS):
        drawn = resize_gray(draw_lines(lines, scale, 255.0 - darkness), target.size)
        measured = line_stats(drawn, target.size)
        tries.append((style_distance(measured, target), len(tries), drawn))
        if measured.stroke_width <= 0:  # too faint to count as a line: darker
            darkness = min(255.0, 2 * darkness)
            continue
        scale *= target.stroke_width / measured.stroke_width
        darkness *= (255.0 - target.line_grey) / max(1.0, 255.0 - measured.line_grey)
        darkness = min(255.0, darkness)
    return min(tries)[2]


def normalise_sketch(gray: np.ndarray, target: LineStats) -> np.ndarray:
    """A dark-on-light uint8 sketch of any size -> ``target.size`` square uint8, redrawn in
    the style ``target`` describes (see the module docstring). A drawing already in that
    style (:func:`~sketchwidgets.drawing.style_gap.in_style`), or whose lines all vanish as specks,
    is returned merely resized (:func:`plain_resize`)."""
    gray = np.asarray(gray, np.uint8)
    if in_style(line_stats(gray, target.size), target):
        return plain_resize(gray, target.size)
    work = measure_side(target.size)
    lines = CentreLines.of(line_mask(flatten_background(resize_gray(gray, work))))
    drawn = plain_resize(gray, target.size) if lines is None else _redraw(lines, target, work)
    return drawn if target.dark_on_light else 255 - drawn


def plain_resize(gray: np.ndarray, size: int) -> np.ndarray:
    """What a sketch becomes without normalising: area-resized to ``size x size``."""
    if gray.shape == (size, size):
        return gray
    return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
