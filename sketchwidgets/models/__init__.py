"""The registry of sketch-to-image systems: a literal dict, no import magic."""

from __future__ import annotations

import os
from typing import Any

import torch

from sketchwidgets.config import stored_config
from sketchwidgets.io import load_torch
from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.contextual_gan import ContextualGAN
from sketchwidgets.models.edgegan import EdgeGAN
from sketchwidgets.models.pix2pix import Pix2Pix
from sketchwidgets.models.sketchygan import SketchyGAN

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
    """Build model ``name`` from a config (default: the paper's) with keyword overrides."""
    cls = model_class(name)
    if config is None:
        config = cls.config_class(**overrides)
    elif overrides:
        import dataclasses

        config = dataclasses.replace(config, **overrides)
    return cls(config)


def model_from_state(
    state: dict[str, Any], source: str | os.PathLike = "checkpoint"
) -> SketchModel:
    """Rebuild a model from :meth:`SketchModel.model_state` (or a full training checkpoint);
    config fields that name files are ignored with a warning naming ``source``."""
    if "model_name" not in state:
        raise ValueError("not a sketchwidgets checkpoint: no 'model_name' key")
    cls = model_class(state["model_name"])
    model = cls(stored_config(cls.config_class, state["config"], source))
    model.load_state_dict(state["state_dict"])
    return model


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> SketchModel:
    """Load a model saved by :meth:`SketchModel.save` or a training checkpoint.

    Only plain data is read (``torch.load(weights_only=True)``): a file that would need to
    unpickle other objects is refused with :class:`~sketchwidgets.io.UnsafeFileError` naming it.
    A file named in the stored config (``perceptual_weights``) is ignored, with a warning.
    """
    state = load_torch(path, map_location=map_location)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a sketchwidgets checkpoint (holds {type(state).__name__})")
    try:
        return model_from_state(state, path).eval()
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
