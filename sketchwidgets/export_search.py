"""Contextual GAN's search run from its exported TorchScript files: a reference loop.

Self-contained on purpose (torch, numpy and the standard library; from sketchwidgets only the
sketch normaliser, imported when ``normalise=True`` and the side file holds the model's
``line_stats``, so that a drawing is redrawn in the training sketches' style exactly as
``generate`` does; ``normalise=False`` runs without sketchwidgets): copy it beside
``cgan.pt``, ``cgan.discriminator.pt``, ``cgan.encoder.pt`` (written for a model with a
sketch encoder) and ``cgan.pt.json`` written by
``sketchwidgets.export.export(model, "cgan.pt", format="torchscript")`` and run::

    photos = search("cgan.pt", sketches)["photo"]  # uint8 (N, S, S) sketches -> uint8 RGB

The same steps as :meth:`sketchwidgets.models.contextual_gan.ContextualGAN.search` (Lu et al.,
ECCV 2018, Sec. 3.3), with the settings stored in the side file. The start: when the side file
names an encoder, its code for each sketch (one candidate a sketch, as the model's search
starts); else the paper's refined initialisation, keeping, of ``n_init`` codes uniform in
[-t, t] (or of one shared pool of ``init_pool`` codes), the one whose sketch half is closest to
the sketch (by KL divergence of grey-level distributions, or by the contextual loss). Then
Nesterov descent over ``z`` (clipped to [-t, t]; t = ``truncation``, 1 in the paper) on
``||M*G(z) - M*x||_1 + lambda * log(1 - D(G(z)))``, the L1 optionally ink-balanced and taken
between blurred halves; the photo is the right half of ``G(z)``. The gradients come from
torch autograd through the loaded graphs, which is why this needs TorchScript files: an ONNX
runtime only runs them forward (it can encode with ``E``, sample ``G`` and score ``D``, not
descend).
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
INK_SPLIT = 0.0  # as latent_search.INK_SPLIT: a known pixel darker than this is ink


def load_networks(path: str | os.PathLike) -> tuple[Any, Any, dict[str, Any]]:
    """``(G, D, side-file dict)`` from the generator file written by the export."""
    path = Path(path)
    spec = json.loads(path.with_name(path.name + ".json").read_text())
    generator = _load_graph(path.parent / spec["file"])
    discriminator = _load_graph(path.parent / spec["discriminator"]["file"])
    return generator, discriminator, spec


def load_encoder(path: str | os.PathLike, spec: dict[str, Any]) -> Any | None:
    """The sketch encoder ``E`` the side file ``spec`` of generator file ``path`` names, or
    ``None`` when the model has none (the paper's configuration)."""
    if "encoder" not in spec:
        return None
    return _load_graph(Path(path).parent / spec["encoder"]["file"])


def _load_graph(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, works
        return torch.jit.load(str(path), map_location="cpu").eval()


def brightness(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> ``(N, H*W)`` grey-level distributions (ITU-R 601)."""
    r, g, b = images.unbind(1)
    mass = ((0.299 * r + 0.587 * g + 0.114 * b).flatten(1) + 1.0) / 2.0 + KL_EPS
    return mass / mass.sum(dim=1, keepdim=True)


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Row-wise ``KL(p || q)``."""
    return (p * (p.log() - q.log())).sum(dim=1)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur (radius 3 sigma, edges replicated), as latent_search.gaussian_blur."""
    if sigma <= 0:
        return images
    radius = max(1, round(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum())[:, None] * (kernel / kernel.sum())[None, :]
    channels = images.shape[1]
    padded = F.pad(images, (radius,) * 4, mode="replicate")
    return F.conv2d(padded, kernel.expand(channels, 1, -1, -1).contiguous(), groups=channels)


def ink_weights(known: torch.Tensor) -> torch.Tensor:
    """Ink and paper of each known half as two equal classes (latent_search's ink-balanced L1)."""
    ink = (known.mean(dim=1, keepdim=True) < INK_SPLIT).float()
    pixels = ink[0].numel()
    n_ink = ink.flatten(1).sum(dim=1).view(-1, 1, 1, 1)
    n_paper = pixels - n_ink
    weights = ink * 0.5 * pixels / n_ink.clamp(min=1) + (1 - ink) * 0.5 * pixels / n_paper.clamp(
        min=1
    )
    both = (n_ink > 0) & (n_paper > 0)
    return torch.where(both, weights, torch.ones_like(weights))


def contextual_loss(half: torch.Tensor, known: torch.Tensor, settings: dict) -> torch.Tensor:
    """Per-sketch contextual loss of generated known halves against the sketches."""
    sigma = settings.get("blur", 0.0)
    if settings["contextual"] == "kl":
        return kl(brightness(blur(half, sigma)), brightness(blur(known, sigma)))
    difference = (blur(half, sigma) - blur(known, sigma)).abs()
    if settings["contextual"] == "ink_l1":
        difference = difference * ink_weights(known)
    return difference.flatten(1).sum(dim=1)


def losses(
    generator: Any, discriminator: Any, known: torch.Tensor, z: torch.Tensor, settings: dict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``G(z)``, the per-sketch contextual loss and the perceptual loss."""
    images = generator(z)
    contextual = contextual_loss(images[..., : known.shape[-1]], known, settings)
    logits = discriminator(images)
    paper = settings["perceptual"] == "paper"
    perceptual = -F.softplus(logits) if paper else F.softplus(-logits)
    return images, contextual, perceptual


def initial_codes(
    generator: Any, known: torch.Tensor, candidates: torch.Tensor, settings: dict
) -> torch.Tensor:
    """The refined initialisation: per sketch, the candidate ``(N, K, z_dim)`` scoring lowest
    (KL(sketch || G(z)) of grey levels, or the contextual loss with init_score "contextual")."""

    def score(k: int) -> torch.Tensor:
        half = generator(candidates[:, k])[..., : known.shape[-1]]
        if settings.get("init_score", "kl") == "contextual":
            return contextual_loss(half, known, settings)
        return kl(brightness(known), brightness(half))

    with torch.no_grad():
        scores = torch.stack([score(k) for k in range(candidates.shape[1])], dim=1)
    return candidates[torch.arange(len(candidates)), scores.argmin(dim=1)]


def starting_candidates(
    encoder: Any | None, known: torch.Tensor, settings: dict, seed: int
) -> torch.Tensor | np.ndarray:
    """``(N, K, z_dim)`` codes the search starts from: ``E(sketch)`` (K = 1) with an encoder,
    else ``n_init`` codes uniform in [-t, t] per sketch, or one shared pool of ``init_pool``."""
    if encoder is not None:
        with torch.no_grad():
            return encoder(known).unsqueeze(1)
    bound = settings.get("truncation", 1.0)
    rng = np.random.default_rng(seed)
    pool = settings.get("init_pool", 0)
    if pool > 0:  # one shared pool, every sketch choosing from all of it
        shared = rng.uniform(-bound, bound, (pool, settings["z_dim"]))
        return np.broadcast_to(shared, (len(known), *shared.shape))
    return rng.uniform(-bound, bound, (len(known), settings["n_init"], settings["z_dim"]))


def normalised_sketches(sketches: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """uint8 ``(N, S, S)`` sketches redrawn to the side file's ``line_stats`` by sketchwidgets'
    one normaliser (unchanged when the side file records none)."""
    array = np.asarray(sketches, dtype=np.uint8)
    if spec.get("line_stats") is None:
        return array
    from sketchwidgets.line_stats import LineStats
    from sketchwidgets.sketch_normaliser import normalise_sketch

    target = LineStats.from_dict(spec["line_stats"]).at_size(array.shape[-1])
    flat = array.reshape(-1, *array.shape[-2:])
    return np.stack([normalise_sketch(sketch, target) for sketch in flat]).reshape(array.shape)


def search(
    path: str | os.PathLike,
    sketches: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    iterations: int | None = None,
    seed: int = 0,
    normalise: bool = True,
) -> dict[str, np.ndarray]:
    """Complete uint8 sketches ``(N, S, S)`` (dark ink on white) into photos.

    ``normalise``: redraw each sketch in the training sketches' style first
    (:func:`normalised_sketches`) when the side file records their line statistics.

    ``candidates`` ``(N, n_init, z_dim)`` replaces the initial codes: the encoder's code when
    the export has an encoder (``seed`` then unused), else random ones drawn from ``seed``;
    ``iterations`` overrides the side file's. Returns ``photo`` uint8 ``(N, S, S, 3)``,
    ``joint`` float ``(N, 3, S, 2S)``, ``z`` and the ``contextual`` loss per step ``(T+1, N)``.
    """
    generator, discriminator, spec = load_networks(path)
    settings = spec["search"]
    steps = settings["iterations"] if iterations is None else iterations
    sketches = normalised_sketches(sketches, spec) if normalise else sketches
    gray = torch.from_numpy(np.asarray(sketches, dtype=np.uint8)).float() / 127.5 - 1.0
    known = gray.reshape(-1, 1, *gray.shape[-2:]).expand(-1, 3, -1, -1).contiguous()
    if candidates is None:
        candidates = starting_candidates(load_encoder(path, spec), known, settings, seed)
    z = initial_codes(generator, known, torch.as_tensor(candidates, dtype=torch.float32), settings)
    bound = settings.get("truncation", 1.0)
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
        z = (z.detach() - momentum * velocity + (1 + momentum) * new_velocity).clamp(-bound, bound)
        velocity = new_velocity
    joint = images.detach()
    photo = joint[..., known.shape[-1] :].clamp(-1, 1).add(1).mul(127.5).round()
    return {
        "photo": photo.to(torch.uint8).permute(0, 2, 3, 1).numpy(),
        "joint": joint.numpy(),
        "z": z.detach().numpy(),
        "contextual": torch.stack(history).numpy(),
    }
