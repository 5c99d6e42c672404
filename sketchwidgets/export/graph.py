"""The graph an export traces: uint8 sketch in, the model's own generation, uint8 RGB out.

:class:`SketchGraph` wraps a :func:`portable_copy` of a model (float32, eval mode, CPU, the
project's CPU speed layers as the torch layers they equal) behind the preparation
``generate()`` does (:func:`prepared_sketch`) and the conversion to uint8 RGB
(:func:`to_uint8_rgb`). Every ``torch.randn`` / ``torch.rand`` the model calls while generating
(its latent code, a noise channel, a reparameterisation) is recorded by :func:`recorded_draws`
and, in the trace, handed a graph input instead (:class:`_Draws`), so the exported graph is
deterministic and reproduces ``generate(seed=...)`` when given the same draws.
:mod:`sketchwidgets.export.exporter` writes and checks the files.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.overrides import TorchFunctionMode

from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.layers import DownConv, PatchConv, UpConv

# The CPU speed layers and the torch layers they equal (models/layers.py): exported as the latter.
PORTABLE_LAYERS: dict[type[nn.Module], type[nn.Module]] = {
    DownConv: nn.Conv2d,
    UpConv: nn.ConvTranspose2d,
    PatchConv: nn.Conv2d,
}
DRAW_KINDS = {torch.randn: "normal(0, 1)", torch.rand: "uniform[0, 1)"}


# ------------------------------------------------------------------ random draws as inputs


@dataclass(frozen=True)
class Draw:
    """One random draw a model made while generating: its name, shape and distribution."""

    name: str
    shape: tuple[int, ...]
    distribution: str
    batched: bool  # the first axis is the batch


class _Draws(TorchFunctionMode):
    """Records every ``torch.randn`` / ``torch.rand`` a model calls, or hands out given values.

    ``replay=None`` records (the calls run as usual); otherwise each draw returns the next
    given tensor instead: in a trace, a graph input; in eager code, a known draw.
    """

    def __init__(self, replay: Sequence[torch.Tensor] | None = None) -> None:
        super().__init__()
        self.replay = None if replay is None else list(replay)
        self.recorded: list[tuple[str, torch.Tensor]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func not in DRAW_KINDS:
            return func(*args, **kwargs)
        if self.replay is None:
            value = func(*args, **kwargs)
            self.recorded.append((DRAW_KINDS[func], value.detach().clone()))
            return value
        if not self.replay:
            raise ValueError("the model drew more random values than when it was recorded")
        value = self.replay.pop(0)
        asked = _draw_shape(args, kwargs)
        if tuple(value.shape) != asked:
            raise ValueError(f"a random draw of shape {asked} got a value of {tuple(value.shape)}")
        return value.to(kwargs.get("device") or value.device)


def _draw_shape(args: tuple, kwargs: dict) -> tuple[int, ...]:
    """The shape asked of ``torch.randn(*size)`` / ``torch.randn(size)``."""
    size = kwargs.get("size", args)
    if len(size) == 1 and isinstance(size[0], Sequence | torch.Size):
        size = size[0]
    return tuple(int(s) for s in size)


def recorded_draws(
    model: SketchModel, sketches: np.ndarray, *, seed: int | None, label: Any
) -> list[tuple[Draw, torch.Tensor]]:
    """Every random draw ``model.generate(sketches, seed, label)`` makes, named as a graph
    input (``z`` for a ``(N, latent_dim)`` code, else ``noise``, ``noise1``, ...), with its value.
    """
    recorder = _Draws()
    with recorder:
        model.generate(sketches, seed=seed, label=label, normalise=False)
    batch, named, others = len(sketches), [], 0
    for distribution, value in recorder.recorded:
        shape = tuple(value.shape)
        code = bool(model.latent_dim) and shape == (batch, model.latent_dim)
        if code and all(d.name != "z" for d, _ in named):
            name = "z"
        else:
            name, others = ("noise" if others == 0 else f"noise{others}"), others + 1
        batched = len(shape) > 0 and shape[0] == batch
        named.append((Draw(name, shape, distribution, batched), value.float().cpu()))
    return named


# ----------------------------------------------------------------- the one-shot graph


class SketchGraph(nn.Module):
    """``(sketch uint8 (N, S, S) [, label (N,)] [, draws...]) -> uint8 (N, S, S, 3)`` per output.

    Wraps a float32 CPU copy of the model; what it computes is ``generate``'s path.
    """

    def __init__(self, model: SketchModel) -> None:
        super().__init__()
        self.model = model
        self.size = model.image_size
        self.takes_label = model.needs_label
        self.eval()  # an exporter restores the wrapper's mode on the model when it is done

    def forward(self, sketch: torch.Tensor, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        label = inputs[0] if self.takes_label else None
        noise = inputs[1:] if self.takes_label else inputs
        with _Draws(replay=noise):
            outputs = self.model.generate_outputs(prepared_sketch(sketch, self.size), label=label)
        return tuple(to_uint8_rgb(outputs[name]) for name in self.model.output_names)


def prepared_sketch(sketch: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``(N, S, S)`` -> float ``(N, 1, S, S)`` in [-1, 1], dark ink on white.

    A sketch whose border median and mean are both under 128 is flipped, as
    :func:`~sketchwidgets.sketch_input.is_white_on_black` decides (integer-exact here).
    """
    gray = sketch.to(torch.float32)
    border = torch.cat([gray[:, 0], gray[:, -1], gray[:, :, 0], gray[:, :, -1]], 1)  # (N, 4S)
    middle = 2 * size  # 4S values: the median is the mean of the 2S-th and (2S+1)-th smallest
    lowest = torch.topk(border, middle + 1, dim=1, largest=False, sorted=True).values
    median = (lowest[:, middle - 1] + lowest[:, middle]) / 2
    dark = (median < 128) & (gray.sum(dim=(1, 2)) < 128 * size * size)
    gray = torch.where(dark[:, None, None], 255 - gray, gray)
    return (gray / 127.5 - 1.0).unsqueeze(1)


