"""Contextual GAN: a joint sketch|photo DCGAN, completed by a search over its latent space.

Lu, Wu, Tai, Tang, "Image Generation from Sketch Constraint Using Contextual GAN", ECCV 2018,
https://arxiv.org/abs/1711.08972. Implemented here, in the paper's words:

* **Joint image** -- a 64x128 image, sketch on the left and photo on the right
  (:func:`joint_from_batch`). A GAN learns the *joint* distribution from whole joint images;
  it never sees a masked image while training.
* **Contextual GAN** -- a DCGAN (Radford et al. 2016) widened to 4x8 -> 64x128
  (:class:`Generator`, :class:`Discriminator`), trained with the standard GAN loss, D then G
  (G twice per D step by default, as the authors' code does: ``generator_updates``).
* **Joint image completion** (Sec. 3.3) -- inference is a search, not a forward pass: the
  refined initialisation, then Nesterov descent on the contextual + perceptual loss over
  ``z``. It lives in :mod:`sketchwidgets.models.latent_search`; :meth:`ContextualGAN.search`
  runs it with this model's G, D and config, and :func:`photo_to_sketch` masks the other half.

Departure (on by default; :meth:`ContextualGANConfig.paper` turns it off): a sketch encoder E
(:mod:`~sketchwidgets.models.latent_encoder`) is trained with G so that G(E(sketch half of x))
gives back the whole real joint image x (``reconstruction_weight``: the L1 autoencoding term of
VAE-GAN, Larsen et al. 2016, read from the sketch half as BicycleGAN's cVAE-GAN reads its
input), beside the GAN loss on random codes; the search then starts from E's code instead of
the refined initialisation (iGAN's start, Zhu et al. 2016). Without it, no variant of the
GAN's training beat the baselines on this CPU (below); with it G's photo half follows the
sketch through a code the sketch determines.

Reference code compared against: the authors' TensorFlow code, elliottwu/sText2Image
(``model.py``: the 64x128 DCGAN), itself built on carpedm20/DCGAN-tensorflow.

Choices worth knowing: the generator has batch norm + ReLU after its projection too, as DCGAN
does. The search's choices are listed in :mod:`sketchwidgets.models.latent_search`.

What we found on the 832 shared CelebA joint images (issue #11; 732 train, 100 held out,
width 16, one thread of a shared 2-core CPU):

* **The paper's training collapses.** With :meth:`ContextualGANConfig.paper` G(z) became one
  image within 50 steps: 16 samples were 10-15 % as far apart (mean pairwise L2) as real
  joint images, in train and eval batch-norm mode alike, and D was right on every fake from
  step 100. Per-layer statistics show ``z`` is still present after the stem (variance over z
  0.34 vs 0.05 over positions) and is mapped away by the first transposed convolution: G
  learned to ignore ``z``. The data are as they should be (joint images in [-1, 1], black ink
  -1 on white +1, 23 % ink), so it is the dynamics, not the input.
* **The recipe (the defaults).** DiffAugment on real and fake joint images alike
  (:mod:`~sketchwidgets.models.diffaugment`), spectral norm and a minibatch-std feature in D,
  lr 1e-3, batch 32, one G update per D update, and an exponential moving average of G
  (with standing statistics) for samples and the search. At lr 5e-4 G was still one texture at step
  300; at 1e-3 the samples became faces by step 400 and their spread rose from 0.18 to 0.33
  of the real images' by step 800. Each option on and off, at a reduced budget:
  ``benchmarks/bench_contextual_gan_ablation.py``.
* **Batch norm in the search.** The search runs G in eval mode. Early in training the running
  averages (initial variance 1, batch variance ~1e-3) hide ``z``: a 2-step model's outputs
  differed by at most one grey level across ``z``. ``standing_stats`` re-estimates them from
  random codes for a copy of G that only the search uses (72 grey levels); for an 800-step
  model it changes SSIM by < 0.01.
* **The search on a G that is not yet good hurts.** On an 800-step model (without EMA) the
  refined initialisation helped a little (photo SSIM 0.160 for a random z, 0.170 after it),
  while every descent step size tried (1e-4 .. 1e-2) lowered the contextual loss *and*
  SSIM/PSNR (0.170 -> 0.126, 12.2 -> 9.6 dB within 20 iterations): the closest sketch half is
  a mostly white one, reached with ``z`` pushed toward the corners of [-1, 1]^100, where the
  photo half is no face. A 400-step model with the defaults gives the same picture
  (``benchmarks/bench_contextual_gan_search.py``, whose docstring holds the figures): the
  contextual loss levels off within 10 iterations and quality never rises after step 10.
  A z prior (``w * |z|^2``, Bora et al. 2017) only pulled every completion to G(0).
* **Why the search got worse, and the search defaults now.** Two causes, measured on a
  2000-step model (``benchmarks/bench_contextual_gan_init.py``, whose docstring has the
  table). (1) The step size: the contextual loss is a per-sketch *sum* over 12288 values, so
  its gradient is in the thousands; at the reference code's lr 0.01, and still at 1e-3, the
  loss *rose* in the first steps and the photo half fell apart (SSIM 0.22 -> 0.08-0.17); at
  1e-4 the loss falls (4507 -> 4025 in 20 steps) and SSIM/PSNR hold. (2) The loss: XDoG
  sketches are 23 % ink, so the plain L1 charges a blank half a third of an all-ink one;
  ``contextual="ink_l1"`` weighs ink and paper as two equal classes and
  ``contextual_blur=1.5`` compares blurred halves, so a stroke 2 px off costs less than none.
  The initialisation now retrieves from one pool of 1024 ``G(z)`` ranked by that loss
  (``init_pool``; cost 1024 generator passes for any number of sketches), with codes from
  [-0.5, 0.5] (``truncation``). Together: initialisation 0.233 / 13.06 dB vs the paper's
  search's 0.203 / 12.15 (init) and 0.08 / 8.0 (after it). An encoder start
  (``encoder_width``, iGAN) was no better than the pool and is off. Differences of a
  hundredth are within run-to-run noise.
* **Without the encoder: not reached.** Every variant stays far below the mean training
  photo (0.377 / 14.27) and the nearest neighbour (0.371 / 13.25) on the 100 held-out faces:
  the limit is G itself. After 2000 steps a random sample's photo half scores 0.20 / 11.7,
  and retrieval by the sketch half adds only ~0.02 SSIM, so G's sketch and photo halves are
  still loosely coupled at this budget (notebook 03 shows the grid and the table).
  Notebook 03's full run (1500 steps, 898 s on the shared CPU; 100 held-out faces):
  initialisation 0.209 / 12.40, after the 20-step search 0.208 / 12.34 (the contextual loss
  falls 4769 -> 4297, quality stays flat), the paper's search on the same G 0.107 / 9.52,
  pix2pix 0.611 / 17.99; its grid shows one blurry face repeated, not the sketches' faces.
  The shipped ``pretrained:contextual_gan/faces`` of that day (83 held-out faces): 0.220 /
  12.43 vs the card's nearest neighbour (16x16 sketches) 0.395 / 14.23.
* **With the reconstruction-trained encoder: both baselines beaten.** Same split, width 16,
  encoder width 16, the seeds of ``benchmarks/bench_contextual_gan_init.py`` (one thread of
  the shared CPU, 932 s for 1500 steps): from E's code alone SSIM / PSNR 0.479 / 16.24 (mean
  photo 0.377 / 14.27, nearest neighbour 0.371 / 13.25), sample spread 0.90 of the real
  images' (no collapse). The same G started from the shared pool instead scores 0.315 / 14.01,
  and its search *raises* quality (0.347 / 14.46 after 20 steps): the halves are now tied.
  From E's code, the search lowers its loss 4017 -> 3405 in 10 steps at lr 1e-5 and the photo
  stays level (0.480 / 16.12); at 1e-4, 0.464 / 15.59 (so lr 1e-5, 10 steps, by default).
  Weight 100 vs 30 at 1500 steps: 0.479 / 16.24 vs 0.494 / 16.36 (within seed noise); at 300
  steps 100 vs 10: 0.442 / 16.30 vs 0.414 / 15.86. pix2pix on the same pairs stays ahead
  (notebook 03: 0.611 / 17.99 after 150 steps): E + G is a bottleneck, not a U-Net, and its
  photos are blurrier. Commands::

      python benchmarks/bench_contextual_gan_init.py --steps 1500 --save cgan_rec.pt \
          --rows defaults "encoder lr 1e-4" "encoder lr 3e-5" "pool start"
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sketchwidgets.losses import GANLoss, reconstruction_loss
from sketchwidgets.models.base import ModelConfig, SketchModel
from sketchwidgets.models.diffaugment import augment_joint, parse_policy
from sketchwidgets.models.latent_encoder import SketchEncoder, encoder_step
from sketchwidgets.models.latent_search import (
    CONTEXTUAL_KINDS,
    INIT_SCORES,
    PERCEPTUAL_FORMS,
    SearchResult,
    draw_candidates,
    frozen,
    latent_search,
    prepare_known_half,
    search_settings,
)
from sketchwidgets.models.layers import init_weights


@dataclass(frozen=True)
class ContextualGANConfig(ModelConfig):
    """Hyperparameters. Network, search and loss defaults are the paper's and its reference
    code's; the training defaults marked "measured" are the data-limited recipe that this
    project measured on the 832 CelebA joint images (see the module docstring).
    :meth:`paper` gives the paper's training configuration."""

    image_size: int = 64  # photo side; the joint image is 64 x 128 (paper)
    z_dim: int = 100  # DCGAN z, uniform in [-1, 1] (reference code z_dim=100)
    gf_dim: int = 64  # generator width (DCGAN gf_dim=64)
    df_dim: int = 64  # discriminator width (DCGAN df_dim=64)
    # Adam learning rate; DCGAN 2e-4. Measured in short runs with the options below: at 5e-4 G
    # still drew one texture at step 300, at 1e-3 faces by step 400
    lr: float = 1e-3
    beta1: float = 0.5  # Adam beta1 (DCGAN)
    batch_size: int = 32  # training batch; DCGAN 64. A budget choice: twice the steps a minute
    # G updates per D update: the authors' code (from DCGAN-tensorflow) runs G's optimiser twice
    # "to make sure that d_loss does not go to zero (different from paper)"; 1 is the paper's,
    # and the default here (with spectral norm D does not win outright; half the cost a step)
    generator_updates: int = 1
    n_init: int = 30  # random z drawn per input for the refined initialisation (paper)
    lambda_perceptual: float = 0.01  # weight of the perceptual loss in the search (paper)
    # search step size; reference code --lr 0.01. Measured (issue #11, a 2000-step width-16
    # model, 100 held-out faces, ink-balanced blurred L1): at 0.01 and 1e-3 the contextual loss
    # *rose* in the first 5 steps (the per-sketch sum has gradients in the thousands) and SSIM
    # fell 0.22 -> 0.17; at 1e-4 the loss fell 4507 -> 4025 in 20 steps, SSIM/PSNR held. From
    # the encoder's code (reconstruction-trained, 1500 steps) every step size lowers the photo's
    # quality a little: over 10 steps 1e-4 0.479/16.24 -> 0.464/15.59, 1e-5 -> 0.480/16.12
    search_lr: float = 1e-5
    momentum: float = 0.9  # Nesterov momentum of the search (reference code --momentum 0.9)
    # search iterations; reference code --nIter 1000. Measured: SSIM/PSNR are best at
    # iteration 0 at every step size tried (bench_contextual_gan_init.py: -0.4 dB over 20
    # steps; from the encoder's code at 1e-5, -0.12 dB over 10); 10 keeps a short search (its
    # loss falls ~15 %) for the widgets to show -- search_iters=0 is the measured optimum
    search_iters: int = 10
    # "l1": ||M*G(z) - M*x||_1 (paper); "kl": the reference code's; "ink_l1": the L1 with ink
    # and paper pixels of the sketch weighted as two equal classes (this project: XDoG faces
    # are 23 % ink, and the plain L1 rewards a blank sketch half). Measured (pool init, 1750
    # steps): initialisation SSIM/PSNR 0.166/13.14 vs 0.162/12.82 for "l1" at 500 steps;
    # with blur 1.5, 0.218/12.35 vs 0.211/12.25; and the search no longer heads for white
    contextual: str = "ink_l1"
    # sigma (pixels) of a Gaussian blur of both sketch halves before the contextual loss, so a
    # stroke slightly off costs less than none (this project; sigma 1.5 makes a 2 px miss
    # cheaper than a blank, tested); 0 = none (paper). Measured: +0.002 SSIM at the init
    contextual_blur: float = 1.5
    # what the initialisation ranks candidates by: "kl" (paper: KL of the brightness
    # distributions) or "contextual" (the search's own contextual loss)
    init_score: str = "contextual"
    # > 0: the initialisation retrieves from one pool of this many G(z) shared by all inputs
    # (cost K passes, not N x n_init); 0 = n_init random candidates per input (paper).
    # Measured (1750 steps): 0.218/12.35 vs the paper's 30-per-sketch KL init 0.203/12.15
    init_pool: int = 1024
    # the search's candidates are drawn from, and z is clipped to, [-t, t]: the truncation
    # trick (Marchesi 2017; Brock et al. 2019, BigGAN Sec. 3.1), trading diversity for the
    # better-learned middle of the prior; 1 = the whole prior (paper). Measured (2000 steps,
    # pool init): t = 1, 0.7, 0.5, 0.3 gave 0.219/11.93, 0.231/12.71, 0.233/13.06, 0.223/12.97
    truncation: float = 0.5
    perceptual: str = "paper"  # "paper": log(1 - D(G(z))); "nonsaturating": -log D(G(z))
    class_names: tuple[str, ...] = ()  # unconditional joint-image DCGAN (paper)
    # ---- data-limited training options (off = the paper); defaults chosen by measurement,
    # see the module docstring and benchmarks/bench_contextual_gan_ablation.py
    # DiffAugment policy for D's inputs, real and fake alike (Zhao et al. 2020); "" = none
    augment: str = "color,translation,cutout"
    # spectral norm on every D layer, in place of D's batch norm (Miyato et al. 2018)
    spectral_norm: bool = True
    # D sees the batch's feature standard deviation as one more channel, so a collapsed G is
    # easy to spot (Karras et al. 2018, ProGAN Sec. 3); eval mode uses its running average
    minibatch_std: bool = True
    # decay of an exponential moving average of G used for sampling and the search
    # (Yazici et al. 2019; Karras et al. 2018 use 0.999; 0.99 suits runs of ~1000 steps);
    # 0 = sample from G itself. Measured (ablation, 250 steps): initialisation-only photo
    # SSIM 0.127 -> 0.165, PSNR 12.28 -> 13.16 dB with it
    ema_decay: float = 0.99
    r1_gamma: float = 0.0  # R1 penalty gamma/2 * |grad D(real)|^2 (Mescheder et al. 2018); 0 = off
    r1_every: int = 4  # R1 every k-th D step, weighted k (lazy regularisation, Karras et al. 2020)
    lr_d: float = 0.0  # D's learning rate, TTUR (Heusel et al. 2017); 0 = lr, as DCGAN
    # matching-aware D: real sketches joined to another item's real photo are fakes too, and
    # take this share of D's fake term (GAN-CLS, Reed et al. 2016, Sec. 4.1: 0.5), so D (and
    # through it G) must tie the two halves together; 0 = off (paper), and the default:
    # measured (1500 steps, width 16, one seed) init SSIM/PSNR 0.238/12.46, within the seed
    # noise of the defaults (bench_contextual_gan_init.py's sweep), and G still draws one sketch
    mismatch_share: float = 0.0
    # the search runs a copy of G whose batch-norm statistics are re-estimated from this many
    # random codes ("standing statistics", Brock et al. 2019, BigGAN); 0 = the running averages
    # of training (paper). Measured: early in training those averages hide z (the eval-mode G
    # of a 2-step model changed by <= 1 grey level across z; with 256 codes, 72)
    standing_stats: int = 256
    # width of a sketch -> z encoder whose code starts the search in place of the refined
    # initialisation (iGAN, Zhu et al. 2016; :mod:`~sketchwidgets.models.latent_encoder`),
    # D's layout on the sketch half, so D's width by default (DCGAN df_dim 64); 0 = none
    # (paper). Trained by ``reconstruction_weight`` (the default), else on G's own samples
    # (pairs of the sketch half of G(z) and z), which measured (1750 steps, width 16, 400
    # encoder steps) 0.208/12.21 at the init, no better than the pool's 0.218/12.35
    encoder_width: int = 64
    # > 0: the encoder is trained on *real* joint images instead of G's samples, and G with it:
    # G(E(sketch half of x)) must give back the whole joint image x, L1 weighted by this, one
    # step over E and G per training step beside the GAN loss on random codes. The autoencoding
    # term of VAE-GAN (Larsen et al. 2016) and of BicycleGAN's cVAE-GAN (Zhu et al. 2017,
    # lambda 10), with the code read from the sketch half as at test time; it ties G's two
    # halves through one code that a sketch determines. E's codes lie in [-t, t]
    # (``truncation``), where the search keeps z. Needs ``encoder_width``; 0 = off (paper).
    # 100 is pix2pix's L1 weight (Isola et al. 2017). Measured (1500 steps, width 16, 100
    # held-out faces, from the encoder's code): 100 -> 0.479/16.24, 30 -> 0.494/16.36 (within
    # seed noise); at 300 steps 100 -> 0.442/16.30, 10 -> 0.414/15.86; off: 0.233/13.06 at best
    reconstruction_weight: float = 100.0

    def __post_init__(self) -> None:
        """Reject sizes the architecture cannot make and unknown loss names."""
        _layer_count(self.image_size)
        if self.contextual not in CONTEXTUAL_KINDS:
            raise ValueError(f"contextual={self.contextual!r}: expected one of {CONTEXTUAL_KINDS}")
        if self.generator_updates < 1:
            raise ValueError(f"generator_updates={self.generator_updates}: expected >= 1")
        if self.init_score not in INIT_SCORES:
            raise ValueError(f"init_score={self.init_score!r}: expected one of {INIT_SCORES}")
        if self.contextual_blur < 0 or self.init_pool < 0 or self.encoder_width < 0:
            raise ValueError("contextual_blur, init_pool and encoder_width must be >= 0")
        if self.reconstruction_weight < 0:
            raise ValueError(f"reconstruction_weight={self.reconstruction_weight}: expected >= 0")
        if self.reconstruction_weight > 0 and not self.encoder_width:
            raise ValueError(
                "reconstruction_weight > 0 reads codes by an encoder: set encoder_width"
            )
        if not 0.0 < self.truncation <= 1.0:
            raise ValueError(f"truncation={self.truncation}: expected a value in (0, 1]")
        if not 0.0 <= self.mismatch_share < 1.0:
            raise ValueError(f"mismatch_share={self.mismatch_share}: expected a value in [0, 1)")
        if self.perceptual not in PERCEPTUAL_FORMS:
            raise ValueError(f"perceptual={self.perceptual!r}: expected one of {PERCEPTUAL_FORMS}")
        parse_policy(self.augment)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay={self.ema_decay}: expected 0 (off) or a value in (0, 1)")
        if self.r1_gamma < 0 or self.r1_every < 1 or self.lr_d < 0:
            raise ValueError("r1_gamma and lr_d must be >= 0 and r1_every >= 1")

    @classmethod
    def paper(cls, **overrides: Any) -> ContextualGANConfig:
        """The paper's (and reference code's) training: DCGAN, lr 2e-4, batch 64, G twice,
        none of the data-limited options."""
        values: dict[str, Any] = {
            **PAPER_TRAINING,
            **{"augment": "", "spectral_norm": False, "minibatch_std": False},
            **PAPER_SEARCH,
        }
        return cls(**{**values, **overrides})


