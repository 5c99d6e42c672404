"""Loss functions shared by the models: the GAN objective and pixel reconstruction.

``GANLoss`` follows the reference pix2pix/CycleGAN code (junyanz/pytorch-CycleGAN-and-pix2pix,
``models/networks.py`` ``GANLoss``): the discriminator outputs raw logits and the loss builds
a target of ones (real) or zeros (fake) the size of the prediction.

* ``"vanilla"``: binary cross-entropy on logits, the original GAN objective
  (Goodfellow et al. 2014) as pix2pix uses it (Isola et al. 2017, Eq. 1);
* ``"lsgan"``: least squares (Mao et al. 2017), mean squared error to the target.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("vanilla", "lsgan")
RECONSTRUCTION_KINDS = ("l1", "l2")


class GANLoss(nn.Module):
    """``loss(logits, target_is_real)``: the GAN objective against an all-real/all-fake target.

    Holds no tensors, so adding it to a model changes nothing in its ``state_dict``.
    """

    def __init__(
        self, mode: str = "vanilla", *, real_label: float = 1.0, fake_label: float = 0.0
    ) -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"unknown GAN loss mode {mode!r}; known modes: {list(GAN_MODES)}")
        self.mode = mode
        self.real_label = real_label
        self.fake_label = fake_label

    def forward(self, logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """Mean loss of raw discriminator outputs against the real (or fake) label."""
        value = self.real_label if target_is_real else self.fake_label
        if logits.dtype in (torch.float16, torch.bfloat16):  # autocast: a smoothed label such
            logits = logits.float()  # as 0.9 is no bf16 number; loss and target in float32
        target = torch.full_like(logits, value)
        if self.mode == "lsgan":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def reconstruction_loss(fake: torch.Tensor, real: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Mean pixel distance: ``"l1"`` mean absolute error, ``"l2"`` mean squared error."""
    if kind == "l1":
        return F.l1_loss(fake, real)
    if kind == "l2":
        return F.mse_loss(fake, real)
    raise ValueError(
        f"unknown reconstruction loss {kind!r}; known kinds: {list(RECONSTRUCTION_KINDS)}"
    )


def ink_balanced_weights(images: torch.Tensor, ink_below: float = 0.0) -> torch.Tensor:
    """``(N, 1, H, W)`` pixel weights: ink and paper of each sketch as two equal classes.

    A pixel whose grey level (channel mean, in [-1, 1]) is below ``ink_below`` is ink. Each
    class gets half of the total weight ``H*W`` (the plain L1's), shared by its pixels: with
    23 % ink (the XDoG faces) an ink pixel weighs 0.5/0.23 = 2.2, a paper pixel 0.65, so a
    blank output no longer costs less than strokes slightly off. A sketch without ink (or
    without paper) weighs all its pixels 1. Used by the Contextual GAN's ``"ink_l1"``
    contextual loss and EdgeGAN's ``pair_edge_loss="ink_l1"``.
    """
    ink = (images.mean(dim=1, keepdim=True) < ink_below).float()
    pixels = ink[0].numel()
    n_ink = ink.flatten(1).sum(dim=1).view(-1, 1, 1, 1)
    n_paper = pixels - n_ink
    both = (n_ink > 0) & (n_paper > 0)
    weights = ink * (0.5 * pixels / n_ink.clamp(min=1)) + (1 - ink) * (
        0.5 * pixels / n_paper.clamp(min=1)
    )
    return torch.where(both, weights, torch.ones_like(weights))
