"""The model contract every sketch-to-image system follows.

A model is a :class:`SketchModel` (an ``nn.Module``) built from a frozen config dataclass
whose defaults are the paper's. The :class:`~sketchwidgets.train.trainer.Trainer` knows
nothing about GANs; it only calls what is written here:

``config``
    A frozen dataclass instance (``type(model).config_class``). Defaults = the paper's values,
    each with its source in a trailing comment. ``config.image_size`` is the square side of the
    photo the model makes (a joint model makes ``image_size x 2*image_size`` internally).

``configure_optimizers() -> dict[str, Optimizer]``
    The optimizers, by name (``"G"``, ``"D"``, ...). The trainer creates them once, checkpoints
    them and passes them back to every ``train_step``.

``train_step(batch, optimizers) -> dict[str, Tensor]``
    One update in the paper's order (for GANs: D, then G). ``batch`` is a dict with
    ``"sketch"`` ``(N, 1, H, W)`` and ``"photo"`` ``(N, 3, H, W)``, both float in [-1, 1],
    ``"label"`` ``(N,)`` long (class index, -1 when unknown). Returns **detached** scalar
    losses named ``"G/<term>"``, ``"D/<term>"`` (the prefix groups curves in the loss panel).

``validation_losses(batch) -> dict[str, Tensor]``
    Losses on held-out data without updating anything, named ``"val/<term>"``.

``generate_tensor(sketch, *, generator=None, label=None) -> Tensor``  (each model implements)
    ``sketch`` ``(N, 1, H, W)`` in [-1, 1] with ``H == W == config.image_size`` ->
    image ``(N, 3, H, W)`` in [-1, 1]. No gradients; randomness only from ``generator``
    (a ``torch.Generator``), so a fixed seed gives a fixed image.

``generate(sketch, *, seed=None, generator=None, label=None, keep_size=False, invert=None)``
    The one-call inference API, implemented here once: takes a uint8 HxW / HxWx3 array, a PIL
    image or a tensor, one sketch or a batch, of any size and either polarity, and returns
    uint8 RGB (HxWx3, or NxHxWx3 for a batch). See :mod:`sketchwidgets.sketch_input`.

``network_names``
    The attribute names of the trainable networks (e.g. ``("generator", "discriminator")``),
    so a trainer can wrap them (DistributedDataParallel) without knowing the model.

``save(path)`` / :func:`load_model`
    Weights plus config, model name and package version, written atomically.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from sketchwidgets.io import atomic_write


class SketchModel(nn.Module):
    """Base class of the four systems; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = object
    network_names: ClassVar[tuple[str, ...]] = ()
    needs_label: ClassVar[bool] = False  # True when generate() requires a class label

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.config = config if config is not None else self.config_class()

    @property
    def image_size(self) -> int:
        """Side of the square photo this model makes."""
        return int(self.config.image_size)

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters."""
        return next(self.parameters()).device

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {}

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        label: torch.Tensor | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def generate(
        self,
        sketch: Any,
        *,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        label: Any = None,
        keep_size: bool = False,
        invert: bool | None = None,
    ) -> np.ndarray:
        """Sketch(es) in any common form -> uint8 RGB image(s); see the module docstring."""
        from sketchwidgets.sketch_input import prepare_sketch, restore_size

        prepared = prepare_sketch(sketch, self.image_size, invert=invert)
        if generator is None and seed is not None:
            generator = torch.Generator(device="cpu").manual_seed(seed)
        labels = _as_labels(label, prepared.tensor.shape[0], self.needs_label, self.name)
        was_training = self.training
        if was_training:
            self.eval()
        try:
            images = self.generate_tensor(
                prepared.tensor.to(self.device),
                generator=generator,
                label=None if labels is None else labels.to(self.device),
            )
        finally:
            if was_training:
                self.train()
        return restore_size(images, prepared, keep_size=keep_size)

    def model_state(self) -> dict[str, Any]:
        """What :meth:`save` writes: name, config, weights, package version."""
        from sketchwidgets import __version__

        return {
            "model_name": self.name,
            "config": dataclasses.asdict(self.config),
            "state_dict": self.state_dict(),
            "version": __version__,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Save weights and config atomically to ``path``."""
        state = self.model_state()
        return atomic_write(path, lambda tmp: torch.save(state, tmp))


def _as_labels(label: Any, batch: int, required: bool, model_name: str) -> torch.Tensor | None:
    """A (batch,) long tensor of class indices from an int, a sequence or a tensor."""
    if label is None:
        if required:
            raise ValueError(f"model {model_name!r} needs a class label: pass label=<class index>")
        return None
    labels = torch.as_tensor(label, dtype=torch.long).reshape(-1)
    if labels.numel() == 1 and batch > 1:
        labels = labels.expand(batch)
    if labels.numel() != batch:
        raise ValueError(f"got {labels.numel()} labels for {batch} sketches")
    return labels
