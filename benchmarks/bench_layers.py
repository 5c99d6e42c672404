"""pix2pix's two CPU-specific layers against the torch layers they replace, alone, on the CPU.

    python benchmarks/bench_layers.py
    python benchmarks/bench_layers.py --threads 1

* ``PatchConv``, the PatchGAN's stride-1 C256 -> C512 4x4 layer: ``F.conv2d`` (oneDNN) vs
  Winograd F(4x4, 4x4), at 64 px (8x8 maps) and 256 px (32x32 maps) training shapes;
* the U-Net's image output ``UpConv`` (C128 -> 3, 4x4 transposed, stride 2):
  ``F.conv_transpose2d`` vs one weight-shared product + col2im, at 64 and 256 px.

For each, the median time of a forward pass, of a forward and backward pass (input and weight
gradients, as in a D or G step), and of a forward and backward with the weight frozen (input
gradient only, as D in G's step), with the ratio and the largest relative difference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from sketchwidgets.models.layers import PatchConv, UpConv

# (name, our layer, the torch layer it replaces, (batch, side) cases)
LAYERS = [
    (
        "PatchConv C256->C512",
        lambda: PatchConv(256, 512),
        lambda: nn.Conv2d(256, 512, 4, stride=1, padding=1),
        [(16, 8), (64, 8), (1, 32), (8, 32)],
    ),
    (
        "image UpConv C128->3",
        lambda: UpConv(128, 3),
        lambda: nn.ConvTranspose2d(128, 3, 4, stride=2, padding=1),
        [(16, 32), (64, 32), (1, 128), (8, 128)],
    ),
]


def median_ms(run: Callable[[], None], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def passes(layer: nn.Module, x: torch.Tensor) -> dict[str, Callable]:
    """The three timed passes of one layer."""
    with torch.no_grad():
        grad = torch.randn_like(layer(x))

    def forward() -> None:
        with torch.no_grad():
            layer(x)

    def both_grads() -> None:
        torch.autograd.grad(layer(x), (x, layer.weight), grad)

    def input_grad() -> None:
        layer.weight.requires_grad_(False)
        torch.autograd.grad(layer(x), x, grad)
        layer.weight.requires_grad_(True)

    return {"forward": forward, "fwd+bwd": both_grads, "fwd+bwd, frozen w": input_grad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"cpu, {torch.get_num_threads()} threads, torch {torch.__version__}; median ms")
    print(f"{'case':<28}{'torch':>10}{'ours':>10}{'ratio':>8}")
    for name, build_ours, build_torch, cases in LAYERS:
        torch.manual_seed(0)
        ours, plain = build_ours(), build_torch()
        plain.load_state_dict(ours.state_dict())
        for batch, side in cases:
            x = torch.randn(batch, ours.in_channels, side, side, requires_grad=True)
            with torch.no_grad():
                want, got = plain(x), ours(x)
            error = ((got - want).abs().max() / want.abs().max()).item()
            print(f"{name}, batch {batch}, {side}x{side} (max rel. difference {error:.1e})")
            base_passes, our_passes = passes(plain, x), passes(ours, x)
            for label in base_passes:
                base = median_ms(base_passes[label], args.repeats)
                mine = median_ms(our_passes[label], args.repeats)
                print(f"  {label:<26}{base:>10.1f}{mine:>10.1f}{base / mine:>7.2f}x")


if __name__ == "__main__":
    main()
