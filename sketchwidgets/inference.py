"""Inference in one call: load a saved model, a training checkpoint or a shipped one."""

from __future__ import annotations

import os

import torch

from sketchwidgets.device import pick_device
from sketchwidgets.models import load_model
from sketchwidgets.models.base import SketchModel


def load(path: str | os.PathLike, *, device: str | torch.device | None = None) -> SketchModel:
    """Load a saved model or training checkpoint, in eval mode on the best device.

    ``"pretrained:<model>/<dataset>"`` loads a shipped checkpoint
    (:func:`sketchwidgets.pretrained.available` lists them).
    """
    if str(path).startswith("pretrained:"):
        from sketchwidgets.pretrained import load_pretrained

        return load_pretrained(str(path), device=device)
    target = pick_device(str(device) if device is not None else None)
    return load_model(path, map_location="cpu").to(target).eval()
