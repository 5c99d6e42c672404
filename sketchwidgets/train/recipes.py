"""Making a shipped checkpoint's model: train its recipe, then store it small.

:func:`train_recipe` trains a recipe of :data:`sketchwidgets.pretrained.RECIPES` with the
:class:`~sketchwidgets.train.trainer.Trainer` (fixed seed; the GPU when there is one) on the
data of :mod:`sketchwidgets.train.recipe_data`; :func:`save_float16` stores the weights as
float16, leaving out the networks generation never runs; :func:`recipe_card` is the recipe's
part of the card. Scoring it and writing the card is
:func:`sketchwidgets.eval.checkpoint_cards.pretrain`, which the ``pretrain`` command runs.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from sketchwidgets import pretrained
from sketchwidgets.pretrained import DATASETS, PACKAGE_FOLDER, RECIPES, Recipe, recipe
from sketchwidgets.train.recipe_data import (
    check_source,
    class_names_of,
    mix_settings,
    recipe_shares,
    splits,
    training_data,
)

SMOKE_BATCH = 4

# Named config presets: the project's measured recipes, as overrides of a model config's
# defaults (the paper's). A recipe names its preset (Recipe.preset); so does ``train --preset``.
PRESETS: dict[str, dict[str, Any]] = {
    # the data-limited recipe of docs/findings/contextual_gan.md ("The paper's training
    # collapses", "The recipe", "Each setting of the preset, with its figure"; the search: "Why
    # the search got worse, and the preset's search"), measured on the 832 CelebA joint images
    "contextual_gan/data_limited": {
        "lr": 1e-3,
        "batch_size": 32,
        "generator_updates": 1,
        "augment": "color,translation,cutout",
        "spectral_norm": True,
        "minibatch_std": True,
        "ema_decay": 0.99,
        "standing_stats": 256,
        "encoder_width": 64,
        "reconstruction_weight": 100.0,
        "search.iterations": 10,
        "search.lr": 1e-5,
        "search.contextual": "ink_l1",
        "search.blur": 1.5,
        "search.init_score": "contextual",
        "search.init_pool": 1024,
        "search.truncation": 0.5,
    },
}


def preset(name: str) -> dict[str, Any]:
    """The config overrides of preset ``name`` (a copy); an unknown name raises listing the
    known ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return dict(PRESETS[name])


@dataclass(frozen=True)
class TrainedRecipe:
    """What :func:`train_recipe` made: the model (CPU, eval mode) and the data around it."""

    spec: Recipe
    model: Any
    train: Dataset  # the training split (the baselines' side)
    held_out: Dataset
    data: Dataset  # what the model trained on: the split, or the mix over it
    overrides: dict[str, Any]
    steps: int
    seconds: float
    final_losses: dict[str, float]
    changes: tuple[str, ...] = ()  # --set KEY=VALUE: a variant of the recipe


def train_recipe(
    name: str,
    *,
    steps: int | None = None,
    smoke: bool = False,
    device: str | None = None,
    sketches: str | None = None,
    changes: Sequence[str] = (),
) -> TrainedRecipe:
    """Train recipe ``name`` with the Trainer (fixed seed). ``smoke`` trains on 32 items;
    ``sketches`` replaces the recipe's training sketches ("machine" or "mix",
    :mod:`sketchwidgets.train.recipe_data`); ``changes`` (``"KEY=VALUE"``) change its config
    (:func:`with_changes`)."""
    from sketchwidgets.device import seed_everything
    from sketchwidgets.models import build_model

    spec = with_changes(recipe(name), changes)
    if sketches is not None:
        spec = dataclasses.replace(spec, sketches=check_source(sketches))
    train, held_out = splits(spec, smoke=smoke)
    overrides = _config_overrides(spec, train, smoke)
    seed_everything(spec.seed)  # the initial weights are part of what the seed fixes
    model = build_model(spec.model, **overrides)
    started = time.perf_counter()
    batch = SMOKE_BATCH if smoke else spec.batch_size
    data = training_data(
        spec.dataset,
        train,
        sketches=spec.sketches,
        seed=spec.seed,
        smoke=smoke,
        shares=recipe_shares(spec),
    )
    history = _train(model, spec, data, steps or spec.steps, batch, device)
    if spec.recalibrate is not None:
        network, batches = spec.recalibrate
        recalibrate_batch_norm(getattr(model, network), data, batches=batches, seed=spec.seed)
    seconds = time.perf_counter() - started
    model = model.cpu().eval()
    return TrainedRecipe(
        spec,
        model,
        train,
        held_out,
        data,
        overrides,
        steps or spec.steps,
        seconds,
        history,
        tuple(changes),
    )


