"""Importers for public sketch/photo datasets, read in their own layouts from a local folder.

Nothing here downloads: each importer reads a copy the user has already downloaded and returns
a torch ``Dataset`` of the package's item dicts (``sketch`` float (1,H,W) and ``photo`` float
(3,H,W) in [-1, 1], ``label`` int, ``path`` str) with ``.class_names``.

==================  =============================================================================
importer            layout it reads
==================  =============================================================================
import_edges2shoes  pix2pix A|B files ``<root>/<split>/*_AB.jpg`` (edges2shoes, edges2handbags)
import_sketchy      Sketchy ``photo/tx_*/CLASS/ID.jpg`` + ``sketch/tx_*/CLASS/ID-N.png`` +
                    ``info/invalid-*.txt``, or a flat ``sketch_*/CLASS`` + ``photo_*/CLASS`` subset
import_celeba       a flat folder of aligned face photos (``img_align_celeba/*.jpg``), XDoG sketches
import_face_pairs   CUFS-style ``.../photos/NAME`` <-> ``.../sketches/NAME`` (or ``pairs.csv``)
==================  =============================================================================

Quick, Draw! strokes are read by :func:`~sketchwidgets.data.quickdraw.load_quickdraw`, on the
same :class:`ImportedDataset` base. Every dataset also has ``load_arrays(i)`` -> (sketch uint8
HxW, photo uint8 HxWx3), which :func:`~sketchwidgets.data.export.export_pairs` uses to write
any of them in the package's own formats. An ``excluded.txt`` in a root (one relative path a
line) drops those files, as the package's readers do.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from sketchwidgets.data.pairs import EmptyDatasetError, is_excluded, read_exclusions
from sketchwidgets.data.sketchify import XDOG_CONTEXTUAL_GAN, xdog
from sketchwidgets.data.transforms import resize, square_resize
from sketchwidgets.io import image_to_tensor, list_images, read_image, to_gray, write_image

PairTransform = Callable[
    [np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]
]
PathLike = str | os.PathLike

CELEBA_CROP = 108  # DCGAN-tensorflow / Contextual GAN: central 108x108 of the 178x218 image


class DataWarning(UserWarning):
    """A file was skipped while importing (bad line, missing partner, ...)."""


def _warn(message: str) -> None:
    """Emit a :class:`DataWarning` attributed to the importer's caller."""
    warnings.warn(message, DataWarning, stacklevel=3)


def _natural_key(path: Path) -> list[Any]:
    """Sort key that orders ``2_AB.jpg`` before ``10_AB.jpg``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.as_posix())]


def _require_dir(root: PathLike, what: str) -> Path:
    """``root`` as a Path; FileNotFoundError naming it and the dataset when it is missing."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{what} root not found: {path}")
    return path


def _subfolders(folder: Path) -> list[str]:
    """Names of the sub-folders of ``folder``, sorted (for error messages and class lists)."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _drop_excluded(root: Path, files: list[Path]) -> list[Path]:
    """``files`` minus those listed (relative to ``root``) in ``root/excluded.txt``."""
    excluded = read_exclusions(root)
    if not excluded:
        return files
    inside = [f for f in files if root in f.parents]  # explicit folders may lie elsewhere
    dropped = {f for f in inside if is_excluded(f.relative_to(root).as_posix(), excluded)}
    return [f for f in files if f not in dropped]


def _item_rng() -> np.random.Generator:
    """A numpy generator seeded from torch's global RNG (as the package's datasets do)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))


