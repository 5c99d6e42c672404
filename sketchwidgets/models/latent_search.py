"""Joint image completion: the latent search of Contextual GAN, beside Sec. 3.3 of the paper.

Lu, Wu, Tai, Tang, "Image Generation from Sketch Constraint Using Contextual GAN", ECCV 2018,
https://arxiv.org/abs/1711.08972, Sec. 3.3. Inference is a search, not a forward pass: given
the trained joint-image G and D (:mod:`sketchwidgets.models.contextual_gan`, passed in as
arguments) and the known half of a joint image, :func:`latent_search` finds the code
``z_hat`` whose ``G(z_hat)`` agrees with it:

1. *refined initialisation* (:func:`refined_initialisation`): of ``n_init`` = 30 random ``z``
   per input keep the one whose known half is closest to the input by KL divergence;
2. *completion* (:func:`_completion`): minimise the contextual loss ``||M*G(z) - M*x||_1``
   (:func:`contextual_loss`) plus ``lambda`` x the perceptual loss ``log(1 - D(G(z)))``
   (:func:`perceptual_loss`) over ``z`` only, by gradient descent with Nesterov momentum
   (:func:`nesterov_step`), ``z`` clipped to [-1, 1];
3. the unknown half of ``G(z_hat)`` is the result (:class:`SearchResult`). Masking the other
   half turns a photo into a sketch (``mask_side="right"``).

Reference code compared against: the authors' TensorFlow code, elliottwu/sText2Image
(``model.py``: KL initialisation with ``scipy.stats.entropy(input, generated)`` over grayscale
+ 1, the KL contextual loss and, commented out, the L1 one as a per-image sum; the Nesterov
update ``v = m*v - lr*g; z += -m*v_prev + (1+m)*v; z = clip(z, -1, 1)``; ``complete.py``
defaults lr 0.01, momentum 0.9, 1000 iterations), itself built on Brandon Amos's DCGAN image
completion.

Choices that differ from, or pin down, the reference code (why, and what was measured:
docs/findings/contextual_gan.md):

* the contextual L1 is a per-sketch **sum** (the L1 norm, as the reference code), and the
  search minimises its sum over sketches, so each ``z_i`` gets the gradient it would alone;
* G and D run in eval mode (the reference code used each batch's statistics);
  :meth:`ContextualGAN.search` passes a G with re-estimated statistics (``standing_stats``);
* ``perceptual``: the paper's ``log(1 - D(G(z)))`` or the reference code's ``-log D(G(z))``;
* ``contextual="ink_l1"``: ink and paper of the input as two equal classes
  (:func:`ink_balanced_weights`); ``blur``: a Gaussian blur of both halves before the loss;
* ``init_score``: candidates ranked by that contextual loss instead of KL; ``init_pool``: one
  pool shared by every input (:func:`pool_initialisation`); ``truncation``: ``[-t, t]``;
* KL directions as the reference code: ``KL(input || G(z))`` to initialise, ``KL(G(z) ||
  input)`` as the KL contextual loss, ``1e-4`` added to each brightness before normalising.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.models.losses import ink_balanced_weights

if TYPE_CHECKING:  # pragma: no cover - annotation only; contextual_gan imports this module
    from sketchwidgets.models.contextual_gan import ContextualGANConfig

CONTEXTUAL_KINDS = ("l1", "kl", "ink_l1")
PERCEPTUAL_FORMS = ("paper", "nonsaturating")
INIT_SCORES = ("kl", "contextual")
INK_LEVEL = 0.8  # a pixel darker than this (in [-1, 1]; ~230 in uint8) counts as ink
KL_EPS = 1e-4  # added to brightness in [0, 1] before normalising to a distribution
INK_SPLIT = 0.0  # for the ink-balanced L1, a known pixel below this gray level is ink


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


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)`` (radius 3 sigma, edges replicated)."""
    if sigma <= 0:
        return images
    radius = max(1, round(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    row = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    out = F.conv2d(F.pad(images, (radius, radius, 0, 0), mode="replicate"), row, groups=channels)
    column = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="replicate"), column, groups=channels)


