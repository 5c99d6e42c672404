"""Export a trained model to ONNX or TorchScript, sketch preparation inside, checked on export.

``export(model, "p2p.onnx")`` (or ``format="torchscript"``) writes the graph and a JSON side
file beside it (``p2p.onnx.json``: inputs, outputs, image size, classes, package version, format).
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
its export is the networks its search runs: ``G`` (``model.search_generator()``: ``z``
``(N, z_dim)`` in [-1, 1] -> ``joint`` float32 ``(N, 3, S, 2S)`` in [-1, 1], sketch half left)
at ``path``, ``D`` (``joint`` -> ``logit`` ``(N,)``) beside it
(``<stem>.discriminator<suffix>``) and, for a model with a sketch encoder (the default; not
the paper's), ``E`` (``known`` float32 ``(N, 3, S, S)``, the sketch in [-1, 1] in all three
channels, as the search prepares it -> ``z`` ``(N, z_dim)``, the search's starting code) at
``<stem>.encoder<suffix>`` and, for a model with a completion refiner (not the paper's), ``R``
(``photo_half`` and ``known`` float32 ``(N, 3, S, S)`` -> ``photo``, the photo after the
search) at ``<stem>.refiner<suffix>``; the side file holds the search settings and names the
files. From
TorchScript files :mod:`sketchwidgets.export.search` runs the whole search (torch autograd
through the loaded graphs), from E's code when there is an encoder, as ``model.search`` does;
ONNX files can encode, sample joint images and score them, but onnxruntime has no gradients,
so the search's descent cannot run on them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sketchwidgets.export.graph import Draw, SketchGraph, portable_copy, recorded_draws
from sketchwidgets.export.search import ExportFileError as ExportFileError  # re-exported
from sketchwidgets.export.search import (
    graph_load_error,
    load_torchscript,
    read_side_file,
    verified_graph_bytes,
)
from sketchwidgets.io import StagedFiles, staged_files
from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.contextual_gan import ContextualGAN
from sketchwidgets.models.latent_search import frozen

FORMATS = ("onnx", "torchscript")
OPSET = 18  # ONNX opset of the exported graphs
TRACE_BATCH = 3  # batch of the traced example; the check runs another batch size
COMPANIONS = ("discriminator", "encoder", "refiner")  # the Contextual GAN's graphs beside G
INSTALL_HINT = "pip install 'sketchwidgets[export]' (or: pip install onnx onnxruntime)"
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
    """Write ``model``'s generation to ``path`` as ONNX or TorchScript, plus ``<path>.json``.

    ``check`` runs the written file on other inputs against eager ``generate`` (1 grey level)
    and raises :class:`ExportError` on a mismatch. See the module docstring for the graph.

    Every file (graphs and side file) is written to a temporary beside it and renamed into
    place only once all of them are written and checked: an export that fails (a full disk, a
    failed check, an error in the exporter, an interrupt) leaves the previous export as it was.
    A failed write raises the :class:`OSError` naming the file.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {list(FORMATS)}")
    require(format)
    path = Path(path)
    if path.suffix == ".json":
        raise ExportError(
            f"{path}: give the graph its own suffix (.onnx, .pt); .json is for its side file"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript and its ONNX exporter
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the check covers what they flag
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")  # notes
        with staged_files() as staged:
            if isinstance(model, ContextualGAN):
                result = _export_joint_gan(model, path, format, check, staged)
            else:
                result = _export_one_shot(model, path, format, check, staged)
            staged.write_bytes(
                result.side_file, (json.dumps(result.spec, indent=2) + "\n").encode()
            )
            staged.commit()
    return result


def side_file_path(path: str | os.PathLike) -> Path:
    """The JSON side file of a graph file: ``p2p.onnx`` -> ``p2p.onnx.json`` (so the ONNX and
    TorchScript exports of one model can sit side by side)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


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


def exported_inputs(
    model: SketchModel, sketch: np.ndarray, *, seed: int | None = 0, label: Any = None
) -> dict[str, np.ndarray]:
    """The exported graph's inputs that reproduce ``model.generate(sketch, seed, label,
    normalise=False)``.

    ``sketch``: uint8 ``(N, S, S)`` (or one ``(S, S)``) at the model's size, as the graph
    takes it (a drawing is first redrawn in the training style by ``model.model_input``); the
    noise inputs are the very draws ``generate`` makes from ``seed``.
    """
    if isinstance(model, ContextualGAN):
        raise ExportError(
            "contextual_gan's export is its search's networks (G, D and its encoder E when it "
            "has one), not a sketch graph: run the search with "
            "sketchwidgets/export/search.py on the TorchScript files"
        )
    sketches = np.asarray(sketch, dtype=np.uint8)
    sketches = sketches[None] if sketches.ndim == 2 else sketches
    draws = recorded_draws(model, sketches, seed=seed, label=label)
    return _graph_inputs(model, sketches, label, draws)


def _graph_inputs(
    model: SketchModel, sketches: np.ndarray, label: Any, draws: list[tuple[Draw, torch.Tensor]]
) -> dict[str, np.ndarray]:
    """``{"sketch", ["label"], [draw names]}`` in the graph's input order."""
    inputs: dict[str, np.ndarray] = {"sketch": sketches}
    if model.needs_label:
        labels = model.label_indices(label, len(sketches))
        inputs["label"] = labels.cpu().numpy().astype(np.int64)
    return inputs | {draw.name: value.numpy() for draw, value in draws}