def to_uint8_rgb(image: torch.Tensor) -> torch.Tensor:
    """``(N, 3, S, S)`` in [-1, 1] -> uint8 ``(N, S, S, 3)``, rounded as ``io.tensor_to_image``."""
    scaled = image.float().clamp(-1.0, 1.0).add(1.0).mul(127.5).round()
    return scaled.to(torch.uint8).permute(0, 2, 3, 1)


class BatchStatisticsNorm(nn.BatchNorm2d):
    """``BatchNorm2d`` on the batch's own statistics (no running ones), written out: the ONNX
    exporter writes those only for a fixed batch size. Same values to float rounding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = (x - mean).square().mean(dim=(0, 2, 3), keepdim=True)  # biased, as batch norm
        x = (x - mean) / torch.sqrt(var + self.eps)
        if self.weight is None:
            return x
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def portable_copy(model: nn.Module) -> nn.Module:
    """A float32, eval-mode CPU copy with the CPU speed layers as the torch layers they equal,
    parametrized weights (spectral norm) baked in as they are in eval mode, and batch norm on
    batch statistics written out (:class:`BatchStatisticsNorm`)."""
    clone = copy.deepcopy(model).float().cpu().eval()
    for module in list(clone.modules()):
        if parametrize.is_parametrized(module):
            _bake_parametrizations(module)
    for module in clone.modules():
        if type(module) in PORTABLE_LAYERS:
            module.__class__ = PORTABLE_LAYERS[type(module)]
        elif type(module) is nn.BatchNorm2d and module.running_mean is None:
            module.__class__ = BatchStatisticsNorm
    return clone.requires_grad_(False)


def _bake_parametrizations(module: nn.Module) -> None:
    """Parametrized tensors (spectral norm's ``W / sigma``) as plain parameters, valued as in
    eval mode. Not ``parametrize.remove_parametrizations``: it deletes the tensor's property
    from the parametrized class, which a deep copy shares with the original model."""
    values = {name: getattr(module, name).detach().clone() for name in module.parametrizations}
    module.__class__ = module.__class__.__bases__[0]  # the layer's own class, on this copy only
    del module.parametrizations
    for name, value in values.items():
        module.register_parameter(name, nn.Parameter(value, requires_grad=False))