def contextual_loss(
    generated: torch.Tensor, known: torch.Tensor, kind: str, blur: float = 0.0
) -> torch.Tensor:
    """Per-sketch contextual loss ``(N,)`` between G(z)'s known half and the input half.

    ``"l1"``: ``||M*G(z) - M*x||_1``, i.e. the L1 *sum* over the known half (M is 1 there,
    0 elsewhere). ``"ink_l1"``: the same sum, each pixel weighted by
    :func:`ink_balanced_weights` of the input. ``"kl"``: ``KL(G(z) || x)`` of their
    brightness distributions. ``blur`` > 0: both halves are first blurred by a Gaussian of
    that sigma (pixels), so a stroke a pixel or two off costs less than a missing one.
    """
    if kind == "kl":
        return kl_divergence(
            brightness_distribution(gaussian_blur(generated, blur)),
            brightness_distribution(gaussian_blur(known, blur)),
        )
    difference = (gaussian_blur(generated, blur) - gaussian_blur(known, blur)).abs()
    if kind == "ink_l1":
        difference = difference * ink_balanced_weights(known, INK_SPLIT)
    return difference.flatten(1).sum(dim=1)


def perceptual_loss(logits: torch.Tensor, form: str) -> torch.Tensor:
    """Per-image perceptual loss ``(N,)`` from D's logits: the paper's ``log(1 - D(G(z)))``."""
    if form == "paper":
        return -F.softplus(logits)  # log(1 - sigmoid(l)) = -softplus(l)
    return F.softplus(-logits)  # -log sigmoid(l), the reference code's g_loss


# ---------------------------------------------------------------- the latent search


@dataclass(frozen=True)
class SearchSettings:
    """The knobs of :func:`latent_search`, and ``ContextualGANConfig.search``: one name each.

    Defaults: the paper's, and the reference code's (``complete.py``) where the paper is
    silent; the ``contextual_gan/data_limited`` preset holds the measured search
    (docs/findings/contextual_gan.md).
    """

    iterations: int = 1000  # search iterations (reference code --nIter 1000)
    n_init: int = 30  # random z drawn per input for the refined initialisation (paper)
    # step size (reference code --lr 0.01); the per-sketch sum of the contextual loss has
    # gradients in the thousands, so the preset takes far smaller steps
    lr: float = 0.01
    momentum: float = 0.9  # Nesterov momentum (reference code --momentum 0.9)
    lambda_perceptual: float = 0.01  # weight of the perceptual loss (paper)
    # "l1": ||M*G(z) - M*x||_1 (paper); "kl": the reference code's; "ink_l1": the L1 with ink
    # and paper pixels of the sketch weighted as two equal classes (this project: the plain L1
    # rewards a blank sketch half)
    contextual: str = "l1"
    perceptual: str = "paper"  # "paper": log(1 - D(G(z))); "nonsaturating": -log D(G(z))
    # sigma (pixels) of a Gaussian blur of both sketch halves before the contextual loss, so a
    # stroke slightly off costs less than none (this project); 0 = none (paper)
    blur: float = 0.0
    # what the initialisation ranks candidates by: "kl" (paper: KL of the brightness
    # distributions) or "contextual" (the search's own contextual loss)
    init_score: str = "kl"
    # > 0: the initialisation retrieves from one pool of this many G(z) shared by all inputs
    # (cost K passes, not N x n_init); 0 = n_init random candidates per input (paper)
    init_pool: int = 0
    # candidates are drawn from, and z is clipped to, [-t, t]: the truncation trick
    # (Marchesi 2017; Brock et al. 2019, BigGAN Sec. 3.1); 1 = the whole prior (paper)
    truncation: float = 1.0

    def __post_init__(self) -> None:
        """Reject unknown loss names and values out of range."""
        if self.contextual not in CONTEXTUAL_KINDS:
            raise ValueError(f"contextual={self.contextual!r}: expected one of {CONTEXTUAL_KINDS}")
        if self.perceptual not in PERCEPTUAL_FORMS:
            raise ValueError(f"perceptual={self.perceptual!r}: expected one of {PERCEPTUAL_FORMS}")
        if self.init_score not in INIT_SCORES:
            raise ValueError(f"init_score={self.init_score!r}: expected one of {INIT_SCORES}")
        if self.blur < 0 or self.init_pool < 0:
            raise ValueError(f"blur={self.blur}, init_pool={self.init_pool}: expected >= 0")
        if not 0.0 < self.truncation <= 1.0:
            raise ValueError(f"truncation={self.truncation}: expected a value in (0, 1]")


