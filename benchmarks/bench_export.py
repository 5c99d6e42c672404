"""One 64 px sketch to image: the exported graph (onnxruntime, TorchScript) vs eager generate().

    python benchmarks/bench_export.py                     # pix2pix at 64 px, ngf 64
    python benchmarks/bench_export.py --models pix2pix sketchygan edgegan --repeats 50

Each model is built with its paper defaults at 64 px (the embedded set's classes where it
needs some; untrained weights: the same sums as a trained model), exported to ONNX and
TorchScript in a temporary folder (each export checks itself against generate()), then one
real embedded sketch, uint8 in and uint8 RGB out, runs through eager ``model.generate``,
onnxruntime and ``torch.jit.load``, on one thread, the three alternating call by call.
Prints the median milliseconds of each after warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from sketchwidgets.data.builtin import CLASSES, embedded_pairs
from sketchwidgets.export.exporter import export, exported_inputs, onnx_session
from sketchwidgets.models import MODELS, build_model

SIZE = 64


def median_ms(calls: dict[str, Callable[[], object]], repeats: int, warmup: int = 3) -> dict:
    """Median wall time (ms) of each call, run in turn so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(warmup + repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if round_ >= warmup:
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_model(name: str, sketch: np.ndarray, folder: Path, repeats: int) -> dict[str, float]:
    """Eager generate vs the ONNX and TorchScript exports of ``name`` on one sketch."""
    torch.manual_seed(0)
    classes = {"class_names": CLASSES} if MODELS[name].needs_label else {}
    model = build_model(name, image_size=SIZE, **classes).eval()
    label = 0 if model.needs_label else None
    onnx_file, script_file = folder / f"{name}.onnx", folder / f"{name}.pt"
    export(model, onnx_file, format="onnx")
    export(model, script_file, format="torchscript")
    inputs = exported_inputs(model, sketch[None], seed=0, label=label)
    session = onnx_session(onnx_file)
    script = torch.jit.load(str(script_file))
    tensors = [torch.from_numpy(value) for value in inputs.values()]

    def torchscript() -> object:
        with torch.no_grad():
            return script(*tensors)

    return median_ms(
        {
            "eager generate()": lambda: model.generate(sketch, seed=0, label=label),
            "onnxruntime": lambda: session.run(None, inputs),
            "TorchScript": torchscript,
        },
        repeats,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pix2pix"])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sketch = embedded_pairs(1, size=SIZE, seed=0, workers=1).sketches[0]  # uint8 (64, 64)
    print(f"one {SIZE} px sketch, uint8 in -> uint8 RGB out, 1 thread, median of {args.repeats}")
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models:
            row = bench_model(name, sketch, Path(scratch), args.repeats)
            eager = row["eager generate()"]
            for label, ms in row.items():
                print(f"  {name:<10} {label:<18} {ms:8.1f} ms  ({eager / ms:.2f}x eager)")


if __name__ == "__main__":
    main()
