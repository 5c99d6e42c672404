"""TensorFlow-1 behaviours that EdgeGAN's reference code relies on, written for PyTorch.

A published PyTorch port of EdgeGAN (sysu-imsl/EdgeGAN, TensorFlow 1) did not converge; its
authors blamed initialisers, activations and the defaults that the TensorFlow calls fall back
to. Each piece here reproduces one of those defaults exactly; the reference file and line
are cited beside it (paths under ``edgegan/`` of sysu-imsl/EdgeGAN).

* :func:`instance_norm`  -- ``nn/modules/normalization.py`` ``norm``: ``(x - mean) /
  (sqrt(var) + 1e-5)``, no affine (torch's ``InstanceNorm2d`` puts eps inside the sqrt).
* :class:`TFSameConvTranspose2d` -- ``tf.nn.conv2d_transpose(..., padding='SAME')`` for a
  5x5 stride-2 kernel: padding 1 before, 2 after (torch's symmetric padding shifts a pixel).
* :func:`bicubic_resize` -- ``tf.image.resize_images(x, size, method=2)`` in TF 1.x: legacy
  bicubic (cubic coefficient -0.75, ``src = dst * in / out``, no half-pixel offset, clamped).
* :class:`SpectralNormConv2d` / :class:`SpectralNormLinear` -- ``spectral_normed_weight`` with
  an update collection that the training loop never runs: ``u`` keeps its
  ``truncated_normal`` initial value, one power iteration per call, gradients through sigma.
* :class:`ScalarPReLU` / :func:`lrelu` -- ``nn/networks.py`` ``prelu`` (one trainable leak,
  initialised 0.2, ``max(leak * x, x)``) and ``lrelu`` (``max(0.2 x, x)``).
* :class:`TFRMSprop` -- ``tf.train.RMSPropOptimizer(lr)``: decay 0.9, momentum 0, epsilon
  1e-10 inside the sqrt, and the mean-square slot initialised to **ones** (torch: zeros).
* :func:`truncated_normal_` -- ``tf.truncated_normal_initializer``: redrawn beyond 2 std.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IN_EPS = 1e-5  # nn/modules/normalization.py norm(): eps = 1e-5, added to sqrt(var)
TF_BICUBIC_A = -0.75  # resize_bicubic_op.cc: legacy (half_pixel_centers=False) coefficient


def truncated_normal_(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """``tf.truncated_normal_initializer(stddev=std)``: N(0, std) redrawn beyond 2 std."""
    return nn.init.trunc_normal_(tensor, 0.0, std, -2.0 * std, 2.0 * std)


def instance_norm(x: torch.Tensor) -> torch.Tensor:
    """Per-sample, per-channel ``(x - mean) / (sqrt(var) + 1e-5)`` over H, W; no affine."""
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    return (x - mean) / (var.sqrt() + IN_EPS)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """``max(0.2 x, x)`` (nn/modules/activation.py ``activation_fn(.., 'lrelu')``).

    The same function as a leaky ReLU of slope 0.2, whose backward is far cheaper on the CPU
    than ``torch.maximum``'s.
    """
    return F.leaky_relu(x, 0.2)


class ScalarPReLU(nn.Module):
    """``nn/networks.py`` ``prelu``: ``max(leak * x, x)`` with one trainable leak (init 0.2)."""

    def __init__(self) -> None:
        super().__init__()
        self.leak = nn.Parameter(torch.tensor(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.relu((self.leak - 1) * x)  # = max(leak * x, x) for any leak, cheaper


class TFSameConvTranspose2d(nn.ConvTranspose2d):
    """``conv2d_transpose`` with SAME padding to exactly ``stride x`` the input (odd kernel).

    TF pads the forward convolution ``(k - s) // 2`` before and the rest after; torch's
    transposed convolution with ``padding=(k - s) // 2`` crops that much on both sides, which
    leaves one extra row and column at the end: they are dropped.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5) -> None:
        stride = 2
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding=(kernel_size - stride) // 2
        )
        self.extra = kernel_size - stride - 2 * ((kernel_size - stride) // 2)

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        out = super().forward(x)
        if self.extra:
            out = out[..., : out.shape[-2] - self.extra, : out.shape[-1] - self.extra]
        return out


@functools.lru_cache(maxsize=32)
def _bicubic_matrix(size_in: int, size_out: int) -> np.ndarray:
    """``(size_out, size_in)`` weights of TF 1.x legacy bicubic resizing along one axis."""
    a = TF_BICUBIC_A
    matrix = np.zeros((size_out, size_in), dtype=np.float64)
    for out in range(size_out):
        loc = out * size_in / size_out  # legacy scaler: no half-pixel centres
        base = int(np.floor(loc))
        d = loc - base
        near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731  |x| <= 1
        far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731  1 < |x| < 2
        weights = (far(1 + d), near(d), near(1 - d), far(2 - d))
        for offset, weight in zip((-1, 0, 1, 2), weights, strict=True):
            matrix[out, min(max(base + offset, 0), size_in - 1)] += weight
    return matrix


def bicubic_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, size, size)`` as TF 1.x ``resize_images(method=2)``.

    A fixed linear map per axis (differentiable, so the gradient penalty sees through it).
    """
    if x.shape[-2:] == (size, size):
        return x
    rows = torch.as_tensor(_bicubic_matrix(x.shape[-2], size), dtype=x.dtype, device=x.device)
    cols = torch.as_tensor(_bicubic_matrix(x.shape[-1], size), dtype=x.dtype, device=x.device)
    return torch.einsum("oh,nchw,pw->ncop", rows, x, cols)


def _l2normalize(v: torch.Tensor) -> torch.Tensor:
    """nn/modules/normalization.py ``_l2normalize``: ``v / (||v|| + 1e-12)``."""
    return v / (v.pow(2).sum().sqrt() + 1e-12)


def _sigma(weight_rows: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The largest singular value estimated by one power iteration started at the stored ``u``.

    ``weight_rows`` is ``(K, out)`` as TF's ``reshape(W, [-1, out])`` (row order does not
    change sigma); ``u`` is ``(1, out)``. Gradients flow through ``v``, ``u'`` and sigma.
    """
    v = _l2normalize(u @ weight_rows.t())  # (1, K)
    u_next = _l2normalize(v @ weight_rows)  # (1, out)
    sigma = (v @ weight_rows @ u_next.t())[0, 0]
    return sigma


