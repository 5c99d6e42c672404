"""Winograd convolution F(4x4, 4x4) for stride-1 4x4 layers on the CPU.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016). A 4x4 kernel slid
over a 7x7 input tile gives a 4x4 output tile: 16 multiply-adds per output done directly. Winograd
moves the tile (``Bt d Bt^T``) and the kernel (``G g G^T``) into a 7x7 domain where the
convolution is an elementwise product, then moves the product back (``At m At^T``): 49 products
per 16 outputs, about 5x fewer. Summed over channels, the 49 elementwise products become 49 matrix
products ``(tiles, in) @ (in, out)``, which is where nearly all the time goes.

The transforms come from Toom-Cook interpolation at the points 0, 1, -1, 2, -2, 1/2 and infinity,
built exactly with fractions. In float32 the result differs from ``F.conv2d`` by about 1e-5 of
its largest value (tests). The backward pass stays in the Winograd domain: the output gradient
is moved into it once and serves both the weight gradient and the input gradient.

Tensors inside are laid out channels-last, ``(49, tiles, channels)``, so every gather and scatter
copies runs of contiguous channels.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import torch
import torch.nn.functional as F

KERNEL = 4  # r: kernel side
TILE = 4  # m: output side of one tile
SPAN = TILE + KERNEL - 1  # 7: input side of one tile
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2))  # plus the point at infinity


def _vandermonde(points: tuple, columns: int) -> list[list[Fraction]]:
    """Rows ``p**0 .. p**(columns-1)`` for each point, then the row of the point at infinity."""
    rows = [[Fraction(p) ** j for j in range(columns)] for p in points]
    return rows + [[Fraction(0)] * (columns - 1) + [Fraction(1)]]


def _inverse(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact Gauss-Jordan inverse of a square matrix of fractions."""
    n = len(matrix)
    rows = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(i for i in range(col, n) if rows[i][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for i in range(n):
            if i != col and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[col], strict=True)]
    return [row[n:] for row in rows]


