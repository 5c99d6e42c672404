"""How a checkpoint does on machine edges, on drawn sketches and on artist sketches.

:func:`gap_report` scores a model on every hold-out of
:func:`~sketchwidgets.train.recipe_data.holdout_sets` beside two baselines that use the same
training side:

* ``"nearest_neighbour"``: the photo of the training sketch nearest to each held-out sketch
  (:func:`~sketchwidgets.eval.baselines.nearest_neighbour_metrics`);
* ``"mean_photo"``: the mean of the training photos, the same picture for every sketch.

Figures are SSIM / PSNR (dB) / L1 on [0, 1], as on the cards. :func:`format_table` prints
a report as text.

:func:`gap_rows` puts several models on the same hold-outs, one row each, with the drawn
hold-out's sketch dependence and spread (:mod:`~sketchwidgets.eval.sketch_following`), then the
two baselines; :func:`gap_markdown` shows them as a Markdown table.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from sketchwidgets.eval.baselines import (
    heldout_images,
    heldout_metrics,
    materialised,
    nearest_neighbour_metrics,
    stack_dataset,
)
from sketchwidgets.eval.metrics import l1, psnr, ssim
from sketchwidgets.eval.sketch_following import FIGURES, scores_of_images
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
        for name, (train, held_out) in _read_once(sets).items():
            report[name] = {
                "model": heldout_metrics(model, held_out, seed=seed),
                "nearest_neighbour": nearest_neighbour_metrics(train, held_out),
                "mean_photo": mean_photo_metrics(train, held_out),
            }
    return report


def _read_once(sets: dict[str, tuple[Dataset, Dataset]]) -> dict[str, tuple[Dataset, Dataset]]:
    """Each set's training side and hold-out read once (drawn sketches are drawn on access)."""
    return {name: (materialised(train), materialised(held)) for name, (train, held) in sets.items()}


def format_table(report: Report, title: str = "") -> str:
    """The report as aligned text, one line per hold-out and row."""
    lines = [title] if title else []
    lines.append(f"{'hold-out':<10} {'':<18}" + "".join(f"{m:>9}" for m in METRICS))
    for name, rows in report.items():
        for row in ROWS:
            values = "".join(f"{rows[row][m]:>9.4f}" for m in METRICS)
            lines.append(f"{name:<10} {row:<18}{values}")
    return "\n".join(lines)


BASELINES = {"nearest neighbour": nearest_neighbour_metrics, "mean photo": mean_photo_metrics}


def gap_rows(
    models: dict[str, Any], sets: dict[str, tuple[Dataset, Dataset]], *, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per model, then one per baseline: ``name``, each hold-out's ``{metric: value}``
    under its name, and for models with a ``"drawn"`` hold-out its ``dependence`` and
    ``spread`` there."""
    rows: list[dict[str, Any]] = []
    sets = _read_once(sets)
    with torch.no_grad():
        for name, model in models.items():
            row: dict[str, Any] = {"name": name}
            for set_name, (_, held_out) in sets.items():
                generated, photos = heldout_images(model, held_out, seed=seed)
                row[set_name] = {"ssim": ssim(generated, photos), "psnr": psnr(generated, photos),
                                 "l1": l1(generated, photos)}  # fmt: skip
                if set_name == "drawn":
                    row |= scores_of_images(generated, photos, held_out)
            rows.append(row)
        for name, score in BASELINES.items():
            rows.append({"name": name, **{s: score(*pair) for s, pair in sets.items()}})
    return rows


def gap_markdown(rows: list[dict[str, Any]], sets: list[str]) -> str:
    """``rows`` of :func:`gap_rows` as Markdown: SSIM / PSNR dB / L1 per hold-out in ``sets``,
    then the drawn hold-out's dependence and spread (an en dash where a row has none)."""
    heads = [f"{s}: SSIM / PSNR / L1" for s in sets] + [f"drawn: {f}" for f in FIGURES]
    lines = ["| model | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for row in rows:
        cells = [
            "{ssim:.3f} / {psnr:.2f} / {l1:.3f}".format(**row[s]) if s in row else "–" for s in sets
        ]
        cells += [f"{row[f]:.3f}" if f in row else "–" for f in FIGURES]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