class ImportedDataset(Dataset):
    """Base of every importer's dataset; subclasses implement :meth:`read_pair`.

    ``size`` centre-crops both images to a square and resizes them to ``size`` (as the
    package's datasets do); with ``size=None`` a photo whose size differs from its sketch is
    resized to the sketch's. ``transform(sketch, photo, rng) -> (sketch, photo)`` (optional,
    e.g. :class:`~sketchwidgets.data.transforms.PairedTransform`) runs on the uint8 arrays,
    with ``rng`` seeded from torch's global generator, before they become tensors.
    """

    def __init__(
        self,
        paths: list[str],
        labels: list[int],
        class_names: list[str],
        *,
        size: int | None = None,
        transform: PairTransform | None = None,
    ) -> None:
        if size is not None and size < 1:
            raise ValueError(f"size must be a positive int or None, got {size}")
        self.paths, self.labels, self.class_names = paths, labels, class_names
        self.size, self.transform = size, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(items={len(self)}, classes={len(self.class_names)}, "
            f"size={self.size})"
        )

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's raw uint8 ``(sketch HxW, photo HxWx3)``, before size and transform."""
        raise NotImplementedError

    def load_arrays(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's uint8 ``(sketch HxW, photo HxWx3)`` at ``size`` (no transform)."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        sketch, photo = self.read_pair(index)
        if self.size:
            return square_resize(sketch, self.size), square_resize(photo, self.size)
        return sketch, resize(photo, sketch.shape[:2])

    def __getitem__(self, index: int) -> dict[str, Any]:
        sketch, photo = self.load_arrays(index)
        if self.transform is not None:
            sketch, photo = self.transform(sketch, photo, _item_rng())
        return {
            "sketch": image_to_tensor(np.ascontiguousarray(sketch)),
            "photo": image_to_tensor(np.ascontiguousarray(photo)),
            "label": self.labels[index],
            "path": self.paths[index],
        }


# --------------------------------------------------------------------------- edges2shoes


def split_halves(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) halves of a pix2pix file: left|right when wide, top/bottom when tall."""
    height, width = image.shape[:2]
    if width >= height:
        half = width // 2
        return image[:, :half], image[:, half : 2 * half]
    half = height // 2
    return image[:half], image[half : 2 * half]


class SideBySideImport(ImportedDataset):
    """pix2pix A|B files; ``direction="AtoB"`` means the sketch is the A (left/top) half."""

    def __init__(
        self,
        files: list[Path],
        labels: list[int],
        class_names: list[str],
        *,
        direction: str = "AtoB",
        size: int | None = None,
        transform: PairTransform | None = None,
    ) -> None:
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        super().__init__(
            [str(f) for f in files], labels, class_names, size=size, transform=transform
        )
        self.direction = direction

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's ``(sketch HxW, photo HxWx3)`` as stored."""
        a, b = split_halves(read_image(self.paths[index]))
        sketch, photo = (a, b) if self.direction == "AtoB" else (b, a)
        return to_gray(sketch), photo


def _split_files(root: Path, split: str | None) -> list[Path]:
    """A|B image files of one split folder (or of every split when ``split`` is None)."""
    if split is not None:
        folder = root / split
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{root} has no split folder {split!r}; expected <root>/{split}/*_AB.jpg "
                f"(found subfolders {_subfolders(root)}; split=None reads every split)"
            )
        files = list_images(folder, recursive=False)
    else:
        files = list_images(root, recursive=False)
        files += [
            f for name in _subfolders(root) for f in list_images(root / name, recursive=False)
        ]
    if not files:
        where = root / split if split else root
        raise EmptyDatasetError(f"no A|B image files in {where}; expected <root>/<split>/*_AB.jpg")
    return sorted(_drop_excluded(root, files), key=_natural_key)


def _csv_categories(root: Path) -> dict[str, str]:
    """``index.csv`` (file, category columns) as {relative file: category}; {} when absent."""
    index = root / "index.csv"
    if not index.is_file():
        return {}
    with index.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"file", "category"} <= set(rows[0]):
        return {}
    return {row["file"]: row["category"] for row in rows}


def _labels_for(names: Sequence[str | None]) -> tuple[list[int], list[str]]:
    """Class indices (sorted class names; -1 for None) and the class-name list."""
    class_names = sorted({n for n in names if n is not None})
    index = {name: i for i, name in enumerate(class_names)}
    return [index[n] if n is not None else -1 for n in names], class_names


def import_edges2shoes(
    root: PathLike,
    *,
    split: str | None = "train",
    direction: Literal["AtoB", "BtoA"] = "AtoB",
    size: int | None = None,
    transform: PairTransform | None = None,
) -> SideBySideImport:
    """pix2pix edges2shoes / edges2handbags A|B files in ``<root>/<split>/``.

    Parameters
    ----------
    root
        Dataset folder holding ``train/``, ``val/`` (any split names) of A|B images
        (512x256 left|right or 256x512 top/bottom).
    split
        Split folder to read; None reads every split folder (and images directly in root).
    direction
        ``"AtoB"`` (default, pix2pix ``edges2*``): the edge map is the left/top half.
        ``"BtoA"``: the edge map is the right/bottom half, e.g. sets stored photo|edges.
    size
        Resize both halves to this square side; None keeps them (256).

    Labels come from ``<root>/index.csv`` (columns ``file``, ``category``) when present,
    e.g. shoe / handbag; otherwise every label is -1 and ``class_names`` is empty.
    """
    base = _require_dir(root, "edges2shoes")
    files = _split_files(base, split)
    categories = _csv_categories(base)
    names = [categories.get(f.relative_to(base).as_posix()) for f in files]
    labels, class_names = _labels_for(names)
    return SideBySideImport(
        files, labels, class_names, direction=direction, size=size, transform=transform
    )


# --------------------------------------------------------------------------- paired files


class PairedFilesImport(ImportedDataset):
    """Sketch and photo in separate files (Sketchy, CUFS); ``path`` is the sketch file."""

    def __init__(
        self,
        sketch_files: list[Path],
        photo_files: list[Path],
        labels: list[int],
        class_names: list[str],
        *,
        size: int | None = None,
        transform: PairTransform | None = None,
    ) -> None:
        super().__init__(
            [str(f) for f in sketch_files], labels, class_names, size=size, transform=transform
        )
        self.sketch_files = sketch_files
        self.photo_files = photo_files

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's ``(sketch HxW, photo HxWx3)`` as stored."""
        return read_image(self.sketch_files[index], "L"), read_image(self.photo_files[index])


def _warn_unmatched(what: str, unmatched: list[Path]) -> None:
    """One warning naming how many files had no partner, and the first few."""
    if unmatched:
        shown = ", ".join(str(p) for p in unmatched[:5])
        more = f" (and {len(unmatched) - 5} more)" if len(unmatched) > 5 else ""
        _warn(f"skipped {len(unmatched)} {what}: {shown}{more}")


# --------------------------------------------------------------------------- Sketchy


def _pick_augmentation(folder: Path, name: str | None) -> Path:
    """``folder/tx_*``: the named one, else the first; ``folder`` itself if it has no tx_*."""
    options = [n for n in _subfolders(folder) if n.startswith("tx_")]
    if name is not None:
        if name not in options:
            raise FileNotFoundError(f"augmentation {name!r} not in {folder}; found {options}")
        return folder / name
    return folder / options[0] if options else folder


def _flat_dir(root: Path, prefix: str) -> Path | None:
    """The only sub-folder of ``root`` whose name starts with ``prefix`` (e.g. sketch_256)."""
    found = [n for n in _subfolders(root) if n.lower().startswith(prefix)]
    if len(found) > 1:
        raise FileNotFoundError(
            f"{root} has several {prefix}* folders {found}; pass photo_dir= and sketch_dir="
        )
    return root / found[0] if found else None


def _sketchy_dirs(
    root: Path, augmentation: str | None, photo_augmentation: str | None
) -> tuple[Path, Path]:
    """(sketch class folder root, photo class folder root) of a full or flat Sketchy copy."""
    for base in (root, root / "256x256", root / "rendered_256x256" / "256x256"):
        if (base / "sketch").is_dir() and (base / "photo").is_dir():
            sketch = _pick_augmentation(base / "sketch", augmentation)
            photo_options = _subfolders(base / "photo")
            if photo_augmentation is None and sketch.name in photo_options:
                photo_augmentation = sketch.name
            return sketch, _pick_augmentation(base / "photo", photo_augmentation)
    sketch, photo = _flat_dir(root, "sketch"), _flat_dir(root, "photo")
    if sketch is None or photo is None:
        raise FileNotFoundError(
            f"{root} is not a Sketchy layout: expected photo/tx_*/CLASS/ + sketch/tx_*/CLASS/ "
            f"(or sketch_*/CLASS/ + photo_*/CLASS/); found subfolders {_subfolders(root)}"
        )
    return sketch, photo


