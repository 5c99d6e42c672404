"""A shipped checkpoint and its card: train the recipe, score it beside the baselines, write both.

``python -m sketchwidgets pretrain NAME --out DIR`` runs :func:`pretrain`: the recipe is trained
(:func:`sketchwidgets.train.recipes.train_recipe`), stored as float16, and its card written
beside it (``<model>-<dataset>.json``) with the held-out SSIM / PSNR / L1 measured on the CPU
three ways -- the float16 weights as shipped, the float32 weights before rounding, and the
nearest-neighbour baseline -- and the domain-gap table (machine edges, drawn sketches, artist
sketches for faces) with the nearest-neighbour and mean-photo baselines.

:func:`shipped_table` renders cards as the Markdown table of ``docs/checkpoints.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from sketchwidgets.device import pick_device
from sketchwidgets.eval.baselines import heldout_metrics, nearest_neighbour_metrics
from sketchwidgets.eval.domain_gap import gap_report
from sketchwidgets.pretrained import Recipe, card_path, checkpoint_path, load_shipped
from sketchwidgets.train.recipe_data import check_source, holdout_sets
from sketchwidgets.train.recipes import output_folder, recipe_card, save_float16, train_recipe


def pretrain(
    name: str,
    *,
    steps: int | None = None,
    out: str | os.PathLike | None = None,
    smoke: bool = False,
    device: str | None = None,
    replace_shipped: bool = False,
    sketches: str | None = None,
    changes: Sequence[str] = (),
) -> Path:
    """Train recipe ``name``, store it as float16 in ``out`` with its card, and return the
    checkpoint path. Only ``replace_shipped`` (instead of ``out``) writes into the package's
    folder. ``smoke`` trains on 32 items, scores 8 and must write elsewhere than the package.
    ``sketches`` replaces the recipe's training sketches ("machine" or "mix"); ``changes``
    (``"KEY=VALUE"``) make a variant of the recipe's config, never written over the shipped one."""
    if changes and replace_shipped:
        raise ValueError(
            "--set makes a variant of the recipe: give --out DIR, not --replace-shipped"
        )
    if sketches is not None:
        check_source(sketches)  # a bad name is refused before anything trains
    folder = output_folder(out, replace_shipped=replace_shipped, smoke=smoke)
    run = train_recipe(
        name, steps=steps, smoke=smoke, device=device, sketches=sketches, changes=changes
    )
    spec, model, train, held_out = run.spec, run.model, run.train, run.held_out
    float32_scores = heldout_metrics(model, held_out, seed=spec.seed)
    path = save_float16(model, checkpoint_path(name, folder), spec.drop)
    shipped = load_shipped(path)
    card = {
        **recipe_card(spec, run.steps, smoke, run.overrides, model, run.changes),
        "train_device": str(pick_device(device)),
        "train_seconds": round(run.seconds, 1),
        "final_losses": {k: round(v, 5) for k, v in run.final_losses.items()},
        "n_train": len(train),  # type: ignore[arg-type]
        "n_training_items": len(run.data),  # type: ignore[arg-type]  # with the mix: + CUFS
        "n_heldout": len(held_out),  # type: ignore[arg-type]
        "heldout": heldout_metrics(shipped, held_out, seed=spec.seed),
        "heldout_float32": float32_scores,
        "nearest_neighbour": nearest_neighbour_metrics(train, held_out),
        "line_stats": model.line_stats.to_dict() if model.line_stats else None,
        "domain_gap": _domain_gap(shipped, spec, train, held_out, smoke),
        "file_bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    card_path(name, folder).write_text(json.dumps(card, indent=2) + "\n")
    return path


def _domain_gap(
    model: Any, spec: Recipe, train: Dataset, held_out: Dataset, smoke: bool
) -> dict[str, Any]:
    """The shipped weights on every hold-out, with both baselines (domain_gap.py)."""

    sets = holdout_sets(spec.dataset, train, held_out, seed=spec.seed, smoke=smoke)
    return gap_report(model, sets, seed=spec.seed)


def _figures(scores: dict[str, float] | None) -> str:
    return "–" if scores is None else "{ssim:.3f} / {psnr:.2f} / {l1:.3f}".format(**scores)


def _drawn(card: dict[str, Any], row: str) -> dict[str, float] | None:
    return (card.get("domain_gap") or {}).get("drawn", {}).get(row)


def shipped_table(cards: dict[str, dict[str, Any]]) -> str:
    """Markdown: one line per card with its data, sketches, budget, size, and SSIM / PSNR dB /
    L1 on the machine-edge and drawn hold-outs beside the nearest neighbour's."""
    lines = [
        "| name | data, held-out split | training sketches | steps x batch | trained in | file "
        "| machine edges | nearest neighbour | drawn | nearest neighbour, drawn |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, card in cards.items():
        minutes = card["train_seconds"] / 60
        cells = [
            f"`{name}`",
            f"{card['dataset']}: {card['n_train']} train, {card['n_heldout']} held out",
            card.get("sketches", "machine"),
            f"{card['steps']} x {card['batch_size']}",
            f"{minutes:.1f} min ({card['train_device']})",
            f"{card['file_bytes'] / 1e6:.1f} MB",
            _figures(card["heldout"]),
            _figures(card["nearest_neighbour"]),
            _figures(_drawn(card, "model")),
            _figures(_drawn(card, "nearest_neighbour")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