def search_settings(
    config: ContextualGANConfig | None = None, **overrides: object
) -> SearchSettings:
    """A model config's search settings (``config.search``; without a config the defaults),
    with keyword overrides (``iterations=200``); ``None`` values are ignored."""
    settings = config.search if config is not None else SearchSettings()
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
    init_scores: torch.Tensor | None = None  # "init" only: (N, n_init) score of every candidate
    init_indices: torch.Tensor | None = None  # "init" only: (N,) chosen candidate
    candidates: torch.Tensor | None = None  # "init" only, if kept: (N, n_init, 3, S, 2S)
    init_score: str = "kl"  # what init_scores hold: "kl" or "contextual" (the settings')


@dataclass
class SearchResult:
    """Outcome of :func:`latent_search`; loss histories and snapshots live on the CPU."""

    z_hat: torch.Tensor  # (N, z_dim)
    images: torch.Tensor  # (N, 3, S, 2S) = G(z_hat)
    completion: torch.Tensor  # (N, 3, S, S): the unknown half (the photo, or the sketch)
    contextual: torch.Tensor  # (T+1, N): row t = loss after t steps; row 0 = chosen init
    perceptual: torch.Tensor  # (T+1, N)
    init_indices: torch.Tensor  # (N,) candidate kept by the refined initialisation
    # (N, n_init) score of every candidate: KL(input || G(z_k)), or the contextual loss with
    # init_score="contextual"; with a shared pool, its n_init best per input, best first
    init_scores: torch.Tensor
    mask_side: str = "left"
    candidates: torch.Tensor | None = None  # (N, n_init, 3, S, 2S) when keep_candidates
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    init_score: str = "kl"  # what init_scores hold: "kl" or "contextual" (the settings')

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
    n: int, n_init: int, z_dim: int, rng: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """``(n, n_init, z_dim)`` latent codes, uniform in [-1, 1] (as DCGAN), from ``rng``."""
    where = rng.device if rng is not None else torch.device("cpu")
    z = torch.rand((n, n_init, z_dim), generator=rng, device=where) * 2 - 1
    return z.to(device)


