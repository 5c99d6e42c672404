"""Export any of the package's datasets in its own on-disk formats.

:func:`export_pairs` writes every (sketch, photo) item of a dataset -- an importer's
(:mod:`sketchwidgets.data.importers`, :mod:`sketchwidgets.data.faces`,
:mod:`sketchwidgets.data.quickdraw`), the embedded one, or any dataset of the package's item
dicts -- as ``"paired"`` folders, ``"side_by_side"`` A|B files or 64x128 ``"joint"`` images,
with the same rules as
:func:`~sketchwidgets.data.build.build_dataset` (existing outputs kept, a pair written as a
unit, half pairs completed, a failed write stops with an ``OSError``, and a manifest whose
count is the pairs on disk).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from sketchwidgets.data.build import (
    FORMATS,
    BuildReport,
    check_manifest,
    stopped_by,
    write_manifest,
)
from sketchwidgets.data.importers import ImportedDataset, PathLike, _warn
from sketchwidgets.data.pairs import (
    PHOTO_DIR,
    SKETCH_DIR,
    PairError,
    join_side_by_side,
    write_files,
)
from sketchwidgets.data.protocol import SketchDataset, sketch_dataset
from sketchwidgets.io import ImageReadError, tensor_to_image, to_gray, to_rgb


def _item_arrays(dataset: Dataset, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(sketch, photo) uint8 arrays of one item of any package dataset."""
    if isinstance(dataset, ImportedDataset):
        return dataset.load_arrays(index)
    item = dataset[index]
    return tensor_to_image(item["sketch"]), tensor_to_image(item["photo"])


def _export_relative(dataset: SketchDataset, index: int) -> Path:
    """``[CLASS/]<index>_<source stem>.png``: unique by index, traceable to the source (an
    imported file; other items are named ``item``)."""
    source = dataset.describe(index) if isinstance(dataset, ImportedDataset) else None
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem)[:60] if source else "item"
    name = f"{index:06d}_{stem}.png"
    classes = list(dataset.class_names)
    label = int(dataset.labels[index]) if classes else -1
    return Path(classes[label], name) if 0 <= label < len(classes) else Path(name)


def _export_outputs(relative: Path, dst: Path, format: str) -> tuple[Path, ...]:
    """The file(s) one item becomes (as :func:`~sketchwidgets.data.build.build_dataset`)."""
    if format == "paired":
        return dst / SKETCH_DIR / relative, dst / PHOTO_DIR / relative
    return (dst / relative,)


def _write_item(outputs: tuple[Path, ...], sketch: np.ndarray, photo: np.ndarray) -> list[Path]:
    """Write one pair as a unit: two files for "paired", else one A|B or joint file."""
    if len(outputs) == 2:
        return write_files(
            [(outputs[0], to_gray(sketch)), (outputs[1], to_rgb(photo))], overwrite=True
        )
    return write_files([(outputs[0], join_side_by_side(sketch, photo))], overwrite=True)


def _export_items(
    dataset: SketchDataset, dst: Path, format: str, overwrite: bool, progress: bool
) -> BuildReport:
    """Write every item, keeping existing outputs and skipping unreadable sources."""
    report = BuildReport()
    for index in tqdm(range(len(dataset)), desc="export", disable=not progress):
        outputs = _export_outputs(_export_relative(dataset, index), dst, format)
        existing = [p for p in outputs if p.exists()]
        if not overwrite and len(existing) == len(outputs):
            report.skipped += [(p, "exists") for p in outputs]
            continue
        try:
            sketch, photo = _item_arrays(dataset, index)
        except ImageReadError as error:
            report.skipped.append((Path(error.path), error.reason))
            continue
        except PairError as error:  # e.g. sketch and photo of different shapes
            source = dataset.describe(index) if isinstance(dataset, ImportedDataset) else None
            report.skipped.append((Path(source) if source else outputs[0], str(error)))
            continue
        if existing:
            report.completed.append(outputs[0])
        report.written += _write_item(outputs, sketch, photo)
    return report


def export_pairs(
    dataset: Dataset,
    dst: PathLike,
    *,
    format: Literal["paired", "side_by_side", "joint"] = "paired",
    overwrite: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Write every (sketch, photo) item of ``dataset`` in one of the package's formats.

    ``"paired"``: ``dst/sketch/[CLASS/]NAME.png`` + ``dst/photo/[CLASS/]NAME.png``;
    ``"side_by_side"`` and ``"joint"``: ``dst/[CLASS/]NAME.png`` = sketch|photo (pix2pix
    AtoB). CLASS is the item's class name (none for label -1); NAME is
    ``<index>_<source stem>``. Images are written at the dataset's ``size``; ``"joint"``
    needs square halves of 64 px (import with ``size=64``). As in
    :func:`~sketchwidgets.data.build.build_dataset`: existing outputs are kept and reported
    as ``(path, "exists")`` unless ``overwrite=True``, an unreadable source file is skipped
    and reported, and ``dst/build.json`` records format, size, count and source.
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r}: expected one of {FORMATS}")
    data = sketch_dataset(dataset)
    size = data.size
    if format == "joint" and size != 64:
        raise ValueError(f"format='joint' needs 64 px items; import with size=64 (got {size})")
    dst = Path(dst)
    settings = {"format": format, "size": size, "source": type(dataset).__name__}
    check_manifest(dst, settings, overwrite)
    source = settings.pop("source")
    try:
        report = _export_items(data, dst, format, overwrite, progress)
    except OSError as error:
        raise stopped_by(error, dst, settings, source) from error
    write_manifest(dst, settings, source)
    skipped = [(p, r) for p, r in report.skipped if r != "exists"]
    if report.skipped:
        _warn(
            f"export to {dst}: {report}" + (f"; first bad file {skipped[0][0]}" if skipped else "")
        )
    return report
