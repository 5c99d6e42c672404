"""Export a trained model to ONNX or TorchScript, sketch preparation inside, checked on export.

``export(model, "p2p.onnx")`` (or ``format="torchscript"``) writes the graph and a JSON side
file beside it (``p2p.json``: inputs, outputs, image size, classes, package version, format).
The graph runs without this package (onnxruntime, or ``torch.jit.load``):

* ``sketch``: uint8 ``(N, S, S)`` grayscale at the model's size ``S``, the batch dynamic. Inside,
  as :meth:`~sketchwidgets.models.base.SketchModel.generate` does: a white-on-black drawing
  (dark border median and dark mean) is flipped to dark ink on white, then scaled to [-1, 1].
  Unlike ``generate`` it neither resizes nor refuses an empty sketch.
* ``label``: int64 ``(N,)`` class indices (the side file lists the classes), for a model that
  needs a class (``needs_label``).
* one float32 input per random draw the model makes while generating: ``z`` ``(N,
  latent_dim)`` for a latent code (SketchyGAN), ``noise`` otherwise (EdgeGAN's one scalar of
  its encoder's reparameterisation, pix2pix's noise channel). The side file gives each one's
  shape and distribution; :func:`exported_inputs` draws them as ``generate(seed=...)`` would.
* outputs: uint8 RGB ``(N, S, S, 3)``, one per name in ``model.output_names`` (``image``
  first; EdgeGAN also ``edge``).

The graph is the model's own ``generate_outputs`` traced in float32 on the CPU, with the
project's CPU speed layers (``models/layers.py``) swapped for the torch layers they equal, and
pix2pix's plain eval-mode U-Net instead of its folded inference net (``inference_unet.py``):
the folded net's matrix layouts are an eager CPU speed-up built on ``unfold``/``fold``, which
the ONNX exporter cannot write with a dynamic batch, while the plain net exports to standard
Conv/ConvTranspose nodes and both runtimes fold the batch norm themselves. Every export is
checked before it returns: the exported file, run on other sketches, labels, noise and batch
size than the trace saw, must give ``generate``'s images within 1 grey level, else
:class:`ExportError` says what differs.

Contextual GAN generates by an iterative search with gradients, not by one forward pass, so
its export is its two networks: ``G`` (``z`` ``(N, z_dim)`` in [-1, 1] -> ``joint`` float32
``(N, 3, S, 2S)`` in [-1, 1], sketch half left) at ``path`` and ``D`` (``joint`` -> ``logit``
``(N,)``) beside it (``<stem>.discriminator<suffix>``); the side file holds the search
settings. From TorchScript files :mod:`sketchwidgets.export_search` runs the whole search
(torch autograd through the loaded graphs); ONNX files can sample joint images and score
them, but onnxruntime has no gradients, so the search's descent cannot run on them.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.contextual_gan import ContextualGAN
from sketchwidgets.models.latent_search import search_settings
from sketchwidgets.models.layers import DownConv, PatchConv, UpConv

FORMATS = ("onnx", "torchscript")
OPSET = 18  # ONNX opset of the exported graphs
TRACE_BATCH = 3  # batch of the traced example; the check runs another batch size
INSTALL_HINT = "pip install 'sketchwidgets[export]' (or: pip install onnx onnxruntime)"
# The CPU speed layers and the torch layers they equal (models/layers.py): exported as the latter.
PORTABLE_LAYERS: dict[type[nn.Module], type[nn.Module]] = {
    DownConv: nn.Conv2d,
    UpConv: nn.ConvTranspose2d,
    PatchConv: nn.Conv2d,
}
DRAW_KINDS = {torch.randn: "normal(0, 1)", torch.rand: "uniform[0, 1)"}
WITHIN_GREY_LEVELS = 1  # the exported images may differ from generate() by this much ...
MIN_SHARE_WITHIN = 0.999  # ... on at least this share of the values


class ExportError(ValueError):
    """The model cannot be exported (or the exported graph does not match ``generate``)."""


class MissingDependencyError(ImportError):
    """An optional package the export needs is not installed; the message names the extra."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote: the graph file(s) and the JSON side file, and its content."""

    files: tuple[Path, ...]
    side_file: Path
    spec: dict[str, Any]


# --------------------------------------------------------------------------- the public call


