"""Inference in one call: load a checkpoint, turn sketches into images, compare models."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
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


def sketch_to_image(
    model: SketchModel,
    sketch: Any,
    *,
    seed: int | None = None,
    label: Any = None,
    keep_size: bool = False,
) -> np.ndarray:
    """One sketch (any size, either polarity) -> uint8 RGB image; see ``SketchModel.generate``."""
    return model.generate(sketch, seed=seed, label=label, keep_size=keep_size)


def compare(
    models: dict[str, SketchModel], sketch: Any, *, seed: int = 0, label: Any = None
) -> dict[str, tuple[np.ndarray, float]]:
    """Run every model on the same sketch: ``{name: (image, latency_ms)}``.

    ``label`` goes to the models that know classes (the others take none)."""
    results = {}
    for name, model in models.items():
        start = time.perf_counter()
        image = model.generate(sketch, seed=seed, label=label if model.class_names else None)
        results[name] = (image, (time.perf_counter() - start) * 1000.0)
    return results
