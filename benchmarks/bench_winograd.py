"""The PatchGAN's stride-1 4x4 layer: F.conv2d (oneDNN) vs Winograd F(4x4, 4x4), on the CPU.

    python benchmarks/bench_winograd.py
    python benchmarks/bench_winograd.py --threads 1

For the layer's shapes in pix2pix training (C256 -> C512, ndf 64) at 64 px (8x8 maps) and
256 px (32x32 maps), prints the median time of a forward pass, of a forward and backward pass
(input and weight gradients, as in D's step), and of a forward and backward with the weight
frozen (input gradient only, as in G's step), with the ratio and the largest relative
difference of the outputs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from sketchwidgets.models.winograd import winograd_conv2d

CASES = [(16, 8), (64, 8), (1, 32), (8, 32)]  # (batch, input side)
IN_CHANNELS, OUT_CHANNELS = 256, 512


def median_ms(run: Callable[[], None], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def passes(conv: Callable, x: torch.Tensor, weight: torch.Tensor) -> dict[str, Callable]:
    """The three timed passes of one implementation."""
    grad = torch.randn(x.shape[0], weight.shape[0], x.shape[2] - 1, x.shape[3] - 1)

    def forward() -> None:
        with torch.no_grad():
            conv(x, weight)

    def both_grads() -> None:
        torch.autograd.grad(conv(x, weight), (x, weight), grad)

    def input_grad() -> None:
        torch.autograd.grad(conv(x, weight.detach()), x, grad)

    return {"forward": forward, "fwd+bwd": both_grads, "fwd+bwd, frozen w": input_grad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"C{IN_CHANNELS} -> C{OUT_CHANNELS}, 4x4, stride 1, padding 1 on cpu "
        f"({torch.get_num_threads()} threads, torch {torch.__version__}); median ms"
    )
    print(f"{'case':<28}{'conv2d':>10}{'winograd':>10}{'ratio':>8}")
    for batch, side in CASES:
        torch.manual_seed(0)
        x = torch.randn(batch, IN_CHANNELS, side, side, requires_grad=True)
        weight = (torch.randn(OUT_CHANNELS, IN_CHANNELS, 4, 4) * 0.02).requires_grad_()
        with torch.no_grad():
            want, got = F.conv2d(x, weight, padding=1), winograd_conv2d(x, weight)
        error = ((got - want).abs().max() / want.abs().max()).item()
        plain = passes(lambda a, w: F.conv2d(a, w, padding=1), x, weight)
        fast = passes(winograd_conv2d, x, weight)
        print(f"batch {batch}, {side}x{side} (max rel. difference {error:.1e})")
        for name in plain:
            base = median_ms(plain[name], args.repeats)
            ours = median_ms(fast[name], args.repeats)
            print(f"  {name:<26}{base:>10.1f}{ours:>10.1f}{base / ours:>7.2f}x")


if __name__ == "__main__":
    main()
