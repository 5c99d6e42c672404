"""Contextual GAN latent search: sketches completed per second, batched vs one at a time.

Runs the full search (refined initialisation with 30 draws, then Nesterov steps on z) with
the paper's network sizes (gf 64, df 64, z 100; untrained weights: speed does not depend on
them) and the data_limited preset's other settings, for batches of 1, 16 and 64 sketches, and a
one-sketch-at-a-time loop. The figure that matters is the ratio for 64 sketches (goal: batched
>= 10x the loop).

    python benchmarks/speed.py --model contextual_gan              # 1,000 iterations, as the paper
    python benchmarks/speed.py --model contextual_gan --iters 50   # quick: 1,000-iteration figures
                                                           # are extrapolated and say so

Extrapolation: time(1000) = time(initialisation) + time(completion) * 1000 / iters. The loop
is measured over ``--loop-sketches`` single-sketch searches and scaled to 64 sketches.
"""

from __future__ import annotations

import argparse
import time

import torch

from sketchwidgets.config import apply_overrides
from sketchwidgets.device import pick_device
from sketchwidgets.models.contextual_gan import ContextualGAN, ContextualGANConfig
from sketchwidgets.models.latent_search import SearchProgress
from sketchwidgets.train.recipes import preset

PAPER_ITERS = 1000


def ring_sketches(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """``(n, 1, size, size)`` black circle outlines on white, in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size * 1.0), torch.arange(size * 1.0), indexing="ij")
    centres = torch.rand(n, 2, generator=g) * size / 2 + size / 4
    radii = torch.rand(n, generator=g) * size / 5 + size / 8
    distance = (xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2
    ring = (distance.sqrt() - radii[:, None, None]).abs() < 1.5
    return torch.where(ring, -1.0, 1.0)[:, None]


def timed_search(
    model: ContextualGAN, sketches: torch.Tensor, iters: int, n_init: int = 30
) -> tuple[float, float]:
    """(seconds of initialisation, seconds of ``iters`` completion steps) for one search."""
    marks: list[float] = []

    def callback(progress: SearchProgress) -> None:
        # the losses reach the callback on the CPU, so the device has finished the step
        if progress.stage == "init" or progress.iteration + 1 == iters:
            marks.append(time.perf_counter())

    start = time.perf_counter()
    seed = torch.Generator().manual_seed(0)
    model.search(sketches, iterations=iters, n_init=n_init, callback=callback, rng=seed)
    return marks[0] - start, marks[1] - marks[0]


def seconds_at_paper_iters(init: float, completion: float, iters: int) -> float:
    """Time of a 1,000-iteration search from a shorter one (exact when iters == 1000)."""
    return init + completion * PAPER_ITERS / iters


def main() -> None:
    """Parse the flags, time the searches, print the table and the 64-sketch ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=PAPER_ITERS, help="iterations to measure")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--loop-sketches",
        type=int,
        default=4,
        help="single-sketch searches timed for the one-at-a-time loop",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best)")
    args = parser.parse_args()

    device = pick_device(args.device)
    config = apply_overrides(ContextualGANConfig(), preset("contextual_gan/data_limited"))
    model = ContextualGAN(config).to(device).eval()
    sketches = ring_sketches(max(max(args.batches), args.loop_sketches)).to(device)
    label = "measured" if args.iters == PAPER_ITERS else f"extrapolated from {args.iters}"
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, n_init 30, "
        f"{PAPER_ITERS} iterations ({label})"
    )

    rates = {}
    for n in sorted(set(args.batches) | {1}):  # warm-up: first calls per shape are slow
        timed_search(model, sketches[:n], 2, n_init=1)
    for n in args.batches:
        init, completion = timed_search(model, sketches[:n], args.iters)
        total = seconds_at_paper_iters(init, completion, args.iters)
        rates[n] = n / total
        print(
            f"batch {n:3d}: {total:8.1f} s per search ({init:.2f} s init), "
            f"{rates[n]:8.3f} sketches/s"
        )

    per_sketch = [
        seconds_at_paper_iters(*timed_search(model, sketches[i : i + 1], args.iters), args.iters)
        for i in range(args.loop_sketches)
    ]
    loop_rate = len(per_sketch) / sum(per_sketch)
    print(
        f"one at a time: {sum(per_sketch) / len(per_sketch):8.1f} s per sketch, "
        f"{loop_rate:8.3f} sketches/s (over {len(per_sketch)} sketches; 64 would take "
        f"{64 / loop_rate:.0f} s)"
    )
    if 64 in rates:
        ratio = rates[64] / loop_rate
        verdict = "meets" if ratio >= 10 else "misses"
        print(f"batched 64 / one-at-a-time: {ratio:.1f}x ({verdict} the 10x goal)")


if __name__ == "__main__":
    main()