def _example_batch(model: SketchModel, n: int, seed: int) -> tuple[np.ndarray, Any]:
    """``n`` real sketches of the embedded set at the model's size, and labels if it needs them."""
    from sketchwidgets.data.builtin import embedded_pairs

    pairs = embedded_pairs(n, size=model.image_size, seed=seed, workers=1)
    labels = (np.arange(n) * (seed + 1)) % model.num_classes if model.needs_label else None
    return pairs.sketches, None if labels is None else labels.tolist()


def _export_one_shot(
    model: SketchModel, path: Path, format: str, check: bool, staged: StagedFiles
) -> ExportResult:
    """Trace ``generate_outputs`` behind the uint8 preparation; stage and check the file."""
    sketches, labels = _example_batch(model, TRACE_BATCH, seed=0)
    with _explained(model, format):
        recorded = recorded_draws(model, sketches, seed=0, label=labels)
        example = _graph_inputs(model, sketches, labels, recorded)
        tensors = tuple(torch.from_numpy(v) for v in example.values())
        with torch.no_grad():
            graph = SketchGraph(portable_copy(model))
            data = _graph_bytes(graph, tensors, list(example), list(model.output_names), format)
    written = staged.write_bytes(path, data)
    spec = _one_shot_spec(model, path, format, [draw for draw, _ in recorded])
    spec["sha256"] = sha256_of(data)
    if check:
        check_export(model, written, format, spec["sha256"])
    return ExportResult((path,), side_file_path(path), spec)


@contextlib.contextmanager
def _explained(model: SketchModel, format: str) -> Iterator[None]:
    """A failure to trace the graph as one :class:`ExportError` naming model and cause (a
    failure of the system, an :class:`OSError`, stays what it is)."""
    try:
        yield
    except OSError:
        raise
    except Exception as error:
        reason = (str(error).strip().splitlines() or [""])[0]  # not the graph dump that follows
        raise ExportError(
            f"cannot export model {model.name!r} to {format}: {type(error).__name__}: {reason}"
        ) from error


def _graph_bytes(
    graph: nn.Module,
    example: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    format: str,
) -> bytes:
    """One traced graph's file content; axis 0 of every input and output is the dynamic batch.

    Made in memory and written by Python: torch's own file writer aborts the process when a
    write fails (a full disk) instead of raising.
    """
    buffer = BytesIO()
    if format == "torchscript":
        traced = torch.jit.trace(graph, example, check_trace=False)
        torch.jit.save(traced, buffer)
        return buffer.getvalue()
    batched = [
        name
        for name, tensor in zip(input_names, example, strict=True)
        if tensor.ndim and tensor.shape[0] == example[0].shape[0]
    ]
    torch.onnx.export(
        graph,
        example,
        buffer,
        dynamo=False,  # the TorchScript-based exporter: needs only the onnx package
        opset_version=OPSET,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes={name: {0: "batch"} for name in batched + output_names},
    )
    import onnx

    onnx.checker.check_model(buffer.getvalue(), full_check=True)
    return buffer.getvalue()


