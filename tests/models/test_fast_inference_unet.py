"""The folded inference U-Net computes what the eval-mode UnetGenerator computes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.models.fast.inference_unet import FoldedConv, InferenceUnet, can_fold
from sketchwidgets.models.pix2pix import Pix2Pix, Pix2PixConfig, UnetGenerator


def _with_running_statistics(net: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net


PATHS = [(False, side) for side in (2, 4, 8, 16, 64)] + [(True, side) for side in (1, 2, 4, 32, 64)]


@pytest.mark.parametrize(("transposed", "side"), PATHS)
def test_every_convolution_path_equals_torch(transposed: bool, side: int) -> None:
    """Dead-tap, matrix-product and oneDNN paths, batch 1 and 3, against the torch layers."""
    torch.manual_seed(side)
    c_in, c_out = 6, 5
    weight = torch.randn((c_in, c_out, 4, 4) if transposed else (c_out, c_in, 4, 4))
    bias = torch.randn(c_out)
    conv = FoldedConv(weight, bias, transposed)
    for n in (1, 3):
        x = torch.randn(n, c_in, side, side)
        op = F.conv_transpose2d if transposed else F.conv2d
        expected = op(x, weight, bias, stride=2, padding=1)
        assert torch.allclose(conv(x), expected, atol=1e-5), (side, n)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("norm", ["batch", "none"])
def test_folded_unet_equals_eval_generator(size: int, norm: str) -> None:
    torch.manual_seed(0)
    net = UnetGenerator(1, 3, size.bit_length() - 1, ngf=8, norm=norm)
    net = _with_running_statistics(net).eval()
    folded = InferenceUnet(net)
    for n in (1, 2):
        x = torch.randn(n, 1, size, size)
        with torch.no_grad():
            assert torch.allclose(folded(x), net(x), atol=1e-5)


def test_instance_norm_is_not_folded() -> None:
    net = UnetGenerator(1, 3, 5, ngf=8, norm="instance")
    assert not can_fold(net)
    with pytest.raises(ValueError, match="UnetGenerator"):
        InferenceUnet(net)


def _eval_output(model: Pix2Pix, x: torch.Tensor) -> torch.Tensor:
    model.generator.eval()
    with torch.no_grad():
        return model.generator(x)


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_generate_tensor_follows_training(norm: str) -> None:
    """The cached folded net is rebuilt after a training step changes weights and statistics."""
    torch.manual_seed(0)
    model = Pix2Pix(Pix2PixConfig(image_size=32, ngf=8, ndf=8, norm=norm))
    optimizers = model.configure_optimizers()
    sketch = torch.rand(2, 1, 32, 32) * 2 - 1
    batch = {"sketch": sketch, "photo": torch.rand(2, 3, 32, 32) * 2 - 1}
    before = model.generate_tensor(sketch)
    assert torch.allclose(before, _eval_output(model, sketch), atol=1e-5)
    model.train()
    model.train_step(batch, optimizers)
    after = model.generate_tensor(sketch)
    assert not torch.allclose(after, before, atol=1e-4)
    assert torch.allclose(after, _eval_output(model, sketch), atol=1e-5)


def test_loading_weights_refreshes_the_cache() -> None:
    torch.manual_seed(0)
    config = Pix2PixConfig(image_size=32, ngf=8, ndf=8)
    model, other = Pix2Pix(config), Pix2Pix(config)
    sketch = torch.rand(1, 1, 32, 32) * 2 - 1
    model.generate_tensor(sketch)  # builds the cache
    model.load_state_dict(other.state_dict())
    assert torch.allclose(model.generate_tensor(sketch), other.generate_tensor(sketch), atol=1e-6)


def test_a_two_channel_input_is_folded() -> None:
    torch.manual_seed(0)
    model = Pix2Pix(Pix2PixConfig(image_size=32, ngf=8, ndf=8, input_nc=2))
    sketch = torch.rand(1, 2, 32, 32) * 2 - 1
    assert torch.allclose(model.generate_tensor(sketch), _eval_output(model, sketch), atol=1e-5)


def test_paper_protocol_still_uses_dropout() -> None:
    torch.manual_seed(0)
    model = Pix2Pix(Pix2PixConfig(image_size=64, ngf=8, ndf=8))  # dropout from 64 px up
    sketch = torch.rand(1, 1, 64, 64) * 2 - 1
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    a = model.generate_tensor(sketch, rng=g1, protocol=True)
    b = model.generate_tensor(sketch, rng=g2, protocol=True)
    assert not torch.allclose(a, b)