def export(
    model: SketchModel, path: str | os.PathLike, format: str = "onnx", *, check: bool = True
) -> ExportResult:
    """Write ``model``'s generation to ``path`` as ONNX or TorchScript, plus ``<stem>.json``.

    ``check`` runs the written file on other inputs against eager ``generate`` (1 grey level)
    and raises :class:`ExportError` on a mismatch. See the module docstring for the graph.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {list(FORMATS)}")
    require(format)
    path = Path(path)
    if path.suffix == ".json":
        raise ExportError(f"{path}: the graph needs another suffix; the .json is its side file")
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracers' deprecation and TracerWarnings
        if isinstance(model, ContextualGAN):
            result = _export_joint_gan(model, path, format, check)
        else:
            result = _export_one_shot(model, path, format, check)
    result.side_file.write_text(json.dumps(result.spec, indent=2) + "\n")
    return result


def require(format: str) -> None:
    """Raise :class:`MissingDependencyError` naming the extra when ``format`` needs a package."""
    if format != "onnx":
        return
    for package in ("onnx", "onnxruntime"):
        try:
            __import__(package)
        except ImportError:
            raise MissingDependencyError(
                f"the ONNX export needs the package {package!r}, which is not installed: "
                + INSTALL_HINT
            ) from None


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
            raise ExportError("the model drew more random values than when it was recorded")
        value = self.replay.pop(0)
        asked = _draw_shape(args, kwargs)
        if tuple(value.shape) != asked:
            raise ExportError(f"a random draw of shape {asked} got a value of {tuple(value.shape)}")
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
        model.generate(sketches, seed=seed, label=label)
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

    def __init__(self, model: SketchModel, draws: Sequence[Draw]) -> None:
        super().__init__()
        self.model = model
        self.size = model.image_size
        self.takes_label = model.needs_label
        self.draw_count = len(draws)
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


def portable_copy(model: SketchModel) -> SketchModel:
    """A float32, eval-mode CPU copy with the CPU speed layers as the torch layers they equal
    and batch norm on batch statistics written out (:class:`BatchStatisticsNorm`)."""
    clone = copy.deepcopy(model).float().cpu().eval()
    for module in clone.modules():
        if type(module) in PORTABLE_LAYERS:
            module.__class__ = PORTABLE_LAYERS[type(module)]
        elif type(module) is nn.BatchNorm2d and module.running_mean is None:
            module.__class__ = BatchStatisticsNorm
    return clone.requires_grad_(False)


def exported_inputs(
    model: SketchModel, sketch: np.ndarray, *, seed: int | None = 0, label: Any = None
) -> dict[str, np.ndarray]:
    """The exported graph's inputs that reproduce ``model.generate(sketch, seed, label)``.

    ``sketch``: uint8 ``(N, S, S)`` (or one ``(S, S)``) at the model's size; the noise inputs
    are the very draws ``generate`` makes from ``seed``.
    """
    sketches = np.asarray(sketch, dtype=np.uint8)
    sketches = sketches[None] if sketches.ndim == 2 else sketches
    inputs: dict[str, np.ndarray] = {"sketch": sketches}
    if model.needs_label:
        labels = model.label_indices(label, len(sketches))
        inputs["label"] = labels.cpu().numpy().astype(np.int64)
    for draw, value in recorded_draws(model, sketches, seed=seed, label=label):
        inputs[draw.name] = value.numpy()
    return inputs


def _example_batch(model: SketchModel, n: int, seed: int) -> tuple[np.ndarray, Any]:
    """``n`` real sketches of the embedded set at the model's size, and labels if it needs them."""
    from sketchwidgets.data.builtin import embedded_pairs

    pairs = embedded_pairs(n, size=model.image_size, seed=seed, workers=1)
    labels = (np.arange(n) * (seed + 1)) % model.num_classes if model.needs_label else None
    return pairs.sketches, None if labels is None else labels.tolist()


def _export_one_shot(model: SketchModel, path: Path, format: str, check: bool) -> ExportResult:
    """Trace ``generate_outputs`` behind the uint8 preparation and write it."""
    sketches, labels = _example_batch(model, TRACE_BATCH, seed=0)
    try:
        draws = [draw for draw, _ in recorded_draws(model, sketches, seed=0, label=labels)]
        graph = SketchGraph(portable_copy(model), draws)
        example = exported_inputs(model, sketches, seed=0, label=labels)
        tensors = tuple(torch.from_numpy(v) for v in example.values())
        names = list(example)
        with torch.no_grad():
            _write_graph(graph, tensors, names, list(model.output_names), path, format)
    except ExportError:
        raise
    except Exception as error:  # a model whose generation cannot be traced: say which and why
        reason = (str(error).strip().splitlines() or [""])[0]  # not the graph dump that follows
        raise ExportError(
            f"cannot export model {model.name!r} to {format}: {type(error).__name__}: {reason}"
        ) from error
    spec = _one_shot_spec(model, path, format, draws)
    if check:
        check_export(model, path, format)
    return ExportResult((path,), path.with_suffix(".json"), spec)


