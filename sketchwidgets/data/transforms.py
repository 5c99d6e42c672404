"""Paired augmentation on uint8 arrays, as pix2pix does it, plus colour jitter for photos.

pix2pix (``data/base_dataset.py``: ``get_params`` / ``get_transform``, preprocess
``resize_and_crop``) resizes both halves to ``load_size`` (286), crops a random
``crop_size`` (256) window and flips horizontally with probability 0.5, drawing the crop
position and the flip **once per pair** so that sketch and photo stay aligned. Here the
same three steps run with NumPy/OpenCV on uint8 arrays, and every random number comes
from a :class:`numpy.random.Generator` handed in by the caller, so a seed fixes the result.

Resizing uses bicubic interpolation when enlarging (pix2pix's ``BICUBIC``) and area
averaging when shrinking (PIL's bicubic filter is antialiased when it shrinks; OpenCV's is
not, ``INTER_AREA`` is the closest match).

:class:`ColorJitter` follows ``torchvision.transforms.ColorJitter`` (brightness, contrast,
saturation, hue; random order) and is applied to the photo only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from sketchwidgets.io import to_gray


def resize(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a uint8 image to ``size`` (square side, or ``(height, width)``)."""
    height, width = (size, size) if isinstance(size, int) else size
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    shrinking = height * width < h * w
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = cv2.resize(image, (width, height), interpolation=interpolation)
    return out.reshape(height, width, *image.shape[2:])


def center_crop_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square of an image."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[top : top + side, left : left + side]


