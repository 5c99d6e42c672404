"""How a checkpoint does on machine edges, on drawn sketches and on artist sketches.

:func:`gap_report` scores a model on every hold-out of
:func:`~sketchwidgets.train.recipe_data.holdout_sets` beside two baselines that use the same
training side:

* ``"nearest_neighbour"``: the photo of the training sketch nearest to each held-out sketch
  (:func:`~sketchwidgets.eval.baselines.nearest_neighbour_metrics`);
* ``"mean_photo"``: the mean of the training photos, the same picture for every sketch.

Figures are SSIM / PSNR (dB) / L1 on [0, 1], as on the cards. :func:`format_table` prints
a report as text.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from sketchwidgets.eval.baselines import heldout_metrics, nearest_neighbour_metrics, stack_dataset
from sketchwidgets.eval.metrics import l1, psnr, ssim
from sketchwidgets.pretrained import METRICS

ROWS = ("model", "nearest_neighbour", "mean_photo")
Report = dict[str, dict[str, dict[str, float]]]


def mean_photo_metrics(train: Dataset, held_out: Dataset) -> dict[str, float]:
    """The mean training photo, scored against every held-out photo."""
    mean = stack_dataset(train)["photo"].float().mean(dim=0, keepdim=True)
    photos = stack_dataset(held_out)["photo"].float()
    guess = mean.expand_as(photos).contiguous()
    return {"ssim": ssim(guess, photos), "psnr": psnr(guess, photos), "l1": l1(guess, photos)}


def gap_report(model: Any, sets: dict[str, tuple[Dataset, Dataset]], *, seed: int = 0) -> Report:
    """``{hold-out: {"model" | "nearest_neighbour" | "mean_photo": {metric: value}}}``."""
    report: Report = {}
    with torch.no_grad():
        for name, (train, held_out) in sets.items():
            report[name] = {
                "model": heldout_metrics(model, held_out, seed=seed),
                "nearest_neighbour": nearest_neighbour_metrics(train, held_out),
                "mean_photo": mean_photo_metrics(train, held_out),
            }
    return report


def format_table(report: Report, title: str = "") -> str:
    """The report as aligned text, one line per hold-out and row."""
    lines = [title] if title else []
    lines.append(f"{'hold-out':<10} {'':<18}" + "".join(f"{m:>9}" for m in METRICS))
    for name, rows in report.items():
        for row in ROWS:
            values = "".join(f"{rows[row][m]:>9.4f}" for m in METRICS)
            lines.append(f"{name:<10} {row:<18}{values}")
    return "\n".join(lines)
