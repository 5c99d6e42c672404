"""Thin a line mask to a one-pixel skeleton, and redraw a skeleton at any pen width.

:func:`thin` uses OpenCV's contrib thinning (``cv2.ximgproc.thinning``) when that module is
installed, else the same algorithm in NumPy: T. Y. Zhang and C. Y. Suen, "A fast parallel
algorithm for thinning digital patterns", Communications of the ACM 27(3), 1984. Both keep
the skeleton 8-connected, so a traced line stays one piece.

:func:`redraw` turns a skeleton back into strokes of a chosen width with a round pen: a pixel
is ink where it lies within half the width of the skeleton, with a one-pixel linear ramp at
the edge (anti-aliasing, so fractional widths differ).
"""

from __future__ import annotations

import cv2
import numpy as np


def _neighbours(image: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of every inner pixel of a padded 0/1 image (N, NE, E, SE, S, SW, W, NW)."""
    c = image
    return [
        c[:-2, 1:-1],
        c[:-2, 2:],
        c[1:-1, 2:],
        c[2:, 2:],
        c[2:, 1:-1],
        c[2:, :-2],
        c[1:-1, :-2],
        c[:-2, :-2],
    ]


def _removable(image: np.ndarray, first_pass: bool) -> np.ndarray:
    """The pixels one Zhang-Suen sub-iteration deletes (as a mask of the inner image)."""
    p = _neighbours(image)
    count = sum(p)
    ring = p + p[:1]
    transitions = sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8))
    n, e, s, w = p[0], p[2], p[4], p[6]
    if first_pass:
        side = (n * e * s == 0) & (e * s * w == 0)
    else:
        side = (n * e * w == 0) & (n * s * w == 0)
    return (image[1:-1, 1:-1] == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side


def zhang_suen(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask -> boolean one-pixel skeleton (pure NumPy)."""
    image = np.pad(np.asarray(mask, bool).astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for first_pass in (True, False):
            remove = _removable(image, first_pass)
            if remove.any():
                image[1:-1, 1:-1][remove] = 0
                changed = True
    return image[1:-1, 1:-1].astype(bool)


def thin(mask: np.ndarray) -> np.ndarray:
    """A boolean line mask -> its one-pixel skeleton (OpenCV contrib when present)."""
    contrib = getattr(cv2, "ximgproc", None)
    if contrib is not None:
        binary = np.asarray(mask, bool).astype(np.uint8) * 255
        return contrib.thinning(binary, thinningType=contrib.THINNING_ZHANGSUEN) > 0
    return zhang_suen(mask)


def redraw(skeleton: np.ndarray, width: float) -> np.ndarray:
    """Ink coverage in [0, 1] of a round pen of ``width`` pixels run along ``skeleton``."""
    if width <= 0:
        raise ValueError(f"pen width must be positive, got {width}")
    if not skeleton.any():
        return np.zeros(skeleton.shape, np.float32)
    background = np.where(skeleton, 0, 255).astype(np.uint8)
    distance = cv2.distanceTransform(background, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.clip(width / 2.0 + 0.5 - distance, 0.0, 1.0).astype(np.float32)
