"""An eval-mode pix2pix U-Net rewritten for fast inference, equal to it up to float rounding.

At 64 px and batch 1 the U-Net does little arithmetic (0.74 GFLOP at ``ngf=64``) but reads
about 117 MB of float32 weights, most of them in the levels whose maps are 1 to 4 pixels wide.
There the time goes to memory traffic and to BLAS repacking the weights on every call, not to
sums. Three exact rewrites remove that cost (``benchmarks/speed.py --model pix2pix`` measures
the result):

1. **BatchNorm folded** into the convolution before it. In eval mode BatchNorm is a fixed
   per-channel affine map ``y = a * x + b`` (running statistics), so ``a`` scales the
   convolution's output channels and ``b`` becomes its bias.
2. **Weight-stationary products** on small CPU maps (side at most ``GEMM_MAX_SIDE``): each
   convolution is one matrix product ``W (out, in*16) @ columns``, with ``W`` laid out once
   here, which BLAS streams once instead of packing it into a scratch copy per call.
3. **Dead taps dropped** at the bottleneck: the innermost encoder convolution (2x2 -> 1x1) and
   the innermost decoder convolution (1x1 -> 2x2) only ever touch the central 2x2 of their
   4x4 kernels; the other 12 taps multiply zero padding. Their weights are sliced to the live
   taps, a quarter of the memory.

Only the eval-mode forward is rewritten; training, the paper's test protocol (dropout on,
batch statistics) and instance norm use the ``UnetGenerator`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

# Largest CPU input side that takes the matrix-product path (measured at 64 and 256 px, batch 1:
# oneDNN wins on larger encoder maps; col2im + GEMM beats its transposed convolution up to 32).
DOWN_GEMM_MAX_SIDE = 8
UP_GEMM_MAX_SIDE = 32


@dataclass
class FoldedConv:
    """One U-Net convolution with its BatchNorm folded in, and the net's activations around it.

    ``weight`` has the torch layout of ``nn.Conv2d`` (``transposed=False``: ``(out, in, 4, 4)``)
    or ``nn.ConvTranspose2d`` (``(in, out, 4, 4)``). Matrix layouts are built on first use.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    transposed: bool
    before: nn.Module = field(default_factory=nn.Identity)
    after: nn.Module = field(default_factory=nn.Identity)
    _matrices: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.before(x)
        x = self._up(x) if self.transposed else self._down(x)
        return self.after(x)

    # ----------------------------------------------------------------- encoder (4x4 / 2 conv)

    def _down(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if x.device.type != "cpu" or min(h, w) > DOWN_GEMM_MAX_SIDE:
            return F.conv2d(x, self.weight, self.bias, stride=2, padding=1)
        if (h, w) == (2, 2):  # -> 1x1: kernel taps (1..2, 1..2) meet the four pixels
            out = self._matrix("down_centre") @ x.reshape(n, c * 4).t()  # (out, N)
            return (out + self.bias[:, None]).t().reshape(n, -1, 1, 1)
        cols = F.unfold(x, 4, padding=1, stride=2)  # (N, in*16, L)
        rows = cols.transpose(1, 2).reshape(-1, cols.shape[1]).contiguous()  # (N*L, in*16)
        out = torch.addmm(self.bias[:, None], self._matrix("down"), rows.t())  # (out, N*L)
        return out.view(-1, n, h // 2, w // 2).transpose(0, 1)

    # ------------------------------------------------------- decoder (4x4 / 2 transposed conv)

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if x.device.type != "cpu" or min(h, w) > UP_GEMM_MAX_SIDE:
            return F.conv_transpose2d(x, self.weight, self.bias, stride=2, padding=1)
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c).contiguous()  # (N*L, in)
        if (h, w) == (1, 1):  # -> 2x2: output pixel (y, x) is stamped by kernel tap (y+1, x+1)
            out = self._matrix("up_centre") @ rows.t()  # (out*4, N)
            return out.t().reshape(n, -1, 2, 2) + self.bias.view(1, -1, 1, 1)
        stamps = self._matrix("up") @ rows.t()  # (out*16, N*L): each pixel's 4x4 stamp
        stamps = stamps.view(stamps.shape[0], n, h * w).transpose(0, 1)
        out = F.fold(stamps, (2 * h, 2 * w), 4, padding=1, stride=2)
        return out + self.bias.view(1, -1, 1, 1)

    def _matrix(self, form: str) -> torch.Tensor:
        """The weight as a contiguous matrix for ``form``, built once."""
        if form not in self._matrices:
            w = self.weight
            layouts = {
                "down": lambda: w.flatten(1),  # (out, in*16)
                "down_centre": lambda: w[:, :, 1:3, 1:3].flatten(1),  # (out, in*4)
                "up": lambda: w.flatten(1).t(),  # (out*16, in)
                "up_centre": lambda: w[:, :, 1:3, 1:3].permute(1, 2, 3, 0).flatten(0, 2),
            }
            self._matrices[form] = layouts[form]().contiguous()
        return self._matrices[form]


class InferenceUnet:
    """A pix2pix ``UnetGenerator`` in eval mode as folded convolutions; call it like the net.

    A snapshot: it keeps the weights it was built from. ``weights_key`` tells when to rebuild.
    """

    def __init__(self, net: nn.Module) -> None:
        if not can_fold(net):
            raise ValueError("InferenceUnet needs a UnetGenerator with batch norm or no norm")
        self.encoder = [_fold_block(block) for block in net.encoder]
        self.decoder = [_fold_block(block) for block in net.decoder]

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for conv in self.encoder:
            x = conv(x)
            skips.append(x)
        x = self.decoder[0](skips.pop())
        for conv, skip in zip(self.decoder[1:], reversed(skips), strict=True):
            x = conv(torch.cat([skip, x], 1))
        return x


def can_fold(net: nn.Module) -> bool:
    """Whether ``InferenceUnet`` can rewrite ``net``: a U-Net of encoder and decoder blocks
    built only from convolutions, batch norm with running statistics, activations, dropout."""
    allowed = (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.Tanh)
    allowed += (nn.Dropout, nn.Identity, nn.Sequential, nn.ModuleList)
    blocks = [*getattr(net, "encoder", ()), *getattr(net, "decoder", ())]
    return (
        type(net).__name__ == "UnetGenerator"
        and bool(blocks)
        and all(isinstance(m, allowed) for b in blocks for m in b.modules())
        and all(m.running_var is not None for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    )


def weights_key(net: nn.Module) -> tuple[tuple[int, int], ...]:
    """Changes whenever a parameter or buffer of ``net`` is replaced or updated in place."""
    tensors = [*net.parameters(), *net.buffers()]
    return tuple((t.data_ptr(), t._version) for t in tensors)


def _fold_block(block: nn.Sequential) -> FoldedConv:
    """``[ReLU] Conv [BatchNorm] [LeakyReLU | Tanh] [Dropout]`` -> one ``FoldedConv``."""
    layers = [m for m in block if not isinstance(m, (nn.Dropout, nn.Identity))]
    before = layers.pop(0) if isinstance(layers[0], nn.ReLU) else nn.Identity()
    conv = layers.pop(0)
    transposed = isinstance(conv, nn.ConvTranspose2d)
    weight = conv.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else weight.new_zeros(conv.out_channels)
    if layers and isinstance(layers[0], nn.BatchNorm2d):
        weight, bias = _fold_batch_norm(weight, bias, layers.pop(0), transposed)
    after = layers[0] if layers else nn.Identity()  # LeakyReLU (encoder) or Tanh (output)
    return FoldedConv(weight.contiguous(), bias.contiguous(), transposed, before, after)


def _fold_batch_norm(
    weight: torch.Tensor, bias: torch.Tensor, norm: nn.BatchNorm2d, transposed: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """``BN(conv(x)) = conv'(x)`` with running statistics: scale output channels, shift bias."""
    scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps)
    shape = (1, -1, 1, 1) if transposed else (-1, 1, 1, 1)  # the output-channel axis
    folded_bias = (bias - norm.running_mean) * scale + norm.bias.detach()
    return weight * scale.view(shape), folded_bias
