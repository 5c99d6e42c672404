"""Contextual GAN's search run from its exported TorchScript files: a reference loop.

Self-contained on purpose (torch, numpy and the standard library; nothing from sketchwidgets):
copy it beside ``cgan.pt``, ``cgan.discriminator.pt`` and ``cgan.pt.json`` written by
``sketchwidgets.export.export(model, "cgan.pt", format="torchscript")`` and run::

    photos = search("cgan.pt", sketches)["photo"]  # uint8 (N, S, S) sketches -> uint8 RGB

The same steps as :func:`sketchwidgets.models.latent_search.latent_search` (Lu et al., ECCV
2018, Sec. 3.3), with the settings stored in the side file: keep, of ``n_init`` codes uniform in
[-1, 1], the one whose sketch half is closest to the sketch by KL divergence of grey-level
distributions; then Nesterov descent over ``z`` (clipped to [-1, 1]) on ``||M*G(z) - M*x||_1 +
lambda * log(1 - D(G(z)))``; the photo is the right half of ``G(z)``. The gradients come from
torch autograd through the loaded graphs, which is why this needs TorchScript files: an ONNX
runtime only runs them forward (it can sample ``G`` and score ``D``, not descend).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

KL_EPS = 1e-4  # as latent_search.KL_EPS: added to brightness in [0, 1] before normalising


def load_networks(path: str | os.PathLike) -> tuple[Any, Any, dict[str, Any]]:
    """``(G, D, side-file dict)`` from the generator file written by the export."""
    path = Path(path)
    spec = json.loads(path.with_name(path.name + ".json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, works
        generator, discriminator = (
            torch.jit.load(str(path.parent / name), map_location="cpu")
            for name in (spec["file"], spec["discriminator"]["file"])
        )
    return generator.eval(), discriminator.eval(), spec


def brightness(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> ``(N, H*W)`` grey-level distributions (ITU-R 601)."""
    r, g, b = images.unbind(1)
    mass = ((0.299 * r + 0.587 * g + 0.114 * b).flatten(1) + 1.0) / 2.0 + KL_EPS
    return mass / mass.sum(dim=1, keepdim=True)


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Row-wise ``KL(p || q)``."""
    return (p * (p.log() - q.log())).sum(dim=1)


def losses(
    generator: Any, discriminator: Any, known: torch.Tensor, z: torch.Tensor, settings: dict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``G(z)``, the per-sketch contextual loss and the perceptual loss."""
    images = generator(z)
    half = images[..., : known.shape[-1]]
    if settings["contextual"] == "l1":
        contextual = (half - known).abs().flatten(1).sum(dim=1)
    else:
        contextual = kl(brightness(half), brightness(known))
    logits = discriminator(images)
    paper = settings["perceptual"] == "paper"
    perceptual = -F.softplus(logits) if paper else F.softplus(-logits)
    return images, contextual, perceptual


def initial_codes(generator: Any, known: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """The refined initialisation: per sketch, the candidate with the lowest KL score."""
    target = brightness(known)
    with torch.no_grad():
        scores = torch.stack(
            [
                kl(target, brightness(generator(candidates[:, k])[..., : known.shape[-1]]))
                for k in range(candidates.shape[1])
            ],
            dim=1,
        )
    return candidates[torch.arange(len(candidates)), scores.argmin(dim=1)]


def search(
    path: str | os.PathLike,
    sketches: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    iterations: int | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Complete uint8 sketches ``(N, S, S)`` (dark ink on white) into photos.

    ``candidates`` ``(N, n_init, z_dim)`` replaces the random initial codes (drawn from
    ``seed``); ``iterations`` overrides the side file's. Returns ``photo`` uint8 ``(N, S, S, 3)``,
    ``joint`` float ``(N, 3, S, 2S)``, ``z`` and the ``contextual`` loss per step ``(T+1, N)``.
    """
    generator, discriminator, spec = load_networks(path)
    settings = spec["search"]
    steps = settings["iterations"] if iterations is None else iterations
    gray = torch.from_numpy(np.asarray(sketches, dtype=np.uint8)).float() / 127.5 - 1.0
    known = gray.reshape(-1, 1, *gray.shape[-2:]).expand(-1, 3, -1, -1)
    if candidates is None:
        shape = (len(known), settings["n_init"], settings["z_dim"])
        candidates = np.random.default_rng(seed).uniform(-1, 1, shape)
    z = initial_codes(generator, known, torch.as_tensor(candidates, dtype=torch.float32))
    velocity, history = torch.zeros_like(z), []
    lr, momentum = settings["lr"], settings["momentum"]
    for step in range(steps + 1):  # the last pass only evaluates the final z
        z = z.detach().requires_grad_(step < steps)
        images, contextual, perceptual = losses(generator, discriminator, known, z, settings)
        history.append(contextual.detach())
        if step == steps:
            break
        objective = (contextual + settings["lambda_perceptual"] * perceptual).sum()
        (grad,) = torch.autograd.grad(objective, z)
        new_velocity = momentum * velocity - lr * grad
        z = (z.detach() - momentum * velocity + (1 + momentum) * new_velocity).clamp(-1.0, 1.0)
        velocity = new_velocity
    joint = images.detach()
    photo = joint[..., known.shape[-1] :].clamp(-1, 1).add(1).mul(127.5).round()
    return {
        "photo": photo.to(torch.uint8).permute(0, 2, 3, 1).numpy(),
        "joint": joint.numpy(),
        "z": z.detach().numpy(),
        "contextual": torch.stack(history).numpy(),
    }