@torch.no_grad()
def refined_initialisation(
    generator_net: nn.Module,
    known: torch.Tensor,
    candidates: torch.Tensor,
    *,
    mask_side: str = "left",
    keep_images: bool = False,
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Step 1: per input, keep the candidate z whose known half is closest by KL divergence.

    ``score(input halves, generated halves) -> (N,)`` replaces ``KL(input || G(z))`` (the
    paper's) when given. Returns ``(z0 (N, z_dim), chosen (N,), scores (N, n_init), images
    or None)``.
    """
    if score is None:
        target = brightness_distribution(known)

        def score(_: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
            return kl_divergence(target, brightness_distribution(half))

    scores, images = [], []
    for k in range(candidates.shape[1]):  # one batch of N images per draw, as the authors
        out = generator_net(candidates[:, k])  # (N, 3, S, 2S)
        scores.append(score(known, split_joint(out, mask_side)[0]))
        if keep_images:
            images.append(out.cpu())
    score_table = torch.stack(scores, dim=1)  # (N, n_init)
    chosen = score_table.argmin(dim=1)
    z0 = candidates[torch.arange(candidates.shape[0], device=chosen.device), chosen]
    return z0, chosen, score_table, torch.stack(images, dim=1) if keep_images else None


@torch.no_grad()
def pool_initialisation(
    generator_net: nn.Module,
    known: torch.Tensor,
    pool: torch.Tensor,
    settings: SearchSettings,
    *,
    mask_side: str = "left",
    chunk: int = 128,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1 as retrieval: one pool ``(K, z_dim)`` of codes, G run once on it, and each input
    keeps the code whose known half scores lowest by ``settings.init_score`` (the search's
    contextual loss, or the paper's KL); K codes cost K generator passes whatever the number
    of inputs (the paper's ``n_init`` per input costs N x n_init).

    Returns ``(z0 (N, z_dim), chosen (N,), scores (N, K))``.
    """
    columns = []
    for start in range(0, len(pool), chunk):
        halves = split_joint(generator_net(pool[start : start + chunk]), mask_side)[0]
        columns.append(_score_table(known, halves, settings))  # (N, chunk)
    score_table = torch.cat(columns, dim=1)  # (N, K)
    chosen = score_table.argmin(dim=1)
    return pool[chosen], chosen, score_table


def _score_table(
    known: torch.Tensor, halves: torch.Tensor, settings: SearchSettings
) -> torch.Tensor:
    """``(N, K)`` score of every generated half against every input, each half prepared once."""
    if settings.init_score == "kl" or settings.contextual == "kl":
        target, generated = brightness_distribution(known), brightness_distribution(halves)
        if settings.init_score == "kl":  # KL(input || G(z)), the paper's initialisation
            return (target * target.log()).sum(1, keepdim=True) - target @ generated.log().T
        return (generated * generated.log()).sum(1)[None] - target.log() @ generated.T
    target = gaussian_blur(known, settings.blur)
    generated = gaussian_blur(halves, settings.blur)
    weights = (
        ink_balanced_weights(known, INK_SPLIT)
        if settings.contextual == "ink_l1"
        else torch.ones_like(known[:, :1])
    )
    return torch.stack(
        [
            ((generated - t).abs() * w).flatten(1).sum(1)
            for t, w in zip(target, weights, strict=True)
        ]
    )


def nesterov_step(
    z: torch.Tensor,
    velocity: torch.Tensor,
    grad: torch.Tensor,
    lr: float,
    momentum: float,
    bound: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Nesterov update in the reference code's form, then ``z`` clipped to
    ``[-bound, bound]`` (the reference code's [-1, 1]; smaller with ``truncation``).

    Equal to ``torch.optim.SGD(lr, momentum, nesterov=True)``; element-wise, so each
    sketch's ``z`` keeps its own optimiser state.
    """
    new_velocity = momentum * velocity - lr * grad
    z = z - momentum * velocity + (1 + momentum) * new_velocity
    return z.clamp(-bound, bound), new_velocity


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
    contextual = contextual_loss(generated_known, known, settings.contextual, settings.blur)
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
            stop = callback(report) is True  # a callback returning True stops
            last = last or stop  # (the last step is reported too)
        if last:
            break
        # Sum over sketches: each z_i's gradient is its own loss's, independent of the batch.
        objective = (contextual + settings.lambda_perceptual * perceptual).sum()
        (grad,) = torch.autograd.grad(objective, z)
        z, velocity = nesterov_step(
            z.detach(), velocity, grad, settings.lr, settings.momentum, settings.truncation
        )
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
    rng: torch.Generator | None = None,
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
    rng
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
    with frozen(generator_net, discriminator_net), torch.enable_grad():
        z0, chosen, scores, candidates = _initialise(
            generator_net, known, z_candidates, settings, rng, mask_side, keep_candidates
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
                    init_score=settings.init_score,
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
        init_score=settings.init_score,
    )


def _initialise(
    generator_net: nn.Module,
    known: torch.Tensor,
    z_candidates: torch.Tensor | None,
    settings: SearchSettings,
    rng: torch.Generator | None,
    mask_side: str,
    keep_candidates: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Step 1 by the settings: given candidates, a shared pool, or n_init draws per input."""
    parameter = next(generator_net.parameters())
    device, dtype = parameter.device, parameter.dtype
    score = None
    if settings.init_score == "contextual":

        def score(target: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
            return contextual_loss(half, target, settings.contextual, settings.blur)

    z_dim = int(generator_net.z_dim)  # type: ignore[arg-type]
    if z_candidates is None and settings.init_pool > 0:
        pool = draw_candidates(1, settings.init_pool, z_dim, rng, device)[0]
        pool = pool.to(dtype) * settings.truncation
        z0, _, table = pool_initialisation(
            generator_net, known, pool, settings, mask_side=mask_side
        )
        # reported as the n_init best of the pool per input, best first (so index 0 is kept)
        scores, order = table.topk(min(settings.n_init, len(pool)), dim=1, largest=False)
        images = None
        if keep_candidates:
            columns = [generator_net(pool[order[:, k]]).cpu() for k in range(order.shape[1])]
            images = torch.stack(columns, dim=1)  # (N, n_init, 3, S, 2S)
        return z0, torch.zeros(len(known), dtype=torch.long, device=z0.device), scores, images
    if z_candidates is None:
        z_candidates = draw_candidates(len(known), settings.n_init, z_dim, rng, device)
        z_candidates = z_candidates * settings.truncation
    return refined_initialisation(
        generator_net,
        known,
        z_candidates.to(device, dtype),
        mask_side=mask_side,
        keep_images=keep_candidates,
        score=score,
    )


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="latent search", leave=False)
