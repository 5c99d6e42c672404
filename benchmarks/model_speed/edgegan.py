"""EdgeGAN speed and memory at the reference's settings (64 px, batch 64, 14 classes).

    python benchmarks/speed.py --model edgegan                  # CPU, 1 thread, 3 timed steps
    python benchmarks/speed.py --model edgegan --threads 2 --steps 5
    python benchmarks/speed.py --model edgegan --device cuda

Prints:

* training images/s: batch / median wall time of ``EdgeGAN.train_step`` (one step = the
  reference's seven updates: DJ, DI, DE, classifier, GE+GI, E, GE+GI) after one warm-up step;
* peak training memory: on CPU the growth of the peak RSS (``VmHWM``) over the first training
  step, measured in a fresh process (weights and batch already allocated before it); on CUDA
  ``torch.cuda.max_memory_allocated`` over that step;
* sketch-to-image latency: median of ``model.generate(uint8 64x64 sketch, label=...)``, and of
  ``generate(..., outputs=True)`` (image and edge), after warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from timing import median_ms, sync, train_step_peak_mib  # noqa: E402

from sketchwidgets.device import autocast_context, pick_device  # noqa: E402
from sketchwidgets.models.edgegan import REFERENCE_BATCH_SIZE, EdgeGAN, EdgeGANConfig  # noqa: E402

CLASSES = tuple(f"class{i}" for i in range(14))  # flags.json num_classes 14


def build(device: torch.device) -> EdgeGAN:
    torch.manual_seed(0)
    return EdgeGAN(EdgeGANConfig(class_names=CLASSES)).to(device)


def make_batch(n: int, size: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "sketch": (torch.rand(n, 1, size, size, generator=g) * 2 - 1).to(device),
        "photo": (torch.rand(n, 3, size, size, generator=g) * 2 - 1).to(device),
        "label": (torch.arange(n) % len(CLASSES)).to(device),
    }


def train_speed(device: torch.device, batch_size: int, steps: int) -> tuple[float, float]:
    """(images/s, median seconds per step)."""
    model = build(device)
    optimizers = model.configure_optimizers()
    batch = make_batch(batch_size, model.image_size, device)
    times = []
    for step in range(steps + 1):
        sync(device)
        start = time.perf_counter()
        with autocast_context(device):
            model.train_step(batch, optimizers)
        sync(device)
        if step:  # the first step allocates optimiser state and warms up
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return batch_size / median, median


def memory_probe(device: torch.device, batch_size: int) -> float:
    """MiB the first training step adds to the peak (run in a fresh process on CPU)."""
    model = build(device)
    return train_step_peak_mib(model, make_batch(batch_size, model.image_size, device), device)


def latency(device: torch.device, outputs: bool, repeats: int = 20) -> float:
    """Median ms of one sketch-to-image call (uint8 sketch in, uint8 RGB out)."""
    model = build(device).eval()
    sketch = np.full((64, 64), 255, np.uint8)
    sketch[16:48, 20] = sketch[16:48, 44] = sketch[16, 20:45] = sketch[47, 20:45] = 0
    return median_ms(
        lambda index: model.generate(sketch, label="class3", seed=index, outputs=outputs),
        device,
        repeats,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=REFERENCE_BATCH_SIZE)
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.memory_probe:
        print(json.dumps({"mib": memory_probe(device, args.batch)}))
        return
    model = build(device)
    params = {
        name: sum(p.numel() for p in getattr(model, name).parameters())
        for name in model.network_names
    }
    print(f"EdgeGAN defaults, 14 classes, device {device}, {args.threads} thread(s)")
    print(
        f"parameters: {sum(params.values()) / 1e6:.1f} M  "
        + ", ".join(f"{k} {v / 1e6:.1f} M" for k, v in params.items())
    )
    speed, step = train_speed(device, args.batch, args.steps)
    print(
        f"training, 64 px, batch {args.batch}: {speed:.2f} images/s "
        f"({step:.2f} s a step, median of {args.steps})"
    )
    if device.type == "cuda":
        mib = memory_probe(device, args.batch)
    else:
        command = [
            sys.executable,
            __file__,
            "--memory-probe",
            "--batch",
            str(args.batch),
            "--threads",
            str(args.threads),
            "--device",
            str(device),
        ]
        mib = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout
        )["mib"]
    print(f"peak memory of the first training step: {mib:.0f} MiB")
    print(f"sketch-to-image latency (generate, 64 px): {latency(device, outputs=False):.1f} ms")
    print(
        "sketch-to-image+edge latency (generate outputs=True): "
        f"{latency(device, outputs=True):.1f} ms"
    )


if __name__ == "__main__":
    main()
