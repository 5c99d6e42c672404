"""Training checkpoints: the full state needed to continue a run exactly, written atomically.

A checkpoint is one ``torch.save`` file holding a dict:

* ``model_name``, ``config``, ``state_dict``, ``version`` -- :meth:`SketchModel.model_state`,
  at the top level, so :func:`sketchwidgets.models.load_model` reads a checkpoint as a model;
* ``optimizers`` -- ``{name: optimizer.state_dict()}``;
* ``step`` -- the number of optimizer steps done;
* ``rng`` -- every random generator's state (:func:`sketchwidgets.device.rng_state`);
* ``torch_version``, ``format`` and ``extra`` (the trainer's data position and settings).

The file is written to a temporary name and renamed into place (:func:`io.atomic_write`), so
a crash or a full disk mid-write leaves the previous checkpoint intact.  Everything in it is
plain data (tensors, numbers, strings, lists, dicts), so it loads with
``torch.load(weights_only=True)``: loading a checkpoint never runs code from the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sketchwidgets.device import rng_state, set_rng_state
from sketchwidgets.io import UnsafeFileError, load_torch, save_torch
from sketchwidgets.models.weights_fit import differences, mismatch_reason
from sketchwidgets.train.distributed import unwrapped

CHECKPOINT_FORMAT = 1
REQUIRED_KEYS = ("model_name", "config", "state_dict", "optimizers", "step")


class CheckpointError(ValueError):
    """A checkpoint file is missing pieces, corrupt, or does not fit the model."""


class NonFiniteState(CheckpointError):
    """The state to save holds NaN or inf (a diverged run); nothing was written."""


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    step: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the full training state of ``model`` to ``path`` atomically; returns the path."""
    with unwrapped(model):
        state = dict(model.model_state())
    state.update(
        optimizers={name: opt.state_dict() for name, opt in optimizers.items()},
        step=int(step),
        rng=plain_rng_state(rng_state()),
        torch_version=str(torch.__version__),
        format=CHECKPOINT_FORMAT,
        extra=dict(extra or {}),
    )
    bad = non_finite_entries({"state_dict": state["state_dict"], "optimizers": state["optimizers"]})
    if bad:
        raise NonFiniteState(f"refusing to write checkpoint {path}: non-finite values in {bad}")
    return save_torch(path, state)


def non_finite_entries(tree: Any, limit: int = 3) -> list[str]:
    """Paths (``"optimizers/G/state/0/exp_avg"``) of floating tensors holding NaN or inf."""
    found: list[str] = []

    def visit(value: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not bool(value.isfinite().all()):
                found.append(where)
        elif isinstance(value, float) and not np.isfinite(value):
            found.append(where)
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}/{key}" if where else str(key))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(item, f"{where}/{i}")

    visit(tree, "")
    return found


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; errors name the file and the fault."""
    path = Path(path)
    try:
        state = load_torch(path, map_location=map_location)
    except UnsafeFileError:
        raise
    except ValueError as error:  # truncated, corrupt or not a torch file at all
        raise CheckpointError(str(error)) from error.__cause__
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a training checkpoint (holds {type(state).__name__})")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(
            f"{path} is not a full training checkpoint: missing {missing} "
            "(a model saved with model.save() can be loaded with load_model, not resumed)"
        )
    return state


def restore_training_state(
    state: dict[str, Any],
    model: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    *,
    restore_rng: bool = True,
) -> int:
    """Load weights, optimizer states and (optionally) RNG states; returns the step."""
    _check_model(state, model)
    with unwrapped(model):
        if differences(model, state["state_dict"]):
            reason = mismatch_reason(model, state["state_dict"], stored_config=state["config"])
            raise CheckpointError(f"the checkpoint's weights do not fit this model: {reason}")
        model.load_state_dict(state["state_dict"])
    _restore_optimizers(state["optimizers"], optimizers)
    if restore_rng and "rng" in state:
        set_rng_state(torch_rng_state(state["rng"]))
    return int(state["step"])


def _check_model(state: dict[str, Any], model: nn.Module) -> None:
    name = getattr(model, "name", "")
    if state["model_name"] != name:
        raise CheckpointError(f"the checkpoint holds a {state['model_name']!r} model, not {name!r}")


def _restore_optimizers(
    saved: dict[str, Any], optimizers: dict[str, torch.optim.Optimizer]
) -> None:
    if set(saved) != set(optimizers):
        raise CheckpointError(
            f"the checkpoint has optimizers {sorted(saved)}, the model makes {sorted(optimizers)}"
        )
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(saved[name])


def plain_rng_state(state: dict[str, Any]) -> dict[str, Any]:
    """:func:`device.rng_state` with NumPy's array made a list (safe for weights_only loads)."""
    kind, keys, pos, has_gauss, cached = state["numpy"]
    plain = dict(state)
    plain["numpy"] = (kind, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached))
    return plain


def torch_rng_state(plain: dict[str, Any]) -> dict[str, Any]:
    """Undo :func:`plain_rng_state` (the form :func:`device.set_rng_state` takes)."""
    kind, keys, pos, has_gauss, cached = plain["numpy"]
    state = dict(plain)
    state["numpy"] = (kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached)
    state["python"] = _as_tuple(plain["python"])
    return state


def _as_tuple(value: Any) -> Any:
    """Lists back to tuples, recursively (``random.setstate`` wants tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuple(v) for v in value)
    return value
