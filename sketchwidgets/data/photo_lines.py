"""The lines a person would draw from a photo, as a one-pixel mask at canvas size.

Two sources, so that a model does not learn one detector's habits:

* ``"canny"``: Canny edges (J. Canny, PAMI 1986) of every colour channel, so hue changes
  count too, after a Gaussian blur; the thresholds keep a set share of the strongest
  gradients, so a flat photo and a busy one give a similar amount of line;
* ``"xdog"``: the centre lines of an XDoG drawing of every colour channel
  (:func:`~sketchwidgets.data.sketchify.xdog`, the style of the face data), thinned to a
  skeleton (:func:`~sketchwidgets.drawing.skeleton.thin`), specks left out.

The photo is first enlarged to the canvas (bicubic): lines are found where a drawing on the
canvas would put them, in the canvas's own pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from sketchwidgets.data.sketchify import xdog
from sketchwidgets.drawing.skeleton import thin
from sketchwidgets.io import to_rgb

LINE_SOURCES = ("canny", "xdog")
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def to_canvas(photo: np.ndarray, canvas: int) -> np.ndarray:
    """A uint8 photo as RGB, resized to ``canvas`` x ``canvas`` (bicubic when enlarging)."""
    rgb = to_rgb(np.asarray(photo, np.uint8))
    enlarge = canvas > max(rgb.shape[:2])
    interpolation = cv2.INTER_CUBIC if enlarge else cv2.INTER_AREA
    return cv2.resize(rgb, (canvas, canvas), interpolation=interpolation)


def canny_lines(rgb: np.ndarray, *, blur: float, keep: float) -> np.ndarray:
    """Canny edges of any channel; ``keep`` is the share of pixels above the high threshold."""
    edges = np.zeros(rgb.shape[:2], bool)
    for channel in range(rgb.shape[2]):
        smooth = cv2.GaussianBlur(rgb[..., channel], (0, 0), blur)
        dx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
        dy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
        high = max(float(np.percentile(np.hypot(dx, dy), 100.0 * (1.0 - keep))), 20.0)
        edges |= cv2.Canny(smooth, 0.4 * high, high, L2gradient=True) > 0
    closed = cv2.morphologyEx(edges.astype(np.uint8), cv2.MORPH_CLOSE, _CROSS)
    return thin(closed > 0)  # one line where the channels' edges ran side by side


def xdog_lines(rgb: np.ndarray, *, sigma: float, min_area: int) -> np.ndarray:
    """The skeleton of an XDoG drawing, without ink specks under ``min_area`` pixels."""
    params = {"sigma": sigma, "k": 2.0, "gamma": 0.98, "epsilon": 0.0, "phi": 50.0}
    drawing = np.zeros(rgb.shape[:2], bool)
    for channel in range(rgb.shape[2]):  # every channel, so a change of hue makes a line too
        drawing |= xdog(rgb[..., channel], **params) < 128
    count, labels, stats, _ = cv2.connectedComponentsWithStats(drawing.astype(np.uint8), 8)
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_area)
    kept = np.isin(labels, large[large > 0])
    return thin(kept)


def photo_lines(
    photo: np.ndarray, source: str, rng: np.random.Generator, *, canvas: int = 256
) -> np.ndarray:
    """A boolean one-pixel line mask of ``photo`` at ``canvas`` px from ``source``.

    The detector's scale is drawn from ``rng`` (blur 2-4 px per 256 canvas px).
    """
    rgb = to_canvas(photo, canvas)
    scale = canvas / 256.0
    if source == "canny":
        blur = float(rng.uniform(2.0, 4.0)) * scale
        return canny_lines(rgb, blur=blur, keep=float(rng.uniform(0.06, 0.12)))
    if source == "xdog":
        sigma = float(rng.uniform(1.2, 2.2)) * scale
        return xdog_lines(rgb, sigma=sigma, min_area=round(30 * scale * scale))
    raise ValueError(f"unknown line source {source!r}; known: {list(LINE_SOURCES)}")