def square_resize(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square, then resize to ``size`` x ``size``."""
    return resize(center_crop_square(image), size)


@dataclass(frozen=True)
class PairParams:
    """The random draw shared by both halves of a pair (pix2pix ``get_params``)."""

    crop_pos: tuple[int, int]  # (x, y): top-left corner of the crop in the resized image
    flip: bool


def get_params(
    height: int,
    width: int,
    *,
    load_size: int | None,
    crop_size: int | None,
    flip: bool,
    rng: np.random.Generator,
) -> PairParams:
    """Draw a crop position and a flip for an image of ``height`` x ``width``."""
    new_h, new_w = (load_size, load_size) if load_size else (height, width)
    crop = crop_size or 0
    x = int(rng.integers(0, max(0, new_w - crop) + 1)) if crop_size else 0
    y = int(rng.integers(0, max(0, new_h - crop) + 1)) if crop_size else 0
    do_flip = bool(rng.random() > 0.5) if flip else False
    return PairParams(crop_pos=(x, y), flip=do_flip)


def apply_params(
    image: np.ndarray, params: PairParams, *, load_size: int | None, crop_size: int | None
) -> np.ndarray:
    """Resize to ``load_size``, crop ``crop_size`` at ``params.crop_pos``, flip if drawn."""
    out = resize(image, load_size) if load_size else image
    h, w = out.shape[:2]
    if crop_size and (h > crop_size or w > crop_size):  # pix2pix __crop: only when larger
        x, y = params.crop_pos
        out = out[y : y + crop_size, x : x + crop_size]
    if params.flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def _factor_range(value: float | Sequence[float], name: str, center: float) -> tuple[float, float]:
    """torchvision's ColorJitter argument rule: ``v`` -> ``[center - v, center + v]``."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"ColorJitter {name}={value}: must be >= 0")
        low, high = center - float(value), center + float(value)
        if center == 1.0:
            low = max(0.0, low)
    else:
        low, high = (float(v) for v in value)
    if low > high:
        raise ValueError(f"ColorJitter {name}={value}: empty range ({low}, {high})")
    if name == "hue" and not (-0.5 <= low <= high <= 0.5):
        raise ValueError(f"ColorJitter hue={value}: must lie in [-0.5, 0.5]")
    return low, high


def _blend(image: np.ndarray, other: np.ndarray | float, factor: float) -> np.ndarray:
    """``factor * image + (1 - factor) * other``, clipped to [0, 255] (float32)."""
    return np.clip(factor * image + (1.0 - factor) * other, 0.0, 255.0)


def _shift_hue(image: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue of a float RGB image in [0, 255] by ``shift`` turns."""
    hsv = cv2.cvtColor(image / 255.0, cv2.COLOR_RGB2HSV)  # float32: H in [0, 360)
    hsv[..., 0] = (hsv[..., 0] + shift * 360.0) % 360.0
    return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0, 0.0, 255.0)


class ColorJitter:
    """Random brightness, contrast, saturation and hue for a uint8 RGB photo.

    Parameters
    ----------
    brightness, contrast, saturation
        ``v`` draws a factor uniformly from ``[max(0, 1 - v), 1 + v]`` (or pass ``(lo, hi)``);
        0 leaves that property alone.
    hue
        ``h`` in [0, 0.5] draws a hue rotation from ``[-h, h]`` turns of the colour circle.
    seed
        Seeds the generator used when ``__call__`` gets no ``rng``.
    """

    def __init__(
        self,
        brightness: float | Sequence[float] = 0.0,
        contrast: float | Sequence[float] = 0.0,
        saturation: float | Sequence[float] = 0.0,
        hue: float | Sequence[float] = 0.0,
        *,
        seed: int | None = None,
    ) -> None:
        self.brightness = _factor_range(brightness, "brightness", 1.0)
        self.contrast = _factor_range(contrast, "contrast", 1.0)
        self.saturation = _factor_range(saturation, "saturation", 1.0)
        self.hue = _factor_range(hue, "hue", 0.0)
        self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        ranges = ("brightness", "contrast", "saturation", "hue")
        return "ColorJitter(" + ", ".join(f"{n}={getattr(self, n)}" for n in ranges) + ")"

    def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """A jittered copy of a uint8 HxWx3 RGB image."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"ColorJitter expects a uint8 HxWx3 RGB image, got {image.shape}")
        rng = self._rng if rng is None else rng
        factors = [
            float(rng.uniform(*r))
            for r in (self.brightness, self.contrast, self.saturation, self.hue)
        ]
        out = image.astype(np.float32)
        for index in rng.permutation(4):
            out = self._adjust(out, int(index), factors[int(index)])
        return np.round(out).astype(np.uint8)

    @staticmethod
    def _adjust(image: np.ndarray, which: int, factor: float) -> np.ndarray:
        """Apply adjustment ``which`` (0 brightness, 1 contrast, 2 saturation, 3 hue)."""
        if which == 0:
            return _blend(image, 0.0, factor)
        if which == 1:
            mean = float(to_gray(np.round(image).astype(np.uint8)).mean())
            return _blend(image, mean, factor)
        if which == 2:
            gray = to_gray(np.round(image).astype(np.uint8)).astype(np.float32)
            return _blend(image, gray[..., None], factor)
        return _shift_hue(image, factor) if factor != 0.0 else image


class PairedTransform:
    """pix2pix's paired augmentation: resize, random crop, random flip, same draw for both.

    Parameters
    ----------
    load_size
        Side both halves are resized to first (pix2pix default 286); ``None`` keeps the size.
    crop_size
        Side of the random square crop (pix2pix default 256); ``None`` skips cropping.
    flip
        Flip both halves horizontally with probability 0.5.
    jitter
        Optional :class:`ColorJitter` applied to the photo only, after the geometry.
    seed
        Seeds the generator used when ``__call__`` gets no ``rng``.

    Call it as ``sketch, photo = transform(sketch, photo, rng)`` on uint8 arrays of the same
    height and width (sketch HxW or HxWx3, photo HxWx3). For evaluation use
    ``PairedTransform(256, 256, flip=False)``: the crop is then the whole image.
    """

    def __init__(
        self,
        load_size: int | None = 286,
        crop_size: int | None = 256,
        flip: bool = True,
        *,
        jitter: ColorJitter | None = None,
        seed: int | None = None,
    ) -> None:
        if load_size and crop_size and crop_size > load_size:
            raise ValueError(f"crop_size={crop_size} is larger than load_size={load_size}")
        self.load_size, self.crop_size, self.flip, self.jitter = load_size, crop_size, flip, jitter
        self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return (
            f"PairedTransform(load_size={self.load_size}, crop_size={self.crop_size}, "
            f"flip={self.flip}, jitter={self.jitter!r})"
        )

    def __call__(
        self, sketch: np.ndarray, photo: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Transform a (sketch, photo) pair with one shared random draw."""
        if sketch.shape[:2] != photo.shape[:2]:
            raise ValueError(
                f"sketch is {sketch.shape[:2]} but photo is {photo.shape[:2]} "
                "(H, W); resize both to one size before the paired transform"
            )
        rng = self._rng if rng is None else rng
        params = get_params(
            *photo.shape[:2],
            load_size=self.load_size,
            crop_size=self.crop_size,
            flip=self.flip,
            rng=rng,
        )
        sizes = {"load_size": self.load_size, "crop_size": self.crop_size}
        sketch = apply_params(sketch, params, **sizes)
        photo = apply_params(photo, params, **sizes)
        if self.jitter is not None:
            photo = self.jitter(photo, rng)
        return sketch, photo