def _invalid_sketches(root: Path, sketch_dir: Path) -> set[str]:
    """Sketch names (``ID-N``) listed in ``info/invalid-*.txt`` in root or above the sketches."""
    levels = [p for p in (sketch_dir, *sketch_dir.parents) if p == root or root in p.parents]
    names: set[str] = set()
    for listing in (f for level in levels for f in sorted((level / "info").glob("invalid*.txt"))):
        lines = listing.read_text(encoding="utf-8").splitlines()
        names.update(Path(line.strip()).stem for line in lines if line.strip())
    return names


def _sketchy_classes(sketch_dir: Path, classes: Sequence[str] | None) -> list[str]:
    """Sorted class folder names, or the requested subset (unknown names raise)."""
    known = _subfolders(sketch_dir)
    if not known:
        raise FileNotFoundError(f"no class folders in {sketch_dir}; expected {sketch_dir}/CLASS/")
    if classes is None:
        return known
    unknown = sorted(set(classes) - set(known))
    if unknown:
        raise KeyError(f"unknown Sketchy class(es) {unknown}; known: {known}")
    return sorted(set(classes))


def _photo_index(photo_dir: Path, classes: list[str]) -> dict[tuple[str, str], Path]:
    """{(class, photo id): photo file} for the chosen classes."""
    return {
        (c, p.stem): p
        for c in classes
        for p in list_images(photo_dir / c, recursive=False)
        if (photo_dir / c).is_dir()
    }


