"""How well a generated edge map follows the input sketch's shape (EdgeGAN's evaluation).

Both images are line drawings, dark ink on light paper: uint8 ``HxW`` / ``HxWx3`` arrays, or
float tensors ``(N, 1|3, H, W)`` in [-1, 1] (a model's ``"edge"`` output, a batch's
``"sketch"``). Ink is :func:`sketchwidgets.drawing.line_stats.ink_mask`'s: grey below 200 of 255.

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

Does a model follow its input sketch at all? Two checks that a model ignoring the sketch fails:

``sketch_dependence(sketches, edges, labels)``
    ``shape_similarity`` of each generated edge map against its own input sketch
    (``matched``) and against another sketch of the same class (``shuffled``,
    :func:`same_class_shuffle`). A model that ignores its input scores the same on both.
``spread_ratio(generated, real, labels)``
    How much the generated images of one class differ from each other, relative to the real
    images of that class: the per-pixel standard deviation across a class, averaged over
    pixels and classes, generated over real. Near 0 = every sketch gives the same image.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from sketchwidgets.drawing.line_stats import ink_mask as gray_ink_mask
from sketchwidgets.io import tensor_to_image, to_gray


def ink_mask(drawing: Any) -> np.ndarray:
    """Bool ``HxW`` mask of the ink of one drawing (uint8 array or ``(C, H, W)`` tensor)."""
    if isinstance(drawing, torch.Tensor):
        drawing = tensor_to_image(drawing.detach().float().cpu())
    array = np.asarray(drawing)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(
            f"a drawing must be a uint8 HxW[xC] array, got {array.dtype} {array.shape}"
        )
    return gray_ink_mask(to_gray(array))


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


def same_class_shuffle(labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Indices that send each item to a different item of the same class (where its class has
    at least two items; a class of one keeps its item)."""
    rng = torch.Generator().manual_seed(seed)
    labels = torch.as_tensor(labels)
    order = torch.arange(len(labels))
    for label in labels.unique():
        members = torch.nonzero(labels == label)[:, 0]
        if len(members) > 1:
            members = members[torch.randperm(len(members), generator=rng)]
            order[members] = members.roll(1)  # a cycle: nobody keeps their own
    return order


def sketch_dependence(
    sketches: torch.Tensor, edges: torch.Tensor, labels: torch.Tensor, radius: int = 2
) -> dict[str, float]:
    """``{"matched", "shuffled"}``: :func:`shape_similarity` of the generated edge maps against
    their own sketches and against other sketches of the same class."""
    shuffled = sketches[same_class_shuffle(labels)]
    return {
        "matched": shape_similarity(sketches, edges, radius),
        "shuffled": shape_similarity(shuffled, edges, radius),
    }


def spread_ratio(generated: torch.Tensor, real: torch.Tensor, labels: torch.Tensor) -> float:
    """Per-class pixel spread of ``generated`` over that of ``real`` (both ``(N, C, H, W)``,
    one label each); classes with fewer than two items are skipped."""
    classes = [c for c in labels.unique() if int((labels == c).sum()) > 1]
    if not classes:
        raise ValueError("spread_ratio needs a class with at least two items")

    def spread(images: torch.Tensor) -> float:
        return float(np.mean([images[labels == c].float().std(0).mean().item() for c in classes]))

    return spread(generated) / spread(real)
