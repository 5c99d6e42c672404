"""What every dataset of the package offers: the :class:`SketchDataset` protocol.

The folder datasets (:mod:`~sketchwidgets.data.datasets`), the importers
(:mod:`~sketchwidgets.data.importers` and the faces, Sketchy, Quick Draw and EdgeGAN ones
built on them), the embedded set (:class:`~sketchwidgets.data.builtin.EmbeddedDataset`), the
sketch/edge blend, the relabelled view the trainer makes and :class:`SketchSubset` (what the
splits return) all meet it, so the widgets, the exporter and the class matching read
``class_names``, ``labels`` and the raw pair without probing for attributes.

:func:`sketch_dataset` gives any dataset this face: a protocol dataset as it is, a torch
``Subset`` (or a ``DataLoader``'s dataset) as a :class:`SketchSubset`, and any other
dataset of item dicts as an :class:`ItemsView` that reads its items.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from torch.utils.data import DataLoader, Dataset, Subset

from sketchwidgets.io import tensor_to_image


@runtime_checkable
class SketchDataset(Protocol):
    """A dataset of (sketch, photo) pairs.

    ``class_names``: the names ``labels`` index (empty: no classes). ``labels``: each item's
    class index (-1: none). ``size``: the side items are resized to (None: as stored).
    ``root``: the folder the items are read from, where ``excluded.txt`` lives (None: not a
    folder). ``dataset[i]`` is the item dict (``"sketch"``, ``"photo"``, ``"label"``,
    ``"path"``); ``read_pair(i)`` the uint8 ``(sketch HxW, photo HxWx3)`` as stored, before
    size and transform; ``describe(i)`` what names the item to a person (its file, or a
    pseudo path such as ``embedded://apple/0003``).
    """

    class_names: Sequence[str]
    labels: Sequence[int]
    size: int | None
    root: Path | None

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict[str, Any]: ...

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...

    def describe(self, index: int) -> str: ...


class SketchSubset(Subset):
    """A torch ``Subset`` of a :class:`SketchDataset` that is one too (indices mapped)."""

    def __init__(self, dataset: SketchDataset, indices: Sequence[int]) -> None:
        super().__init__(dataset, indices)  # type: ignore[arg-type]
        self.class_names: Sequence[str] = dataset.class_names
        self.size: int | None = dataset.size
        self.root: Path | None = dataset.root

    @property
    def labels(self) -> list[int]:
        """The base dataset's labels of the chosen items."""
        labels = self.dataset.labels  # type: ignore[attr-defined]
        return [int(labels[i]) for i in self.indices]

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The base dataset's raw pair of item ``index`` of the subset."""
        return self.dataset.read_pair(self.indices[index])  # type: ignore[attr-defined]

    def describe(self, index: int) -> str:
        """The base dataset's name of item ``index`` of the subset."""
        return self.dataset.describe(self.indices[index])  # type: ignore[attr-defined]


def subset(dataset: Dataset, indices: Sequence[int]) -> Subset:
    """``Subset(dataset, indices)``, a :class:`SketchSubset` when ``dataset`` is a
    :class:`SketchDataset`."""
    if isinstance(dataset, SketchDataset):
        return SketchSubset(dataset, indices)
    return Subset(dataset, indices)


class ItemsView(Dataset):
    """Any dataset of item dicts with the protocol's face: no classes, no folder, the labels
    and pairs read from the items."""

    size: int | None = None
    root: Path | None = None

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.class_names: Sequence[str] = ()
        self._labels: list[int] | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.dataset[index]

    @property
    def labels(self) -> list[int]:
        """Every item's ``"label"`` (-1 when absent), read once."""
        if self._labels is None:
            self._labels = [int(self.dataset[i].get("label", -1)) for i in range(len(self))]
        return self._labels

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's tensors as uint8 arrays."""
        item = self.dataset[index]
        return tensor_to_image(item["sketch"]), tensor_to_image(item["photo"])

    def describe(self, index: int) -> str:
        """``item <index>`` (naming it by its ``"path"`` would read the item)."""
        return f"item {index}"


def sketch_dataset(data: Any) -> SketchDataset:
    """``data`` with the :class:`SketchDataset` face: itself when it has it, a ``Subset`` (and
    a ``DataLoader``'s dataset) through :class:`SketchSubset`, anything else an
    :class:`ItemsView`."""
    if isinstance(data, DataLoader):
        data = data.dataset
    if isinstance(data, (SketchSubset, ItemsView)):  # no protocol check: it reads properties
        return data  # type: ignore[return-value]
    if isinstance(data, Subset):
        base = sketch_dataset(data.dataset)
        if isinstance(base, ItemsView):
            return ItemsView(data)  # type: ignore[return-value]
        return SketchSubset(base, data.indices)  # type: ignore[return-value]
    if isinstance(data, SketchDataset):
        return data
    return ItemsView(data)  # type: ignore[return-value]
