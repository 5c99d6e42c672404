"""The masked residual unit (MRU) of SketchyGAN and the layers around it.

Wengling Chen, James Hays. "SketchyGAN: Towards Diverse and Realistic Sketch to Image
Synthesis", CVPR 2018, arXiv:1801.02753, Sec. 3.1 and Fig. 2.

From a feature map ``x`` and the image ``I`` resized to ``x``'s size (the sketch in the
generator, the judged image in the discriminator) an MRU computes::

    m = gate(conv3x3([x, I]))            mask on the old features
    z = act(norm(conv3x3([m * x, I])))   new features (the code stacks two such convs)
    n = gate(conv3x3([x, I]))            how much of the old features to keep
    y = (1 - n) * z + n * proj(x)        proj: 1x1 conv (+ norm, act) when channels change

Norms follow only the non-mask convolutions. ``gate`` is the paper's sigmoid, or the
reference code's LReLU scaled to [0, 1] per map by its spatial min and max
(``mru_deconv_block_v2`` in wchen342/SketchyGAN ``src_single/mru.py``). The code writes the
blend as ``x * (1 - n') + z * n'``, i.e. ``n = 1 - n'``: the same family of functions.

Also here: conditional batch norm (Dumoulin et al. 2016, the code's ``batchnorm`` in
``models_mru.py``), the code's ``miu_relu`` activation, mean pooling and nearest upsampling
as the code resamples (``mean_pool``, ``upsample``), and an image pyramid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GATES = ("sigmoid", "minmax")
ACTIVATIONS = ("miu_relu", "relu", "lrelu", "prelu")


class MiuReLU(nn.Module):
    """``(x + sqrt((1 - miu)^2 + x^2)) / 2``: a smooth ReLU (code ``miu_relu``, miu 0.7)."""

    def __init__(self, miu: float = 0.7) -> None:
        super().__init__()
        self.miu = miu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + torch.sqrt((1 - self.miu) ** 2 + x * x)) / 2


def activation(kind: str) -> nn.Module:
    """``miu_relu`` (code G), ``prelu`` (code D, init 0.2), ``relu`` or ``lrelu`` (0.2)."""
    if kind == "miu_relu":
        return MiuReLU()
    if kind == "prelu":
        return nn.PReLU(init=0.2)
    if kind == "relu":
        return nn.ReLU()
    if kind == "lrelu":
        return nn.LeakyReLU(0.2)
    raise ValueError(f"unknown activation {kind!r}; known: {list(ACTIVATIONS)}")


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (code ``batchnorm``).

    With ``num_classes == 0`` it is a plain affine ``BatchNorm2d``; with ``enabled=False`` an
    identity (the discriminator has no norm). ``forward(x, label)``, ``label`` ``(N,)`` long.
    ``running_stats=False`` normalises by the batch's statistics in eval mode too, as the
    code's ``tf.nn.moments`` does; ``True`` keeps PyTorch's running averages for eval mode.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int = 0,
        *,
        enabled: bool = True,
        running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.enabled, self.conditional = enabled, enabled and num_classes > 0
        self.norm = (
            nn.BatchNorm2d(channels, affine=not self.conditional, track_running_stats=running_stats)
            if enabled
            else None
        )
        if self.conditional:
            self.scale = nn.Embedding(num_classes, channels)  # code: initialised to ones
            self.shift = nn.Embedding(num_classes, channels)  # code: initialised to zeros
            nn.init.ones_(self.scale.weight)
            nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.norm is None:
            return x
        x = self.norm(x)
        if not self.conditional:
            return x
        if label is None:
            raise ValueError("conditional batch norm needs the class labels")
        return x * self.scale(label)[:, :, None, None] + self.shift(label)[:, :, None, None]


class NormAct(nn.Module):
    """``act(norm(x, label))``."""

    def __init__(
        self, channels: int, num_classes: int, norm: bool, act: str, running_stats: bool = True
    ) -> None:
        super().__init__()
        self.norm = ConditionalBatchNorm2d(
            channels, num_classes, enabled=norm, running_stats=running_stats
        )
        self.act = activation(act)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None) -> torch.Tensor:
        return self.act(self.norm(x, label))


def minmax_gate(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The code's v2 gate: LReLU(0.2), then each map scaled to [0, 1] by its min and max."""
    x = F.leaky_relu(x, 0.2)
    low = x.amin(dim=(2, 3), keepdim=True)
    high = x.amax(dim=(2, 3), keepdim=True)
    return (x - low) / (high - low + eps)


def gate_function(kind: str):
    """The MRU gate: ``torch.sigmoid`` (paper) or :func:`minmax_gate` (code)."""
    if kind == "sigmoid":
        return torch.sigmoid
    if kind == "minmax":
        return minmax_gate
    raise ValueError(f"unknown MRU gate {kind!r}; known: {list(GATES)}")


class MRU(nn.Module):
    """One masked residual unit: ``forward(x, image, label) -> y`` at ``x``'s resolution.

    ``x`` ``(N, c_in, H, W)``, ``image`` ``(N, image_channels, H, W)`` -> ``(N, c_out, H, W)``.
    ``convs`` 3x3 convolutions make the new features (code 2, paper 1); ``norm=False``
    leaves out every norm (the discriminator); ``running_stats`` as in
    :class:`ConditionalBatchNorm2d`.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        image_channels: int,
        *,
        num_classes: int = 0,
        gate: str = "sigmoid",
        convs: int = 1,
        norm: bool = True,
        act: str = "relu",
        running_stats: bool = True,
    ) -> None:
        super().__init__()
        if convs < 1:
            raise ValueError(f"an MRU needs at least one feature conv, got convs={convs}")
        self.gate = gate_function(gate)
        both = c_in + image_channels
        self.mask = nn.Conv2d(both, c_in, 3, padding=1)
        self.keep = nn.Conv2d(both, c_out, 3, padding=1)
        self.features = nn.ModuleList(
            [nn.Conv2d(both, c_out, 3, padding=1)]
            + [nn.Conv2d(c_out, c_out, 3, padding=1) for _ in range(convs - 1)]
        )
        norm_act = dict(num_classes=num_classes, norm=norm, act=act, running_stats=running_stats)
        self.feature_norms = nn.ModuleList(NormAct(c_out, **norm_act) for _ in range(convs))
        self.project = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None
        self.project_norm = NormAct(c_out, **norm_act) if self.project else None

    def forward(
        self, x: torch.Tensor, image: torch.Tensor, label: torch.Tensor | None = None
    ) -> torch.Tensor:
        both = torch.cat([x, image], 1)
        m = self.gate(self.mask(both))
        n = self.gate(self.keep(both))
        z = torch.cat([m * x, image], 1)
        for conv, norm_act in zip(self.features, self.feature_norms, strict=True):
            z = norm_act(conv(z), label)
        if self.project is not None:
            x = self.project_norm(self.project(x), label)
        return (1 - n) * z + n * x


def mean_pool(x: torch.Tensor) -> torch.Tensor:
    """Average of each 2x2 block (code ``mean_pool``)."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling (code ``upsample``: four copies + depth_to_space)."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``[image, image/2, image/4, ...]``: ``levels + 1`` mean-pooled copies."""
    out = [image]
    for _ in range(levels):
        out.append(mean_pool(out[-1]))
    return out
