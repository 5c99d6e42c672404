"""Put a face of one data set into the framing of another: eyes and mouth where theirs are.

A *layout* is where a data set's faces have their two eyes and their mouth. Both face sets
here are already aligned, one face like the next, so one layout per set and one similarity
transform (scale, turn, shift) between them is enough: :func:`similarity` fits it to the three
landmarks by least squares (Umeyama 1991, without reflection), and :func:`align` applies it.

:func:`find_layout` measures a layout on a *mean face* (the average of a set's photos in
grey): each eye is the darkest small blob in its search box (a difference of Gaussians),
the mouth the darkest row of a band through the middle. The constants below were measured
that way on ``../shared/data``: :data:`CELEBA_LAYOUT` on the 832 photos of
``celeba_xdog_joint64`` (64 x 64), :data:`CUFS_LAYOUT` on the 188 photos of ``cufs_train``
(200 x 250); ``docs/drawn_sketches.md`` has the numbers and the command.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceLayout:
    """Eye and mouth centres ``(x, y)`` in pixels of a ``width`` x ``height`` image."""

    left_eye: tuple[float, float]
    right_eye: tuple[float, float]
    mouth: tuple[float, float]
    width: int
    height: int

    def points(self) -> np.ndarray:
        """The three landmarks as a float ``(3, 2)`` array."""
        return np.array([self.left_eye, self.right_eye, self.mouth], np.float64)


@dataclass(frozen=True)
class SearchBoxes:
    """Where :func:`find_layout` looks, as fractions ``(x0, y0, x1, y1)`` of the image."""

    left_eye: tuple[float, float, float, float]
    right_eye: tuple[float, float, float, float]
    mouth: tuple[float, float, float, float]


CELEBA_BOXES = SearchBoxes((0.1, 0.0, 0.45, 0.35), (0.55, 0.0, 0.9, 0.35), (0.35, 0.5, 0.65, 0.85))
CUFS_BOXES = SearchBoxes((0.25, 0.4, 0.48, 0.6), (0.52, 0.4, 0.75, 0.6), (0.35, 0.65, 0.65, 0.85))

# measured with find_layout on the mean faces (see the module notes)
CELEBA_LAYOUT = FaceLayout((18.0, 10.0), (46.0, 9.0), (31.5, 42.0), 64, 64)
CUFS_LAYOUT = FaceLayout((74.0, 125.0), (125.0, 125.0), (99.5, 180.0), 200, 250)


def _box(shape: tuple[int, int], box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    height, width = shape
    x0, y0, x1, y1 = box
    return slice(round(y0 * height), round(y1 * height)), slice(
        round(x0 * width), round(x1 * width)
    )


def _dark_blobs(gray: np.ndarray) -> np.ndarray:
    """Difference of Gaussians that peaks on dark spots about 1/20 of the width across."""
    scale = gray.shape[1] / 100.0
    image = gray.astype(np.float32)
    return cv2.GaussianBlur(image, (0, 0), 4 * scale) - cv2.GaussianBlur(image, (0, 0), scale)


def find_layout(mean_gray: np.ndarray, boxes: SearchBoxes) -> FaceLayout:
    """The eyes and mouth of a mean face (grey, any size) found in ``boxes``."""
    response = _dark_blobs(mean_gray)
    eyes = []
    for box in (boxes.left_eye, boxes.right_eye):
        rows, cols = _box(mean_gray.shape, box)
        y, x = np.unravel_index(int(np.argmax(response[rows, cols])), response[rows, cols].shape)
        eyes.append((float(x + cols.start), float(y + rows.start)))
    rows, cols = _box(mean_gray.shape, boxes.mouth)
    row = int(np.argmax(response[rows, cols].mean(axis=1))) + rows.start
    mouth = ((cols.start + cols.stop - 1) / 2.0, float(row))
    height, width = mean_gray.shape
    return FaceLayout(eyes[0], eyes[1], mouth, width, height)


def similarity(source: FaceLayout, target: FaceLayout) -> np.ndarray:
    """The 2x3 similarity matrix taking ``source``'s landmarks nearest to ``target``'s."""
    src, dst = source.points(), target.points()
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - src_mean, dst - dst_mean
    u, singular, vt = np.linalg.svd(b.T @ a)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign)) / float((a**2).sum())
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align(image: np.ndarray, source: FaceLayout, target: FaceLayout) -> np.ndarray:
    """``image`` (framed as ``source``) warped into ``target``'s framing and size."""
    matrix = similarity(source, target)
    size = (target.width, target.height)
    shrink = matrix[0, 0] ** 2 + matrix[0, 1] ** 2 < 1.0
    if shrink:  # area-average first so that fine lines survive the shrinking
        factor = float(np.sqrt(matrix[0, 0] ** 2 + matrix[0, 1] ** 2))
        small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        matrix = matrix.copy()
        matrix[:, :2] /= factor
        image = small
    return cv2.warpAffine(
        image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
