"""Blocks used the same way by several models: init, norm layers, freezing, 4x4/2 convolutions.

``init_weights`` and ``norm_layer`` follow the reference pix2pix/CycleGAN code
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` ``init_weights`` 'normal' and
``get_norm_layer``); DCGAN-style models (Radford et al. 2016) use the same N(0, 0.02) init.

``DownConv`` / ``UpConv`` are ``nn.Conv2d`` / ``nn.ConvTranspose2d`` with kernel 4, stride 2,
padding 1 (they halve / double the side), the building block of the U-Net, PatchGAN and DCGAN.
``PatchConv`` is the PatchGAN's kernel-4, stride-1, padding-1 ``nn.Conv2d`` (the side shrinks by
one); on the CPU it runs by Winograd's algorithm (``models/fast/winograd.py``).
Their parameters, ``state_dict`` and results are those of the torch layers. The only difference
is speed: on the CPU, for feature maps whose small side is at most ``GEMM_MAX_SIDE`` pixels,
they compute the same sums as one matrix product (im2col + GEMM, or GEMM + col2im), because
oneDNN's convolution is several times slower there, above all in the backward pass
(measured by ``benchmarks/speed.py --model pix2pix``). ``UpConv`` does the same, at any size,
when it writes at most ``FEW_CHANNELS`` channels (the U-Net's image output), which oneDNN
vectorises poorly (``benchmarks/bench_layers.py``; the figures are in docs/figures.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.models.fast.winograd import TILE, winograd_conv2d

NORM_KINDS = ("batch", "instance", "none")
GEMM_MAX_SIDE = 4  # CPU maps this small (at the low-resolution side) take the GEMM path
FEW_CHANNELS = 4  # an UpConv writing this few channels takes the GEMM path on the CPU


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A 2-d norm layer: ``"batch"``, ``"instance"`` (no affine, as the reference) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm layer {kind!r}; known kinds: {list(NORM_KINDS)}")


def conv_bias(kind: str) -> bool:
    """Whether a convolution followed by norm ``kind`` needs a bias (BatchNorm has its own shift).

    The reference drops the bias for ``"batch"`` only; with ``"none"`` it also drops it (a side
    effect of its test), which we do not copy: an un-normalised convolution keeps its bias.
    """
    return kind != "batch"


def init_weights(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """Reference 'normal' init: conv/linear weights N(0, gain), BatchNorm N(1, gain), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, gain)
            nn.init.zeros_(layer.bias)
    return module


def set_requires_grad(modules: nn.Module | Iterable[nn.Module], requires_grad: bool) -> None:
    """Freeze (``False``) or unfreeze the parameters of one or more networks."""
    for module in [modules] if isinstance(modules, nn.Module) else modules:
        for param in module.parameters():
            param.requires_grad_(requires_grad)


def _use_gemm(x: torch.Tensor, small_side: int) -> bool:
    return x.device.type == "cpu" and small_side <= GEMM_MAX_SIDE


class DownConv(nn.Conv2d):
    """Conv 4x4/2 (pad 1): ``(N, in, H, W) -> (N, out, H/2, W/2)``."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if not _use_gemm(x, min(h, w) // 2):
            return super().forward(x)
        cols = F.unfold(x, 4, padding=1, stride=2)  # (N, in*16, L), L = H/2 * W/2
        # row-major (N, L, in*16) so both backward GEMMs run on contiguous operands
        out = F.linear(cols.transpose(1, 2).contiguous(), self.weight.flatten(1), self.bias)
        return out.transpose(1, 2).reshape(n, self.out_channels, h // 2, w // 2)


class UpConv(nn.ConvTranspose2d):
    """Transposed conv 4x4/2 (pad 1): ``(N, in, H, W) -> (N, out, 2H, 2W)``."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        n, c, h, w = x.shape
        if output_size is not None or x.device.type != "cpu":
            return super().forward(x, output_size)
        if self.out_channels <= FEW_CHANNELS:
            # (N, out*16, H*W): each input pixel's 4x4 stamp, one weight-shared product an image
            cols = torch.bmm(self.weight.flatten(1).t().expand(n, -1, -1), x.flatten(2))
        elif _use_gemm(x, min(h, w)):
            rows = x.flatten(2).transpose(1, 2).contiguous()  # (N, H*W, in)
            cols = (rows @ self.weight.flatten(1)).transpose(1, 2)  # (N, out*16, H*W)
        else:
            return super().forward(x)
        out = F.fold(cols, (2 * h, 2 * w), 4, padding=1, stride=2)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


class PatchConv(nn.Conv2d):
    """Conv 4x4/1 (pad 1): ``(N, in, H, W) -> (N, out, H-1, W-1)``, channels-last on the CPU.

    On the CPU, once the output has at least one full 4x4 Winograd tile, it is computed by
    Winograd F(4x4, 4x4): about 5x fewer multiplications than the direct sum, the same result
    to float rounding. Elsewhere it is the torch layer.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, 4, stride=1, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or min(x.shape[2:]) - 1 < TILE:
            return super().forward(x)
        return winograd_conv2d(x, self.weight, self.bias, padding=1)
