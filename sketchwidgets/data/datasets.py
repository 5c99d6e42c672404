"""torch Datasets over the three paired layouts of :mod:`sketchwidgets.data.pairs`.

Every dataset returns the package's item dict::

    {"sketch": float (1, H, W) in [-1, 1] (black ink = -1),
     "photo":  float (3, H, W) in [-1, 1],
     "label":  int (class index, -1 when the file is not in a class folder),
     "path":   str (the source file; for parallel folders, the sketch file)}

and exposes ``.root``, ``.files`` (one source path per item), ``.labels`` and
``.class_names`` (sorted class-folder names; index = label; empty without class folders).

Loading order per item: read -> optional ``size`` (centre-crop to a square, then resize
both halves) -> optional ``transform(sketch, photo, rng)`` on uint8 arrays (e.g.
:class:`~sketchwidgets.data.transforms.PairedTransform`) -> tensors. ``rng`` is a
:class:`numpy.random.Generator` seeded from torch's global generator, so
:func:`~sketchwidgets.device.seed_everything` fixes the augmentation and each DataLoader
worker draws its own.

Bad files: construction only lists files (fast, no decoding). ``dataset[i]`` on an
unreadable file raises :class:`~sketchwidgets.io.ImageReadError` naming the file, and on a
malformed or mismatched pair :class:`~sketchwidgets.data.pairs.PairError` naming the
file(s). :meth:`validate` reads every item and returns ``[(path, reason), ...]`` for the
bad ones without raising; add them to ``excluded.txt`` with :func:`add_exclusion` to drop
them. The exclusion list is read when a dataset is constructed. A folder with no images
left raises :class:`EmptyDatasetError` naming the folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from sketchwidgets.data.pairs import (
    PHOTO_DIR,
    SKETCH_DIR,
    EmptyDatasetError,
    PairedFiles,
    PairError,
    add_exclusion,
    bad_items,
    find_pairs,
    is_excluded,
    read_exclusions,
    read_joint,
    read_pair,
    read_side_by_side,
)
from sketchwidgets.data.protocol import subset
from sketchwidgets.data.transforms import square_resize
from sketchwidgets.io import ImageReadError, image_to_tensor, list_images, to_gray

__all__ = [
    "DIRECTIONS",
    "EmptyDatasetError",
    "ImageReadError",
    "JointImageDataset",
    "PairError",
    "PairedFolderDataset",
    "SideBySideDataset",
    "add_exclusion",
    "read_exclusions",
    "train_val_split",
]

DIRECTIONS = ("AtoB", "BtoA")
PairTransform = Callable[
    [np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]
]


def _class_of(relative: Path) -> str | None:
    """The class folder of a file given relative to the dataset root (None at top level)."""
    return relative.parts[0] if len(relative.parts) > 1 else None


def _item_rng() -> np.random.Generator:
    """A numpy generator seeded from torch's global RNG (seed_everything, worker seeds)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))


def _listed_images(root: Path, excluded: Sequence[str]) -> list[Path]:
    """Images below ``root`` minus the excluded ones; raises when none are left."""
    if (root / SKETCH_DIR).is_dir() and (root / PHOTO_DIR).is_dir():
        raise ValueError(
            f"{root} holds {SKETCH_DIR}/ and {PHOTO_DIR}/ folders: a paired "
            "layout; read it with PairedFolderDataset"
        )
    images = [
        p for p in list_images(root) if not is_excluded(p.relative_to(root).as_posix(), excluded)
    ]
    if not images:
        note = f" (after {len(excluded)} excluded.txt entries)" if excluded else ""
        raise EmptyDatasetError(f"no images found in {root}{note}")
    return images


