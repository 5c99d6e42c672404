"""GAN and reconstruction losses: values against hand computations, modes, bad names."""

from __future__ import annotations

import math

import pytest
import torch

from sketchwidgets.models.losses import GANLoss, reconstruction_loss


def test_vanilla_loss_of_zero_logits_is_log_2_for_either_label():
    logits = torch.zeros(2, 1, 30, 30)
    loss = GANLoss("vanilla")
    assert loss(logits, True).item() == pytest.approx(math.log(2))
    assert loss(logits, False).item() == pytest.approx(math.log(2))


def test_vanilla_loss_is_cross_entropy_of_sigmoid():
    logits = torch.tensor([[-2.0, 0.5, 3.0]])
    p = torch.sigmoid(logits)
    assert GANLoss("vanilla")(logits, True).item() == pytest.approx(-p.log().mean().item())
    assert GANLoss("vanilla")(logits, False).item() == pytest.approx(-(1 - p).log().mean().item())


def test_lsgan_loss_is_squared_distance_to_the_label():
    logits = torch.tensor([0.0, 0.5, 2.0])
    assert GANLoss("lsgan")(logits, True).item() == pytest.approx((1 + 0.25 + 1) / 3)
    assert GANLoss("lsgan")(logits, False).item() == pytest.approx((0 + 0.25 + 4) / 3)


@pytest.mark.parametrize("mode", ["vanilla", "lsgan"])
def test_half_precision_logits_meet_an_exact_smoothed_label(mode):
    # bf16 logits (a discriminator under the trainer's CUDA autocast) against real_label 0.9:
    # the loss is the float32 loss of those logits, not one against bf16's 0.8984
    logits = torch.randn(2, 1, 30, 30, generator=torch.Generator().manual_seed(0)).bfloat16()
    exact = GANLoss(mode, real_label=0.9)(logits.float(), True)
    loss = GANLoss(mode, real_label=0.9)(logits, True)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(exact.item(), rel=1e-6)


def test_gan_loss_has_no_state_and_passes_gradients():
    loss = GANLoss("vanilla")
    assert dict(loss.state_dict()) == {}
    logits = torch.zeros(4, requires_grad=True)
    loss(logits, True).backward()
    assert torch.allclose(logits.grad, torch.full((4,), -0.5 / 4))


def test_unknown_gan_mode_names_the_known_ones():
    with pytest.raises(ValueError, match="wgan.*vanilla.*lsgan"):
        GANLoss("wgan")


def test_reconstruction_l1_and_l2():
    fake, real = torch.tensor([0.0, 1.0, -1.0]), torch.tensor([1.0, 1.0, 1.0])
    assert reconstruction_loss(fake, real, "l1").item() == pytest.approx(1.0)
    assert reconstruction_loss(fake, real, "l2").item() == pytest.approx(5 / 3)
    assert reconstruction_loss(fake, real).item() == pytest.approx(1.0)  # default: L1


def test_unknown_reconstruction_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="'l3'.*l1.*l2"):
        reconstruction_loss(torch.zeros(1), torch.zeros(1), "l3")
