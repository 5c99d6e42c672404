"""How well a generated edge map follows the input sketch's shape (EdgeGAN's evaluation).

Both images are line drawings, dark ink on light paper: uint8 ``HxW`` / ``HxWx3`` arrays, or
float tensors ``(N, 1|3, H, W)`` in [-1, 1] (a model's ``"edge"`` output, a batch's
``"sketch"``). Ink is a pixel darker than mid-grey.

``dilated_iou(a, b, radius=2)``
    Intersection over union of the two ink masks after each is dilated by a disk of
    ``radius`` pixels (a tolerance for strokes a pixel or two off). 1 = the same strokes,
    0 = no overlap, or one drawing blank and the other not. Two blank drawings score 1.
``chamfer_distance(a, b)``
    Symmetric chamfer distance: the mean distance from each ink pixel of one drawing to the
    nearest ink pixel of the other, averaged over both directions, divided by the image
    side. 0 = the same strokes; 1 (the worst) when exactly one drawing is blank.

:func:`shape_similarity` is ``dilated_iou`` averaged over a batch: the figure the EdgeGAN
evaluation table reports (higher is better).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from sketchwidgets.io import tensor_to_image, to_gray

INK_LEVEL = 200  # uint8 grey below this is ink (resized thin strokes are light grey)


def ink_mask(drawing: Any) -> np.ndarray:
    """Bool ``HxW`` mask of the ink of one drawing (uint8 array or ``(C, H, W)`` tensor)."""
    if isinstance(drawing, torch.Tensor):
        drawing = tensor_to_image(drawing.detach().float().cpu())
    array = np.asarray(drawing)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(
            f"a drawing must be a uint8 HxW[xC] array, got {array.dtype} {array.shape}"
        )
    return to_gray(array) < INK_LEVEL


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    ink_a, ink_b = ink_mask(a), ink_mask(b)
    if ink_a.shape != ink_b.shape:
        raise ValueError(f"drawings differ in size: {ink_a.shape} and {ink_b.shape} (H, W)")
    return ink_a, ink_b


def dilated_iou(a: Any, b: Any, radius: int = 2) -> float:
    """IoU of the two ink masks, each dilated by a disk of ``radius`` px; see the module doc."""
    ink_a, ink_b = _pair(a, b)
    if radius > 0:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        ink_a = cv2.dilate(ink_a.astype(np.uint8), disk) > 0
        ink_b = cv2.dilate(ink_b.astype(np.uint8), disk) > 0
    union = np.logical_or(ink_a, ink_b).sum()
    return 1.0 if union == 0 else float(np.logical_and(ink_a, ink_b).sum() / union)


def _mean_distance_to(ink_from: np.ndarray, ink_to: np.ndarray) -> float:
    """Mean distance (px) from each ink pixel of ``ink_from`` to the nearest of ``ink_to``."""
    distance = cv2.distanceTransform((~ink_to).astype(np.uint8), cv2.DIST_L2, 5)
    return float(distance[ink_from].mean())


def chamfer_distance(a: Any, b: Any) -> float:
    """Symmetric chamfer distance over the image side; see the module doc."""
    ink_a, ink_b = _pair(a, b)
    if not ink_a.any() and not ink_b.any():
        return 0.0
    if not ink_a.any() or not ink_b.any():
        return 1.0
    side = max(ink_a.shape)
    both = 0.5 * (_mean_distance_to(ink_a, ink_b) + _mean_distance_to(ink_b, ink_a))
    return min(1.0, both / side)


def shape_similarity(sketches: torch.Tensor, edges: torch.Tensor, radius: int = 2) -> float:
    """Mean :func:`dilated_iou` over a batch: ``(N, 1|3, H, W)`` sketches and edge maps."""
    if sketches.shape[0] != edges.shape[0]:
        raise ValueError(f"{sketches.shape[0]} sketches but {edges.shape[0]} edge maps")
    scores = [dilated_iou(s, e, radius) for s, e in zip(sketches, edges, strict=True)]
    return float(np.mean(scores))
