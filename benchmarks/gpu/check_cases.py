"""What one case of benchmarks/gpu/check.py runs, inside its own child process.

Three kinds of case, each writing a JSON result file that the parent merges into the report:

* ``model``: one registered model through the trainer's own GPU settings -- build, train
  ``steps`` steps with :class:`~sketchwidgets.train.trainer.Trainer` (bf16 autocast and
  channels_last on CUDA, exactly as it sets them) and its standard callbacks (NaN guard,
  validation, sample grid, checkpoint), save, load with ``sketchwidgets.load``, ``generate``
  on a batch. Every step records its losses (finite or not), the autocast dtype,
  the dtypes the convolutions and linear layers produced, the share of 4-d inputs they got in
  channels_last, and the dtypes of the losses ``train_step`` returned. Peak GPU memory per phase.
  Dry mode adds ``emulated_cuda``: 2 more steps under the CUDA settings as far as the CPU has
  them (bf16 autocast, channels_last, the torch layers instead of the CPU fast paths).
* ``ddp``: started by torchrun at world size 1: NCCL (gloo without CUDA) process group, every
  registered model wrapped in DDP by :mod:`sketchwidgets.train.distributed` for a few steps,
  then an all-reduce and an object gather. (At world size 1 the Trainer does not start a group
  itself -- ``DistInfo.enabled`` is ``world_size > 1`` -- so this case drives the same helpers.)
* ``script``: a benchmark script run in this process by ``runpy`` with its own arguments, so
  the peak GPU memory of the whole script can be read afterwards; ``help``: dry mode's check
  that the benchmarks accept their flags, every script's ``--help`` in one process.

A phase that raises is recorded with its traceback; the phases after it are marked skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import json
import math
import runpy
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIGS_FILE = REPO / "tests" / "models" / "tiny_configs.py"
CUDA_IMAGE_SIZE = 64  # every model at its own defaults, at 64 px, on the GPU
GENERATE_BATCH = 8
DDP_STEPS = 3
RECORDED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


# --------------------------------------------------------------------------- helpers


def write_json(path: str | Path, value: Any) -> None:
    """Write ``value`` as indented JSON (non-finite floats as strings, other objects as text)."""
    Path(path).write_text(json.dumps(_plain(value), indent=1) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def is_cuda(device: torch.device) -> bool:
    return device.type == "cuda"


def reset_peak(device: torch.device) -> None:
    if is_cuda(device):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_bytes(device: torch.device) -> int | None:
    """Peak bytes allocated by torch on ``device`` since the last reset (None off CUDA)."""
    if not is_cuda(device):
        return None
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device))


def run_phases(result: dict, phases: list[tuple[str, Callable[[], dict]]], save: Callable) -> None:
    """Run each phase in order; a failure records its traceback and skips the rest."""
    failed = None
    for name, phase in phases:
        if failed is not None:
            result["checks"][name] = {"status": "skipped", "reason": f"after {failed} failed"}
            continue
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                check = {"status": "ok", **phase()}
        except Exception:
            failed = name
            check = {"status": "failed", "error": traceback.format_exc()}
            caught = []
        check["seconds"] = round(time.perf_counter() - start, 3)
        check["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        result["checks"][name] = check
        save()
    result["status"] = "failed" if failed else "ok"


# --------------------------------------------------------------------------- configs


def tiny_configs() -> dict[str, Any]:
    """``TINY_CONFIGS`` of tests/models/tiny_configs.py (the contract test's), or {}."""
    if not TINY_CONFIGS_FILE.is_file():
        return {}
    spec = importlib.util.spec_from_file_location("_gpu_check_tiny_configs", TINY_CONFIGS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(getattr(module, "TINY_CONFIGS", {}))


def case_config(name: str, cls: type, dry: bool) -> tuple[Any, str | None]:
    """(config, None) for model ``name``, or (None, why it is skipped).

    On CUDA: the model's own defaults at 64 px. Dry: the contract test's tiny config.
    A model that needs labels gets the embedded set's class names (its training data's).
    """
    if dry:
        tiny = tiny_configs().get(name)
        if tiny is None:
            return None, f"no TINY_CONFIGS[{name!r}] in {TINY_CONFIGS_FILE.relative_to(REPO)}"
        from sketchwidgets.config import apply_overrides  # dotted keys: nested settings

        config = (
            tiny
            if dataclasses.is_dataclass(tiny)
            else apply_overrides(cls.config_class(), dict(tiny))
        )
    else:
        config = cls.config_class()
        if "image_size" in _fields(config):
            try:
                config = dataclasses.replace(config, image_size=CUDA_IMAGE_SIZE)
            except ValueError:
                pass  # the model cannot make 64 px: its default size
    from sketchwidgets.data.builtin import CLASSES

    if cls.needs_label and not set(config.class_names) <= set(CLASSES):
        # trained on the embedded set, whose classes are matched by name: the model names them
        config = dataclasses.replace(config, class_names=tuple(CLASSES))
    return config, None


def _fields(config: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(config)}


def embedded_data(model: Any, n: int) -> Any:
    """The embedded dataset at the model's size, restricted to the model's classes if it has
    any from the embedded set (labels then index the model's class names)."""
    from sketchwidgets.data.builtin import CLASSES, EmbeddedDataset

    names = getattr(model, "class_names", ())
    classes = list(names) if names and set(names) <= set(CLASSES) else None
    return EmbeddedDataset(n, size=model.image_size, val_fraction=0.0, classes=classes, workers=1)


# --------------------------------------------------------------------------- precision


class PrecisionProbe:
    """Forward hooks on every convolution and linear layer: what each training step ran in."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.device_type = device.type
        self.handles = [
            m.register_forward_hook(self._hook)
            for m in model.modules()
            if isinstance(m, RECORDED_LAYERS)
        ]
        self.reset()

    def reset(self) -> None:
        self.output_dtypes: dict[str, int] = {}
        self.autocast: set[str] = set()
        self.inputs_4d = self.channels_last = 0

    def _hook(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            key = str(output.dtype).replace("torch.", "")
            self.output_dtypes[key] = self.output_dtypes.get(key, 0) + 1
        self.autocast.add(_autocast_state(self.device_type))
        x = inputs[0] if inputs else None
        if isinstance(x, torch.Tensor) and x.ndim == 4:
            self.inputs_4d += 1
            self.channels_last += int(x.is_contiguous(memory_format=torch.channels_last))

    def snapshot(self) -> dict:
        """This step's record; then starts the next."""
        record = {
            "autocast": sorted(self.autocast),
            "layer_output_dtypes": dict(sorted(self.output_dtypes.items())),
            "channels_last_inputs": f"{self.channels_last}/{self.inputs_4d}",
        }
        self.reset()
        return record

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _autocast_state(device_type: str) -> str:
    """ "bfloat16" (the autocast dtype) when autocast is on for ``device_type``, else "off"."""
    if not torch.is_autocast_enabled(device_type):
        return "off"
    return str(torch.get_autocast_dtype(device_type)).replace("torch.", "")


def precision_label(step: dict) -> str:
    """One line: ``"autocast bfloat16; layers bfloat16; channels_last 14/14; losses float32"``."""
    layers = "+".join(step["layer_output_dtypes"]) or "none"
    losses = "+".join(sorted(set(step["loss_dtypes"].values()))) or "none"
    return (
        f"autocast {'+'.join(step['autocast']) or 'n/a'}; layers {layers}; "
        f"channels_last {step['channels_last_inputs']}; losses {losses}"
    )


# --------------------------------------------------------------------------- model case


def _recorder(model: nn.Module, device: torch.device, steps_out: list) -> Any:
    """A trainer callback recording each step's losses, precision and time: from the call of
    ``train_step`` to the trainer's read-back of its losses (data loading and callbacks left
    out; on CUDA the read-back waits for the step's kernels)."""
    from sketchwidgets.train.callbacks import Callback

    class StepRecorder(Callback):
        def on_fit_start(self, trainer: Any) -> None:
            self.probe = PrecisionProbe(model, trainer.device)
            self.loss_dtypes: dict[str, str] = {}
            inner = model.train_step

            def train_step(batch: dict, optimizers: dict) -> dict:
                self.probe.reset()  # layers called by sampling or validation do not count
                self.start = time.perf_counter()
                losses = inner(batch, optimizers)
                self.loss_dtypes = {
                    k: str(v.dtype).replace("torch.", "") for k, v in losses.items()
                }
                return losses

            model.train_step = train_step  # instance attribute: the trainer calls this one

        def on_step_end(self, trainer: Any, step: int, losses: dict) -> None:
            seconds = time.perf_counter() - self.start  # the trainer read the losses back
            record = {"step": step, "seconds": round(seconds, 5), "losses": losses}
            record["finite"] = all(math.isfinite(v) for v in losses.values())
            record |= self.probe.snapshot() | {"loss_dtypes": self.loss_dtypes}
            record["precision"] = precision_label(record)
            steps_out.append(record)

        def on_teardown(self, trainer: Any) -> None:
            self.probe.remove()
            model.__dict__.pop("train_step", None)

    return StepRecorder()


def model_case(name: str, *, dry: bool, steps: int, batch_size: int, out: Path) -> dict:
    """Build, train, save, load and generate with model ``name``; the result dict."""
    from sketchwidgets.models import MODELS

    device = torch.device("cpu" if dry else "cuda")
    result: dict[str, Any] = {"name": name, "device": str(device), "checks": {}, "steps": []}
    config, skipped = case_config(name, MODELS[name], dry)
    if skipped:
        return result | {"status": "skipped", "reason": skipped}
    state: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix=f"gpu_check_{name}_"))

    def build() -> dict:
        reset_peak(device)
        state["model"] = model = MODELS[name](config)
        state["data"] = embedded_data(model, max(2 * batch_size, GENERATE_BATCH))
        result["config"] = dataclasses.asdict(config)
        return {"parameters": sum(p.numel() for p in model.parameters())}

    def train() -> dict:
        model, data = state["model"], state["data"]
        reset_peak(device)
        history = train_with_default_callbacks(
            model, data, device, (steps, batch_size), work / "run", result["steps"]
        )
        return _train_summary(result["steps"], steps, batch_size) | {
            "peak_memory_bytes": peak_bytes(device),
            "run": run_files(work / "run"),
            "validation": {n: history.last(n) for n in history.names() if n.startswith("val/")},
        }

    def save() -> dict:
        path = state["model"].save(work / f"{name}.pt")
        state["path"] = path
        return {"bytes": path.stat().st_size}

    def load() -> dict:
        from sketchwidgets.inference import load as load_saved

        reset_peak(device)
        state["loaded"] = loaded = load_saved(state["path"], device=str(device))
        equal = _same_weights(state["model"], loaded)
        if not equal:
            raise AssertionError("the loaded weights differ from the trained model's")
        return {"weights_equal": equal, "device": str(loaded.device)}

    def generate() -> dict:
        return generate_check(state["loaded"], state["data"], device)

    def emulated() -> dict:
        result["emulated_steps"] = []
        return emulated_cuda_check(MODELS[name](config), state["data"], result["emulated_steps"])

    phases = [("build", build), ("train", train), ("save", save), ("load", load)]
    phases += [("generate", generate)] + ([("emulated_cuda", emulated)] if dry else [])
    try:
        run_phases(result, phases, lambda: write_json(out, result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def train_with_default_callbacks(
    model: Any, data: Any, device: torch.device, size: tuple[int, int], run_dir: Path,
    steps_out: list,
) -> Any:  # fmt: skip
    """``Trainer.fit`` (``size`` = steps, batch) with the standard callbacks -- NaN guard,
    validation, sample grid and checkpoint at the end, progress bar -- writing to ``run_dir``;
    the step recorder goes first, so sampling is not counted in a step's time."""
    from sketchwidgets.train.trainer import Trainer

    steps, batch_size = size
    trainer = Trainer(
        model, data, steps=steps, batch_size=batch_size, val_data=data, run_dir=run_dir,
        device=str(device), seed=0, checkpoint_every=0, sample_every=0, validate_every=0,
    )  # fmt: skip
    trainer.callbacks.insert(0, _recorder(model, device, steps_out))
    return trainer.fit()


def run_files(run_dir: Path) -> dict:
    """What the callbacks wrote: sample grids, checkpoints, the run log; raises when absent."""
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    needed = ("checkpoints/last.pt", "history.jsonl")
    missing = [f for f in needed if f not in files]
    if missing or not any(f.startswith("samples/") for f in files):
        raise AssertionError(f"the run folder lacks {missing or 'samples'}; it holds {files}")
    return {"files": files}


def _train_summary(steps: list[dict], expected: int, batch_size: int) -> dict:
    """Steps run, finite losses, one precision line if all steps agree, median step time."""
    if len(steps) != expected:
        raise AssertionError(f"the trainer ran {len(steps)} steps, expected {expected}")
    bad = [s["step"] for s in steps if not s["finite"]]
    if bad:
        raise AssertionError(f"non-finite losses at steps {bad}")
    precisions = sorted({s["precision"] for s in steps})
    timed = [s["seconds"] for s in steps[1:]] or [steps[0]["seconds"]]  # step 1 warms up
    median = statistics.median(timed)
    return {
        "steps": len(steps),
        "losses_finite": True,
        "precision": precisions[0] if len(precisions) == 1 else precisions,
        "median_step_ms": round(median * 1e3, 3),
        "images_per_s": round(batch_size / median, 1),
        "last_losses": steps[-1]["losses"],
    }


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        torch.equal(sa[k].detach().cpu(), sb[k].detach().cpu()) for k in sa
    )


def generate_check(model: Any, data: Any, device: torch.device) -> dict:
    """``generate`` on a uint8 batch (shape, dtype, latency), every output tensor finite."""
    n = GENERATE_BATCH
    sketches = np.stack([data.sketches[i] for i in range(n)])  # (n, H, W) uint8
    labels = [int(data.labels[i]) for i in range(n)] if model.needs_label else None
    reset_peak(device)
    start = time.perf_counter()
    images = model.generate(sketches, seed=0, label=labels)
    seconds = time.perf_counter() - start
    size = model.image_size
    if images.shape != (n, size, size, 3) or images.dtype != np.uint8:
        raise AssertionError(f"generate gave {images.shape} {images.dtype}")
    tensor = torch.stack([data[i]["sketch"] for i in range(n)]).to(device)
    label = None if labels is None else torch.tensor(labels, device=device)
    with torch.no_grad():
        outputs = model.generate_outputs(tensor, rng=torch.Generator().manual_seed(0), label=label)
    finite = {k: bool(torch.isfinite(v).all()) for k, v in outputs.items()}
    if not all(finite.values()) or list(outputs) != list(model.output_names):
        raise AssertionError(f"outputs {list(outputs)} finite {finite}")
    return {
        "batch": n,
        "image_shape": list(images.shape),
        "outputs": {k: list(v.shape) for k, v in outputs.items()},
        "outputs_finite": finite,
        "seconds": round(seconds, 4),
        "peak_memory_bytes": peak_bytes(device),
    }


# --------------------------------------------------------------------------- emulation


@contextlib.contextmanager
def torch_layer_paths() -> Iterator[None]:
    """The CPU fast paths of models/layers.py and inference_unet.py switched off, so the CPU
    runs the torch layers as CUDA does (restored on exit)."""
    from sketchwidgets.models import layers
    from sketchwidgets.models.fast import inference_unet

    names = [(layers, "GEMM_MAX_SIDE", -1), (layers, "FEW_CHANNELS", -1), (layers, "TILE", 2**30)]
    names += [(inference_unet, "DOWN_GEMM_MAX_SIDE", -1), (inference_unet, "UP_GEMM_MAX_SIDE", -1)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in names]
    for module, name, value in names:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def emulated_cuda_check(model: Any, data: Any, steps_out: list) -> dict:
    """Dry mode: the trainer's CUDA settings as far as a CPU has them -- bf16 autocast (the
    CPU's autocast lists, close to CUDA's), model and batches channels_last, the torch layers --
    for 2 steps, then ``generate_outputs`` under autocast as the sample grid calls it.
    Catches a ``.view`` of a channels_last tensor or a dtype clash before a GPU is lent."""
    from sketchwidgets.train.trainer import Trainer

    class EmulatedCudaTrainer(Trainer):
        def autocast(self) -> contextlib.AbstractContextManager:
            return torch.autocast("cpu", dtype=torch.bfloat16)

        def move(self, batch: dict[str, Any]) -> dict[str, Any]:
            return {k: _channels_last(v) for k, v in super().move(batch).items()}

    cpu = torch.device("cpu")
    model.to(memory_format=torch.channels_last)
    recorder = _recorder(model, cpu, steps_out)
    with torch_layer_paths():
        EmulatedCudaTrainer(model, data, steps=2, batch_size=4, device="cpu",
                            callbacks=[recorder], seed=0).fit()  # fmt: skip
        summary = _train_summary(steps_out, 2, 4)
        sketches = torch.stack([data[i]["sketch"] for i in range(4)]).to(cpu)
        label = torch.tensor([int(data.labels[i]) for i in range(4)]) if model.needs_label else None
        with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
            model.eval()
            outputs = model.generate_outputs(
                _channels_last(sketches), rng=torch.Generator().manual_seed(0), label=label
            )
    finite = {k: bool(torch.isfinite(v.float()).all()) for k, v in outputs.items()}
    if not all(finite.values()):
        raise AssertionError(f"non-finite outputs under autocast: {finite}")
    return summary | {"outputs_under_autocast": {k: str(v.dtype) for k, v in outputs.items()}}


def _channels_last(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.ndim == 4 and value.is_floating_point():
        return value.contiguous(memory_format=torch.channels_last)
    return value


# --------------------------------------------------------------------------- ddp case


def ddp_case(*, dry: bool, batch_size: int, out: Path) -> dict:
    """Under torchrun: every registered model wrapped in DDP for a few steps, then collectives."""
    import torch.distributed as dist

    from sketchwidgets.models import MODELS
    from sketchwidgets.train import distributed

    info = distributed.from_env()
    device = torch.device("cpu") if dry else torch.device("cuda", info.local_rank)
    if is_cuda(device):
        torch.cuda.set_device(device)
    backend = "gloo" if dry else "nccl"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    result: dict[str, Any] = {"backend": dist.get_backend(), "world_size": dist.get_world_size()}
    result |= {"device": str(device), "checks": {}}
    try:
        phases = [
            (f"model:{name}", _ddp_model_phase(name, device, dry, batch_size)) for name in MODELS
        ]
        phases.append(("collectives", lambda: _collectives(device)))
        run_phases(result, phases, lambda: write_json(out, result))
        failed = [k for k, v in result["checks"].items() if v["status"] == "failed"]
        result["status"] = "failed" if failed else "ok"
    finally:
        dist.destroy_process_group()
    return result


def _ddp_model_phase(name: str, device: torch.device, dry: bool, batch_size: int) -> Callable:
    def phase() -> dict:
        from torch.utils.data import default_collate

        from sketchwidgets.models import MODELS
        from sketchwidgets.train import distributed
        from sketchwidgets.train.trainer import Trainer

        config, skipped = case_config(name, MODELS[name], dry)
        if skipped:
            return {"status": "skipped", "reason": skipped}
        model = MODELS[name](config)
        data = embedded_data(model, batch_size)
        trainer = Trainer(model, data, steps=1, batch_size=batch_size, device=str(device),
                          callbacks=[])  # fmt: skip
        model.to(device)
        if is_cuda(device):
            model.to(memory_format=torch.channels_last)  # as Trainer._setup
        optimizers = model.configure_optimizers()
        distributed.wrap_networks(model, device)
        wrapped = {n: type(getattr(model, n)).__name__ for n in model.network_names}
        model.train()
        reset_peak(device)
        losses = []
        batch = trainer.move(default_collate([data[i] for i in range(batch_size)]))
        for _ in range(DDP_STEPS):
            with trainer.autocast():
                step = model.train_step(batch, optimizers)
            values = torch.stack([v.detach().float().reshape(()) for v in step.values()])
            losses.append(
                dict(zip(step, distributed.all_reduce_mean(values).tolist(), strict=True))
            )
        distributed.unwrap_networks(model)
        if not all(math.isfinite(v) for s in losses for v in s.values()):
            raise AssertionError(f"non-finite losses under DDP: {losses}")
        return {"wrapped": wrapped, "losses": losses, "peak_memory_bytes": peak_bytes(device)}

    return phase


def _collectives(device: torch.device) -> dict:
    from sketchwidgets.train import distributed

    mean = distributed.all_reduce_mean(torch.full((4,), 3.0, device=device))
    gathered = distributed.all_gather_objects({"device": str(device)})
    distributed.barrier()
    if not torch.equal(mean.cpu(), torch.full((4,), 3.0)):
        raise AssertionError(f"all_reduce_mean gave {mean}")
    return {"all_reduce_mean": mean.cpu().tolist(), "all_gather_objects": gathered}


# --------------------------------------------------------------------------- script case


def script_case(script: str, args: list[str], out: Path) -> dict:
    """Run a benchmark script in this process; its output goes to stdout as usual."""
    result: dict[str, Any] = {"script": script, "args": args}
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
        result["status"] = "ok"
    except SystemExit as stop:
        ok = stop.code in (None, 0)
        result |= {"status": "ok" if ok else "failed", "exit_code": stop.code}
    except Exception:
        result |= {"status": "failed", "error": traceback.format_exc()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        result["peak_memory_bytes"] = int(torch.cuda.max_memory_allocated())
    write_json(out, result)
    return result


def help_case(scripts: list[str], out: Path) -> dict:
    """Each script's ``--help`` text and exit status, all in this process (one torch import)."""
    result: dict[str, Any] = {"status": "ok", "scripts": {}}
    for script in scripts:
        text = io.StringIO()
        command = shlex.split(script)  # the script, then the flags that pick a benchmark
        sys.argv = [*command, "--help"]
        code: Any = 0
        try:
            with contextlib.redirect_stdout(text):
                runpy.run_path(command[0], run_name="__main__")
        except SystemExit as stop:
            code = stop.code or 0
        except Exception:
            code = traceback.format_exc()
            result["status"] = "failed"
        result["scripts"][script] = {"exit": code, "help": text.getvalue()}
    write_json(out, result)
    return result
