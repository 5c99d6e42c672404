"""Sketchy for SketchyGAN: pairs from ``pairs.csv``, photo-level splits, the edge/sketch blend.

SketchyGAN (Chen & Hays 2018, Sec. 4) trains on Sketchy sketch-photo pairs (weakly aligned:
drawn from memory) together with edge maps of the same photos, shown mostly edge maps at
first and mostly sketches at the end. The reference code's proportion of sketches is
``0.2 + min(0.6, 0.6 * t / T)`` (wchen342/SketchyGAN ``src_single/train_single.py``).

* :func:`import_sketchy_pairs` reads a Sketchy folder's ``pairs.csv`` (``class, photo_id,
  sketch, photo``; paths relative to the folder), or pairs by the Sketchy naming
  (``CLASS/ID-N.png`` -> ``CLASS/ID.jpg``, :func:`~sketchwidgets.data.importers.import_sketchy`)
  when there is no csv;
* :func:`split_by_photo` holds out whole photos, so no held-out photo is seen in training;
* :func:`unpaired_photos` lists the photos of the chosen classes that no sketch refers to
  (real photos for a classifier or FID statistics);
* :class:`EdgeSketchBlend` and :class:`BlendSchedule` serve a sketch or an edge map of the
  photo per item, with the sketch share following the schedule of the training step.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from sketchwidgets.data.class_match import dataset_class_names
from sketchwidgets.data.importers import PairedFilesImport, PathLike, _require_dir, import_sketchy
from sketchwidgets.data.pairs import EmptyDatasetError
from sketchwidgets.data.protocol import sketch_dataset, subset
from sketchwidgets.data.sketchify import sketchify
from sketchwidgets.io import image_to_tensor, list_images

PAIRS_CSV = "pairs.csv"
CSV_COLUMNS = ("class", "photo_id", "sketch", "photo")
CODE_SCHEDULE = (0.2, 0.8)  # train_single.py: proportion = 0.2 + min(0.6, t / T * 0.6)


# --------------------------------------------------------------------------- pairs


def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of ``pairs.csv``; a missing column raises naming the file and the columns."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; expected {list(CSV_COLUMNS)}")
        return list(reader)


def _chosen_classes(known: Sequence[str], classes: Sequence[str] | None, where: Path) -> list[str]:
    """The requested classes, sorted (unknown names raise listing the known ones)."""
    if classes is None:
        return sorted(set(known))
    unknown = sorted(set(classes) - set(known))
    if unknown:
        raise KeyError(f"unknown Sketchy class(es) {unknown} in {where}; known: {sorted(known)}")
    return sorted(set(classes))


def _csv_pairs(root: Path, classes: Sequence[str] | None, size: int | None) -> PairedFilesImport:
    """Pairs listed in ``root/pairs.csv`` (files checked to exist, naming the first missing)."""
    path = root / PAIRS_CSV
    rows = _read_csv_rows(path)
    names = _chosen_classes([r["class"] for r in rows], classes, path)
    index = {name: i for i, name in enumerate(names)}
    rows = [r for r in rows if r["class"] in index]
    sketches, photos = [root / r["sketch"] for r in rows], [root / r["photo"] for r in rows]
    for line, (sketch, photo) in enumerate(zip(sketches, photos, strict=True), start=2):
        for file in (sketch, photo):
            if not file.is_file():
                raise FileNotFoundError(f"{path} line {line}: file not found: {file}")
    labels = [index[r["class"]] for r in rows]
    dataset = PairedFilesImport(sketches, photos, labels, names, size=size)
    dataset.photo_ids = [r["photo_id"] for r in rows]
    return dataset


def import_sketchy_pairs(
    root: PathLike, *, classes: Sequence[str] | None = None, size: int | None = 64
) -> PairedFilesImport:
    """Sketchy sketch-photo pairs of ``classes`` (default all), labels index the sorted names.

    Reads ``root/pairs.csv`` when present, else pairs by the Sketchy naming. The dataset has
    ``.photo_ids`` (one per item: the photo's ImageNet id) for :func:`split_by_photo`.
    """
    base = _require_dir(root, "Sketchy")
    if (base / PAIRS_CSV).is_file():
        return _csv_pairs(base, classes, size)
    dataset = import_sketchy(base, classes=classes, size=size)
    dataset.photo_ids = [Path(p).stem for p in dataset.photo_files]
    return dataset


def split_by_photo(
    dataset: Dataset, val_fraction: float = 0.2, seed: int = 0
) -> tuple[Subset, Subset]:
    """``(train, val)`` with every sketch of a photo on the same side (a seeded photo shuffle).

    ``dataset.photo_ids`` names each item's photo. Each class keeps at least one photo in
    training; ``val`` holds about ``val_fraction`` of each class's photos.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction}: must lie strictly between 0 and 1")
    photos_of: dict[int, list[str]] = {}
    for label, photo in zip(dataset.labels, dataset.photo_ids, strict=True):
        if photo not in photos_of.setdefault(label, []):
            photos_of[label].append(photo)
    rng = np.random.default_rng(seed)
    held_out: set[str] = set()
    for label in sorted(photos_of):
        photos = sorted(photos_of[label])
        n_val = min(len(photos) - 1, round(len(photos) * val_fraction))
        held_out.update(rng.permutation(photos)[:n_val].tolist())
    val = [i for i, p in enumerate(dataset.photo_ids) if p in held_out]
    train = [i for i, p in enumerate(dataset.photo_ids) if p not in held_out]
    return subset(dataset, train), subset(dataset, val)


def unpaired_photos(
    root: PathLike, classes: Sequence[str], *, photo_dir: str = "photo_128"
) -> list[tuple[Path, str]]:
    """``[(photo file, class)]`` of the photos in ``root/photo_dir/CLASS/`` that no pair uses."""
    base = _require_dir(root, "Sketchy")
    used: set[str] = set()
    if (base / PAIRS_CSV).is_file():
        used = {r["photo_id"] for r in _read_csv_rows(base / PAIRS_CSV)}
    found = []
    for name in sorted(classes):
        folder = _require_dir(base / photo_dir / name, "Sketchy photo class folder")
        found += [(p, name) for p in list_images(folder, recursive=False) if p.stem not in used]
    if not found:
        raise EmptyDatasetError(f"no unpaired photos of {sorted(classes)} in {base / photo_dir}")
    return found


# --------------------------------------------------------------------------- blend


def sketch_share(step: int, total_steps: int, start: float = 0.2, end: float = 0.8) -> float:
    """The share of human sketches at ``step`` of ``total_steps``: linear from start to end."""
    if total_steps <= 0:
        return end
    return start + (end - start) * min(1.0, max(0, step) / total_steps)


class EdgeSketchBlend(Dataset):
    """A paired dataset whose items carry the human sketch or an edge map of the photo.

    Each item is the sketch with probability :meth:`share` (drawn from torch's global RNG,
    which the Trainer seeds), else ``sketchify(photo, edge_style)``; ``item["source"]`` says
    which. :meth:`set_step` moves the schedule (see :class:`BlendSchedule`); the share goes
    from ``start`` (0.2, the code) to ``end`` (0.8) over ``total_steps``. Edge maps are cached.
    Train with ``num_workers=0``: worker processes would not see :meth:`set_step`.
    """

    def __init__(
        self,
        pairs: Dataset,
        total_steps: int,
        *,
        start: float = CODE_SCHEDULE[0],
        end: float = CODE_SCHEDULE[1],
        edge_style: str = "xdog",
        **edge_params: Any,
    ) -> None:
        for name, value in (("start", start), ("end", end)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value}: a share of sketches must lie in [0, 1]")
        self.pairs, self.total_steps = pairs, total_steps
        self.start, self.end, self.step = start, end, 0
        self.edge_style, self.edge_params = edge_style, edge_params
        self._edges: dict[int, torch.Tensor] = {}
        self.class_names = list(dataset_class_names(pairs) or [])  # through Subsets
        self._pairs = sketch_dataset(pairs)
        self.size, self.root = self._pairs.size, self._pairs.root

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def labels(self) -> Sequence[int]:
        """The paired dataset's labels."""
        return self._pairs.labels

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The paired dataset's raw pair: the human sketch (an edge map only in items)."""
        return self._pairs.read_pair(index)

    def describe(self, index: int) -> str:
        """The paired dataset's name of the item."""
        return self._pairs.describe(index)

    def set_step(self, step: int) -> None:
        """Move the schedule to training step ``step``."""
        self.step = step

    def share(self) -> float:
        """The probability that an item carries the human sketch at the current step."""
        return sketch_share(self.step, self.total_steps, self.start, self.end)

    def edge_map(self, index: int, photo: torch.Tensor) -> torch.Tensor:
        """The photo's edge map as a ``(1, H, W)`` sketch tensor in [-1, 1] (cached)."""
        if index not in self._edges:
            rgb = ((photo.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
            edges = sketchify(rgb, self.edge_style, **self.edge_params)
            self._edges[index] = image_to_tensor(np.ascontiguousarray(edges))
        return self._edges[index]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.pairs[index])
        use_sketch = bool(torch.rand(()) < self.share())
        if not use_sketch:
            item["sketch"] = self.edge_map(index, item["photo"])
        item["source"] = "sketch" if use_sketch else "edge"
        return item


class BlendSchedule:
    """Trainer callback keeping an :class:`EdgeSketchBlend` at the trainer's step.

    It follows the hook protocol of :class:`sketchwidgets.train.callbacks.Callback` without
    subclassing it (the data package does not import the training package).
    """

    def __init__(self, blend: EdgeSketchBlend) -> None:
        self.blend = blend

    def on_fit_start(self, trainer: Any) -> None:
        self.blend.set_step(trainer.start_step)

    def on_step_end(self, trainer: Any, step: int, losses: Any) -> None:
        self.blend.set_step(step)

    def on_validation_end(self, trainer: Any, step: int, losses: Any) -> None:
        """Nothing to do."""

    def on_fit_end(self, trainer: Any) -> None:
        """Nothing to do."""

    def on_teardown(self, trainer: Any) -> None:
        """Nothing to do."""
