"""Shared blocks: init statistics, norm factory, freezing, and the GEMM path of DownConv/UpConv."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sketchwidgets.models import layers
from sketchwidgets.models.layers import (
    DownConv,
    UpConv,
    init_weights,
    norm_layer,
    set_requires_grad,
)


def test_init_weights_normal_0_02_batchnorm_1_and_zero_biases():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(64, 128, 4),
        nn.BatchNorm2d(128),
        nn.ConvTranspose2d(128, 64, 4),
        nn.Linear(256, 256),
    )
    init_weights(net)
    for layer in (net[0], net[2], net[3]):
        assert layer.weight.mean().item() == pytest.approx(0.0, abs=2e-3)
        assert layer.weight.std().item() == pytest.approx(0.02, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert net[1].weight.std().item() == pytest.approx(0.02, rel=0.3)
    assert torch.count_nonzero(net[1].bias) == 0


def test_norm_layer_kinds_and_unknown_name():
    assert isinstance(norm_layer("batch", 8), nn.BatchNorm2d)
    instance = norm_layer("instance", 8)
    assert isinstance(instance, nn.InstanceNorm2d) and not instance.affine
    assert isinstance(norm_layer("none", 8), nn.Identity)
    with pytest.raises(ValueError, match="'group'.*batch.*instance.*none"):
        norm_layer("group", 8)


def test_set_requires_grad_on_one_or_several_networks():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    set_requires_grad([a, b], False)
    assert not any(p.requires_grad for p in [*a.parameters(), *b.parameters()])
    set_requires_grad(a, True)
    assert all(p.requires_grad for p in a.parameters())


def _both_paths(module: nn.Module, x: torch.Tensor, monkeypatch) -> tuple[list, list]:
    """(output, input grad, weight grad) on the GEMM path and on the torch convolution."""
    results = []
    for side in (64, 0):  # every map small enough / none small enough
        monkeypatch.setattr(layers, "GEMM_MAX_SIDE", side)
        module.zero_grad(set_to_none=True)
        inp = x.clone().requires_grad_(True)
        out = module(inp)
        out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
        results.append([out.detach(), inp.grad, module.weight.grad])
    return results[0], results[1]


@pytest.mark.parametrize("side", [1, 2, 4, 8])
@pytest.mark.parametrize("bias", [False, True])
def test_gemm_path_equals_the_torch_convolutions(side, bias, monkeypatch):
    torch.manual_seed(side)
    x = torch.randn(3, 6, side * 2, side * 2)
    for gemm, conv in zip(*_both_paths(DownConv(6, 5, bias=bias), x, monkeypatch), strict=True):
        assert torch.allclose(gemm, conv, atol=1e-5), "DownConv"
    y = torch.randn(3, 6, side, side)
    for gemm, conv in zip(*_both_paths(UpConv(6, 5, bias=bias), y, monkeypatch), strict=True):
        assert torch.allclose(gemm, conv, atol=1e-5), "UpConv"


@pytest.mark.parametrize("bias", [False, True])
def test_few_channel_up_conv_equals_the_torch_layer_at_any_size(bias, monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 16, 12)  # far above GEMM_MAX_SIDE
    layer = UpConv(6, 3, bias=bias)
    monkeypatch.setattr(layers, "FEW_CHANNELS", 0)
    plain = _both_paths(layer, x, monkeypatch)[1]  # the torch convolution
    monkeypatch.setattr(layers, "FEW_CHANNELS", 4)
    layer.zero_grad(set_to_none=True)
    inp = x.clone().requires_grad_(True)
    out = layer(inp)
    out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
    for mine, theirs in zip([out.detach(), inp.grad, layer.weight.grad], plain, strict=True):
        assert torch.allclose(mine, theirs, atol=1e-5)


def test_few_channel_up_conv_takes_the_product_path_on_the_cpu():
    x = torch.randn(1, 6, 16, 16)  # far above GEMM_MAX_SIDE
    assert UpConv(6, 3, bias=False)(x).grad_fn.name() == "Col2ImBackward0"  # F.fold
    assert UpConv(6, 8, bias=False)(x).grad_fn.name() == "ConvolutionBackward0"


def test_down_and_up_conv_halve_and_double_the_side():
    assert DownConv(3, 4)(torch.zeros(1, 3, 16, 16)).shape == (1, 4, 8, 8)
    assert UpConv(3, 4)(torch.zeros(1, 3, 2, 2)).shape == (1, 4, 4, 4)
    assert UpConv(3, 4)(torch.zeros(1, 3, 16, 16)).shape == (1, 4, 32, 32)