class SpectralNormConv2d(nn.Conv2d):
    """``conv2d2(..., sn=True)`` (nn/modules/conv.py): SAME padding, weight / sigma(W, u).

    ``u`` is a buffer drawn from ``truncated_normal_initializer()`` (std 1) and never updated:
    the reference adds the update op to the ``spectral_norm_update_ops`` collection, which
    ``models/edgegan.py`` never runs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: float) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.register_buffer("u", truncated_normal_(torch.empty(1, out_channels), 1.0))
        nn.init.normal_(self.weight, 0.0, 0.02)  # models/classifier.py weight_initializer
        nn.init.constant_(self.bias, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sigma = _sigma(self.weight.flatten(1).t(), self.u)
        return F.conv2d(x, self.weight / sigma, self.bias, padding=self.padding)


class SpectralNormLinear(nn.Linear):
    """``fully_connected(..., sn=True)`` (nn/modules/linear.py): Xavier-uniform weights."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("u", truncated_normal_(torch.empty(1, out_features), 1.0))
        nn.init.xavier_uniform_(self.weight)  # ly.xavier_initializer() default
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sigma = _sigma(self.weight.t(), self.u)
        return F.linear(x, self.weight / sigma, self.bias)


class TFRMSprop(torch.optim.Optimizer):
    """``tf.train.RMSPropOptimizer(lr)`` with TF 1.x defaults (momentum 0, not centred).

    ``ms = decay * ms + (1 - decay) * g^2`` with ``ms`` starting at 1; ``p -= lr * g /
    sqrt(ms + eps)``. torch's RMSprop starts ``ms`` at 0 and adds eps outside the sqrt, which
    makes its first steps about ``1 / sqrt(1 - decay)`` times the gradient's sign: far larger.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        decay: float = 0.9,
        epsilon: float = 1e-10,
    ) -> None:
        super().__init__(params, {"lr": lr, "decay": decay, "epsilon": epsilon})

    @torch.no_grad()
    def step(self, closure=None):  # noqa: ANN001, ANN201 (torch's signature)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            squares = []
            for p in params:
                state = self.state[p]
                if "ms" not in state:
                    state["ms"] = torch.ones_like(p, memory_format=torch.preserve_format)
                squares.append(state["ms"])
            torch._foreach_mul_(squares, group["decay"])
            torch._foreach_addcmul_(squares, grads, grads, value=1.0 - group["decay"])
            denominators = torch._foreach_add(squares, group["epsilon"])
            torch._foreach_sqrt_(denominators)
            torch._foreach_addcdiv_(params, grads, denominators, value=-group["lr"])
        return None
