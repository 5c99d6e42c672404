"""Baselines that know the class, for the class-conditional models (SketchyGAN, EdgeGAN).

A class-conditional model is told the class, so it should be judged against retrieval that
is told it too:

* :func:`class_mean_photos`: for each held-out item, the mean training photo of its class;
* :func:`class_nearest_neighbour_photos`: the photo of the nearest training sketch *of the
  same class* (16x16 averages, as :func:`~sketchwidgets.eval.baselines.nearest_neighbour_photos`).

:func:`class_baseline_metrics` scores both as a model is scored (SSIM, PSNR, L1).
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from sketchwidgets.eval.baselines import _coarse, _scores, stack_dataset


def _labelled(dataset: Dataset, role: str) -> dict[str, torch.Tensor]:
    stacked = stack_dataset(dataset)
    if (stacked["label"] < 0).any():
        raise ValueError(f"the {role} set has items without a class label: a class baseline "
                         "needs labelled pairs")  # fmt: skip
    return stacked


def class_mean_photos(train: Dataset, held_out: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """``(guesses, photos)``: each held-out item's guess is its class's mean training photo."""
    seen, held = _labelled(train, "training"), _labelled(held_out, "held-out")
    guesses = torch.empty_like(held["photo"], dtype=torch.float32)
    for label in held["label"].unique():
        members = seen["label"] == label
        if not members.any():
            raise ValueError(f"class {int(label)} has no training photo to average")
        guesses[held["label"] == label] = seen["photo"][members].float().mean(dim=0)
    return guesses, held["photo"].float()


def class_nearest_neighbour_photos(
    train: Dataset, held_out: Dataset
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(retrieved, photos)``: the photo of the nearest training sketch of the same class."""
    seen, held = _labelled(train, "training"), _labelled(held_out, "held-out")
    distances = torch.cdist(_coarse(held["sketch"]), _coarse(seen["sketch"]))
    other_class = held["label"][:, None] != seen["label"][None, :]
    nearest = distances.masked_fill(other_class, float("inf")).argmin(dim=1)
    return seen["photo"][nearest].float(), held["photo"].float()


def class_baseline_metrics(train: Dataset, held_out: Dataset) -> dict[str, dict[str, float]]:
    """``{"class mean photo": {...}, "class nearest neighbour": {...}}``: SSIM, PSNR, L1."""
    return {
        "class mean photo": _scores(*class_mean_photos(train, held_out)),
        "class nearest neighbour": _scores(*class_nearest_neighbour_photos(train, held_out)),
    }
