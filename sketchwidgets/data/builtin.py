"""The embedded default dataset: procedural photos of 8 object classes and their sketches.

The package draws its own photo set, so the quickstart, the notebooks and the tests need no
download.  Each photo is painted by :mod:`sketchwidgets.data.painters` (shaded
signed-distance shapes, 2x supersampled) and area-averaged to the target size; size, pose and
colours vary within each class.  Every image is a pure function of ``(seed, index)``, so the
set is identical for any worker count.

Sketches come from :func:`sketchwidgets.data.sketchify.sketchify`, and :func:`example_sketch`
traces a rendered photo's edges into :class:`~sketchwidgets.data.strokes.Sketch` strokes, a
stand-in for a drawing made on the canvas.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sketchwidgets.data.drawn_style import DEFAULT_STYLE, HandStyle, hand_strokes
from sketchwidgets.data.painters import PAINTERS, paint_scene
from sketchwidgets.data.pool import process_pool
from sketchwidgets.data.sketchify import canny, remove_background, sketchify
from sketchwidgets.data.stroke_tracing import walk_open_curves
from sketchwidgets.data.strokes import Sketch
from sketchwidgets.io import image_to_tensor, write_image

CLASSES: tuple[str, ...] = tuple(PAINTERS)  # apple, ball, mug, house, tree, car, fish, bottle
SPLITS = ("train", "val", "all")
_CHUNK = 128  # pairs per pool task; fixed, so outputs never depend on the worker count
_POOL_MIN = 1024  # fewer pairs render inline: starting the pool (imports torch) costs more


# --------------------------------------------------------------------------- photos


def _to_uint8(image: np.ndarray, size: int) -> np.ndarray:
    """Area-downsample a float render to ``size`` and quantise to uint8."""
    small = cv2.resize(image.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(small * 255), 0, 255).astype(np.uint8)


def render_photo(class_name: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A procedural photo of one object of ``class_name`` -> uint8 ``size`` x ``size`` x 3."""
    return _to_uint8(paint_scene(class_name, rng, size), size)


# --------------------------------------------------------------------------- pairs


@dataclass
class EmbeddedPairs:
    """Photos, sketches and labels of the embedded dataset."""

    photos: np.ndarray  # (N, H, W, 3) uint8
    sketches: np.ndarray  # (N, H, W) uint8, black ink on white
    labels: np.ndarray  # (N,) int64, index into class_names
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def _item_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of item ``index``: depends only on (seed, index)."""
    return np.random.default_rng([seed, index])


def _render_chunk(
    indices: Sequence[int],
    classes: Sequence[str],
    size: int,
    seed: int,
    style: str,
    params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Photos and sketches of the given item indices (runs in a pool worker or inline)."""
    photos = np.stack(
        [render_photo(classes[i % len(classes)], _item_rng(seed, i), size) for i in indices]
    )
    return photos, sketchify(photos, style, **params)


def _default_workers() -> int:
    """min(2, CPU count)."""
    return max(1, min(2, os.cpu_count() or 1))


