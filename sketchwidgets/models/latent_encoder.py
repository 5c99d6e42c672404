"""An encoder from a sketch to G's latent code: a learned start for the latent search.

The paper's refined initialisation (Lu et al. 2018, Sec. 3.3) draws random codes and keeps the
closest; on this project's small CPU models the search from there mostly lowered quality
(docs/findings/contextual_gan.md). A feed-forward encoder ``E: known half -> z`` gives the
search a start near the code that explains the sketch, the hybrid of iGAN (Zhu et al.,
"Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016, Sec. 3.1: a network
predicts z, then optimisation refines it) used also by Bora et al. 2017 for compressed sensing.
It is trained on G's own samples, pairs ``(known half of G(z), z)`` with an L2 loss on z, so it
needs no photo and no sketch beyond what G draws (:func:`encoder_step`); :class:`ContextualGAN`
trains it beside the GAN, one step per training step, on the generator that the search uses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SketchEncoder(nn.Module):
    """Known half ``(N, 3, S, S)`` in [-1, 1] -> code ``(N, z_dim)`` in [-bound, bound] (tanh).

    DCGAN-style: stride-2 5x5 convolutions (width, 2x, 4x, 8x), batch norm, leaky ReLU, then a
    linear layer, as G's discriminator is built (its input is half as wide).
    """

    def __init__(self, z_dim: int, width: int, image_size: int, bound: float = 1.0) -> None:
        super().__init__()
        self.bound = bound  # codes lie in [-bound, bound]
        layers: list[nn.Module] = []
        channels, side = 3, image_size
        for i in range(4):
            out = width * 2**i
            layers += [nn.Conv2d(channels, out, 5, 2, 2, bias=i == 0)]
            layers += [nn.BatchNorm2d(out)] if i else []
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            channels, side = out, side // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels * side * side, z_dim)

    def forward(self, known: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, z_dim)`` in [-bound, bound] for known halves ``(N, 3, S, S)``."""
        return self.bound * torch.tanh(self.head(self.features(known).flatten(1)))


def encoder_step(
    encoder: SketchEncoder,
    known_of: nn.Module,
    z: torch.Tensor,
    optimizer: torch.optim.Optimizer,
) -> torch.Tensor:
    """One update of ``E`` on ``(known_of(z), z)``: ``|E(known_of(z)) - z|^2`` averaged.

    ``known_of`` maps codes to the known halves G draws for them (no gradient flows into G).
    Returns the detached loss.
    """
    with torch.no_grad():
        known = known_of(z)
    optimizer.zero_grad(set_to_none=True)
    loss = F.mse_loss(encoder(known), z)
    loss.backward()
    optimizer.step()
    return loss.detach()
