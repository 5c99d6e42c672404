"""Contextual GAN: a joint sketch|photo DCGAN, completed by a search over its latent space.

Lu, Wu, Tai, Tang, "Image Generation from Sketch Constraint Using Contextual GAN", ECCV 2018,
https://arxiv.org/abs/1711.08972. Implemented here, in the paper's words:

* **Joint image** -- a 64x128 image, sketch on the left and photo on the right
  (:func:`joint_from_batch`). A GAN learns the *joint* distribution from whole joint images;
  it never sees a masked image while training.
* **Contextual GAN** -- a DCGAN (Radford et al. 2016) widened to 4x8 -> 64x128
  (:class:`Generator`, :class:`Discriminator`), trained with the standard GAN loss, D then G.
* **Joint image completion** -- inference is a search, not a forward pass (:func:`latent_search`):
  (1) *refined initialisation*: of ``n_init`` = 30 random ``z`` per input keep the one whose
  known half is closest to the input by KL divergence; (2) *completion*: minimise the
  contextual loss ``||M*G(z) - M*x||_1`` plus ``lambda`` x the perceptual loss
  ``log(1 - D(G(z)))`` over ``z`` only, by gradient descent with Nesterov momentum, ``z``
  clipped to [-1, 1]; (3) the unknown half of ``G(z_hat)`` is the result. Masking the other
  half turns a photo into a sketch (:func:`photo_to_sketch`).

Reference code compared against: the authors' TensorFlow code, elliottwu/sText2Image
(``model.py``: the 64x128 DCGAN, KL initialisation with ``scipy.stats.entropy(input,
generated)`` over grayscale + 1, the KL contextual loss and, commented out, the L1 one as a
per-image sum; the Nesterov update ``v = m*v - lr*g; z += -m*v_prev + (1+m)*v;
z = clip(z, -1, 1)``; ``complete.py`` defaults lr 0.01, momentum 0.9, 1000 iterations),
itself built on carpedm20/DCGAN-tensorflow and Brandon Amos's DCGAN image completion.

Choices worth knowing (each differs from, or pins down, the reference code):

* The contextual L1 is a per-sketch **sum** over the known half's pixels (the L1 norm, as in
  the reference code) and the search minimises the **sum over sketches** of
  ``contextual_i + lambda * perceptual_i``. Nothing couples two sketches (G and D are frozen
  in eval mode), so each ``z_i`` gets exactly the gradient it would get alone, whatever the
  batch size; the reference code averaged the perceptual term over the batch instead. With
  the sum and the reference ``lr`` 0.01 the steps are large: on our small test models most
  coordinates of ``z`` reach the clip bounds within tens of steps (``lr=1e-3`` is gentler).
* G and D run in eval mode during the search (batch norm on running statistics); the
  reference code used each batch's statistics, which couples the sketches of a batch.
* The perceptual loss defaults to the paper's ``log(1 - D(G(z)))``; ``perceptual=
  "nonsaturating"`` gives the reference code's ``-log D(G(z))``.
* KL directions follow the reference code: initialisation scores ``KL(input || G(z))``, the
  KL contextual loss is ``KL(G(z) || input)``; ``1e-4`` is added to each pixel's brightness
  before normalising so that pure black ink gives a finite loss.
* The generator has batch norm + ReLU after its projection too, as DCGAN does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.losses import GANLoss
from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.layers import init_weights

CONTEXTUAL_KINDS = ("l1", "kl")
PERCEPTUAL_FORMS = ("paper", "nonsaturating")
INK_LEVEL = 0.8  # a pixel darker than this (in [-1, 1]; ~230 in uint8) counts as ink
KL_EPS = 1e-4  # added to brightness in [0, 1] before normalising to a distribution


@dataclass(frozen=True)
class ContextualGANConfig:
    """Hyperparameters; defaults are the paper's and its reference code's."""

    image_size: int = 64  # photo side; the joint image is 64 x 128 (paper)
    z_dim: int = 100  # DCGAN z, uniform in [-1, 1] (reference code z_dim=100)
    gf_dim: int = 64  # generator width (DCGAN gf_dim=64)
    df_dim: int = 64  # discriminator width (DCGAN df_dim=64)
    lr: float = 2e-4  # Adam learning rate (DCGAN)
    beta1: float = 0.5  # Adam beta1 (DCGAN)
    batch_size: int = 64  # training batch (DCGAN)
    n_init: int = 30  # random z drawn per input for the refined initialisation (paper)
    lambda_perceptual: float = 0.01  # weight of the perceptual loss in the search (paper)
    search_lr: float = 0.01  # search step size (reference code --lr 0.01)
    momentum: float = 0.9  # Nesterov momentum of the search (reference code --momentum 0.9)
    search_iters: int = 1000  # search iterations (reference code --nIter 1000)
    contextual: str = "l1"  # "l1": ||M*G(z) - M*x||_1 (paper); "kl": the reference code's
    perceptual: str = "paper"  # "paper": log(1 - D(G(z))); "nonsaturating": -log D(G(z))

    def __post_init__(self) -> None:
        """Reject sizes the architecture cannot make and unknown loss names."""
        _layer_count(self.image_size)
        if self.contextual not in CONTEXTUAL_KINDS:
            raise ValueError(f"contextual={self.contextual!r}: expected one of {CONTEXTUAL_KINDS}")
        if self.perceptual not in PERCEPTUAL_FORMS:
            raise ValueError(f"perceptual={self.perceptual!r}: expected one of {PERCEPTUAL_FORMS}")


def _layer_count(image_size: int) -> int:
    """Stride-2 layers between the 4x8 stem and an ``image_size x 2*image_size`` image."""
    layers = math.log2(image_size / 4) if image_size > 0 else 0.0
    if layers < 2 or not layers.is_integer():
        raise ValueError(f"image_size={image_size}: expected a power of two >= 16 (paper: 64)")
    return int(layers)


class Generator(nn.Module):
    """DCGAN generator of joint images: z ``(N, z_dim)`` -> ``(N, 3, S, 2S)`` in [-1, 1]."""

    def __init__(self, z_dim: int, gf_dim: int, image_size: int) -> None:
        super().__init__()
        layers = _layer_count(image_size)
        channels = gf_dim * 2 ** (layers - 1)  # 8*gf for the paper's 64 x 128
        self.z_dim = z_dim
        self.image_size = image_size
        self.project = nn.Linear(z_dim, channels * 4 * 8)
        self.stem = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        for i in range(layers):
            last = i == layers - 1
            out = 3 if last else channels // 2
            blocks.append(nn.ConvTranspose2d(channels, out, 5, 2, 2, output_padding=1, bias=last))
            blocks += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Joint images ``(N, 3, S, 2S)`` from codes ``(N, z_dim)``."""
        h = self.project(z).view(z.shape[0], -1, 4, 8)  # (N, 8gf, 4, 8)
        return self.blocks(self.stem(h))  # (N, 8gf, 4, 8) -> ... -> (N, 3, 64, 128)


