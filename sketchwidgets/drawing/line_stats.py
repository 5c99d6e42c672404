"""Line statistics of sketches: how much ink, how wide the lines, how grey, which polarity.

One definition of *ink* for the whole package: on a dark-on-light sketch (uint8), a pixel
darker than :data:`INK_LEVEL` (200 of 255; thin strokes resized down are light grey, so a
mid-grey split would lose them). :mod:`sketchwidgets.eval.shape_metrics` and EdgeGAN's
ink-balanced edge loss use it too.

:func:`line_stats` measures one sketch *at the side a model sees it* (``size``); the
sketch is first turned dark-on-light when it is light-on-dark, so every figure describes the
lines whatever the polarity:

``ink_share``
    Share of pixels that are ink.
``stroke_width``
    Width of a typical line in pixels at ``size``, sub-pixel: the sketch at ``size`` is
    upsampled to :func:`measure_side` (4x, up to 256 px), its lines taken at half their
    darkness (:func:`half_peak_mask`: a light grey line is as wide as a black one drawn with
    the same pen), and the width is ``2 d - 1/2`` for ``d`` the median distance-transform value
    on their skeleton, divided by the upsampling (:func:`stroke_width`).
``line_grey``
    Median grey level (0 black .. 255 white) of the lines' cores: the darkest pixel at
    ``size`` within a pixel of each skeleton point: about 0 for pen strokes, lighter for
    pencil and for lines thinner than a pixel at ``size``.
``shading_share``
    Share of pixels that are grey paper: lighter than ink, darker than :data:`PAPER_LEVEL`
    (light pencil shading, scanned paper tone).
``dark_on_light``
    True for dark lines on light paper, the convention of every shipped model's data.

:func:`batch_line_stats` summarises many sketches by the median of each figure (polarity:
the majority): what a model records of its training sketches (``config.line_stats``;
:func:`tensor_line_stats` takes them as a dataset holds them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from sketchwidgets.drawing.skeleton import thin
from sketchwidgets.io import tensor_to_image

INK_LEVEL = 200  # uint8 grey below this is ink (resized thin strokes are light grey)
PAPER_LEVEL = 240  # uint8 grey at or above this is paper; between INK_LEVEL and it, shading


@dataclass(frozen=True)
class LineStats:
    """The line statistics of a sketch or a set of sketches (see the module docstring)."""

    size: int  # side (px) of the square the figures were measured at
    ink_share: float
    stroke_width: float  # px at ``size``
    line_grey: float  # 0 (black) .. 255
    shading_share: float
    dark_on_light: bool = True

    def at_size(self, size: int) -> LineStats:
        """The same statistics for a model of side ``size`` (the width scaled with it)."""
        if size == self.size:
            return self
        width = self.stroke_width * size / self.size
        return dataclasses.replace(self, size=int(size), stroke_width=width)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the form stored in configs, checkpoints and cards)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LineStats:
        """The inverse of :meth:`to_dict`; unknown or missing keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        if set(values) != names:
            raise ValueError(
                f"line stats need exactly the keys {sorted(names)}, got {sorted(values)}"
            )
        return cls(**values)


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Bool ``HxW`` mask of the ink of a dark-on-light uint8 grayscale sketch."""
    return np.asarray(gray) < INK_LEVEL


def is_white_on_black(gray: np.ndarray) -> bool:
    """True when a grayscale sketch is mostly dark, i.e. light ink on a dark background."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) < 128 and float(gray.mean()) < 128


def stroke_width(ink: np.ndarray, centre: np.ndarray | None = None) -> float:
    """Typical line width (px) of a line mask: ``2 d - 1/2``, d the median distance-transform
    value on the centre lines (``centre``, default:
    :func:`~sketchwidgets.drawing.skeleton.thin`); 0 without lines.

    (A line n px wide has ``d = (n + 1) / 2`` on its centre when n is odd and ``n / 2`` when
    n is even; ``2 d - 1/2`` is off by half a pixel either way.)"""
    if not ink.any():
        return 0.0
    centre = thin(ink) if centre is None else centre
    distance = cv2.distanceTransform(np.pad(ink, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    return float(2 * np.median(distance[centre]) - 0.5) if centre.any() else 0.0


def resize_gray(gray: np.ndarray, size: int) -> np.ndarray:
    """A uint8 grayscale image resized to ``size x size`` (area-averaged when shrinking)."""
    if gray.shape == (size, size):
        return gray
    smaller = size < min(gray.shape)
    method = cv2.INTER_AREA if smaller else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=method)


def measure_side(size: int) -> int:
    """The side the lines of a ``size``-px input are measured (and redrawn) at: ``4 * size``
    up to 256 px, so that widths under a pixel are resolved to a quarter pixel at 64 px."""
    return max(int(size), min(4 * int(size), 256))


def half_peak_mask(gray: np.ndarray, reach: int) -> np.ndarray:
    """Bool mask of the lines of a dark-on-light uint8 sketch at half their darkness: a pixel
    at least half as dark as the darkest pixel within ``reach`` px, where that pixel is ink
    (so a light grey line is as wide as a black one drawn with the same pen)."""
    darkness = 255 - gray.astype(np.int16)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    peak = cv2.dilate(darkness, disk)
    return (gray < PAPER_LEVEL) & (2 * darkness >= peak) & (peak > 255 - INK_LEVEL)


def line_stats(gray: np.ndarray, size: int) -> LineStats:
    """The line statistics of one uint8 grayscale sketch as a model of side ``size`` sees it."""
    gray = np.asarray(gray, dtype=np.uint8)
    dark_on_light = not is_white_on_black(gray)
    if not dark_on_light:
        gray = 255 - gray
    small = resize_gray(gray, size)
    fine = resize_gray(small, measure_side(size))
    scale = fine.shape[0] / size
    reach = round(2 * scale)
    lines = half_peak_mask(fine, reach)
    centre = thin(lines)
    # the darkest model pixel within one pixel of each centre point (the upsampling would
    # otherwise grey the core of a one-pixel line)
    darkest = cv2.erode(small, np.ones((3, 3), np.uint8))
    core = cv2.resize(darkest, fine.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return LineStats(
        size=int(size),
        ink_share=float(ink_mask(small).mean()),
        stroke_width=stroke_width(lines, centre) / scale,
        line_grey=float(np.median(core[centre])) if centre.any() else 255.0,
        shading_share=float(((small >= INK_LEVEL) & (small < PAPER_LEVEL)).mean()),
        dark_on_light=dark_on_light,
    )


def batch_line_stats(grays: Iterable[np.ndarray], size: int) -> LineStats:
    """The median of each figure over many sketches (polarity: the majority's)."""
    each = [line_stats(g, size) for g in grays]
    if not each:
        raise ValueError("no sketches to measure")
    median = {
        name: round(float(np.median([getattr(s, name) for s in each])), 4)
        for name in ("ink_share", "stroke_width", "line_grey", "shading_share")
    }
    dark = sum(s.dark_on_light for s in each) * 2 >= len(each)
    return LineStats(size=int(size), dark_on_light=dark, **median)


def tensor_line_stats(sketches: Sequence[torch.Tensor], size: int) -> LineStats:
    """:func:`batch_line_stats` of float ``(1, H, W)`` sketches in [-1, 1] (a dataset's)."""
    return batch_line_stats((tensor_to_image(s.reshape(1, *s.shape[-2:])) for s in sketches), size)
