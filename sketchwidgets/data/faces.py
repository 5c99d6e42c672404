"""Face-photo importers: CelebA with XDoG sketches, and CUFS-style photo/sketch pairs.

:func:`import_celeba` prepares CelebA as the Contextual GAN reproduction does: the central
108x108 crop of each aligned 178x218 photo (:func:`center_crop`), resized, with an XDoG sketch
made on the fly (optionally cached). :func:`import_face_pairs` reads artist sketches paired by
name with their photos (``.../photos/NAME`` <-> ``.../sketches/NAME``, or a ``pairs.csv``), as
in CUFS. Both return datasets on :class:`~sketchwidgets.data.importers.ImportedDataset`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from sketchwidgets.data.importers import (
    ImportedDataset,
    PairedFilesImport,
    PairTransform,
    PathLike,
    _drop_excluded,
    _labels_for,
    _natural_key,
    _require_dir,
    _subfolders,
    _warn_unmatched,
)
from sketchwidgets.data.pairs import EmptyDatasetError
from sketchwidgets.data.sketchify import XDOG_CONTEXTUAL_GAN, xdog
from sketchwidgets.data.transforms import resize
from sketchwidgets.io import list_images, read_image, write_image

CELEBA_CROP = 108  # DCGAN-tensorflow / Contextual GAN: central 108x108 of the 178x218 image


# --------------------------------------------------------------------------- CelebA


def center_crop(image: np.ndarray, crop: int | None) -> np.ndarray:
    """Central ``crop`` x ``crop`` square (clamped to the image); None: largest central square.

    For a 178x218 aligned CelebA image ``crop=108`` keeps rows 55..162, columns 35..142: the
    face from brows to chin, as DCGAN-tensorflow's ``center_crop`` that Contextual GAN used.
    """
    height, width = image.shape[:2]
    side = min(height, width) if crop is None else min(crop, height, width)
    top, left = int(round((height - side) / 2)), int(round((width - side) / 2))
    return image[top : top + side, left : left + side]


class CelebAImport(ImportedDataset):
    """Face photos with XDoG sketches made on the fly (and cached when ``cache_dir`` is set)."""

    def __init__(
        self,
        files: list[Path],
        *,
        size: int | None = 64,
        crop: int | None = CELEBA_CROP,
        xdog_params: dict[str, float] | None = None,
        cache_dir: PathLike | None = None,
        transform: PairTransform | None = None,
    ) -> None:
        super().__init__(
            [str(f) for f in files], [-1] * len(files), [], size=size, transform=transform
        )
        self.crop = crop
        self.xdog_params = dict(XDOG_CONTEXTUAL_GAN if xdog_params is None else xdog_params)
        self.cache_dir = None if cache_dir is None else Path(cache_dir) / self._cache_key()

    def _cache_key(self) -> str:
        """Folder name that changes whenever size, crop or XDoG settings change."""
        settings = json.dumps([self.size, self.crop, self.xdog_params], sort_keys=True)
        return "xdog-" + hashlib.sha1(settings.encode()).hexdigest()[:10]

    def _sketch(self, photo: np.ndarray, index: int) -> np.ndarray:
        """XDoG of the (already cropped and resized) photo, through the cache when set."""
        cached = None
        if self.cache_dir is not None:
            cached = self.cache_dir / f"{Path(self.paths[index]).stem}.png"
            if cached.is_file():
                return read_image(cached, "L")
        sketch = xdog(photo, **self.xdog_params)
        if cached is not None:
            write_image(cached, sketch, overwrite=True)
        return sketch

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The cropped, resized photo and its XDoG sketch."""
        photo = center_crop(read_image(self.paths[index]), self.crop)
        photo = resize(photo, self.size) if self.size else photo
        return self._sketch(photo, index), photo


def import_celeba(
    root: PathLike,
    *,
    size: int = 64,
    crop: int | None = CELEBA_CROP,
    limit: int | None = None,
    xdog_params: dict[str, float] | None = None,
    cache_dir: PathLike | None = None,
    transform: PairTransform | None = None,
) -> CelebAImport:
    """A flat folder of aligned face photos (CelebA ``img_align_celeba/``) with XDoG sketches.

    Each photo is center-cropped (:func:`center_crop`, ``crop=108`` by default, None for the
    largest central square), resized to ``size`` and turned into a sketch with XDoG using the
    Contextual GAN reproduction's settings (``sketchify.XDOG_CONTEXTUAL_GAN``: σ=1.5, k=2.5,
    γ=0.97, ε=0.1, φ=200, computed at 3x size, which matches the shared celeba_xdog_joint64
    sketches better than the manifest's "sharpen x3"); override with ``xdog_params``, e.g.
    ``{**XDOG_CONTEXTUAL_GAN, "upscale": 1, "sharpen": 3}``. ``root`` may also be the folder
    that contains ``img_align_celeba/``. ``limit`` keeps the first N files (sorted by name).
    With ``cache_dir`` the sketches are written there as PNG (one sub-folder per setting) and
    reused. CelebA has no classes: labels are -1.
    """
    base = _require_dir(root, "CelebA")
    files = list_images(base, recursive=False)
    if not files and (base / "img_align_celeba").is_dir():
        base = base / "img_align_celeba"
        files = list_images(base, recursive=False)
    if not files:
        raise EmptyDatasetError(
            f"no face photos in {root}; expected a flat folder of images such as "
            f"img_align_celeba/*.jpg (found subfolders {_subfolders(base)})"
        )
    files = sorted(_drop_excluded(base, files), key=_natural_key)[:limit]
    return CelebAImport(
        files,
        size=size,
        crop=crop,
        xdog_params=xdog_params,
        cache_dir=cache_dir,
        transform=transform,
    )