def with_changes(spec: Recipe, changes: Sequence[str]) -> Recipe:
    """``spec`` with its config changed by ``"KEY=VALUE"`` strings (``pretrain --set``),
    type-checked by the model's config before anything trains: an unknown key raises
    ``KeyError`` naming the known ones, a bad value ``ValueError``."""
    if not changes:
        return spec
    from sketchwidgets.config import apply_overrides
    from sketchwidgets.models import model_class

    config = apply_overrides(model_class(spec.model).config_class(), _recipe_values(spec))
    changed = apply_overrides(config, list(changes))
    keys = [change.split("=", 1)[0].strip() for change in changes]
    values = {key: functools.reduce(getattr, key.split("."), changed) for key in keys}
    return dataclasses.replace(spec, overrides={**spec.overrides, **values})


def output_folder(
    out: str | os.PathLike | None, *, replace_shipped: bool = False, smoke: bool = False
) -> Path:
    """Where :func:`pretrain` writes: ``out``, or the shipped folder with ``replace_shipped``
    only; ``ValueError`` (one line, before any training) otherwise."""
    if out is not None and replace_shipped:
        raise ValueError("give either --out DIR or --replace-shipped, not both")
    folder = Path(out) if out is not None else pretrained.SHIPPED_FOLDER
    if folder.resolve() not in {
        PACKAGE_FOLDER.resolve(),
        Path(pretrained.SHIPPED_FOLDER).resolve(),
    }:
        return folder
    if smoke:
        raise ValueError("--smoke checkpoints never go into the package: give --out DIR")
    if not replace_shipped:
        raise ValueError(
            "pretrain never writes into the installed package by default: give --out DIR, or "
            "--replace-shipped to replace the shipped checkpoint and its card"
        )
    return folder


def _recipe_values(spec: Recipe) -> dict[str, Any]:
    """The recipe's config values: its named preset under its own overrides."""
    return {**(preset(spec.preset) if spec.preset else {}), **spec.overrides}


def _config_overrides(spec: Recipe, train: Dataset, smoke: bool) -> dict[str, Any]:
    """The recipe's preset under its overrides, the dataset's class names for a model that
    needs labels."""
    from sketchwidgets.models import model_class

    overrides = {**_recipe_values(spec), **(spec.smoke_overrides if smoke else {})}
    if model_class(spec.model).needs_label:
        overrides["class_names"] = class_names_of(train)
    return overrides


def _train(
    model: Any, spec: Recipe, train: Dataset, steps: int, batch: int, device: str | None
) -> dict:
    """Fit with the Trainer (no run folder, no validation); the last step's losses."""
    from sketchwidgets.data.sketch_mix import EpochSchedule, SketchStyleMix
    from sketchwidgets.train.trainer import Trainer

    callbacks: list[Any] = []
    if spec.dataset == "sketchy":  # SketchyGAN's edge-map -> sketch schedule (Sec. 4)
        from sketchwidgets.data.sketchy import BlendSchedule, EdgeSketchBlend

        if isinstance(train, SketchStyleMix):  # the blend picks the stored sketch or an edge map
            blend = EdgeSketchBlend(train.pairs, steps)
            train.pairs = blend
        else:
            train = blend = EdgeSketchBlend(train, steps)
        callbacks.append(BlendSchedule(blend))
    batch = min(batch, len(train))  # type: ignore[arg-type]
    if isinstance(train, SketchStyleMix):
        callbacks.append(EpochSchedule(train, batch))
    trainer = Trainer(model, train, steps=steps, batch_size=batch, seed=spec.seed, device=device)
    for callback in callbacks:
        trainer.add_callback(callback)
    history = trainer.fit()
    return {key: history.last(key) for key in history.names()}


