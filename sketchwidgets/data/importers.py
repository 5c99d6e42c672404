"""Importers for public sketch/photo datasets, read in their own layouts from a local folder.

Nothing here downloads: each importer reads a copy the user has already downloaded and returns
a torch ``Dataset`` of the package's item dicts (``sketch`` float (1,H,W) and ``photo`` float
(3,H,W) in [-1, 1], ``label`` int, ``path`` str) with ``.class_names``.

==================  ==========  ==================================================================
importer            module      layout it reads
==================  ==========  ==================================================================
import_edges2shoes  importers   pix2pix A|B files ``<root>/<split>/*_AB.jpg`` (edges2shoes,
                                edges2handbags)
import_sketchy      importers   Sketchy ``photo/tx_*/CLASS/ID.jpg`` + ``sketch/tx_*/CLASS/ID-N.png``
                                + ``info/invalid-*.txt``, or a flat ``sketch_*/CLASS`` +
                                ``photo_*/CLASS`` subset
import_celeba       faces       a flat folder of aligned face photos (``img_align_celeba/*.jpg``),
                                XDoG sketches
import_face_pairs   faces       CUFS-style ``.../photos/NAME`` <-> ``.../sketches/NAME`` (or
                                ``pairs.csv``)
load_quickdraw      quickdraw   Quick, Draw! ``.ndjson`` strokes, rasterized
==================  ==========  ==================================================================

The module column is under ``sketchwidgets.data``: this module holds the shared base
(:class:`ImportedDataset`, :class:`PairedFilesImport`, :class:`DataWarning`) and the
edges2shoes and Sketchy importers; :mod:`sketchwidgets.data.faces` and
:mod:`sketchwidgets.data.quickdraw` build on it (this module imports neither). Every dataset
also has ``load_arrays(i)`` -> (sketch uint8 HxW, photo uint8 HxWx3), which
:func:`~sketchwidgets.data.dataset_export.export_pairs` uses to write any of them in the
package's own formats. An ``excluded.txt`` in a root (one relative path a line) drops those
files, as the package's readers do.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from sketchwidgets.data.pairs import (
    EmptyDatasetError,
    bad_items,
    check_pair_shapes,
    is_excluded,
    read_exclusions,
)
from sketchwidgets.data.transforms import resize, square_resize
from sketchwidgets.io import image_to_tensor, list_images, read_image, to_gray

PairTransform = Callable[
    [np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]
]
PathLike = str | os.PathLike


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
    resized to the sketch's. A sketch and photo of different shapes (aspect ratios) raise
    :class:`~sketchwidgets.data.pairs.PairError` naming both; :meth:`validate` lists them.
    ``transform(sketch, photo, rng) -> (sketch, photo)`` (optional, e.g.
    :class:`~sketchwidgets.data.transforms.PairedTransform`) runs on the uint8 arrays, with
    ``rng`` seeded from torch's global generator, before they become tensors.
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

    root: Path | None = None  # imported files are not a dataset folder (no excluded.txt)

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's raw uint8 ``(sketch HxW, photo HxWx3)``, before size and transform."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """The item's source file."""
        return str(self.paths[index])

    def validate(self) -> list[tuple[Path, str]]:
        """Read every item; ``[(path, reason)]`` for unreadable files and mismatched pairs."""
        return bad_items(self.read_pair, self.paths)

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
        """The item's ``(sketch HxW, photo HxWx3)``; differing shapes raise PairError."""
        sketch_file, photo_file = self.sketch_files[index], self.photo_files[index]
        sketch, photo = read_image(sketch_file, "L"), read_image(photo_file)
        check_pair_shapes(sketch, photo, sketch_file, photo_file)
        return sketch, photo


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
