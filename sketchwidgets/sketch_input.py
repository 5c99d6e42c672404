"""Turn whatever a user hands over as a sketch into the tensor a model expects, and back.

Accepted: a uint8 ``HxW`` / ``HxWx3`` / ``HxWx4`` array (0..255), a batch ``NxHxW[xC]``, a PIL
image, a list of those, a float array of the same shapes in [-1, 1], or a tensor
``(1|3, H, W)`` / ``(N, 1|3, H, W)``: float in [-1, 1] or uint8 0..255. Any size:
sketches are resized to the model's square side and, on request, the result is resized back.
Black-on-white is the convention; a white-on-black drawing is detected (or flagged with
``invert=True``) and flipped. 16-bit (uint16) arrays are scaled to 8 bits.

What is refused, the same for every model (each a ``ValueError`` naming the sketch's index):

* an **empty sketch**, i.e. nothing drawn: one grey level everywhere (all white, all black,
  any flat grey, up to :data:`MIN_INK_CONTRAST` of scanner or compression noise). A model
  would otherwise invent a whole image from nothing; the message starts
  ``"empty sketch: nothing drawn"``;
* a sketch whose smaller side is under :data:`~sketchwidgets.io.MIN_IMAGE_SIDE` (16 px);
* a float tensor or array holding NaN or inf, or values outside [-1, 1] (the message names
  the range: 0..255 floats are not scaled or clipped silently). This one rule,
  :func:`~sketchwidgets.export.search.check_sketch_values`, also holds for the widgets and the
  exported search;
* ``None``, a file path (read it first: ``sketchwidgets.io.read_image(path)``) or any other
  type: ``TypeError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from sketchwidgets.drawing.line_stats import LineStats, is_white_on_black
from sketchwidgets.drawing.normaliser import normalise_sketch
from sketchwidgets.export.search import check_sketch_values
from sketchwidgets.io import check_min_size, image_to_tensor, tensor_to_image, to_gray, to_uint8

# A sketch has strokes when its darkest pixel is at least this many grey levels below its
# lightest. Blank paper, scanned or JPEG-compressed, varies by less; a faint pencil line by more.
MIN_INK_CONTRAST = 16
EMPTY_SKETCH = "empty sketch: nothing drawn"


@dataclass
class PreparedSketch:
    """A batch ready for ``generate_tensor`` plus what is needed to undo the resize."""

    tensor: torch.Tensor  # (N, 1, S, S) in [-1, 1], black ink = -1
    original_sizes: list[tuple[int, int]]  # (H, W) per sketch
    batched: bool


def has_strokes(gray: np.ndarray) -> bool:
    """True when a uint8 grayscale sketch holds anything drawn (see :data:`MIN_INK_CONTRAST`)."""
    return int(gray.max()) - int(gray.min()) >= MIN_INK_CONTRAST


def _items(sketch: Any) -> tuple[list[Any], bool]:
    """Split any accepted input into single sketches and a 'was batched' flag."""
    if isinstance(sketch, (list, tuple)):
        return list(sketch), True
    if isinstance(sketch, torch.Tensor):
        return (list(sketch), True) if sketch.ndim == 4 else ([sketch], False)
    array = np.asarray(sketch)
    if array.ndim == 4 or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        return list(array), True
    return [array], False


def _tensor_as_image(item: torch.Tensor, index: int) -> np.ndarray:
    """A ``(1|3, H, W)`` tensor (float in [-1, 1], or uint8) as a uint8 HxW[xC] image."""
    if item.ndim != 3 or item.shape[0] not in (1, 3):
        raise ValueError(f"a sketch tensor must be (1|3, H, W), got {tuple(item.shape)}")
    if item.is_floating_point():
        check_sketch_values(item, f"sketch {index}")
        return tensor_to_image(item)
    if item.dtype != torch.uint8:
        raise TypeError(f"a sketch tensor must be float in [-1, 1] or uint8, got {item.dtype}")
    array = item.detach().cpu().permute(1, 2, 0).numpy()
    return array[:, :, 0] if array.shape[2] == 1 else array


def _refuse_non_image(item: Any, index: int) -> None:
    """``TypeError`` for what is no image at all: None, a path, text."""
    if item is None:
        raise TypeError(f"sketch {index} is None: pass a drawing (uint8 array, PIL image, tensor)")
    if isinstance(item, str | os.PathLike):
        raise TypeError(
            f"sketch {index} is a path ({os.fspath(item)!r}), not an image: read the file first, "
            "e.g. sketchwidgets.io.read_image(path)"
        )


def sketch_gray(item: Any, index: int = 0) -> np.ndarray:
    """One sketch as a uint8 HxW array, checked for type and values only (any size, drawn or
    not); what :func:`prepare_sketch` and the widgets accept (see the module docstring)."""
    _refuse_non_image(item, index)
    if isinstance(item, torch.Tensor):
        item = _tensor_as_image(item, index)
    array = np.asarray(item)
    if array.dtype == bool:
        array = np.where(array, 0, 255).astype(np.uint8)
    if array.dtype.kind == "f":
        check_sketch_values(array, f"sketch {index}")
        array = np.round((np.clip(array, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    if array.dtype not in (np.uint8, np.uint16):
        raise TypeError(
            f"sketch {index}: a sketch array must be uint8 (0..255) or float in [-1, 1], "
            f"got {array.dtype}"
        )
    if array.ndim not in (2, 3):
        raise ValueError(f"a sketch must be an HxW or HxWxC image, got shape {array.shape}")
    return to_gray(to_uint8(array))


def _single_gray(item: Any, index: int) -> np.ndarray:
    """One sketch as a uint8 HxW array, checked for type, values, size and strokes."""
    gray = sketch_gray(item, index)
    check_min_size(gray, f"sketch {index}")
    if not has_strokes(gray):
        raise ValueError(
            f"{EMPTY_SKETCH} (sketch {index} is blank: one grey level, {int(gray.min())}, "
            "everywhere); draw something first"
        )
    return gray


def prepare_sketch(
    sketch: Any, size: int, *, invert: bool | None = None, line_stats: LineStats | None = None
) -> PreparedSketch:
    """Sketch(es) -> ``(N, 1, size, size)`` tensor in [-1, 1], black ink on white.

    ``invert=None`` detects white-on-black drawings; ``True``/``False`` forces the choice.
    Empty, too small or non-finite sketches raise ``ValueError`` (see the module docstring).
    ``line_stats`` (a model's training sketches'): each sketch is redrawn in that style
    (:func:`~sketchwidgets.drawing.normaliser.normalise_sketch`) instead of merely resized.
    """
    _refuse_non_image(sketch, 0)
    items, batched = _items(sketch)
    if not items:
        raise ValueError("no sketch given (empty batch)")
    grays = [_single_gray(item, index) for index, item in enumerate(items)]
    sizes = [g.shape[:2] for g in grays]
    resized = []
    for gray in grays:
        flip = is_white_on_black(gray) if invert is None else invert
        gray = 255 - gray if flip else gray
        if line_stats is not None:
            gray = normalise_sketch(gray, line_stats.at_size(size))
        elif gray.shape != (size, size):
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