class Discriminator(nn.Module):
    """DCGAN discriminator of joint images: ``(N, 3, S, 2S)`` -> ``(N,)`` logits."""

    def __init__(self, df_dim: int, image_size: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = 3
        for i in range(_layer_count(image_size)):
            out = df_dim * 2**i  # df, 2df, 4df, 8df
            blocks.append(nn.Conv2d(channels, out, 5, 2, 2, bias=i == 0))
            blocks += [nn.BatchNorm2d(out)] if i > 0 else []
            blocks.append(nn.LeakyReLU(0.2, inplace=True))
            channels = out
        self.features = nn.Sequential(*blocks)
        self.classify = nn.Linear(channels * 4 * 8, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """One real-vs-fake logit per joint image."""
        h = self.features(images)  # (N, 8df, 4, 8)
        return self.classify(h.flatten(1)).squeeze(1)  # (N,)


def joint_from_batch(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sketch ``(N, 1, H, W)`` (3 gray channels) | photo ``(N, 3, H, W)`` -> ``(N, 3, H, 2W)``."""
    sketch, photo = batch["sketch"], batch["photo"]
    if sketch.shape[-2:] != photo.shape[-2:]:
        raise ValueError(
            f"sketch {tuple(sketch.shape[-2:])} and photo {tuple(photo.shape[-2:])} differ in size"
        )
    return torch.cat([sketch.expand(-1, 3, -1, -1), photo], dim=3)


def split_joint(images: torch.Tensor, mask_side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 3, S, 2S)`` -> (known half, unknown half); the mask M covers ``mask_side``."""
    size = images.shape[-2]
    left, right = images[..., :size], images[..., size:]
    return (left, right) if mask_side == "left" else (right, left)


# ---------------------------------------------------------------- losses of the search


def brightness_distribution(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> ``(N, H*W)``: grayscale brightness normalised to sum 1."""
    r, g, b = images.unbind(1)
    gray = 0.299 * r + 0.587 * g + 0.114 * b  # ITU-R 601, as tf.image.rgb_to_grayscale
    mass = (gray.flatten(1) + 1.0) / 2.0 + KL_EPS
    return mass / mass.sum(dim=1, keepdim=True)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Row-wise ``KL(p || q)`` of ``(N, D)`` distributions -> ``(N,)``."""
    return (p * (p.log() - q.log())).sum(dim=1)


def contextual_loss(generated: torch.Tensor, known: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sketch contextual loss ``(N,)`` between G(z)'s known half and the input half.

    ``"l1"``: ``||M*G(z) - M*x||_1``, i.e. the L1 *sum* over the known half (M is 1 there,
    0 elsewhere). ``"kl"``: ``KL(G(z) || x)`` of their brightness distributions.
    """
    if kind == "l1":
        return (generated - known).abs().flatten(1).sum(dim=1)
    return kl_divergence(brightness_distribution(generated), brightness_distribution(known))


def perceptual_loss(logits: torch.Tensor, form: str) -> torch.Tensor:
    """Per-image perceptual loss ``(N,)`` from D's logits: the paper's ``log(1 - D(G(z)))``."""
    if form == "paper":
        return -F.softplus(logits)  # log(1 - sigmoid(l)) = -softplus(l)
    return F.softplus(-logits)  # -log sigmoid(l), the reference code's g_loss


# ---------------------------------------------------------------- the latent search


@dataclass(frozen=True)
class SearchSettings:
    """The knobs of :func:`latent_search` (defaults from :class:`ContextualGANConfig`)."""

    iterations: int = 1000
    n_init: int = 30
    lr: float = 0.01
    momentum: float = 0.9
    lambda_perceptual: float = 0.01
    contextual: str = "l1"
    perceptual: str = "paper"


def search_settings(
    config: ContextualGANConfig | None = None, **overrides: object
) -> SearchSettings:
    """Search settings from a model config, with keyword overrides (``iterations=200``)."""
    config = config or ContextualGANConfig()
    settings = SearchSettings(
        iterations=config.search_iters,
        n_init=config.n_init,
        lr=config.search_lr,
        momentum=config.momentum,
        lambda_perceptual=config.lambda_perceptual,
        contextual=config.contextual,
        perceptual=config.perceptual,
    )
    return dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class SearchProgress:
    """What a search reports to its callback: once after the initialisation, then every step."""

    stage: str  # "init" or "completion"
    iteration: int  # completed update steps (0 .. iterations)
    iterations: int
    contextual: torch.Tensor | None = None  # (N,) per-sketch contextual loss at this iteration
    perceptual: torch.Tensor | None = None  # (N,)
    images: torch.Tensor | None = None  # (N, 3, S, 2S) G(z) on snapshot iterations, else None
    init_scores: torch.Tensor | None = None  # "init" only: (N, n_init) KL of every candidate
    init_indices: torch.Tensor | None = None  # "init" only: (N,) chosen candidate
    candidates: torch.Tensor | None = None  # "init" only, if kept: (N, n_init, 3, S, 2S)


@dataclass
class SearchResult:
    """Outcome of :func:`latent_search`; loss histories and snapshots live on the CPU."""

    z_hat: torch.Tensor  # (N, z_dim)
    images: torch.Tensor  # (N, 3, S, 2S) = G(z_hat)
    completion: torch.Tensor  # (N, 3, S, S): the unknown half (the photo, or the sketch)
    contextual: torch.Tensor  # (T+1, N): row t = loss after t steps; row 0 = chosen init
    perceptual: torch.Tensor  # (T+1, N)
    init_indices: torch.Tensor  # (N,) candidate kept by the refined initialisation
    init_scores: torch.Tensor  # (N, n_init) KL(input || G(z_k)) of every candidate
    mask_side: str = "left"
    candidates: torch.Tensor | None = None  # (N, n_init, 3, S, 2S) when keep_candidates
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)

    @property
    def iterations(self) -> int:
        """Update steps run (fewer than asked when a callback stopped the search)."""
        return self.contextual.shape[0] - 1

    @property
    def mean_contextual(self) -> torch.Tensor:
        """``(T+1,)`` contextual loss averaged over the sketches, per iteration."""
        return self.contextual.mean(dim=1)


class SearchDivergedError(FloatingPointError):
    """The search produced a non-finite loss; ``sketch_indices`` says for which inputs."""

    def __init__(self, sketch_indices: list[int], iteration: int) -> None:
        self.sketch_indices = sketch_indices
        self.iteration = iteration
        super().__init__(
            f"latent search stopped at iteration {iteration}: the loss of "
            f"{_sketches(sketch_indices, verb=False)} became NaN or inf"
        )


def _sketches(indices: list[int], verb: bool = True) -> str:
    """'sketch 2 is' / 'sketches 1, 3 are' (or without the verb)."""
    if len(indices) == 1:
        return f"sketch {indices[0]}" + (" is" if verb else "")
    return f"sketches {', '.join(map(str, indices))}" + (" are" if verb else "")


def prepare_known_half(known: torch.Tensor, size: int, mask_side: str = "left") -> torch.Tensor:
    """Validate the known half: ``(N, 1|3, H, W)`` -> ``(N, 3, size, size)``.

    Wrong sizes are resized with a warning; non-finite values, and (for sketches) blank
    inputs without ink, raise ``ValueError`` naming the sketch index.
    """
    if known.ndim == 3:
        known = known.unsqueeze(0)
    if known.ndim != 4 or known.shape[1] not in (1, 3):
        raise ValueError(f"expected a (N, 1|3, H, W) tensor, got shape {tuple(known.shape)}")
    known = (known if known.is_floating_point() else known.float()).expand(-1, 3, -1, -1)
    bad = (~torch.isfinite(known)).flatten(1).any(dim=1).nonzero().flatten().tolist()
    if bad:
        raise ValueError(f"input(s) {bad} contain NaN or inf")
    if tuple(known.shape[-2:]) != (size, size):
        height, width = known.shape[-2:]
        warnings.warn(
            f"input of size {height}x{width} resized to the model's {size}x{size}", stacklevel=3
        )
        known = F.interpolate(known, (size, size), mode="bilinear", antialias=True).clamp(-1, 1)
    if mask_side == "left":
        blank = (known.amin(dim=1) >= INK_LEVEL).flatten(1).all(dim=1).nonzero().flatten()
        if blank.numel():
            raise ValueError(f"{_sketches(blank.tolist())} blank (no ink): draw something first")
    return known.contiguous()


def draw_candidates(
    n: int, n_init: int, z_dim: int, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """``(n, n_init, z_dim)`` latent codes, uniform in [-1, 1] (as DCGAN), from ``generator``."""
    where = generator.device if generator is not None else torch.device("cpu")
    z = torch.rand((n, n_init, z_dim), generator=generator, device=where) * 2 - 1
    return z.to(device)


@torch.no_grad()
def refined_initialisation(
    generator_net: nn.Module,
    known: torch.Tensor,
    candidates: torch.Tensor,
    *,
    mask_side: str = "left",
    keep_images: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Step 1: per input, keep the candidate z whose known half is closest by KL divergence.

    Returns ``(z0 (N, z_dim), chosen (N,), scores (N, n_init), images or None)``.
    """
    target = brightness_distribution(known)
    scores, images = [], []
    for k in range(candidates.shape[1]):  # one batch of N images per draw, as the authors
        out = generator_net(candidates[:, k])  # (N, 3, S, 2S)
        half = split_joint(out, mask_side)[0]
        scores.append(kl_divergence(target, brightness_distribution(half)))
        if keep_images:
            images.append(out.cpu())
    score = torch.stack(scores, dim=1)  # (N, n_init)
    chosen = score.argmin(dim=1)
    z0 = candidates[torch.arange(candidates.shape[0], device=chosen.device), chosen]
    return z0, chosen, score, torch.stack(images, dim=1) if keep_images else None


def nesterov_step(
    z: torch.Tensor, velocity: torch.Tensor, grad: torch.Tensor, lr: float, momentum: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Nesterov update in the reference code's form, then ``z`` clipped to [-1, 1].

    Equal to ``torch.optim.SGD(lr, momentum, nesterov=True)``; element-wise, so each
    sketch's ``z`` keeps its own optimiser state.
    """
    new_velocity = momentum * velocity - lr * grad
    z = z - momentum * velocity + (1 + momentum) * new_velocity
    return z.clamp(-1.0, 1.0), new_velocity


def search_objective(
    generator_net: nn.Module,
    discriminator_net: nn.Module,
    known: torch.Tensor,
    z: torch.Tensor,
    settings: SearchSettings,
    mask_side: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``G(z)`` and the per-sketch contextual and perceptual losses ``(N,)`` of step 2."""
    images = generator_net(z)  # (N, 3, S, 2S)
    generated_known = split_joint(images, mask_side)[0]
    contextual = contextual_loss(generated_known, known, settings.contextual)
    perceptual = perceptual_loss(discriminator_net(images), settings.perceptual)
    return images, contextual, perceptual


def _raise_if_diverged(contextual: torch.Tensor, perceptual: torch.Tensor, iteration: int) -> None:
    bad = ~(torch.isfinite(contextual) & torch.isfinite(perceptual))
    if bool(bad.any()):
        raise SearchDivergedError(bad.nonzero().flatten().tolist(), iteration)


@contextlib.contextmanager
def frozen(*nets: nn.Module) -> Iterator[None]:
    """Eval mode (batch norm on running statistics), no parameter gradients; restored on exit."""
    saved = [(net, net.training, [p.requires_grad for p in net.parameters()]) for net in nets]
    try:
        for net in nets:
            net.eval().requires_grad_(False)
        yield
    finally:
        for net, training, flags in saved:
            net.train(training)
            for parameter, flag in zip(net.parameters(), flags, strict=True):
                parameter.requires_grad_(flag)


Callback = Callable[[SearchProgress], object]


def _completion(
    generator_net: nn.Module,
    discriminator_net: nn.Module,
    known: torch.Tensor,
    z: torch.Tensor,
    settings: SearchSettings,
    mask_side: str,
    callback: Callback | None,
    snapshot_every: int,
    bar: Any,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[tuple[int, torch.Tensor]]]:
    """Step 2: minimise contextual + lambda * perceptual over z; returns z_hat and the records."""
    velocity = torch.zeros_like(z)
    history: list[tuple[torch.Tensor, torch.Tensor]] = []
    snapshots: list[tuple[int, torch.Tensor]] = []
    for step in range(settings.iterations + 1):  # the last pass only evaluates z_hat
        z = z.detach().requires_grad_(step < settings.iterations)
        images, contextual, perceptual = search_objective(
            generator_net, discriminator_net, known, z, settings, mask_side
        )
        _raise_if_diverged(contextual, perceptual, step)
        history.append((contextual.detach().cpu(), perceptual.detach().cpu()))
        last = step == settings.iterations
        snap = None
        if snapshot_every and (step % snapshot_every == 0 or last):
            snap = images.detach().cpu()
            snapshots.append((step, snap))
        if callback is not None:
            report = SearchProgress(
                "completion",
                step,
                settings.iterations,
                contextual=history[-1][0],
                perceptual=history[-1][1],
                images=snap,
            )
            last = last or callback(report) is True  # a callback returning True stops
        if last:
            break
        # Sum over sketches: each z_i's gradient is its own loss's, independent of the batch.
        objective = (contextual + settings.lambda_perceptual * perceptual).sum()
        (grad,) = torch.autograd.grad(objective, z)
        z, velocity = nesterov_step(z.detach(), velocity, grad, settings.lr, settings.momentum)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(contextual=f"{float(history[-1][0].mean()):.4g}", refresh=False)
    contextual_history = torch.stack([c for c, _ in history])
    perceptual_history = torch.stack([p for _, p in history])
    return z.detach(), images.detach(), contextual_history, perceptual_history, snapshots


def latent_search(
    generator_net: nn.Module,
    discriminator_net: nn.Module,
    known_half: torch.Tensor,
    *,
    mask_side: str = "left",
    settings: SearchSettings | None = None,
    generator: torch.Generator | None = None,
    z_candidates: torch.Tensor | None = None,
    callback: Callback | None = None,
    snapshot_every: int = 0,
    keep_candidates: bool = False,
    progress: bool = False,
    **overrides: object,
) -> SearchResult:
    """Complete joint images from their known half by a search in G's latent space.

    The paper's joint image completion: (1) :func:`refined_initialisation`, (2) Nesterov
    descent on ``sum_i contextual_i + lambda * perceptual_i`` over z, (3) the unknown half.

    Parameters
    ----------
    generator_net, discriminator_net
        The trained joint-image G and D; frozen (eval mode, no parameter gradients) meanwhile.
    known_half
        ``(N, 1|3, S, S)`` in [-1, 1]: sketches (``mask_side="left"``, the mask M covers the
        left half) or photos (``mask_side="right"``). Other sizes are resized with a warning.
    settings, overrides
        :class:`SearchSettings`; keywords such as ``iterations=200`` or ``n_init=10`` override.
    generator
        ``torch.Generator`` for the initial candidates (same seed -> same result).
    z_candidates
        ``(N, n_init, z_dim)`` initial candidates to use instead of drawing them.
    callback
        Called with a :class:`SearchProgress` after the initialisation and after every step;
        returning ``True`` stops the search early.
    snapshot_every
        Keep ``G(z)`` every this many steps (and at the end) in ``result.snapshots``; 0 = never.
    keep_candidates
        Keep all candidate images in ``result.candidates``.
    progress
        Show a ``tqdm`` bar.
    """
    if mask_side not in ("left", "right"):
        raise ValueError(f"mask_side={mask_side!r}: expected 'left' (sketch known) or 'right'")
    settings = dataclasses.replace(
        settings or SearchSettings(), **{k: v for k, v in overrides.items() if v is not None}
    )
    parameter = next(generator_net.parameters())  # inputs follow G's device and dtype
    device, dtype = parameter.device, parameter.dtype
    size = int(generator_net.image_size)  # type: ignore[arg-type]
    known = prepare_known_half(known_half, size, mask_side).to(device, dtype)
    if z_candidates is None:
        z_dim = int(generator_net.z_dim)  # type: ignore[arg-type]
        z_candidates = draw_candidates(len(known), settings.n_init, z_dim, generator, device)
    with frozen(generator_net, discriminator_net), torch.enable_grad():
        z0, chosen, scores, candidates = refined_initialisation(
            generator_net,
            known,
            z_candidates.to(device, dtype),
            mask_side=mask_side,
            keep_images=keep_candidates,
        )
        if callback is not None:
            callback(
                SearchProgress(
                    "init",
                    0,
                    settings.iterations,
                    init_scores=scores.cpu(),
                    init_indices=chosen.cpu(),
                    candidates=candidates,
                )
            )
        bar = _progress_bar(settings.iterations) if progress else None
        try:
            z_hat, images, contextual, perceptual, snapshots = _completion(
                generator_net,
                discriminator_net,
                known,
                z0,
                settings,
                mask_side,
                callback,
                snapshot_every,
                bar,
            )
        finally:
            if bar is not None:
                bar.close()
    return SearchResult(
        z_hat=z_hat,
        images=images,
        completion=split_joint(images, mask_side)[1].contiguous(),
        contextual=contextual,
        perceptual=perceptual,
        init_indices=chosen.cpu(),
        init_scores=scores.cpu(),
        mask_side=mask_side,
        candidates=candidates,
        snapshots=snapshots,
    )


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="latent search", leave=False)


# ---------------------------------------------------------------- the model


class ContextualGAN(SketchModel):
    """Contextual GAN: train a joint-image DCGAN; generate by :func:`latent_search`."""

    name = "contextual_gan"
    config_class = ContextualGANConfig
    network_names = ("generator", "discriminator")

    def __init__(self, config: ContextualGANConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        self.generator = Generator(cfg.z_dim, cfg.gf_dim, cfg.image_size)
        self.discriminator = Discriminator(cfg.df_dim, cfg.image_size)
        self.gan_loss = GANLoss("vanilla")  # standard GAN loss on logits (DCGAN)
        init_weights(self)  # DCGAN: weights N(0, 0.02), batch-norm scale N(1, 0.02)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(lr, (beta1, 0.999)) for G and for D (DCGAN)."""
        betas = (self.config.beta1, 0.999)
        return {
            "G": torch.optim.Adam(self.generator.parameters(), lr=self.config.lr, betas=betas),
            "D": torch.optim.Adam(self.discriminator.parameters(), lr=self.config.lr, betas=betas),
        }

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, z_dim)`` codes uniform in [-1, 1] on the model's device."""
        return draw_candidates(n, 1, self.config.z_dim, generator, self.device)[:, 0]

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """One DCGAN update on whole joint images: D, then G (non-saturating loss)."""
        real = self._joint(batch)  # (N, 3, 64, 128)
        fake = self.generator(self.sample_z(real.shape[0]))
        losses = self._discriminator_step(real, fake.detach(), optimizers["D"])
        losses["G/gan"] = self._generator_step(fake, optimizers["G"])
        return losses

    def _joint(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        joint = joint_from_batch(batch).to(self.device)
        size = self.image_size
        if tuple(joint.shape[-2:]) != (size, 2 * size):
            raise ValueError(
                f"contextual_gan needs {size}x{size} sketches and photos (joint {size}x{2 * size}),"
                f" got {joint.shape[-2]}x{joint.shape[-1] // 2}; build the data with size={size}"
            )
        return joint

    def _discriminator_step(
        self, real: torch.Tensor, fake: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> dict[str, torch.Tensor]:
        optimizer.zero_grad(set_to_none=True)
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        loss_real = self.gan_loss(real_logits, True)
        loss_fake = self.gan_loss(fake_logits, False)
        (loss_real + loss_fake).backward()
        optimizer.step()
        return {
            "D/real": loss_real.detach(),
            "D/fake": loss_fake.detach(),
            "D/acc_real": (real_logits.detach() > 0).float().mean(),
            "D/acc_fake": (fake_logits.detach() < 0).float().mean(),
        }

    def _generator_step(self, fake: torch.Tensor, optimizer: torch.optim.Optimizer) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with frozen(self.discriminator):
            self.discriminator.train()  # same batch-norm mode as in the D step
            logits = self.discriminator(fake)
            loss = self.gan_loss(logits, True)  # non-saturating: -log D(G(z))
            loss.backward()
        optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """D's losses and accuracy on held-out real vs fixed-seed fake joint images (eval mode)."""
        real = self._joint(batch)
        z = self.sample_z(real.shape[0], torch.Generator().manual_seed(0))
        with frozen(self.generator, self.discriminator):
            real_logits = self.discriminator(real)
            fake_logits = self.discriminator(self.generator(z))
        return {
            "val/d_real": self.gan_loss(real_logits, True),
            "val/d_fake": self.gan_loss(fake_logits, False),
            "val/d_acc_real": (real_logits > 0).float().mean(),
            "val/d_acc_fake": (fake_logits < 0).float().mean(),
        }

    def search(self, known_half: torch.Tensor, **options: Any) -> SearchResult:
        """:func:`latent_search` with this model's G, D and config; same keywords.

        ``model.search(sketches, iterations=200, callback=show)``; setting names (``iterations``,
        ``n_init``, ``lr``, ...) override the config for this call.
        """
        settings = search_settings(self.config)
        known = known_half.to(self.device)
        return latent_search(
            self.generator, self.discriminator, known, settings=settings, **options
        )

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        label: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sketches ``(N, 1, S, S)`` -> photos ``(N, 3, S, S)`` by the latent search."""
        return self.search(sketch, generator=generator).completion


def photo_to_sketch(model: ContextualGAN, photo: torch.Tensor, **options: Any) -> SearchResult:
    """Photos ``(N, 3, S, S)`` in [-1, 1] -> sketches: the same search with the left half masked.

    ``result.completion`` is the sketch half ``(N, 3, S, S)``; keywords as :func:`latent_search`.
    """
    return model.search(photo, mask_side="right", **options)