def _pair_sketches(
    base: Path, sketches: Path, photos: Path, names: list[str], invalid: set[str]
) -> tuple[list[tuple[Path, Path]], list[int], list[str]]:
    """(sketch, photo) pairs, their labels, and the invalid sketch names left out."""
    photo_of = _photo_index(photos, names)
    pairs, labels, excluded, unmatched = [], [], [], []
    for label, name in enumerate(names):
        files = sorted(list_images(sketches / name, recursive=False), key=_natural_key)
        for sketch in _drop_excluded(base, files):
            photo = photo_of.get((name, sketch.stem.rsplit("-", 1)[0]))
            if sketch.stem in invalid:
                excluded.append(sketch.stem)
            elif photo is None:
                unmatched.append(sketch)
            else:
                pairs.append((sketch, photo))
                labels.append(label)
    _warn_unmatched(f"Sketchy sketches without a photo in {photos}", unmatched)
    return pairs, labels, excluded


def import_sketchy(
    root: PathLike,
    *,
    augmentation: str | None = None,
    photo_augmentation: str | None = None,
    photo_dir: PathLike | None = None,
    sketch_dir: PathLike | None = None,
    classes: Sequence[str] | None = None,
    include_invalid: bool = False,
    size: int | None = None,
    transform: PairTransform | None = None,
) -> PairedFilesImport:
    """The Sketchy database (Sangkloy et al. 2016): one item per sketch, paired to its photo.

    Parameters
    ----------
    root
        The extracted database: ``[rendered_256x256/][256x256/]{photo,sketch}/tx_*/CLASS/``
        plus ``info/invalid-*.txt``; or a flat subset ``sketch_*/CLASS/ID-N.png`` +
        ``photo_*/CLASS/ID.jpg`` (detected), or any layout via ``photo_dir``/``sketch_dir``.
    augmentation
        Sketch ``tx_*`` folder (e.g. ``"tx_000000000000"``); default the first one.
    photo_augmentation
        Photo ``tx_*`` folder; default the sketch's name when present, else the first.
    photo_dir, sketch_dir
        Explicit class-folder roots (relative to ``root`` or absolute); both or neither.
    classes
        Read only these classes (labels index the sorted subset).
    include_invalid
        Keep sketches named in ``info/invalid-*.txt`` (ambiguous, context, error, pose);
        excluded by default. ``.excluded`` lists the names left out.
    size
        Resize sketch and photo to this side; None resizes the photo to the sketch's size.

    A sketch ``ID-N.png`` pairs with photo ``ID.*`` of the same class; a sketch without one
    is skipped with a :class:`DataWarning`. Labels index the sorted class names.
    """
    base = _require_dir(root, "Sketchy")
    if (photo_dir is None) != (sketch_dir is None):
        raise ValueError("pass both photo_dir and sketch_dir, or neither")
    if sketch_dir is not None and photo_dir is not None:
        sketches, photos = base / sketch_dir, base / photo_dir
        for folder in (sketches, photos):
            _require_dir(folder, "Sketchy class folder")
    else:
        sketches, photos = _sketchy_dirs(base, augmentation, photo_augmentation)
    names = _sketchy_classes(sketches, classes)
    invalid = set() if include_invalid else _invalid_sketches(base, sketches)
    pairs, labels, excluded = _pair_sketches(base, sketches, photos, names, invalid)
    if not pairs:
        raise EmptyDatasetError(f"no sketch/photo pairs in {sketches} and {photos}")
    dataset = PairedFilesImport(
        [s for s, _ in pairs], [p for _, p in pairs], labels, names, size=size, transform=transform
    )
    dataset.excluded = excluded
    return dataset


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
    Unpaired files are skipped with a :class:`DataWarning`.
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