def _one_shot_spec(model: SketchModel, path: Path, format: str, draws: list[Draw]) -> dict:
    size = model.image_size
    inputs = [
        {
            "name": "sketch",
            "dtype": "uint8",
            "shape": ["batch", size, size],
            "meaning": "grayscale sketch, dark ink on white (white on black is flipped); "
            "redraw a drawing to line_stats first (sketchwidgets.drawing.normaliser)",
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
        # the training sketches' line statistics: a drawing is redrawn to them first
        # (sketchwidgets.drawing.normaliser; the exported search does it), the graph does not
        "line_stats": model.line_stats.to_dict() if model.line_stats is not None else None,
    }
    if format == "onnx":
        spec["opset"] = OPSET
    return spec


# --------------------------------------------------------------- running and checking


def run_exported(
    path: str | os.PathLike,
    inputs: dict[str, np.ndarray],
    output_names: Sequence[str] = (),
    *,
    format: str | None = None,
    sha256: str | None = None,
) -> dict[str, np.ndarray]:
    """Run an exported graph file (ONNX by onnxruntime, else TorchScript) on one thread.

    ``inputs`` in the graph's input order; outputs by name (``output_names``, by default
    those of the JSON side file); ``format`` by default from the suffix (``.onnx`` or not).
    The graph runs only when its bytes have the SHA-256 its side file records (or ``sha256``,
    given): a TorchScript graph is code, so only the file the export wrote is loaded. A
    missing, corrupt, changed or incomplete side file or graph file raises
    :class:`ExportFileError` naming it.
    """
    path = Path(path)
    if not output_names:
        output_names = [output["name"] for output in read_side_file(path)["outputs"]]
    expected = sha256 or _recorded_sha256(path)
    data = verified_graph_bytes(path, expected, _recording_side_file(path))
    if (format or _format_of(path)) == "onnx":
        values = _loaded(path, lambda _: onnx_session(data)).run(list(output_names), inputs)
    else:
        module = load_torchscript(data, path)
        with torch.no_grad():
            values = module(*(torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values()))
        values = [t.numpy() for t in (values if isinstance(values, tuple) else (values,))]
    return dict(zip(output_names, values, strict=True))


def _recorded_sha256(path: Path) -> str | None:
    """The SHA-256 the export recorded for graph ``path``: in its own side file, or, for the
    Contextual GAN's D, E and refiner, in the entry of the generator's side file that names it."""
    side_file = _recording_side_file(path)
    if not side_file.is_file():
        return None
    spec = read_side_file(side_file.with_suffix(""))
    if side_file == side_file_path(path):
        return spec.get("sha256")
    entries = [spec.get(role) for role in COMPANIONS]
    named = [e for e in entries if isinstance(e, dict) and e.get("file") == path.name]
    return named[0].get("sha256") if named else None


def _recording_side_file(path: Path) -> Path:
    """The side file that records graph ``path``: its own, or its generator's for D, E and
    the refiner."""
    for role in COMPANIONS:
        tail = f".{role}{path.suffix}"
        if path.name.endswith(tail) and not side_file_path(path).is_file():
            return side_file_path(path.with_name(path.name[: -len(tail)] + path.suffix))
    return side_file_path(path)


def _format_of(path: Path) -> str:
    return "onnx" if path.suffix == ".onnx" else "torchscript"


def _loaded(path: Path, load: Any) -> Any:
    """``load(path)``, a graph file that will not load named in one line (ExportFileError)."""
    try:
        return load(path)
    except MissingDependencyError:
        raise
    except Exception as error:
        raise graph_load_error(path, error) from error


def onnx_session(path: str | os.PathLike | bytes) -> Any:
    """An onnxruntime CPU session on one thread, from a file or from a graph's bytes."""
    require("onnx")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    source = path if isinstance(path, bytes) else str(path)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def share_within(actual: np.ndarray, expected: np.ndarray, levels: int = WITHIN_GREY_LEVELS):
    """Share of uint8 values of ``actual`` within ``levels`` grey levels of ``expected``."""
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    return float((difference <= levels).mean())


def sha256_of(data: bytes) -> str:
    """The SHA-256 a side file records for a graph's bytes."""
    return hashlib.sha256(data).hexdigest()


def check_export(model: SketchModel, path: Path, format: str, sha256: str) -> None:
    """Run the written file on a new batch (size 2, one sketch inverted, other labels and
    noise) and raise :class:`ExportError` unless it matches eager ``generate``."""
    sketches, labels = _example_batch(model, 2, seed=1)
    sketches = np.stack([sketches[0], 255 - sketches[1]])  # the second one white on black
    inputs = exported_inputs(model, sketches, seed=1, label=labels)
    # the graph takes the sketch as given: compare with generate() not normalising it
    expected = model.generate(sketches, seed=1, label=labels, outputs=True, normalise=False)
    actual = run_exported(path, inputs, model.output_names, format=format, sha256=sha256)
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


def encoder_path(path: str | os.PathLike) -> Path:
    """Where :func:`export` writes a Contextual GAN's sketch encoder: ``<stem>.encoder<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.encoder{path.suffix}")


def refiner_path(path: str | os.PathLike) -> Path:
    """Where :func:`export` writes a Contextual GAN's completion refiner:
    ``<stem>.refiner<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.refiner{path.suffix}")


class _Refiner(nn.Module):
    """The refiner under the names the search's files use: ``(photo_half, known)`` -> photo
    (the refiner averages the known half's three equal channels itself)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.eval()

    def forward(self, photo_half: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        return self.net(photo_half, known)


def _export_joint_gan(
    model: ContextualGAN, path: Path, format: str, check: bool, staged: StagedFiles
) -> ExportResult:
    """G to ``path``, D and (when the model has them) E and the refiner beside it, staged and
    each checked against the model's own networks."""
    generator_net, discriminator_net = _search_networks(model)
    size, z_dim = model.image_size, model.latent_dim
    z = model.sample_z(TRACE_BATCH, torch.Generator().manual_seed(0)).float().cpu()
    d_path = discriminator_path(path)
    e_path = encoder_path(path) if model.encoder is not None else None
    r_path = refiner_path(path) if model.refiner is not None else None
    with _explained(model, format), torch.no_grad():
        generator_copy, discriminator_copy = (
            portable_copy(generator_net),
            portable_copy(discriminator_net),
        )
        joint = generator_copy(z)
        graphs = {
            path: _graph_bytes(_Named(generator_copy), (z,), ["z"], ["joint"], format),
            d_path: _graph_bytes(
                _Named(discriminator_copy), (joint,), ["joint"], ["logit"], format
            ),
        }
        if e_path is not None:
            encoder_copy = _Named(portable_copy(model.encoder))
            known = (joint[..., :size],)
            graphs[e_path] = _graph_bytes(encoder_copy, known, ["known"], ["z"], format)
        if r_path is not None:
            refiner_copy = _Refiner(portable_copy(model.refiner))
            halves = (joint[..., size:], joint[..., :size])
            graphs[r_path] = _graph_bytes(
                refiner_copy, halves, ["photo_half", "known"], ["photo"], format
            )
    for target, data in graphs.items():
        staged.write_bytes(target, data)
    joint_shape = ["batch", 3, size, 2 * size]
    meaning = "joint image in [-1, 1]: sketch left, photo right"
    spec = _spec(
        model,
        format,
        path,
        [{"name": "z", "dtype": "float32", "shape": ["batch", z_dim], "meaning": "uniform[-1, 1]"}],
        [{"name": "joint", "dtype": "float32", "shape": joint_shape, "meaning": meaning}],
    )
    spec["sha256"] = sha256_of(graphs[path])
    spec["discriminator"] = {
        "file": d_path.name,
        "sha256": sha256_of(graphs[d_path]),
        "inputs": [{"name": "joint", "dtype": "float32", "shape": joint_shape}],
        "outputs": [{"name": "logit", "dtype": "float32", "shape": ["batch"]}],
    }
    if e_path is not None:
        spec["encoder"] = _encoder_spec(model, e_path) | {"sha256": sha256_of(graphs[e_path])}
    if r_path is not None:
        spec["refiner"] = _refiner_spec(model, r_path) | {"sha256": sha256_of(graphs[r_path])}
    spec["search"] = dataclasses.asdict(model.config.search) | {"z_dim": z_dim}
    spec["note"] = (
        "generation is a search over z with gradients through G and D, started from E's code "
        "when there is an encoder: sketchwidgets/export/search.py runs it from the TorchScript "
        "files; onnxruntime can encode (E), sample (G) and score (D) but has no gradients for "
        "the search"
    )
    if check:
        _check_joint(model, format, graphs[path], graphs[d_path], graphs.get(e_path))
        if r_path is not None:
            _check_refiner(model, format, graphs[r_path])
    files = tuple(graphs)  # G, D, then E and the refiner when the model has them
    return ExportResult(files, side_file_path(path), spec)


def _refiner_spec(model: ContextualGAN, r_path: Path) -> dict[str, Any]:
    """The side file's entry for the completion refiner: file, inputs, output."""
    size = model.image_size
    half = ["batch", 3, size, size]
    return {
        "file": r_path.name,
        "inputs": [
            {"name": "photo_half", "dtype": "float32", "shape": half, "meaning": "G's photo half"},
            {"name": "known", "dtype": "float32", "shape": half, "meaning": "the sketch, as E's"},
        ],
        "outputs": [
            {"name": "photo", "dtype": "float32", "shape": half, "meaning": "the photo in [-1, 1]"}
        ],
    }


def _check_refiner(model: ContextualGAN, format: str, graph: bytes) -> None:
    """The refiner's file against the model's refiner on a new joint image and sketch."""
    assert model.refiner is not None
    size = model.image_size
    rng = torch.Generator().manual_seed(2)
    photo_half = torch.rand(2, 3, size, size, generator=rng) * 2 - 1
    known = (torch.rand(2, 1, size, size, generator=rng) > 0.9).float().mul(-2).add(1)
    known = known.expand(-1, 3, -1, -1).contiguous()
    with frozen(model.refiner), torch.no_grad():
        want = model.refiner(photo_half, known).numpy()
    got = _run_graph(graph, format, {"photo_half": photo_half, "known": known})
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-3):
        raise ExportError("the exported refiner of contextual_gan differs from the model's")


