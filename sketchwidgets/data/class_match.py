"""Match a dataset's classes to a model's by name, never by position.

A dataset's ``label`` indexes its own ``class_names`` (sorted class-folder names); a
class-conditional model's label indexes the ``class_names`` it was built with. The two lists
agree only when they are equal. :func:`class_index_map` compares them: equal lists need no
change; data classes that are all known to the model (a subset, or the same names in another
order) are mapped by name; anything else raises one ``ValueError`` listing both sets. The
trainer (:class:`~sketchwidgets.train.trainer.Trainer`) and
:func:`~sketchwidgets.eval.metrics.evaluate` apply it, so no label is ever read as another class.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from sketchwidgets.data.protocol import SketchDataset, sketch_dataset


def _underlying(data: Any) -> Any:
    """The dataset below a DataLoader and any Subsets (which keep their dataset's labels)."""
    if isinstance(data, DataLoader):
        data = data.dataset
    while isinstance(data, Subset):
        data = data.dataset
    return data


def dataset_class_names(data: Any) -> tuple[str, ...] | None:
    """The class names a dataset's labels index (through Subsets and a DataLoader), or None
    when the dataset is no :class:`~sketchwidgets.data.protocol.SketchDataset` (it does not
    say)."""
    base = _underlying(data)
    return tuple(base.class_names) if isinstance(base, SketchDataset) else None


def class_index_map(
    model: Any, data_names: Sequence[str] | None, *, where: str = "the data"
) -> torch.Tensor | None:
    """``(len(data_names),)`` model class index of each data class, or None when the labels
    need no change (equal lists, unknown data names, or a model that takes no label).

    Raises ``ValueError`` listing both sets when ``where`` has no classes or a class the
    model does not know.
    """
    if not model.needs_label or data_names is None:
        return None
    data_names, known = tuple(data_names), tuple(model.class_names)
    if data_names == known:
        return None
    if not data_names:
        raise ValueError(
            f"model {model.name!r} needs a class for every sketch, but {where} has no classes "
            f"(no class folders); the model's classes: {list(known)}"
        )
    unknown = [name for name in data_names if name not in known]
    if unknown:
        raise ValueError(
            f"the classes of {where} {list(data_names)} do not match those of model "
            f"{model.name!r} {list(known)}: {unknown} unknown to the model; classes are matched "
            "by name, never by position (name the class folders as the model's classes, or "
            "train a model on these)"
        )
    return torch.tensor([known.index(name) for name in data_names], dtype=torch.long)


def remap_labels(labels: torch.Tensor, lookup: torch.Tensor | None) -> torch.Tensor:
    """Data labels as model labels through ``lookup``; -1 (no class) stays -1."""
    if lookup is None:
        return labels
    labels = torch.as_tensor(labels, dtype=torch.long)
    mapped = lookup.to(labels.device)[labels.clamp(0, len(lookup) - 1)]
    return torch.where((labels >= 0) & (labels < len(lookup)), mapped, labels)


class RelabelledDataset(Dataset):
    """A dataset whose items' labels are mapped to a model's class indices (by name).

    ``class_names`` are the model's; ``dataset`` is the wrapped one.
    """

    def __init__(self, dataset: Dataset, lookup: torch.Tensor, class_names: Sequence[str]):
        self.dataset, self.lookup, self.class_names = dataset, lookup, list(class_names)
        self._data = sketch_dataset(dataset)
        self.size, self.root = self._data.size, self._data.root

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    @property
    def labels(self) -> list[int]:
        """The wrapped dataset's labels as the model's class indices."""
        mapped = remap_labels(torch.as_tensor(list(self._data.labels)), self.lookup)
        return mapped.tolist()

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The wrapped dataset's raw pair."""
        return self._data.read_pair(index)

    def describe(self, index: int) -> str:
        """The wrapped dataset's name of the item."""
        return self._data.describe(index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.dataset[index])
        item["label"] = int(remap_labels(torch.tensor(int(item["label"])), self.lookup))
        return item


def describe(data: Any) -> str:
    """ "the data at <folder>" for a folder dataset (through Subsets), else "the data"."""
    base = _underlying(data)
    root: Path | None = base.root if isinstance(base, SketchDataset) else None
    return f"the data at {root}" if root is not None else "the data"


def matched_to_model(model: Any, dataset: Dataset | None) -> Any:
    """``dataset`` as is when its labels already index the model's classes, else a
    :class:`RelabelledDataset` mapping them by name (``ValueError`` when they cannot be)."""
    if dataset is None:
        return None
    lookup = class_index_map(model, dataset_class_names(dataset), where=describe(dataset))
    if lookup is None:
        return dataset
    return RelabelledDataset(dataset, lookup, model.class_names)