# --------------------------------------------------------------------------- face pairs

_PHOTO_DIRS = ("photos", "photo")
_SKETCH_DIRS = ("sketches", "sketch")


def _face_pair_dirs(root: Path) -> list[tuple[Path, Path]]:
    """Every (photos/, sketches/) sibling pair at or below ``root``, sorted."""
    found = []
    for folder, subdirs, _ in os.walk(root):
        photo = next((n for n in _PHOTO_DIRS if n in subdirs), None)
        sketch = next((n for n in _SKETCH_DIRS if n in subdirs), None)
        if photo and sketch:
            found.append((Path(folder) / photo, Path(folder) / sketch))
        subdirs[:] = [d for d in subdirs if d not in _PHOTO_DIRS + _SKETCH_DIRS]
    return sorted(found)


_SPLIT_NAMES = {"train", "test", "val", "valid", "validation"}


def _group(parts: tuple[str, ...]) -> str | None:
    """The subset a pair folder belongs to: its first folder below root, unless a split name."""
    return parts[0] if parts and parts[0].lower() not in _SPLIT_NAMES else None


def _walk_face_pairs(root: Path, split: str | None) -> list[tuple[Path, Path, str | None]]:
    """(photo, sketch, group) triples found by matching file stems in photos/ + sketches/."""
    triples, unmatched = [], []
    for photo_dir, sketch_dir in _face_pair_dirs(root):
        parts = photo_dir.parent.relative_to(root).parts
        if split is not None and split not in parts:
            continue
        photos = {p.stem: p for p in list_images(photo_dir, recursive=False)}
        sketches = {p.stem: p for p in list_images(sketch_dir, recursive=False)}
        for stem in sorted(set(photos) | set(sketches)):
            if stem in photos and stem in sketches:
                triples.append((photos[stem], sketches[stem], _group(parts)))
            else:
                unmatched.append(photos.get(stem) or sketches[stem])
    _warn_unmatched("face files without a partner", unmatched)
    return triples


def _csv_face_pairs(root: Path, split: str | None) -> list[tuple[Path, Path, str | None]] | None:
    """Triples from ``root/pairs.csv`` (columns photo, sketch[, subset, split]); None if absent."""
    listing = root / "pairs.csv"
    if not listing.is_file():
        return None
    with listing.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"photo", "sketch"} <= set(rows[0]):
        return None
    rows = [r for r in rows if split is None or r.get("split", split) == split]
    triples, missing = [], []
    for row in rows:
        photo, sketch = root / row["photo"], root / row["sketch"]
        if photo.is_file() and sketch.is_file():
            triples.append((photo, sketch, row.get("subset") or None))
        else:
            missing.append(photo if not photo.is_file() else sketch)
    _warn_unmatched(f"pairs in {listing} whose file is missing", missing)
    return triples


def import_face_pairs(
    root: PathLike,
    *,
    split: str | None = None,
    size: int | None = None,
    transform: PairTransform | None = None,
) -> PairedFilesImport:
    """Face photo/sketch pairs such as CUFS: ``.../photos/NAME`` <-> ``.../sketches/NAME``.

    ``root`` may hold ``photos/`` + ``sketches/`` directly or nested
    (``<subset>/<split>/photos/``); files pair by name stem. A ``pairs.csv`` in ``root`` with
    ``photo`` and ``sketch`` columns (paths relative to root) is used instead when present.
    ``split`` keeps only pairs under a folder of that name (or with that ``split`` column).
    Labels are the subset (first folder below root unless it is a split name such as
    ``train``, or the csv ``subset`` column); other pairs have label -1. ``size`` centre-crops
    to a square before resizing (a 200x250 CUFS face loses 25 px at top and bottom).
    Unpaired files are skipped with a :class:`~sketchwidgets.data.importers.DataWarning`.
    """
    base = _require_dir(root, "face pairs")
    triples = _csv_face_pairs(base, split)
    if triples is None:
        if not _face_pair_dirs(base):
            raise FileNotFoundError(
                f"{base} has no photos/ + sketches/ folders (searched below it too) and no "
                f"pairs.csv; found subfolders {_subfolders(base)}"
            )
        triples = _walk_face_pairs(base, split)
    kept = set(_drop_excluded(base, [s for _, s, _ in triples]))
    triples = [t for t in triples if t[1] in kept]
    if not triples:
        raise EmptyDatasetError(f"no photo/sketch pairs in {base} (split={split!r})")
    labels, class_names = _labels_for([group for _, _, group in triples])
    return PairedFilesImport(
        [s for _, s, _ in triples],
        [p for p, _, _ in triples],
        labels,
        class_names,
        size=size,
        transform=transform,
    )