PAPER_TRAINING: dict[str, Any] = {
    "lr": 2e-4,  # DCGAN
    "batch_size": 64,  # DCGAN
    "generator_updates": 2,  # the authors' code
    "ema_decay": 0.0,
    "r1_gamma": 0.0,
    "lr_d": 0.0,
    "standing_stats": 0,
}


PAPER_SEARCH: dict[str, Any] = {
    "search_lr": 0.01,  # reference code
    "search_iters": 1000,  # reference code
    "contextual": "l1",
    "contextual_blur": 0.0,
    "init_score": "kl",
    "init_pool": 0,
    "truncation": 1.0,
    "encoder_width": 0,
    "reconstruction_weight": 0.0,
}


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

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, z_dim)`` codes uniform in [-1, 1] on the model's device (DCGAN, not N(0, 1))."""
        return draw_candidates(n, 1, self.config.z_dim, generator, self.device)[:, 0]

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
            losses["G/reconstruction"] = self._reconstruction_step(real, optimizers)
        elif self.encoder is not None:
            codes = self.sample_z(real.shape[0])
            losses["E/z"] = encoder_step(self.encoder, self._sketch_half_of, codes, optimizers["E"])
        self._standing.clear()
        return losses

    def _code_bound(self) -> float:
        """Where the encoder's codes lie: [-t, t] when trained by reconstruction (the search's
        box), [-1, 1] (the prior) when trained on G's samples."""
        return self.config.truncation if self.config.reconstruction_weight > 0 else 1.0

    def _reconstruction_step(
        self, real: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer]
    ) -> torch.Tensor:
        """One step over E and G on ``w * |G(E(sketch half of x)) - x|``, the whole joint image."""
        assert self.encoder is not None  # __post_init__: reconstruction needs encoder_width
        optimizers["G"].zero_grad(set_to_none=True)
        optimizers["E"].zero_grad(set_to_none=True)
        rebuilt = self.generator(self.encoder(real[..., : self.image_size]))
        loss = reconstruction_loss(rebuilt, real)  # L1
        (self.config.reconstruction_weight * loss).backward()
        optimizers["G"].step()
        optimizers["E"].step()
        return loss.detach()

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
        lazy_r1 = cfg.r1_gamma > 0 and self._d_steps % cfg.r1_every == 0
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
        (total + cfg.r1_gamma / 2 * cfg.r1_every * penalty).backward()
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

        ``model.search(sketches, iterations=200, callback=show)``; setting names (``iterations``,
        ``n_init``, ``lr``, ...) override the config for this call. With an encoder the search
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
        return latent_search(
            self.search_generator(), self.discriminator, known, settings=settings, **options
        )

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
        generator: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sketches ``(N, 1, S, S)`` -> photos ``(N, 3, S, S)`` by the latent search.

        ``z`` ``(N, z_dim)`` is the search's starting point: it replaces the refined
        initialisation's random candidates (the search then starts from ``z`` alone,
        ``n_init`` = 1) and the photo is the completion found from there, not ``G(z)``.
        Without ``z`` the search starts from the encoder's code when the model has one, else
        from ``n_init`` candidates drawn from ``generator``. ``label``
        is ignored (the model is unconditional).
        """
        if z is None:
            return self.search(sketch, generator=generator).completion
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
