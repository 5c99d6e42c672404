"""Contextual GAN: a joint sketch|photo DCGAN, completed by a search over its latent space.

Lu, Wu, Tai, Tang, "Image Generation from Sketch Constraint Using Contextual GAN", ECCV 2018,
https://arxiv.org/abs/1711.08972. Reference code compared against: the authors' TensorFlow
code, elliottwu/sText2Image (``model.py``: the 64x128 DCGAN), built on carpedm20/DCGAN-tensorflow.

* Sec. 3.1, joint image: 64x128, sketch on the left, photo on the right
  (:func:`joint_from_batch`); the GAN learns their joint distribution from whole joint images.
* Sec. 3.2, Contextual GAN: a DCGAN (Radford et al. 2016) widened to 4x8 -> 64x128
  (:class:`Generator`, with batch norm + ReLU after its projection as DCGAN has;
  :class:`Discriminator`), the standard GAN loss, D then G.
* Sec. 3.3, joint image completion: inference is a search over ``z`` (the refined
  initialisation, then Nesterov descent on the contextual + perceptual loss), in
  :mod:`~sketchwidgets.models.latent_search`; :meth:`ContextualGAN.search` runs it with this
  model's G, D and config, and :func:`photo_to_sketch` masks the other half instead.

Departures, one option each, off by default (the defaults are the paper's, or its reference
code's where the paper is silent); the ``contextual_gan/data_limited`` preset of
:mod:`sketchwidgets.train.recipes` turns on those measured in docs/findings/contextual_gan.md:

* ``lr`` and ``batch_size`` (DCGAN, the default: 2e-4, 64; the preset: 1e-3, 32), with:
* ``augment``: DiffAugment on D's real and fake inputs alike (Zhao et al. 2020);
* ``spectral_norm``: spectral norm in place of D's batch norm (Miyato et al. 2018);
* ``minibatch_std``: the batch's feature spread as one more D channel (ProGAN);
* ``ema_decay``: a moving average of G draws the samples and runs the search;
* ``standing_stats``: the search's G re-estimates its batch-norm statistics (BigGAN);
* ``generator_updates``: 1, the paper's (default and preset); the authors' code runs G twice;
* ``r1_gamma``: a lazy R1 penalty on D, every :data:`R1_EVERY` D steps;
* ``lr_d``: D's own learning rate, TTUR;
* ``mismatch_share``: a matching-aware D, as GAN-CLS;
* ``encoder_width``: a sketch encoder E whose code starts the search (iGAN's start);
* ``reconstruction_weight``: E and G trained so that G(E(sketch half of x)) gives back x;
* ``refiner_width``: a U-Net makes the photo from the photo half and the drawing;
* ``search``: the search's settings, one :class:`~.latent_search.SearchSettings`:
* ``search.lr``, ``search.iterations`` (reference code: 0.01, 1000; the preset: 1e-5, 10);
* ``search.contextual`` "ink_l1": ink and paper weighed as two equal classes (paper: "l1");
* ``search.blur``: both sketch halves blurred before the contextual loss (paper: 0);
* ``search.init_score``, ``search.init_pool``: candidates ranked by the contextual loss, one pool;
* ``search.truncation``: candidates drawn from, and ``z`` kept in, [-t, t] (paper: 1);
* ``search.perceptual``: the paper's log(1 - D(G(z))), or the reference code's -log D(G(z)).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from sketchwidgets.models.base import ModelConfig, SketchModel
from sketchwidgets.models.completion_refiner import CompletionRefiner
from sketchwidgets.models.diffaugment import augment_joint, parse_policy
from sketchwidgets.models.latent_encoder import SketchEncoder, encoder_step
from sketchwidgets.models.latent_search import (
    SearchResult,
    SearchSettings,
    draw_candidates,
    frozen,
    latent_search,
    prepare_known_half,
    search_settings,
)
from sketchwidgets.models.layers import init_weights
from sketchwidgets.models.losses import GANLoss, reconstruction_loss

R1_EVERY = 4  # R1 every k-th D step, weighted k (lazy regularisation, Karras et al. 2020)


@dataclass(frozen=True)
class ContextualGANConfig(ModelConfig):
    """Hyperparameters: the paper's, or its reference code's where the paper is silent. The
    departures (the module docstring lists them) are off; the ``contextual_gan/data_limited``
    preset of :mod:`sketchwidgets.train.recipes` holds the measured data-limited recipe."""

    image_size: int = 64  # photo side; the joint image is 64 x 128 (paper)
    z_dim: int = 100  # DCGAN z, uniform in [-1, 1] (reference code z_dim=100)
    gf_dim: int = 64  # generator width (DCGAN gf_dim=64)
    df_dim: int = 64  # discriminator width (DCGAN df_dim=64)
    lr: float = 2e-4  # Adam learning rate (DCGAN)
    beta1: float = 0.5  # Adam beta1 (DCGAN)
    batch_size: int = 64  # training batch (DCGAN)
    # G updates per D update: the authors' code (from DCGAN-tensorflow) runs G's optimiser twice
    # "to make sure that d_loss does not go to zero (different from paper)"; 1 is the paper's
    generator_updates: int = 1
    # the latent search's settings (:class:`SearchSettings`: the paper's and reference code's)
    search: SearchSettings = field(default_factory=SearchSettings)
    class_names: tuple[str, ...] = ()  # unconditional joint-image DCGAN (paper)
    # ---- data-limited training options, off (the paper); the data_limited preset turns them
    # on (docs/findings/contextual_gan.md, benchmarks/experiments/contextual_gan_ablation.py)
    # DiffAugment policy for D's inputs, real and fake alike (Zhao et al. 2020); "" = none
    augment: str = ""
    # spectral norm on every D layer, in place of D's batch norm (Miyato et al. 2018)
    spectral_norm: bool = False
    # D sees the batch's feature standard deviation as one more channel, so a collapsed G is
    # easy to spot (Karras et al. 2018, ProGAN Sec. 3); eval mode uses its running average
    minibatch_std: bool = False
    # decay of an exponential moving average of G used for sampling and the search
    # (Yazici et al. 2019; Karras et al. 2018 use 0.999; 0.99 suits runs of ~1000 steps);
    # 0 = sample from G itself
    ema_decay: float = 0.0
    r1_gamma: float = 0.0  # R1 penalty gamma/2 * |grad D(real)|^2 (Mescheder et al. 2018); 0 = off
    lr_d: float = 0.0  # D's learning rate, TTUR (Heusel et al. 2017); 0 = lr, as DCGAN
    # matching-aware D: real sketches joined to another item's real photo are fakes too, and
    # take this share of D's fake term (GAN-CLS, Reed et al. 2016, Sec. 4.1: 0.5), so D (and
    # through it G) must tie the two halves together; 0 = off (paper)
    mismatch_share: float = 0.0
    # the search runs a copy of G whose batch-norm statistics are re-estimated from this many
    # random codes ("standing statistics", Brock et al. 2019, BigGAN); 0 = the running averages
    # of training (paper); early in training those averages hide z
    standing_stats: int = 0
    # width of a sketch -> z encoder whose code starts the search in place of the refined
    # initialisation (iGAN, Zhu et al. 2016; :mod:`~sketchwidgets.models.latent_encoder`),
    # D's layout on the sketch half (the preset: D's width, DCGAN df_dim 64); 0 = none
    # (paper). Trained by ``reconstruction_weight`` (as the preset does), else on G's own
    # samples (pairs of the sketch half of G(z) and z)
    encoder_width: int = 0
    # > 0: the encoder is trained on *real* joint images instead of G's samples, and G with it:
    # G(E(sketch half of x)) must give back the whole joint image x, L1 weighted by this, one
    # step over E and G per training step beside the GAN loss on random codes. The autoencoding
    # term of VAE-GAN (Larsen et al. 2016) and of BicycleGAN's cVAE-GAN (Zhu et al. 2017,
    # lambda 10), with the code read from the sketch half as at test time; it ties G's two
    # halves through one code that a sketch determines. E's codes lie in [-t, t]
    # (``search.truncation``), where the search keeps z. Needs ``encoder_width``; 0 = off (paper).
    # The preset's 100 is pix2pix's L1 weight (Isola et al. 2017)
    reconstruction_weight: float = 0.0
    # width of a U-Net that takes the photo half and the drawing and gives the photo
    # (:mod:`~sketchwidgets.models.completion_refiner`), trained by its own L1 on real pairs
    # beside G; needs ``reconstruction_weight``; 0 = none (paper: the photo half of G(z*))
    refiner_width: int = 0

    # where a config stored before the search settings moved into ``search`` kept them
    renamed_fields: ClassVar[dict[str, str]] = {
        "search_iters": "search.iterations",
        "n_init": "search.n_init",
        "search_lr": "search.lr",
        "momentum": "search.momentum",
        "lambda_perceptual": "search.lambda_perceptual",
        "contextual": "search.contextual",
        "perceptual": "search.perceptual",
        "contextual_blur": "search.blur",
        "init_score": "search.init_score",
        "init_pool": "search.init_pool",
        "truncation": "search.truncation",
    }
    # settings a stored config may still hold, at the value that behaves as this version
    retired_fields: ClassVar[dict[str, Any]] = {"r1_every": R1_EVERY}

    def __post_init__(self) -> None:
        """Reject sizes the architecture cannot make and values out of range (the search's
        own settings check themselves)."""
        _layer_count(self.image_size)
        if not isinstance(self.search, SearchSettings):
            raise TypeError(f"search must be a SearchSettings, got {type(self.search).__name__}")
        if self.generator_updates < 1:
            raise ValueError(f"generator_updates={self.generator_updates}: expected >= 1")
        if self.encoder_width < 0 or self.refiner_width < 0:
            raise ValueError(
                f"encoder_width={self.encoder_width}, refiner_width={self.refiner_width}: "
                "expected >= 0"
            )
        if self.reconstruction_weight < 0:
            raise ValueError(f"reconstruction_weight={self.reconstruction_weight}: expected >= 0")
        if self.reconstruction_weight > 0 and not self.encoder_width:
            raise ValueError(
                "reconstruction_weight > 0 reads codes by an encoder: set encoder_width"
            )
        if self.refiner_width and not self.reconstruction_weight:
            raise ValueError(
                "refiner_width > 0 trains the refiner on real pairs in the reconstruction step: "
                "set reconstruction_weight"
            )
        if not 0.0 <= self.mismatch_share < 1.0:
            raise ValueError(f"mismatch_share={self.mismatch_share}: expected a value in [0, 1)")
        parse_policy(self.augment)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay={self.ema_decay}: expected 0 (off) or a value in (0, 1)")
        if self.r1_gamma < 0 or self.lr_d < 0:
            raise ValueError(f"r1_gamma={self.r1_gamma}, lr_d={self.lr_d}: expected >= 0")


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

    def __init__(
        self, df_dim: int, image_size: int, spectral_norm: bool = False, minibatch_std: bool = False
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = 3
        for i in range(_layer_count(image_size)):
            out = df_dim * 2**i  # df, 2df, 4df, 8df
            blocks.append(nn.Conv2d(channels, out, 5, 2, 2, bias=i == 0 or spectral_norm))
            blocks += [nn.BatchNorm2d(out)] if i > 0 and not spectral_norm else []
            blocks.append(nn.LeakyReLU(0.2, inplace=True))
            channels = out
        self.features = nn.Sequential(*blocks)
        self.batch_std = MinibatchStd() if minibatch_std else None
        self.classify = nn.Linear((channels + int(minibatch_std)) * 4 * 8, 1)

    def apply_spectral_norm(self) -> None:
        """Spectral norm on every conv and the linear layer (after the weights' init)."""
        for name, layer in [*self.features.named_children(), ("classify", self.classify)]:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                normed = nn.utils.parametrizations.spectral_norm(layer)
                if name == "classify":
                    self.classify = normed
                else:
                    self.features[int(name)] = normed

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """One real-vs-fake logit per joint image."""
        h = self.features(images)  # (N, 8df, 4, 8)
        if self.batch_std is not None:
            h = self.batch_std(h)  # (N, 8df + 1, 4, 8)
        return self.classify(h.flatten(1)).squeeze(1)  # (N,)


class MinibatchStd(nn.Module):
    """Appends the batch's mean feature standard deviation as a constant channel (ProGAN).

    In eval mode (the search) the channel holds the running average seen in training, so
    images are scored one by one, whatever else is in the batch.
    """

    def __init__(self, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("running_std", torch.zeros(()))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, C + 1, H, W)``."""
        if self.training and h.shape[0] > 1:
            std = h.float().std(dim=0).mean()  # float32 under autocast too, as the buffer
            with torch.no_grad():
                self.running_std.lerp_(std.detach(), self.momentum)
        else:
            std = self.running_std
        return torch.cat([h, std.to(h.dtype).expand(h.shape[0], 1, *h.shape[2:])], dim=1)


def joint_from_batch(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sketch ``(N, 1, H, W)`` (3 gray channels) | photo ``(N, 3, H, W)`` -> ``(N, 3, H, 2W)``."""
    sketch, photo = batch["sketch"], batch["photo"]
    if sketch.shape[-2:] != photo.shape[-2:]:
        raise ValueError(
            f"sketch {tuple(sketch.shape[-2:])} and photo {tuple(photo.shape[-2:])} differ in size"
        )
    return torch.cat([sketch.expand(-1, 3, -1, -1), photo], dim=3)


# ---------------------------------------------------------------- the model


def mismatched_pairs(joint: torch.Tensor) -> torch.Tensor:
    """Joint images whose photo half is the next item's (the batch rolled by one): real halves
    that do not belong together, the matching-aware discriminator's extra fakes."""
    if joint.shape[0] < 2:
        raise ValueError("mismatched pairs need a batch of at least 2 joint images")
    half = joint.shape[-1] // 2
    return torch.cat([joint[..., :half], joint.roll(1, dims=0)[..., half:]], dim=-1)


class ContextualGAN(SketchModel):
    """Contextual GAN: train a joint-image DCGAN; generate by :func:`latent_search`."""

    name = "contextual_gan"
    config_class = ContextualGANConfig
    network_names = ("generator", "discriminator")
    # with encoder_width, refiner_width
    optional_networks: ClassVar[tuple[str, ...]] = ("encoder", "refiner")
    _on_step: Callable[[int, int], None] | None = None  # set by search_progress()

    def __init__(self, config: ContextualGANConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        self.generator = Generator(cfg.z_dim, cfg.gf_dim, cfg.image_size)
        self.discriminator = Discriminator(
            cfg.df_dim, cfg.image_size, cfg.spectral_norm, cfg.minibatch_std
        )
        self.gan_loss = GANLoss("vanilla")  # standard GAN loss on logits (DCGAN)
        self.encoder = (
            SketchEncoder(cfg.z_dim, cfg.encoder_width, cfg.image_size, self._code_bound())
            if cfg.encoder_width
            else None
        )
        self.refiner = CompletionRefiner(cfg.refiner_width) if cfg.refiner_width else None
        init_weights(self)  # DCGAN: weights N(0, 0.02), batch-norm scale N(1, 0.02)
        if cfg.spectral_norm:
            self.discriminator.apply_spectral_norm()
        self.augment_policy = parse_policy(cfg.augment)
        # the averaged G (a frozen copy, saved with the model) when ema_decay > 0
        self.generator_ema = (
            copy.deepcopy(self.generator).requires_grad_(False) if cfg.ema_decay else None
        )
        self._d_steps = 0
        # [G with standing statistics], rebuilt after each update; a list, so that the copy
        # is not a submodule (not saved, the model's own statistics untouched)
        self._standing: list[Generator] = []

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(lr, (beta1, 0.999)) for G and for D (DCGAN)."""
        betas = (self.config.beta1, 0.999)
        lr_d = self.config.lr_d or self.config.lr
        optimizers = {
            "G": torch.optim.Adam(self.generator.parameters(), lr=self.config.lr, betas=betas),
            "D": torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas),
        }
        if self.encoder is not None:
            optimizers["E"] = torch.optim.Adam(
                self.encoder.parameters(), lr=self.config.lr, betas=betas
            )
        if self.refiner is not None:
            optimizers["R"] = torch.optim.Adam(
                self.refiner.parameters(), lr=self.config.lr, betas=betas
            )
        return optimizers

    @property
    def sampler(self) -> Generator:
        """The generator used for samples and the search: G's moving average if kept, else G."""
        return self.generator if self.generator_ema is None else self.generator_ema

    @property
    def latent_dim(self) -> int:
        """The DCGAN code's length, ``config.z_dim``."""
        return self.config.z_dim

    @property
    def has_noise(self) -> bool:
        """False when the search starts from the encoder's code: one sketch, one completion
        whatever the seed; True when it starts from randomly drawn codes (the paper)."""
        return self.encoder is None

    def sample_z(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """``(n, z_dim)`` codes uniform in [-1, 1] on the model's device (DCGAN, not N(0, 1))."""
        return draw_candidates(n, 1, self.config.z_dim, rng, self.device)[:, 0]

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """One DCGAN update on whole joint images: D, then G (non-saturating loss), G repeated
        ``generator_updates`` times on the same codes as the reference code does."""
        real = self._joint(batch)  # (N, 3, 64, 128)
        z = self.sample_z(real.shape[0])
        fake = self.generator(z)
        losses = self._discriminator_step(real, fake.detach(), optimizers["D"])
        losses["G/gan"] = self._generator_step(fake, optimizers["G"])
        for _ in range(self.config.generator_updates - 1):
            losses["G/gan"] = self._generator_step(self.generator(z), optimizers["G"])
        if self.generator_ema is not None:
            ema_update(self.generator_ema, self.generator, self.config.ema_decay)
        if self.config.reconstruction_weight > 0:
            losses |= self._reconstruction_step(real, optimizers)
        elif self.encoder is not None:
            codes = self.sample_z(real.shape[0])
            losses["E/z"] = encoder_step(self.encoder, self._sketch_half_of, codes, optimizers["E"])
        self._standing.clear()
        return losses

    def _code_bound(self) -> float:
        """Where the encoder's codes lie: [-t, t] when trained by reconstruction (the search's
        box), [-1, 1] (the prior) when trained on G's samples."""
        return self.config.search.truncation if self.config.reconstruction_weight > 0 else 1.0

    def _reconstruction_step(
        self, real: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """One step over E and G on ``w * |G(E(sketch half of x)) - x|``, the whole joint image,
        then, with a refiner, one step over the refiner alone (:meth:`_refiner_step`)."""
        assert self.encoder is not None  # __post_init__: reconstruction needs encoder_width
        optimizers["G"].zero_grad(set_to_none=True)
        optimizers["E"].zero_grad(set_to_none=True)
        rebuilt = self.generator(self.encoder(real[..., : self.image_size]))
        loss = reconstruction_loss(rebuilt, real)  # L1
        (self.config.reconstruction_weight * loss).backward()
        optimizers["G"].step()
        optimizers["E"].step()
        losses = {"G/reconstruction": loss.detach()}
        if self.refiner is not None:
            losses["R/reconstruction"] = self._refiner_step(rebuilt.detach(), real, optimizers["R"])
        return losses

    def _refiner_step(
        self, rebuilt: torch.Tensor, real: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> torch.Tensor:
        """``w * |R(photo half of G(E(sketch)), sketch) - photo|`` over the refiner alone: G, E
        and D keep the paper's (and the preset's) training untouched."""
        optimizer.zero_grad(set_to_none=True)
        size = self.image_size
        photo = self.refined(rebuilt, real[..., :size])[..., size:]
        loss = reconstruction_loss(photo, real[..., size:])
        (self.config.reconstruction_weight * loss).backward()
        optimizer.step()
        return loss.detach()

    def refined(self, joint: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        """Joint images whose photo half the refiner has remade from it and ``sketch``
        ``(N, 1 | 3, S, S)``; ``joint`` itself without a refiner."""
        if self.refiner is None:
            return joint
        size = self.image_size
        photo = self.refiner(joint[..., size:], sketch)
        return torch.cat([joint[..., :size], photo], 3)

    def _sketch_half_of(self, z: torch.Tensor) -> torch.Tensor:
        """The sketch halves ``(N, 3, S, S)`` the sampler draws for ``z``."""
        return self.sampler(z)[..., : self.image_size]

    def _augment(self, joint: torch.Tensor) -> torch.Tensor:
        return augment_joint(joint, self.augment_policy)

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
        cfg = self.config
        lazy_r1 = cfg.r1_gamma > 0 and self._d_steps % R1_EVERY == 0
        self._d_steps += 1
        real = real.detach().requires_grad_(lazy_r1)
        real_logits = self.discriminator(self._augment(real))
        fake_logits = self.discriminator(self._augment(fake))
        loss_real = self.gan_loss(real_logits, True)
        loss_fake = self.gan_loss(fake_logits, False)
        penalty = r1_penalty(real_logits, real) if lazy_r1 else torch.zeros((), device=real.device)
        loss_mismatch = torch.zeros((), device=real.device)
        if cfg.mismatch_share > 0:
            mismatch_logits = self.discriminator(self._augment(mismatched_pairs(real.detach())))
            loss_mismatch = self.gan_loss(mismatch_logits, False)
        share = cfg.mismatch_share
        total = loss_real + (1 - share) * loss_fake + share * loss_mismatch
        (total + cfg.r1_gamma / 2 * R1_EVERY * penalty).backward()
        optimizer.step()
        losses = {
            "D/real": loss_real.detach(),
            "D/fake": loss_fake.detach(),
            "D/acc_real": (real_logits.detach() > 0).float().mean(),
            "D/acc_fake": (fake_logits.detach() < 0).float().mean(),
        }
        if lazy_r1:
            losses["D/r1"] = penalty.detach()
        if cfg.mismatch_share > 0:
            losses["D/mismatch"] = loss_mismatch.detach()
        return losses

    def _generator_step(self, fake: torch.Tensor, optimizer: torch.optim.Optimizer) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with frozen(self.discriminator):
            self.discriminator.train()  # same batch-norm mode as in the D step
            logits = self.discriminator(self._augment(fake))
            loss = self.gan_loss(logits, True)  # non-saturating: -log D(G(z))
            loss.backward()
        optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """D's losses and accuracy on held-out real vs fixed-seed fake joint images (eval mode;
        the fakes from :meth:`search_generator`, the G that samples and the search use)."""
        real = self._joint(batch)
        z = self.sample_z(real.shape[0], torch.Generator().manual_seed(0))
        sampler = self.search_generator()
        with frozen(sampler, self.discriminator):
            real_logits = self.discriminator(real)
            fake_logits = self.discriminator(sampler(z))
        return {
            "val/d_real": self.gan_loss(real_logits, True),
            "val/d_fake": self.gan_loss(fake_logits, False),
            "val/d_acc_real": (real_logits > 0).float().mean(),
            "val/d_acc_fake": (fake_logits < 0).float().mean(),
        }

    def search(
        self, known_half: torch.Tensor, *, random_start: bool = False, **options: Any
    ) -> SearchResult:
        """:func:`latent_search` with this model's G, D and config; same keywords.

        ``model.search(sketches, iterations=200, callback=show)``; the names of
        :class:`SearchSettings` (``iterations``, ``n_init``, ``lr``, ...) override
        ``config.search`` for this call. With an encoder the search
        starts from its code for each sketch; ``random_start=True`` uses the refined
        initialisation (random codes, or the shared pool) instead, as the paper does. Inside
        :meth:`search_progress` a search without a ``callback`` reports its steps there.
        """
        settings = search_settings(self.config)
        known = known_half.to(self.device)
        encoder_start = self.encoder is not None and not random_start
        if encoder_start and options.get("z_candidates") is None:
            if options.get("mask_side", "left") == "left":
                options["z_candidates"] = self.encode(known).unsqueeze(1)  # (N, 1, z_dim)
        if self._on_step is not None and options.get("callback") is None:
            on_step = self._on_step
            options["callback"] = lambda report: on_step(report.iteration, report.iterations)
        result = latent_search(
            self.search_generator(), self.discriminator, known, settings=settings, **options
        )
        return self._completed_from_drawing(result, known)

    @torch.no_grad()
    def _completed_from_drawing(self, result: SearchResult, known: torch.Tensor) -> SearchResult:
        """With a refiner and a known sketch half, the completion is the refiner's photo from
        the search's photo half and the drawing (the search itself runs G alone)."""
        if self.refiner is None or result.mask_side != "left":
            return result
        drawing = prepare_known_half(known, self.image_size).to(result.images.device)
        with frozen(self.refiner):
            images = self.refined(result.images, drawing)
        return dataclasses.replace(result, images=images, completion=images[..., self.image_size :])

    @contextlib.contextmanager
    def search_progress(self, on_step: Callable[[int, int], None]) -> Iterator[None]:
        """Within the block every search, ``generate`` included, calls ``on_step(done, total)``
        after its initialisation (``done`` 0) and after each step (up to ``done == total``):
        the hook a progress display needs, since ``generate`` takes no callback."""
        previous, self._on_step = self._on_step, on_step
        try:
            yield
        finally:
            self._on_step = previous

    @torch.no_grad()
    def encode(self, sketch: torch.Tensor) -> torch.Tensor:
        """``(N, 1|3, S, S)`` sketches -> ``(N, z_dim)`` codes by the encoder (eval mode)."""
        if self.encoder is None:
            raise ValueError("this model has no encoder: build it with encoder_width > 0")
        known = prepare_known_half(sketch, self.image_size).to(self.device)
        with frozen(self.encoder):
            return self.encoder(known)

    def search_generator(self) -> Generator:
        """The generator the search runs in eval mode: :attr:`sampler`, or with
        ``standing_stats`` a copy of it whose batch-norm statistics are re-estimated from
        random codes (cached until the next training step)."""
        if not self.config.standing_stats:
            return self.sampler
        if not self._standing or self._standing[0].project.weight.device != self.device:
            fresh = copy.deepcopy(self.sampler)
            standing_statistics(fresh, self.config.standing_stats, self.sample_z)
            self._standing[:] = [fresh]
        return self._standing[0]

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sketches ``(N, 1, S, S)`` -> photos ``(N, 3, S, S)`` by the latent search.

        ``z`` ``(N, z_dim)`` is the search's starting point: it replaces the refined
        initialisation's random candidates (the search then starts from ``z`` alone,
        ``n_init`` = 1) and the photo is the completion found from there, not ``G(z)``.
        Without ``z`` the search starts from the encoder's code when the model has one, else
        from ``n_init`` candidates drawn from ``rng``. ``label``
        is ignored (the model is unconditional).
        """
        if z is None:
            return self.search(sketch, rng=rng).completion
        candidates = self.latent_codes(sketch.shape[0], z=z).unsqueeze(1)  # (N, 1, z_dim)
        return self.search(sketch, z_candidates=candidates).completion


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, decay: float) -> None:
    """``average <- decay * average + (1 - decay) * model``; buffers (batch norm) copied."""
    for mean, live in zip(average.parameters(), model.parameters(), strict=True):
        mean.lerp_(live, 1.0 - decay)
    for mean, live in zip(average.buffers(), model.buffers(), strict=True):
        mean.copy_(live)


@torch.no_grad()
def standing_statistics(
    generator_net: nn.Module, codes: int, sample_z: Callable[..., torch.Tensor], batch: int = 64
) -> None:
    """Batch-norm running statistics re-estimated as the plain mean over ``codes`` random z.

    BigGAN's "standing statistics" (Brock et al. 2019, Sec. 3): eval mode then sees the
    statistics of the weights it runs with, not a trailing average over past weights.
    """
    norms = [m for m in generator_net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, generator_net.training) for m in norms]
    seed = torch.Generator().manual_seed(0)
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average = the mean over all batches
    generator_net.train()
    for start in range(0, codes, batch):
        generator_net(sample_z(min(batch, codes - start), seed))
    for norm, (momentum, training) in zip(norms, saved, strict=True):
        norm.momentum = momentum
        generator_net.train(training)


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over images of ``|d D(x) / d x|^2`` on real ``x`` (Mescheder et al. 2018, R1)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(dim=1).mean()


def photo_to_sketch(model: ContextualGAN, photo: torch.Tensor, **options: Any) -> SearchResult:
    """Photos ``(N, 3, S, S)`` in [-1, 1] -> sketches: the same search with the left half masked.

    ``result.completion`` is the sketch half ``(N, 3, S, S)``; keywords as :func:`latent_search`.
    """
    return model.search(photo, mask_side="right", **options)