def _write_graph(
    graph: nn.Module,
    example: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    path: Path,
    format: str,
) -> None:
    """One traced graph to ``path``; axis 0 of every input and output is the dynamic batch."""
    if format == "torchscript":
        traced = torch.jit.trace(graph, example, check_trace=False)
        torch.jit.save(traced, str(path))
        return
    batched = [
        name
        for name, tensor in zip(input_names, example, strict=True)
        if tensor.ndim and tensor.shape[0] == example[0].shape[0]
    ]
    torch.onnx.export(
        graph,
        example,
        str(path),
        dynamo=False,  # the TorchScript-based exporter: needs only the onnx package
        opset_version=OPSET,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes={name: {0: "batch"} for name in batched + output_names},
    )


def _one_shot_spec(model: SketchModel, path: Path, format: str, draws: list[Draw]) -> dict:
    size = model.image_size
    inputs = [
        {
            "name": "sketch",
            "dtype": "uint8",
            "shape": ["batch", size, size],
            "meaning": "grayscale sketch, dark ink on white (white on black is flipped)",
        }
    ]
    if model.needs_label:
        inputs.append(
            {"name": "label", "dtype": "int64", "shape": ["batch"], "meaning": "class index"}
        )
    for draw in draws:
        shape = ["batch", *draw.shape[1:]] if draw.batched else list(draw.shape)
        meaning = f"random draw, {draw.distribution}; generate() draws it from its seed"
        inputs.append({"name": draw.name, "dtype": "float32", "shape": shape, "meaning": meaning})
    outputs = [
        {"name": name, "dtype": "uint8", "shape": ["batch", size, size, 3], "meaning": "RGB"}
        for name in model.output_names
    ]
    return _spec(model, format, path, inputs, outputs)


def _spec(model: SketchModel, format: str, path: Path, inputs: list, outputs: list) -> dict:
    from sketchwidgets import __version__

    spec = {
        "format": format,
        "model": model.name,
        "sketchwidgets_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "image_size": model.image_size,
        "classes": list(model.class_names),
        "file": path.name,
        "inputs": inputs,
        "outputs": outputs,
    }
    if format == "onnx":
        spec["opset"] = OPSET
    return spec


# --------------------------------------------------------------- running and checking


