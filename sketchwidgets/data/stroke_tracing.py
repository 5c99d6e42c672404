"""Trace a one-pixel line mask (edges or a skeleton) into open polylines.

``cv2.findContours`` walks *around* a thin curve, out along one side and back along the
other; :func:`walk_open_curves` keeps the first pass, so each curve becomes one open
polyline. :func:`trace_polylines` does that for every curve of a mask and simplifies each
with ``cv2.approxPolyDP`` (Douglas-Peucker), returning points in pixel-centre coordinates
(pixel ``(i, j)`` covers ``[i, i + 1)``, as the canvas and :mod:`sketchwidgets.data.strokes`
count).
"""

from __future__ import annotations

import cv2
import numpy as np


def walk_open_curves(contour: np.ndarray) -> list[np.ndarray]:
    """Split a contour traced around a 1-pixel-thin curve into single-pass open pieces."""
    seen: set[tuple[int, int]] = set()
    pieces, current = [], []
    for x, y in contour.reshape(-1, 2):
        key = (int(x), int(y))
        if key in seen:
            if len(current) > 1:
                pieces.append(np.array(current, np.float32))
            current = []
            continue
        seen.add(key)
        current.append(key)
    if len(current) > 1:
        pieces.append(np.array(current, np.float32))
    return pieces


def polyline_length(points: np.ndarray) -> float:
    """Arc length of an ``(N, 2)`` polyline."""
    if len(points) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def trace_polylines(
    lines: np.ndarray, *, epsilon: float = 1.0, min_length: float = 0.0
) -> list[np.ndarray]:
    """Every curve of a boolean one-pixel line mask as a float ``(N, 2)`` (x, y) polyline.

    Curves are simplified to within ``epsilon`` pixels; those shorter than ``min_length``
    pixels are left out. Points are pixel centres (``index + 0.5``).
    """
    mask = np.asarray(lines, bool).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    polylines = []
    for contour in contours:
        for piece in walk_open_curves(contour):
            if polyline_length(piece) < max(min_length, 1.0):
                continue
            simple = cv2.approxPolyDP(piece[:, None, :], epsilon, False)[:, 0, :]
            polylines.append(simple.astype(np.float64) + 0.5)
    return polylines
