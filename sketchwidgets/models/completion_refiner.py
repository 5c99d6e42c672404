"""A picture remade beside the drawing it came from: a departure from two of the papers.

The Contextual GAN's photo is the photo half of ``G(z*)`` (Lu et al. 2018, Sec. 3.3), and
EdgeGAN's is ``GI(E(sketch), c)`` (Gao et al. 2020, Sec. 3): both follow the drawing only as
far as one short code can carry it, which is the outline's place and the colours, not the
strokes (docs/drawn_sketches.md). :class:`CompletionRefiner` takes that picture and the
drawing side by side and gives the photo: a small U-Net (pix2pix's skips, no norms), so
that every stroke has a path to the picture. Each model trains it beside its own networks, by
its own optimiser, on the L1 to the real photo from the picture it made of a real sketch
(the Contextual GAN in its reconstruction step, EdgeGAN in its pair step). The picture comes
in detached, so the model's own networks keep the paper's losses and stay a photo's maker.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLES = ("transposed", "resize")


def _transposed_up(c_in: int, c_out: int) -> nn.Module:
    return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)


def _resize_up(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1)
    )


class CompletionRefiner(nn.Module):
    """``(photo half (N, 3, S, S), sketch (N, 1 | 3, S, S))`` in [-1, 1] -> photo
    ``(N, 3, S, S)``; a sketch's channels are averaged into one.

    ``depth`` 4x4 stride-2 convolutions to ``width``, 2 ``width``, then 4 ``width`` channels
    (leaky ReLU 0.2), then back up (ReLU), each joined to the encoder's features of its size,
    and tanh. Three levels see 22 px of a 64 px picture; five see all of it, so that one colour
    can be chosen for the whole ground. ``upsample``: "transposed" (4x4 stride-2 transposed
    convolutions, pix2pix's), or "resize" (nearest-neighbour doubling, then a 3x3 convolution:
    Odena et al. 2016's cure for the checkerboard an adversarial loss brings out of transposed
    convolutions).
    """

    def __init__(self, width: int, upsample: str = "transposed", depth: int = 3) -> None:
        super().__init__()
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        up = _resize_up if upsample == "resize" else _transposed_up
        channels = [width * min(2**level, 4) for level in range(depth)]
        inputs = [4, *channels[:-1]]
        pairs = zip(inputs, channels, strict=True)
        self.down = nn.ModuleList([nn.Conv2d(a, b, 4, 2, 1) for a, b in pairs])
        ups = [up(channels[-1], channels[-2])]  # each later one reads its skip's channels too
        ups += [up(2 * channels[level], channels[level - 1]) for level in range(depth - 2, 0, -1)]
        self.up = nn.ModuleList([*ups, up(2 * channels[0], 3)])

    def forward(self, photo: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        x = torch.cat([photo, sketch.mean(1, keepdim=True)], 1)
        skips = []
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)
            skips.append(x)
        skips.pop()  # the innermost features are x itself
        for layer in self.up[:-1]:
            x = torch.cat([F.relu(layer(x)), skips.pop()], 1)
        return torch.tanh(self.up[-1](x))
