"""CUFS artist sketches in the CelebA framing, for the face models: training and a hold-out.

``../shared/data/cufs_train`` holds 188 pencil sketches drawn by artists from photos
(CUHK students and AR faces; one pair per person), 200 x 250. :class:`AlignedFacePairs`
reads them with :func:`~sketchwidgets.data.faces.import_face_pairs` and warps photo and
sketch alike into the 64 x 64 framing of ``celeba_xdog_joint64``
(:func:`~sketchwidgets.data.face_align.align`, :data:`CUFS_LAYOUT` ->
:data:`CELEBA_LAYOUT`), so eyes and mouth sit where the CelebA faces have theirs.
:func:`cufs_splits` holds out a seeded share of the people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset

from sketchwidgets.data.datasets import train_val_split
from sketchwidgets.data.face_align import CELEBA_LAYOUT, CUFS_LAYOUT, FaceLayout, align
from sketchwidgets.data.faces import import_face_pairs
from sketchwidgets.data.importers import PathLike
from sketchwidgets.io import image_to_tensor

CUFS_HELD_OUT = 0.2  # share of the people held out


class AlignedFacePairs(Dataset):
    """Face photo/sketch pairs warped into another set's framing (label -1, no classes).

    Items are the package's dicts (``"sketch"`` (1, H, W), ``"photo"`` (3, H, W) in [-1, 1],
    ``"label"`` -1, ``"path"`` the sketch file). The aligned arrays are kept after the
    first read.
    """

    def __init__(
        self,
        root: PathLike,
        *,
        source: FaceLayout = CUFS_LAYOUT,
        target: FaceLayout = CELEBA_LAYOUT,
    ) -> None:
        self.root = Path(root)
        self.pairs = import_face_pairs(self.root)
        self.source, self.target = source, target
        self.class_names: list[str] = []
        self._aligned: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def arrays(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The aligned uint8 ``(sketch HxW, photo HxWx3)`` of pair ``index``."""
        if index not in self._aligned:
            sketch, photo = self.pairs.read_pair(index)
            self._aligned[index] = (
                align(sketch, self.source, self.target),
                align(photo, self.source, self.target),
            )
        return self._aligned[index]

    def __getitem__(self, index: int) -> dict[str, Any]:
        sketch, photo = self.arrays(index)
        return {
            "sketch": image_to_tensor(sketch),
            "photo": image_to_tensor(photo),
            "label": -1,
            "path": self.pairs.paths[index],
        }


def cufs_splits(root: PathLike, *, seed: int = 0) -> tuple[Subset, Subset]:
    """``(train, held_out)`` of the aligned CUFS pairs: :data:`CUFS_HELD_OUT` of the people
    held out by a seeded shuffle (:func:`~sketchwidgets.data.datasets.train_val_split`)."""
    return train_val_split(AlignedFacePairs(root), CUFS_HELD_OUT, seed=seed)