def _generate(
    indices: Sequence[int],
    classes: Sequence[str],
    size: int,
    seed: int,
    style: str,
    params: dict[str, Any],
    workers: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render items in fixed chunks, over a process pool when it pays off."""
    chunks = [list(indices[i : i + _CHUNK]) for i in range(0, len(indices), _CHUNK)]
    workers = min(_default_workers() if workers is None else max(1, workers), len(chunks))
    args = (classes, size, seed, style, params)
    if workers <= 1 or len(indices) < _POOL_MIN:
        results = [_render_chunk(c, *args) for c in chunks]
    else:
        with process_pool(workers, preload=__name__) as pool:
            results = list(pool.map(_render_chunk, chunks, *[[a] * len(chunks) for a in args]))
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def _check_classes(classes: Sequence[str] | None) -> list[str]:
    """The chosen class names (default: all), validated."""
    chosen = list(CLASSES if classes is None else classes)
    unknown = [c for c in chosen if c not in CLASSES]
    if unknown or not chosen:
        raise KeyError(f"unknown or no classes {unknown}; known classes: {list(CLASSES)}")
    return chosen


def embedded_pairs(
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
    style: str = "xdog",
    classes: Sequence[str] | None = None,
    workers: int | None = None,
    **params: Any,
) -> EmbeddedPairs:
    """``n`` procedural photo/sketch pairs, classes in round-robin order (balanced).

    Parameters
    ----------
    n:
        Number of pairs.
    size:
        Side of the square images in pixels.
    seed:
        Item ``i`` depends only on ``(seed, i)``: the same seed gives identical arrays.
    style:
        Sketch style of :func:`~sketchwidgets.data.sketchify.sketchify`; ``params`` go to it.
    classes:
        Subset (and order) of :data:`CLASSES`; labels index into it.
    workers:
        Processes to render with (default ``min(2, CPU count)``; used from 1,024 pairs on,
        below that starting the pool costs more than it saves); the result does not depend
        on it.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    chosen = _check_classes(classes)
    if n == 0:
        empty = np.zeros((0, size, size), np.uint8)
        return EmbeddedPairs(
            np.zeros((0, size, size, 3), np.uint8), empty, np.zeros(0, np.int64), chosen
        )
    photos, sketches = _generate(range(n), chosen, size, seed, style, params, workers)
    labels = np.arange(n, dtype=np.int64) % len(chosen)
    return EmbeddedPairs(photos, sketches, labels, chosen)


class EmbeddedDataset(Dataset):
    """The embedded pairs as a torch Dataset returning the package's item dict.

    Items are ``{"sketch": (1, H, W), "photo": (3, H, W)`` in [-1, 1], ``"label"``, ``"path":
    "embedded://<class>/<index>"}``.  ``split="val"`` holds the last ``round(n *
    val_fraction)`` of the ``n`` pairs, ``"train"`` the others, ``"all"`` every pair.
    ``transform(sketch, photo, rng) -> (sketch, photo)`` (uint8 arrays) runs per item, with
    ``rng`` seeded from torch's global generator.
    """

    def __init__(
        self,
        n: int = 512,
        *,
        size: int = 64,
        seed: int = 0,
        style: str = "xdog",
        split: str = "train",
        val_fraction: float = 0.1,
        classes: Sequence[str] | None = None,
        transform: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
        workers: int | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n_val = round(n * val_fraction)
        bounds = {"train": (0, n - n_val), "val": (n - n_val, n), "all": (0, n)}[split]
        self.indices = list(range(*bounds))
        self.class_names = _check_classes(classes)
        self.size, self.seed, self.style, self.transform = size, seed, style, transform
        if self.indices:
            self.photos, self.sketches = _generate(
                self.indices, self.class_names, size, seed, style, {}, workers
            )
        else:
            self.photos = np.zeros((0, size, size, 3), np.uint8)
            self.sketches = np.zeros((0, size, size), np.uint8)
        self.labels = [i % len(self.class_names) for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    root: Path | None = None  # generated in memory, not read from a folder

    def path(self, item: int) -> str:
        """The item's pseudo path, ``embedded://<class>/<index>``."""
        return f"embedded://{self.class_names[self.labels[item]]}/{self.indices[item]:04d}"

    def describe(self, item: int) -> str:
        """The item's pseudo path (:meth:`path`)."""
        return self.path(item)

    def read_pair(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's uint8 ``(sketch HxW, photo HxWx3)`` as generated (no transform)."""
        if not -len(self) <= item < len(self):
            raise IndexError(f"index {item} out of range for {len(self)} items")
        return self.sketches[item], self.photos[item]

    def __getitem__(self, item: int) -> dict[str, Any]:
        if not -len(self) <= item < len(self):
            raise IndexError(f"index {item} out of range for {len(self)} items")
        item %= len(self)
        sketch, photo = self.sketches[item], self.photos[item]
        if self.transform is not None:
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
            sketch, photo = self.transform(sketch, photo, rng)
        return {
            "sketch": image_to_tensor(np.ascontiguousarray(sketch)),
            "photo": image_to_tensor(np.ascontiguousarray(photo)),
            "label": self.labels[item],
            "path": self.path(item),
        }


def write_embedded_photos(
    folder: str | os.PathLike,
    n: int,
    *,
    size: int = 128,
    seed: int = 0,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``n`` embedded photos as PNGs in class subfolders (``<class>/<index>.png``)."""
    root = Path(folder)
    written = []
    for i in range(n):
        name = CLASSES[i % len(CLASSES)]
        photo = render_photo(name, _item_rng(seed, i), size)
        written.append(write_image(root / name / f"{i:04d}.png", photo, overwrite=overwrite))
    return written


# --------------------------------------------------------------------------- example sketch


def example_sketch(class_name: str, *, size: int = 256, seed: int = 0) -> Sketch:
    """A hand-drawn :class:`Sketch` of one object, in the drawn style the models train on.

    The photo (drawn without shadows) has its background removed; its Canny edges in any
    colour channel are traced with ``cv2.findContours``, split into single-pass curves and
    simplified with ``cv2.approxPolyDP``. Each curve then becomes a pen stroke with a hand's
    errors by :func:`~sketchwidgets.data.drawn_style.hand_strokes` (shift, turn, wobble,
    overshoot, gaps), with the pen and ranges of :func:`example_style`, so notebooks, the
    studio and tests get a canvas drawing like the training sketches without a browser.
    """
    rng = np.random.default_rng([seed, CLASSES.index(class_name) if class_name in CLASSES else 0])
    photo = _to_uint8(paint_scene(class_name, rng, size, shadows=False), size)
    photo = remove_background(photo, tolerance=30)
    channels = [canny(photo[..., c], blur=size / 128, low=40, high=100) for c in range(3)]
    edges = np.min(channels, axis=0) < 128  # edges of any colour channel (hue changes too)
    contours, _ = cv2.findContours(edges.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    curves = []
    for contour in contours:
        for piece in walk_open_curves(contour):
            if len(piece) >= size / 25:
                simple = cv2.approxPolyDP(piece[:, None, :].astype(np.float32), size / 200, False)
                curves.append(simple[:, 0, :].astype(float) + 0.5)
    return Sketch(size, size, hand_strokes(curves, rng, example_style(size)))


def example_style(size: int) -> HandStyle:
    """The drawn style of the examples on a ``size`` px canvas: one 4 px pen (at 256 px), every
    traced curve kept, and a steadier hand than the training style's widest ranges."""
    k = size / 256
    return replace(
        DEFAULT_STYLE,
        canvas=size,
        pen_width=(4 * k, 4 * k),
        min_length=(0.0, 0.0),
        dropout=(0.0, 0.0),
        shift=1.5 * k,
        wobble=0.6 * k,
        overshoot=(-2 * k, 4 * k),
        gap=(3 * k, 8 * k),
    )
