"""Where a notebook's training runs go, one folder a mode, and when a saved run is reused.

Fast mode (``SKETCHWIDGETS_FAST=1``) writes under ``runs/fast``, full mode under ``runs/full``,
so a few-step fast run never stands in for a full one. :func:`reuse_or_train` loads a saved
model only when the steps it was trained for are the steps asked for now (and, when given, its
config has the settings asked for), and says which file it loaded, or why it trained.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sketchwidgets.config import fast_mode_enabled, plain_config
from sketchwidgets.models.base import SketchModel

RUNS = Path("runs")


def mode_name() -> str:
    """``"fast"`` in fast mode, else ``"full"``."""
    return "fast" if fast_mode_enabled() else "full"


def runs_folder(base: str | Path = RUNS) -> Path:
    """``base/fast`` in fast mode, ``base/full`` otherwise."""
    return Path(base) / mode_name()


def steps_record(path: Path) -> Path:
    """The side file that records how many steps the model at ``path`` was trained for."""
    return path.with_name(path.stem + ".steps.json")


def trained_steps(path: str | Path) -> int | None:
    """The steps recorded beside ``path``; None when the model or its record is missing or
    unreadable (it is then trained again rather than trusted)."""
    path = Path(path)
    try:
        steps = json.loads(steps_record(path).read_text())["steps"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return steps if path.is_file() and isinstance(steps, int) else None


def reuse_or_train(
    path: str | Path,
    steps: int,
    train: Callable[[int], SketchModel],
    *,
    settings: Mapping[str, Any] | None = None,
) -> SketchModel:
    """The model saved at ``path`` if it was trained for ``steps`` steps, else ``train(steps)``
    saved there (with its record). With ``settings`` (config fields and values, as given to
    ``build_model``), a saved model whose config differs on any of them is trained again too,
    so a run saved by an older notebook or recipe never stands in for this one. Prints which,
    so a reader knows what the figures come from."""
    from sketchwidgets.inference import load

    path = Path(path)
    if trained_steps(path) == steps:
        model = load(path)
        differing = differing_settings(model, settings or {})
        if not differing:
            print(f"loaded {path} ({steps} steps, {mode_name()} mode)")
            return model
        print(f"{path} was trained with other settings ({', '.join(differing)}): training again")
    model = train(steps)
    save_run(model, path, steps)
    print(f"trained {steps} steps ({mode_name()} mode), saved to {path}")
    return model


def differing_settings(model: SketchModel, settings: Mapping[str, Any]) -> list[str]:
    """``"name=saved"`` for each of ``settings`` that ``model``'s config does not have; a
    dotted name is a field of a nested config (``search.iterations``)."""
    config = dataclasses.asdict(model.config)
    differing = []
    for name, wanted in settings.items():
        saved = _dotted_value(config, name)
        if plain_config(saved) != plain_config(wanted):
            differing.append(f"{name}={saved!r}")
    return differing


def _dotted_value(config: Mapping[str, Any], name: str) -> Any:
    """``config[a][b]`` for ``name`` "a.b" (None where a part is missing)."""
    value: Any = config
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def save_run(model: SketchModel, path: str | Path, steps: int) -> Path:
    """Save ``model`` at ``path`` with the record of its ``steps``, so that a later
    :func:`reuse_or_train` of the same steps loads it; returns the saved path."""
    saved = model.save(path)
    steps_record(saved).write_text(json.dumps({"steps": steps, "mode": mode_name()}))
    return saved