class _PairDataset(Dataset):
    """Shared listing, labels, resize, transform and tensor conversion."""

    def __init__(
        self, root: str | os.PathLike, *, size: int | None, transform: PairTransform | None
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"dataset folder not found: {self.root}")
        self.size, self.transform = size, transform
        self.excluded = read_exclusions(self.root)
        self.files: list[Path] = []
        self.labels: list[int] = []
        self.class_names: list[str] = []

    def _set_items(self, files: list[Path], classes: list[str | None]) -> None:
        """Record the files and turn class-folder names into sorted indices."""
        self.files = files
        self.class_names = sorted({c for c in classes if c is not None})
        index = {name: i for i, name in enumerate(self.class_names)}
        self.labels = [index[c] if c is not None else -1 for c in classes]

    def __len__(self) -> int:
        return len(self.files)

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's raw uint8 ``(sketch, photo)`` as stored, before size and transform."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """The item's file."""
        return str(self.files[index])

    def __getitem__(self, index: int) -> dict[str, Any]:
        sketch, photo = self.read_pair(index)
        if self.size:
            sketch, photo = square_resize(sketch, self.size), square_resize(photo, self.size)
        if self.transform is not None:
            sketch, photo = self.transform(sketch, photo, _item_rng())
        return {
            "sketch": image_to_tensor(sketch),
            "photo": image_to_tensor(photo),
            "label": self.labels[index],
            "path": str(self.files[index]),
        }

    def validate(self) -> list[tuple[Path, str]]:
        """Read every item; ``[(path, reason)]`` for those that fail (nothing raised).

        Reasons include unreadable files and pairs whose sketch and photo differ in shape.
        """
        return bad_items(self.read_pair, self.files)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.root)!r}, items={len(self)}, "
            f"classes={len(self.class_names)}, size={self.size})"
        )


class SideBySideDataset(_PairDataset):
    """pix2pix A|B files below ``root`` (optionally in class folders).

    Parameters
    ----------
    root
        Folder of A|B images, e.g. 512x256 (W x H).
    direction
        ``"AtoB"``: the left half is the sketch (pix2pix ``edges2*``); ``"BtoA"``: the right.
    size
        Centre-crop and resize both halves to ``size`` x ``size``; ``None`` keeps them.
    transform
        ``transform(sketch, photo, rng) -> (sketch, photo)`` on uint8 arrays.
    grayscale_sketch
        Make the sketch one channel (the item contract). ``False`` keeps it RGB, giving a
        ``(3, H, W)`` ``"sketch"`` (for colour inputs; not what the models expect).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        direction: str = "AtoB",
        size: int | None = None,
        transform: PairTransform | None = None,
        grayscale_sketch: bool = True,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction={direction!r}: expected one of {DIRECTIONS}")
        super().__init__(root, size=size, transform=transform)
        self.direction, self.grayscale_sketch = direction, grayscale_sketch
        files = _listed_images(self.root, self.excluded)
        self._set_items(files, [_class_of(p.relative_to(self.root)) for p in files])

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's ``(sketch, photo)`` halves as stored (sketch gray if asked)."""
        order = "AB" if self.direction == "AtoB" else "BA"
        sketch, photo = read_side_by_side(self.files[index], order=order)
        return (to_gray(sketch) if self.grayscale_sketch else sketch), photo


class PairedFolderDataset(_PairDataset):
    """Parallel ``root/sketch/`` and ``root/photo/`` folders matched by class folder and stem.

    Without ``size`` the two files of a pair must have the same size (else
    :class:`PairError` naming both); with ``size`` they must have the same shape (aspect
    ratio, else :class:`PairError` naming both) and both are centre-cropped and resized.
    ``.pairs`` lists the :class:`~sketchwidgets.data.pairs.PairedFiles`; ``"path"`` in an
    item is the sketch file. A file without partner is skipped with a warning.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        size: int | None = None,
        transform: PairTransform | None = None,
    ) -> None:
        super().__init__(root, size=size, transform=transform)
        self.pairs: list[PairedFiles] = find_pairs(self.root, excluded=self.excluded)
        if not self.pairs:
            raise EmptyDatasetError(f"no sketch/photo pairs found in {self.root}")
        self._set_items([p.sketch for p in self.pairs], [p.class_name for p in self.pairs])

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's ``(sketch HxW, photo HxWx3)`` as stored."""
        return read_pair(self.pairs[index], same_size=not self.size)


class JointImageDataset(_PairDataset):
    """Joint ``S x 2S`` sketch|photo images below ``root`` (Contextual GAN, EdgeGAN).

    ``size`` (default 64) resizes the halves when they differ; ``None`` keeps them.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        size: int | None = 64,
        transform: PairTransform | None = None,
    ) -> None:
        super().__init__(root, size=size, transform=transform)
        files = _listed_images(self.root, self.excluded)
        self._set_items(files, [_class_of(p.relative_to(self.root)) for p in files])

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's ``(sketch HxW, photo HxWx3)`` halves."""
        return read_joint(self.files[index])


def train_val_split(
    dataset: Dataset, val_fraction: float = 0.1, seed: int = 0
) -> tuple[Subset, Subset]:
    """Split into ``(train, val)`` Subsets by a seeded shuffle (same seed, same split).

    Both parts keep at least one item when the dataset has two or more.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction}: must lie strictly between 0 and 1")
    count = len(dataset)  # type: ignore[arg-type]
    if count < 2:
        raise ValueError(f"cannot split a dataset of {count} item(s) into train and val")
    n_val = min(count - 1, max(1, round(count * val_fraction)))
    order = np.random.default_rng(seed).permutation(count)
    val, train = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())
    return subset(dataset, train), subset(dataset, val)