@torch.no_grad()
def recalibrate_batch_norm(
    network: torch.nn.Module, data: Dataset, *, batches: int, seed: int, batch_size: int = 16
) -> None:
    """Set every BatchNorm's running mean and variance of ``network`` to their average over
    ``batches`` shuffled batches of ``data`` ("standing statistics", Brock et al. 2019), with
    dropout off; the network is fed ``batch["sketch"]`` and left in eval mode."""
    norms = [m for m in network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    network.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches below
        norm.train()
    device = next(network.parameters()).device
    order = torch.Generator().manual_seed(seed)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=order, drop_last=True)
    for index, batch in enumerate(loader):
        if index == batches:
            break
        network(batch["sketch"].to(device))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    network.eval()


def _train_device(device: str | None) -> torch.device:
    from sketchwidgets.device import pick_device

    return pick_device(device)


def save_float16(model: Any, path: Path, drop: tuple[str, ...] = ()) -> Path:
    """Save ``model`` with its floating-point tensors stored as float16 (refuses overflow),
    leaving out the networks named in ``drop``."""
    from sketchwidgets.io import save_torch

    state = model.model_state()
    kept = {k: v for k, v in state["state_dict"].items() if k.split(".")[0] not in drop}
    state["state_dict"] = {k: _half(k, v, path) for k, v in kept.items()}
    state["dropped"] = list(drop)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_torch(path, state)


def _half(key: str, value: torch.Tensor, path: Path) -> torch.Tensor:
    if not value.is_floating_point():
        return value
    half = value.detach().cpu().half()
    if not half.isfinite().all():
        raise ValueError(f"refusing to save {path}: {key} does not fit float16")
    return half


def recipe_card(
    spec: Recipe,
    steps: int,
    smoke: bool,
    overrides: dict[str, Any],
    model: Any,
    changes: Sequence[str] = (),
) -> dict[str, Any]:
    """The recipe's part of a card: data, split, steps, seed, command, config, versions."""
    from sketchwidgets import __version__

    command = f"python -m sketchwidgets pretrain {spec.name}"
    if steps != spec.steps:
        command += f" --steps {steps}"
    if spec.sketches != RECIPES[spec.name].sketches:
        command += f" --sketches {spec.sketches}"
    command += "".join(f" --set {change}" for change in changes)
    return {
        "name": spec.name,
        "model": spec.model,
        "dataset": spec.dataset,
        **{k: DATASETS[spec.dataset][k] for k in ("data", "split")},
        "smoke": smoke,
        "steps": steps,
        "batch_size": SMOKE_BATCH if smoke else spec.batch_size,
        "seed": spec.seed,
        "sketches": spec.sketches,
        "mix": mix_settings(spec.sketches, recipe_shares(spec)),
        "command": command + (" --smoke" if smoke else ""),
        "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
        "config": json.loads(json.dumps(dataclasses.asdict(model.config))),
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float16 (stored); loaded as float32",
        "dropped_networks": list(spec.drop),
        "batch_norm_recalibrated": (
            f"{spec.recalibrate[0]}: running statistics re-estimated over "
            f"{spec.recalibrate[1]} training batches of 16 after training, dropout off"
            if spec.recalibrate
            else "no"
        ),
        "metrics": "SSIM / PSNR (dB) / L1 on [0,1], held-out split, CPU, batches of 16, seed",
        "package_version": __version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
    }