def toom_cook(
    tile: int, kernel: int, points: tuple
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(At, G, Bt)`` of F(tile, kernel) for correlation: ``y = At ((G g) * (Bt d))``, float64.

    Built as the transpose of Toom-Cook linear convolution: evaluate at the points (and
    infinity), multiply, interpolate. ``len(points)`` must be ``tile + kernel - 2``.
    """
    span = tile + kernel - 1
    if len(points) != span - 1:
        raise ValueError(f"F({tile}, {kernel}) needs {span - 1} finite points, got {len(points)}")
    interpolate = _inverse(_vandermonde(points, span))
    evaluate_data = _vandermonde(points, tile)

    def as_tensor(rows: list[list[Fraction]]) -> torch.Tensor:
        return torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float64)

    at = as_tensor([[evaluate_data[p][i] for p in range(span)] for i in range(tile)])
    g = as_tensor(_vandermonde(points, kernel))
    bt = as_tensor([[interpolate[j][i] for j in range(span)] for i in range(span)])
    return at, g, bt


@lru_cache(maxsize=8)
def _transforms(
    device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """2-d transforms as Kronecker products: input (49, 49), kernel (49, 16), output (16, 49)."""
    at, g, bt = toom_cook(TILE, KERNEL, POINTS)
    return tuple(torch.kron(m, m).to(device, dtype) for m in (bt, g, at))


def _tiles(x: torch.Tensor, pad_before: int, pad_after: tuple, grid: tuple) -> torch.Tensor:
    """``(N, C, H, W)`` -> its overlapping 7x7 tiles as ``(49, N*th*tw, C)`` (stride 4)."""
    n, c = x.shape[:2]
    th, tw = grid
    pads = (0, 0, pad_before, pad_after[1], pad_before, pad_after[0])  # C, W, H of (N, H, W, C)
    padded = F.pad(x.permute(0, 2, 3, 1), pads)
    tiles = padded.unfold(1, SPAN, TILE).unfold(2, SPAN, TILE)  # (N, th, tw, C, 7, 7), a view
    return tiles.permute(4, 5, 0, 1, 2, 3).reshape(SPAN * SPAN, n * th * tw, c)


def _untile_add(cols: torch.Tensor, shape: tuple, pad_before: int, grid: tuple) -> torch.Tensor:
    """Adjoint of ``_tiles``: sum each tile's ``(49, N*th*tw, C)`` back into ``(N, C, H, W)``."""
    n, c, h, w = shape
    th, tw = grid
    full = cols.new_zeros(n, TILE * th + KERNEL - 1, TILE * tw + KERNEL - 1, c)
    parts = cols.view(SPAN, SPAN, n, th, tw, c)
    for i in range(SPAN):
        for j in range(SPAN):
            full[:, i : i + TILE * th : TILE, j : j + TILE * tw : TILE] += parts[i, j]
    inner = full[:, pad_before : pad_before + h, pad_before : pad_before + w]
    return inner.permute(0, 3, 1, 2)


def _output_tiles(grad: torch.Tensor, grid: tuple) -> torch.Tensor:
    """``(N, K, ho, wo)`` -> its non-overlapping 4x4 tiles as ``(16, N*th*tw, K)`` (zero-padded)."""
    n, k, ho, wo = grad.shape
    th, tw = grid
    padded = F.pad(grad.permute(0, 2, 3, 1), (0, 0, 0, TILE * tw - wo, 0, TILE * th - ho))
    tiles = padded.view(n, th, TILE, tw, TILE, k).permute(2, 4, 0, 1, 3, 5)
    return tiles.reshape(TILE * TILE, n * th * tw, k)


class _WinogradConv(torch.autograd.Function):
    """Stride-1 4x4 correlation, forward and backward in the Winograd domain."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
        n, c, h, w = x.shape
        k = weight.shape[0]
        ho, wo = h + 2 * padding - KERNEL + 1, w + 2 * padding - KERNEL + 1
        grid = (-(-ho // TILE), -(-wo // TILE))
        pad_after = tuple(
            TILE * t + KERNEL - 1 - s - padding for t, s in zip(grid, (h, w), strict=True)
        )
        input_t, kernel_t, output_t = _transforms(x.device, x.dtype)
        v = (input_t @ _tiles(x, padding, pad_after, grid).flatten(1)).view(SPAN * SPAN, -1, c)
        u = (kernel_t @ weight.permute(2, 3, 1, 0).reshape(KERNEL * KERNEL, -1)).view(-1, c, k)
        y = (output_t @ torch.bmm(v, u).flatten(1)).view(TILE, TILE, n, *grid, k)
        y = y.permute(2, 3, 0, 4, 1, 5).reshape(n, TILE * grid[0], TILE * grid[1], k)
        ctx.save_for_backward(v, u)
        ctx.geometry = (x.shape, padding, grid)
        return y[:, :ho, :wo].permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        v, u = ctx.saved_tensors
        shape, padding, grid = ctx.geometry
        input_t, kernel_t, output_t = _transforms(grad.device, grad.dtype)
        k = u.shape[2]
        grad_m = (output_t.t() @ _output_tiles(grad, grid).flatten(1)).view(SPAN * SPAN, -1, k)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_v = torch.bmm(grad_m, u.transpose(1, 2))  # (49, P, C)
            cols = (input_t.t() @ grad_v.flatten(1)).view_as(grad_v)
            grad_x = _untile_add(cols, shape, padding, grid)
        if ctx.needs_input_grad[1]:
            grad_u = torch.bmm(v.transpose(1, 2), grad_m)  # (49, C, K)
            grad_w = (kernel_t.t() @ grad_u.flatten(1)).view(KERNEL, KERNEL, -1, k)
            grad_w = grad_w.permute(3, 2, 0, 1)
        return grad_x, grad_w, None


def winograd_conv2d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, padding: int = 1
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, stride=1, padding=padding)`` for 4x4 kernels, by Winograd.

    Returns a channels-last tensor (the layout the computation ends in); values and gradients
    match ``F.conv2d`` to float rounding.
    """
    if weight.shape[2:] != (KERNEL, KERNEL) or x.dim() != 4:
        raise ValueError(
            f"winograd_conv2d needs a 4-d input and a 4x4 kernel, got {tuple(weight.shape)}"
        )
    out = _WinogradConv.apply(x, weight, padding)
    return out if bias is None else out + bias.view(1, -1, 1, 1)
