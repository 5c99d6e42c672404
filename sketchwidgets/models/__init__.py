"""The registry of sketch-to-image systems: a literal dict, no import magic."""

from __future__ import annotations

import os
from typing import Any

import torch

from sketchwidgets.config import apply_overrides, stored_config
from sketchwidgets.io import load_torch
from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.contextual_gan import ContextualGAN
from sketchwidgets.models.edgegan import EdgeGAN
from sketchwidgets.models.pix2pix import Pix2Pix
from sketchwidgets.models.sketchygan import SketchyGAN
from sketchwidgets.models.weights_fit import WeightsMismatch, differences, load_weights

MODELS: dict[str, type[SketchModel]] = {
    "pix2pix": Pix2Pix,
    "contextual_gan": ContextualGAN,
    "sketchygan": SketchyGAN,
    "edgegan": EdgeGAN,
}


def model_class(name: str) -> type[SketchModel]:
    """The class registered as ``name``; an unknown name raises and lists the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {sorted(MODELS)}") from None


def build_model(name: str, config: Any = None, **overrides: Any) -> SketchModel:
    """Build model ``name`` from a config (default: the class's defaults) with keyword
    overrides; a dotted key sets a field of a nested config
    (``build_model("contextual_gan", **{"search.iterations": 2})``)."""
    cls = model_class(name)
    if config is None:
        config = cls.config_class()
    if overrides:
        config = apply_overrides(config, overrides)
    return cls(config)


def model_from_state(state: dict[str, Any], source: str | os.PathLike = "the state") -> SketchModel:
    """Rebuild a model from :meth:`SketchModel.model_state` (or a full training checkpoint).

    Config fields that name files are ignored with a warning naming ``source``. Weights that
    do not fit the stored config raise :class:`~sketchwidgets.models.weights_fit.WeightsMismatch`
    in one line naming ``source``, the config field that explains it and the tensors that differ.
    """
    model = _built_from_config(state, source)
    load_weights(model, state["state_dict"], source=str(source), stored_config=state["config"])
    return model


def _built_from_config(state: dict[str, Any], source: str | os.PathLike) -> SketchModel:
    if "model_name" not in state:
        raise ValueError("not a sketchwidgets checkpoint: no 'model_name' key")
    cls = model_class(state["model_name"])
    return cls(stored_config(cls.config_class, state["config"], source))


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> SketchModel:
    """Load a model saved by :meth:`SketchModel.save` or a training checkpoint.

    Only plain data is read (``torch.load(weights_only=True)``): a file that would need to
    unpickle other objects is refused with :class:`~sketchwidgets.io.UnsafeFileError` naming it.
    A file named in the stored config (``perceptual_weights``) is ignored, with a warning.
    Weights that do not fit the stored config raise
    :class:`~sketchwidgets.models.weights_fit.WeightsMismatch` in one line; for a shipped
    checkpoint's file (which leaves out the networks generation does not need) the line gives
    the ``pretrained:`` name to load it by.
    """
    state = load_torch(path, map_location=map_location)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a sketchwidgets checkpoint (holds {type(state).__name__})")
    try:
        model = _built_from_config(state, path)
    except KeyError as error:  # a config key the model does not know
        raise KeyError(f"{path}: {error.args[0] if error.args else error}") from error
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    if differences(model, state["state_dict"]):
        _refuse_shipped(path, state)
    try:
        load_weights(model, state["state_dict"], source=str(path), stored_config=state["config"])
    except WeightsMismatch as error:
        raise WeightsMismatch(_with_dropped(error, state)) from None
    return model.eval()


def _refuse_shipped(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Raise naming the ``pretrained:`` name to load ``path`` by, when it is a shipped
    checkpoint's file (by location or by content)."""
    from sketchwidgets.pretrained import PREFIX, shipped_name

    name = shipped_name(path)
    if name is None:
        return
    left_out = f", which leaves out {list(state['dropped'])}" if state.get("dropped") else ""
    raise WeightsMismatch(
        f"{path} is the shipped checkpoint {name!r}{left_out}: load it by its name, "
        f"{PREFIX}{name} (sw.load('{PREFIX}{name}'), or --checkpoint {PREFIX}{name})"
    )


def _with_dropped(error: WeightsMismatch, state: dict[str, Any]) -> str:
    """The mismatch, and the networks a generation-only file (``pretrain``'s) leaves out."""
    if not state.get("dropped"):
        return str(error)
    return (
        f"{error}; the file leaves out the networks {list(state['dropped'])} that generation "
        "does not need: load it with sketchwidgets.pretrained.load_shipped"
    )
