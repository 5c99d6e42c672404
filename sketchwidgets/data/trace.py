"""Trace a machine-made sketch into canvas strokes: its centre lines as pen polylines.

:func:`trace_sketch` turns a sketch array (uint8, dark on light) into a
:class:`~sketchwidgets.data.strokes.Sketch` whose strokes follow the sketch's centre lines
(:func:`sketchwidgets.drawing.skeleton.thin` of its lines at half their darkness, so that a
light grey edge map is traced whole), split into single-pass polylines and
simplified, so that the same drawing can be re-drawn by the canvas rasteriser at any pen width
(what the normaliser's tests and benchmark draw).
"""

from __future__ import annotations

import cv2
import numpy as np

from sketchwidgets.data.stroke_tracing import walk_open_curves
from sketchwidgets.data.strokes import Sketch, Stroke
from sketchwidgets.drawing.line_stats import half_peak_mask, resize_gray
from sketchwidgets.drawing.skeleton import thin


def trace_sketch(sketch: np.ndarray, *, canvas: int = 256, width: float = 1.0) -> Sketch:
    """The centre lines of ``sketch`` (resized to ``canvas`` px) as strokes ``width`` wide."""
    big = resize_gray(np.asarray(sketch, np.uint8), canvas)
    reach = max(1, round(2 * canvas / min(np.asarray(sketch).shape[:2])))
    centre = thin(half_peak_mask(big, reach))
    contours, _ = cv2.findContours(centre.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    strokes = []
    for contour in contours:
        for piece in walk_open_curves(contour):
            if len(piece) >= 3:
                simple = cv2.approxPolyDP(piece[:, None, :], 1.0, False)[:, 0, :] + 0.5
                strokes.append(Stroke([tuple(p) for p in simple.tolist()], width=width))
    return Sketch(canvas, canvas, strokes)


def with_pen(sketch: Sketch, width: float) -> Sketch:
    """``sketch`` with every stroke ``width`` wide (the canvas's pen width slider)."""
    strokes = [Stroke(s.points, width=width, tool=s.tool) for s in sketch.strokes]
    return Sketch(sketch.width, sketch.height, strokes)
