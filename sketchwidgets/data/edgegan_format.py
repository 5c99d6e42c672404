"""EdgeGAN's data: SketchyCOCO's object format, and shoes/handbags in the same joint layout.

SketchyCOCO object level, as the reference reads it (sysu-imsl/EdgeGAN
``edgegan/utils/data/dataset.py``):

``<root>/stage1/train/<class index>/*.png``
    One RGB file per object, **64x128 (H x W) = [edge map | image]**; the class is the
    integer folder name (an index into :data:`SKETCHYCOCO_CLASSES`, the 14-class order of the
    pretrained model in the reference README).
``<root>/stage1/sketch_instance/<class index>/*.png`` (test inputs)
    64x128 = [freehand sketch | the same sketch]; only the left half is used
    (``models/edgegan.py`` ``define_test_input``: ``input_left``).

:class:`EdgeGANJointDataset` reads training files in any folder, with the class taken from
an integer folder (index into ``class_names``), a named folder, a labels CSV (``file,class``)
or one ``class_name`` for every file. :func:`read_test_sketch` reads a test input.
A file that is not twice as wide as high raises :class:`EdgeGANFormatError` naming it.

:func:`shoes_handbags` reads ``shoes_handbags_photo_edges`` (photo LEFT, edges right,
``index.csv`` with ``shoe`` / ``handbag``) as the same ``(edge, image)`` items;
``export_pairs(dataset, dst, format="joint")`` writes them as 64x128 [edge | image] files.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sketchwidgets.classes import SKETCHYCOCO_CLASSES
from sketchwidgets.data.importers import (
    ImportedDataset,
    PathLike,
    SideBySideImport,
    _natural_key,
    _require_dir,
    import_edges2shoes,
)
from sketchwidgets.data.pairs import EmptyDatasetError, PairError, split_side_by_side
from sketchwidgets.io import list_images, read_image, to_gray


class EdgeGANFormatError(PairError):
    """A file that is not an EdgeGAN joint image; the message names the file."""


def split_edgegan_joint(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The ``(left, right)`` RGB halves of an ``H x 2H`` EdgeGAN file (e.g. 64x128)."""
    image = read_image(path, "RGB")
    height, width = image.shape[:2]
    if width != 2 * height:
        raise EdgeGANFormatError(
            f"{path}: an EdgeGAN file is [edge | image] twice as wide as high "
            f"(SketchyCOCO: 128x64 W x H), got {width}x{height}"
        )
    return split_side_by_side(image, order="AB")


def read_edgegan_joint(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A training file as ``(edge map uint8 HxW, image uint8 HxWx3)``."""
    edge, image = split_edgegan_joint(path)
    return to_gray(edge), image


def read_test_sketch(path: PathLike) -> np.ndarray:
    """A test input [sketch | sketch] as the sketch, uint8 HxW (its left half)."""
    return to_gray(split_edgegan_joint(path)[0])


def _labels_csv(path: Path) -> dict[str, str]:
    """A labels file: CSV rows ``file,class`` (file relative to the root); header optional."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    if rows and rows[0][:2] == ["file", "class"]:
        rows = rows[1:]
    bad = [row for row in rows if len(row) < 2]
    if bad:
        raise ValueError(f"{path}: each line must be 'file,class', got {bad[0]}")
    return {row[0].strip(): row[1].strip() for row in rows}


class EdgeGANJointDataset(ImportedDataset):
    """EdgeGAN training files ``[edge | image]`` below ``root`` as the package's items.

    Parameters
    ----------
    root
        A folder of joint files, e.g. SketchyCOCO's ``stage1/train`` (class-index folders).
    class_names
        Names for integer class folders (default :data:`SKETCHYCOCO_CLASSES`); with named
        class folders (``sheep/``), the sorted folder names are used instead.
    labels_file
        CSV ``file,class`` (file relative to ``root``) giving each file's class name.
    class_name
        One class for every file (e.g. the format examples, all sheep).
    size
        Side of the square halves (64, as the reference); None keeps them.
    """

    def __init__(
        self,
        root: PathLike,
        *,
        class_names: Sequence[str] | None = None,
        labels_file: PathLike | None = None,
        class_name: str | None = None,
        size: int | None = 64,
    ) -> None:
        base = _require_dir(root, "EdgeGAN joint")
        files = sorted(list_images(base), key=_natural_key)
        if not files:
            raise EmptyDatasetError(f"no EdgeGAN joint images in {base}")
        names, classes = self._classes(base, files, class_names, labels_file, class_name)
        index = {name: i for i, name in enumerate(classes)}
        super().__init__([str(f) for f in files], [index[n] for n in names], classes, size=size)

    @staticmethod
    def _classes(
        base: Path,
        files: list[Path],
        class_names: Sequence[str] | None,
        labels_file: PathLike | None,
        class_name: str | None,
    ) -> tuple[list[str], list[str]]:
        """Each file's class name and the class list, from the first source given."""
        relative = [f.relative_to(base).as_posix() for f in files]
        if class_name is not None:
            return [class_name] * len(files), list(class_names or [class_name])
        if labels_file is not None:
            table = _labels_csv(Path(labels_file))
            missing = [r for r in relative if r not in table]
            if missing:
                raise ValueError(f"{labels_file} gives no class for {missing[0]} (and others)")
            names = [table[r] for r in relative]
            return names, list(class_names or sorted(set(names)))
        folders = [Path(r).parts[0] if len(Path(r).parts) > 1 else None for r in relative]
        if None in folders:
            raise ValueError(
                f"{base}/{relative[folders.index(None)]} is in no class folder: pass "
                "class_name=..., labels_file=..., or put files in <class>/ folders"
            )
        if all(f.isdigit() for f in folders):  # SketchyCOCO: stage1/train/<index>/
            known = list(class_names or SKETCHYCOCO_CLASSES)
            too_big = sorted({int(f) for f in folders if int(f) >= len(known)})
            if too_big:
                raise ValueError(
                    f"{base}: class folder(s) {too_big} out of range for {len(known)} classes"
                )
            return [known[int(f)] for f in folders], known
        return folders, list(class_names or sorted(set(folders)))

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's ``(edge HxW, image HxWx3)`` as stored."""
        return read_edgegan_joint(self.paths[index])


def shoes_handbags(
    root: PathLike, *, split: str = "train", size: int | None = 64
) -> SideBySideImport:
    """``shoes_handbags_photo_edges``: photo LEFT, edges right (``BtoA``); classes from
    ``index.csv`` (``handbag`` = 0, ``shoe`` = 1). Items are ``(edge, image)`` pairs."""
    return import_edges2shoes(root, split=split, direction="BtoA", size=size)
