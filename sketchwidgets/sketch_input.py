"""Turn whatever a user hands over as a sketch into the tensor a model expects, and back.

Accepted: a uint8 ``HxW`` / ``HxWx3`` / ``HxWx4`` array, a batch ``NxHxW[xC]``, a PIL image,
a list of those, or a float tensor ``(1|3, H, W)`` / ``(N, 1|3, H, W)`` in [-1, 1]. Any size:
sketches are resized to the model's square side and, on request, the result is resized back.
Black-on-white is the convention; a white-on-black drawing is detected (or flagged with
``invert=True``) and flipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from sketchwidgets.io import image_to_tensor, tensor_to_image, to_gray


@dataclass
class PreparedSketch:
    """A batch ready for ``generate_tensor`` plus what is needed to undo the resize."""

    tensor: torch.Tensor  # (N, 1, S, S) in [-1, 1], black ink = -1
    original_sizes: list[tuple[int, int]]  # (H, W) per sketch
    batched: bool


def is_white_on_black(gray: np.ndarray) -> bool:
    """True when a grayscale sketch is mostly dark, i.e. light ink on a dark background."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) < 128 and float(gray.mean()) < 128


def _to_gray_list(sketch: Any) -> tuple[list[np.ndarray], bool]:
    """Normalise any accepted input to a list of uint8 HxW arrays and a 'was batched' flag."""
    if isinstance(sketch, (list, tuple)):
        return [_single_gray(item) for item in sketch], True
    if isinstance(sketch, torch.Tensor):
        if sketch.ndim == 4:
            return [_single_gray(item) for item in sketch], True
        return [_single_gray(sketch)], False
    array = np.asarray(sketch)
    if array.ndim == 4 or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        return [_single_gray(item) for item in array], True
    return [_single_gray(array)], False


def _single_gray(item: Any) -> np.ndarray:
    if isinstance(item, torch.Tensor):
        if item.ndim != 3 or item.shape[0] not in (1, 3):
            raise ValueError(f"a sketch tensor must be (1|3, H, W), got {tuple(item.shape)}")
        item = tensor_to_image(item)
    array = np.asarray(item)
    if array.dtype == bool:
        array = np.where(array, 0, 255).astype(np.uint8)
    if array.dtype != np.uint8:
        raise TypeError(f"a sketch array must be uint8 (or a float tensor), got {array.dtype}")
    if array.ndim not in (2, 3) or min(array.shape[:2]) < 2:
        raise ValueError(f"a sketch must be an HxW or HxWxC image, got shape {array.shape}")
    return to_gray(array)


def prepare_sketch(sketch: Any, size: int, *, invert: bool | None = None) -> PreparedSketch:
    """Sketch(es) -> ``(N, 1, size, size)`` tensor in [-1, 1], black ink on white.

    ``invert=None`` detects white-on-black drawings; ``True``/``False`` forces the choice.
    """
    grays, batched = _to_gray_list(sketch)
    if not grays:
        raise ValueError("no sketch given (empty batch)")
    sizes = [g.shape[:2] for g in grays]
    resized = []
    for gray in grays:
        flip = is_white_on_black(gray) if invert is None else invert
        gray = 255 - gray if flip else gray
        if gray.shape != (size, size):
            gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
        resized.append(gray)
    tensor = image_to_tensor(np.stack(resized)[..., None])
    return PreparedSketch(tensor=tensor, original_sizes=sizes, batched=batched)


def restore_size(
    images: torch.Tensor, prepared: PreparedSketch, *, keep_size: bool = False
) -> np.ndarray:
    """Model output ``(N, 3, S, S)`` -> uint8 RGB, resized back to each input's size if asked."""
    arrays = tensor_to_image(images)
    if keep_size:
        arrays = [
            cv2.resize(a, (w, h), interpolation=cv2.INTER_CUBIC)
            for a, (h, w) in zip(arrays, prepared.original_sizes, strict=True)
        ]
        if prepared.batched:
            same = len({a.shape for a in arrays}) == 1
            return np.stack(arrays) if same else arrays  # type: ignore[return-value]
    return arrays if prepared.batched else arrays[0]