def run_exported(
    path: str | os.PathLike, inputs: dict[str, np.ndarray], output_names: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """Run an exported graph file (ONNX by onnxruntime, else TorchScript) on one thread.

    ``inputs`` in the graph's input order; outputs by name (``output_names``, by default
    those of the JSON side file).
    """
    path = Path(path)
    if not output_names:
        spec = json.loads(path.with_suffix(".json").read_text())
        output_names = [output["name"] for output in spec["outputs"]]
    if path.suffix == ".onnx":
        values = onnx_session(path).run(list(output_names), inputs)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated
            module = torch.jit.load(str(path), map_location="cpu")
        with torch.no_grad():
            values = module(*(torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values()))
        values = [t.numpy() for t in (values if isinstance(values, tuple) else (values,))]
    return dict(zip(output_names, values, strict=True))


def onnx_session(path: str | os.PathLike) -> Any:
    """An onnxruntime CPU session on one thread."""
    require("onnx")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def share_within(actual: np.ndarray, expected: np.ndarray, levels: int = WITHIN_GREY_LEVELS):
    """Share of uint8 values of ``actual`` within ``levels`` grey levels of ``expected``."""
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    return float((difference <= levels).mean())


def check_export(model: SketchModel, path: Path, format: str) -> None:
    """Run the written file on a new batch (size 2, one sketch inverted, other labels and
    noise) and raise :class:`ExportError` unless it matches eager ``generate``."""
    sketches, labels = _example_batch(model, 2, seed=1)
    sketches = np.stack([sketches[0], 255 - sketches[1]])  # the second one white on black
    inputs = exported_inputs(model, sketches, seed=1, label=labels)
    expected = model.generate(sketches, seed=1, label=labels, outputs=True)
    actual = run_exported(path, inputs, model.output_names)
    for name in model.output_names:
        share = share_within(actual[name], expected[name])
        if actual[name].shape != expected[name].shape or share < MIN_SHARE_WITHIN:
            raise ExportError(
                f"the exported {format} graph of {model.name!r} does not reproduce generate() "
                f"for output {name!r}: {share:.2%} of values within {WITHIN_GREY_LEVELS} grey "
                f"level (shape {actual[name].shape} vs {expected[name].shape}); the model "
                "draws randomness inside an op, or tracing froze a Python value"
            )


# ------------------------------------------------------------- Contextual GAN: G and D


class _Named(nn.Module):
    """A network called with one tensor; ``forward`` returns its output as is."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.eval()  # an exporter restores the wrapper's mode on the net when it is done

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def discriminator_path(path: str | os.PathLike) -> Path:
    """Where :func:`export` writes a Contextual GAN's D: ``<stem>.discriminator<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.discriminator{path.suffix}")


def _export_joint_gan(model: ContextualGAN, path: Path, format: str, check: bool) -> ExportResult:
    """G to ``path`` and D beside it, each checked against the model's own networks."""
    clone = portable_copy(model)
    size, z_dim = model.image_size, model.latent_dim
    z = model.sample_z(TRACE_BATCH, torch.Generator().manual_seed(0)).float().cpu()
    joint = clone.generator(z)
    d_path = discriminator_path(path)
    with torch.no_grad():
        _write_graph(_Named(clone.generator), (z,), ["z"], ["joint"], path, format)
        _write_graph(_Named(clone.discriminator), (joint,), ["joint"], ["logit"], d_path, format)
    joint_shape = ["batch", 3, size, 2 * size]
    meaning = "joint image in [-1, 1]: sketch left, photo right"
    spec = _spec(
        model,
        format,
        path,
        [{"name": "z", "dtype": "float32", "shape": ["batch", z_dim], "meaning": "uniform[-1, 1]"}],
        [{"name": "joint", "dtype": "float32", "shape": joint_shape, "meaning": meaning}],
    )
    spec["discriminator"] = {
        "file": d_path.name,
        "inputs": [{"name": "joint", "dtype": "float32", "shape": joint_shape}],
        "outputs": [{"name": "logit", "dtype": "float32", "shape": ["batch"]}],
    }
    spec["search"] = vars(search_settings(model.config)) | {"z_dim": z_dim}
    spec["note"] = (
        "generation is a search over z with gradients through G and D: "
        "sketchwidgets/export_search.py runs it from the TorchScript files; onnxruntime "
        "can sample (G) and score (D) but has no gradients for the search"
    )
    if check:
        _check_joint(clone, path, d_path)
    return ExportResult((path, d_path), path.with_suffix(".json"), spec)


def _check_joint(model: ContextualGAN, g_path: Path, d_path: Path) -> None:
    """G and D files against the networks on a new batch (float32 rounding)."""
    z = model.sample_z(2, torch.Generator().manual_seed(1)).float()
    with torch.no_grad():
        joint, logit = model.generator(z), model.discriminator(model.generator(z))
    runs = _run_single(g_path, "z", z), _run_single(d_path, "joint", joint)
    for name, got, want in zip(("G", "D"), runs, (joint, logit), strict=True):
        if got.shape != tuple(want.shape) or not np.allclose(
            got, want.numpy(), rtol=1e-3, atol=1e-3
        ):
            raise ExportError(f"the exported {name} of contextual_gan differs from the model's")


def _run_single(path: Path, name: str, value: torch.Tensor) -> np.ndarray:
    if path.suffix == ".onnx":
        return onnx_session(path).run(None, {name: value.numpy()})[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated
        return torch.jit.load(str(path), map_location="cpu")(value).numpy()


# --------------------------------------------------------------------------- command line


def run_command(args: argparse.Namespace) -> int:
    """``python -m sketchwidgets export --checkpoint P --format F --out FILE`` (cli.py)."""
    from sketchwidgets.models import load_model

    result = export(load_model(args.checkpoint), args.out, format=args.format)
    for path in (*result.files, result.side_file):
        print(f"wrote {path}")
    return 0


class _CallableModule(types.ModuleType):
    """``sw.export(model, path)`` must work after ``import sketchwidgets.export`` too, when
    the package attribute ``export`` is this module rather than the function."""

    def __call__(
        self, model: SketchModel, path: str | os.PathLike, format: str = "onnx", **options: Any
    ) -> ExportResult:
        return export(model, path, format, **options)


sys.modules[__name__].__class__ = _CallableModule
