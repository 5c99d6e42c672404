"""Winograd F(4x4, 4x4): the transforms, values and gradients against F.conv2d, and PatchConv."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.models.fast.winograd import POINTS, toom_cook, winograd_conv2d
from sketchwidgets.models.layers import PatchConv


@pytest.mark.parametrize(("tile", "kernel", "points"), [(4, 4, POINTS), (2, 3, (0, 1, -1))])
def test_toom_cook_matrices_compute_1d_correlation(tile, kernel, points):
    at, g, bt = toom_cook(tile, kernel, points)
    assert at.shape == (tile, tile + kernel - 1) and bt.shape == (tile + kernel - 1,) * 2
    torch.manual_seed(0)
    for _ in range(5):
        d = torch.randn(tile + kernel - 1, dtype=torch.float64)
        w = torch.randn(kernel, dtype=torch.float64)
        direct = torch.stack([(d[i : i + kernel] * w).sum() for i in range(tile)])
        torch.testing.assert_close(at @ ((g @ w) * (bt @ d)), direct, rtol=0, atol=1e-12)


def test_toom_cook_wants_one_point_per_degree_of_freedom():
    with pytest.raises(ValueError, match="needs 6 finite points, got 3"):
        toom_cook(4, 4, (0, 1, -1))


TOLERANCE = 3e-5  # of the largest value: F(4x4, 4x4) in float32 lands near 1e-5 (a bug: > 1e-2)


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got - want).abs().max() / want.abs().max()).item()


@pytest.mark.parametrize(
    ("batch", "in_ch", "out_ch", "height", "width", "padding"),
    [
        (1, 16, 32, 32, 32, 1),  # 31x31: the PatchGAN's layer at 256 px, tiles cropped
        (3, 8, 5, 8, 8, 1),  # 7x7: the layer at 64 px
        (2, 3, 4, 11, 6, 0),  # rectangular, no padding
        (2, 4, 3, 5, 9, 2),  # output grows
    ],
)
def test_values_and_gradients_match_conv2d(batch, in_ch, out_ch, height, width, padding):
    torch.manual_seed(0)
    x = torch.randn(batch, in_ch, height, width, requires_grad=True)
    weight = torch.randn(out_ch, in_ch, 4, 4, requires_grad=True)
    bias = torch.randn(out_ch, requires_grad=True)
    want = F.conv2d(x, weight, bias, padding=padding)
    grad = torch.randn_like(want)
    want_grads = torch.autograd.grad(want, (x, weight, bias), grad)
    got = winograd_conv2d(x, weight, bias, padding=padding)
    got_grads = torch.autograd.grad(got, (x, weight, bias), grad)
    assert got.shape == want.shape
    assert _relative_error(got, want) < TOLERANCE
    for mine, theirs in zip(got_grads, want_grads, strict=True):
        assert _relative_error(mine, theirs) < TOLERANCE


def test_gradients_pass_gradcheck_in_float64():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 6, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: winograd_conv2d(a, b, padding=1), (x, weight))


def test_frozen_weight_gets_no_gradient_and_input_still_does():
    x = torch.randn(1, 2, 8, 8, requires_grad=True)
    weight = torch.randn(3, 2, 4, 4)  # requires_grad False, as D's weights in the G step
    winograd_conv2d(x, weight).sum().backward()
    assert weight.grad is None
    torch.testing.assert_close(
        x.grad, torch.autograd.grad(F.conv2d(x, weight, padding=1).sum(), x)[0], rtol=0, atol=1e-4
    )


def test_only_4x4_kernels_on_4d_inputs():
    with pytest.raises(ValueError, match=r"4x4 kernel, got \(3, 2, 3, 3\)"):
        winograd_conv2d(torch.randn(1, 2, 8, 8), torch.randn(3, 2, 3, 3))


def test_patch_conv_is_a_conv2d_with_the_same_parameters_and_result():
    torch.manual_seed(0)
    layer = PatchConv(8, 16)
    plain = nn.Conv2d(8, 16, 4, stride=1, padding=1)
    plain.load_state_dict(layer.state_dict())  # same names and shapes: checkpoints unchanged
    assert isinstance(layer, nn.Conv2d)
    for side in (32, 8, 4):  # Winograd at 31 and 7; at 3 the output has no full tile
        x = torch.randn(2, 8, side, side)
        with torch.no_grad():
            assert _relative_error(layer(x), plain(x)) < TOLERANCE


def test_patch_conv_takes_the_winograd_path_only_with_a_full_tile(monkeypatch):
    from sketchwidgets.models import layers

    calls = []

    def spy(x, weight, bias, padding):
        calls.append(x.shape)
        return F.conv2d(x, weight, bias, padding=padding)

    monkeypatch.setattr(layers, "winograd_conv2d", spy)
    layer = PatchConv(2, 3)
    layer(torch.randn(1, 2, 5, 9))  # output 4x8: one full tile high
    layer(torch.randn(1, 2, 4, 9))  # output 3x8: none
    assert calls == [(1, 2, 5, 9)]