def _encoder_spec(model: ContextualGAN, e_path: Path) -> dict[str, Any]:
    """The side file's entry for the sketch encoder: file, input, output, where codes lie."""
    assert model.encoder is not None
    size, bound = model.image_size, float(model.encoder.bound)
    known = "the sketch in [-1, 1] (dark ink on white), the same grey in all 3 channels"
    code = f"the search's starting code, in [-{bound:g}, {bound:g}]"
    return {
        "file": e_path.name,
        "inputs": [
            {
                "name": "known",
                "dtype": "float32",
                "shape": ["batch", 3, size, size],
                "meaning": known,
            }
        ],
        "outputs": [
            {"name": "z", "dtype": "float32", "shape": ["batch", model.latent_dim], "meaning": code}
        ],
        "bound": bound,
    }


def _search_networks(model: ContextualGAN) -> tuple[nn.Module, nn.Module]:
    """G and D as ``model.search`` runs them: :meth:`~ContextualGAN.search_generator` (G's
    moving average when kept, with re-estimated batch-norm statistics when configured), D."""
    return model.search_generator(), model.discriminator


def _check_joint(
    model: ContextualGAN, format: str, g_graph: bytes, d_graph: bytes, e_graph: bytes | None = None
) -> None:
    """G, D (and E) files against the model's networks on a new batch (float32 rounding); E
    on the sketch halves G draws for that batch."""
    z = model.sample_z(2, torch.Generator().manual_seed(1)).float()
    generator_net, discriminator_net = _search_networks(model)
    with frozen(generator_net, discriminator_net), torch.no_grad():
        joint = generator_net(z)
        logit = discriminator_net(joint)
    known = joint[..., : model.image_size].contiguous()
    checks = [("G", g_graph, "z", z, joint), ("D", d_graph, "joint", joint, logit)]
    if e_graph is not None:
        assert model.encoder is not None
        with frozen(model.encoder), torch.no_grad():
            checks.append(("E", e_graph, "known", known, model.encoder(known)))
    for name, graph, input_name, value, want in checks:
        got, want = _run_graph(graph, format, {input_name: value.cpu()}), want.cpu().numpy()
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-3):
            raise ExportError(f"the exported {name} of contextual_gan differs from the model's")


def _run_graph(graph: bytes, format: str, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    """One exported network, from the bytes the export just made, on its named inputs (in the
    graph's input order); its first output."""
    if format == "onnx":
        feeds = {name: value.numpy() for name, value in inputs.items()}
        return onnx_session(graph).run(None, feeds)[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated
        return torch.jit.load(BytesIO(graph), map_location="cpu")(*inputs.values()).numpy()
