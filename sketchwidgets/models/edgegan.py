"""EdgeGAN (Gao et al., "SketchyCOCO: Image Generation from Freehand Scene Sketches", CVPR 2020),
object level, written layer by layer after the authors' TensorFlow code, sysu-imsl/EdgeGAN (the
files and revisions read: docs/findings/edgegan.md). Reference paths under ``edgegan/``:

* GE and GI share one input ``[z | one-hot class]``: GE makes a 64x64 **edge map**, GI a 64x64
  **image** (``models/generator.py`` ``_convnet``) -> :class:`Generator`.
* **Joint discriminator** DJ on the 64x128 ``[edge | image]``, plus DI on images and DE on
  edges, each at its own bicubic resize (``models/discriminator.py``) -> :class:`Discriminator`.
* WGAN losses with a gradient penalty, ``lambda_gp`` = 10 (``nn/functional.py``,
  ``models/edgegan.py`` ``penalty``), computed in float32.
* **Classifier** on images with the focal auxiliary-classifier loss (``models/classifier.py``,
  ``get_acgan_loss_focal``): real images train it, and 0.5 x its cross-entropy on GI's output
  is added to GI's loss -> :class:`Classifier`.
* **Edge encoder** E (``models/encoder.py`` ``_resnet``): E(GE(z, c)) must give back z (L1,
  ``zl_weight`` = 10), trained by its own optimiser -> :class:`EdgeEncoder`.
* **Update order** per batch (``construct_optimizers``): DJ, DI, DE, classifier, GE+GI, E,
  (the pair step), GE+GI again, each a TF 1.x RMSProp at lr 2e-4
  (:class:`~.edgegan_layers.TFRMSprop`).
* **Inference** (``define_test_input``): z = E(sketch), then image = GI(z, c) and edge =
  GE(z, c). Without a sketch, :meth:`EdgeGAN.sample` draws z.
* TensorFlow's defaults are reproduced (instance norm's eps, SAME transposed convolutions,
  legacy bicubic resizing, a never-updated spectral-norm ``u``, ...): :mod:`.edgegan_layers`.

Departures, one option each, all off by default (the reference's values). The ``edgegan/*``
recipes (:mod:`sketchwidgets.pretrained`) turn them on, because a CPU-sized run with the
reference's losses alone ignores the sketch; the measurements: docs/findings/edgegan.md.

* ``pair_l1_weight``: one more step per batch over E, GE and GI on a real pair (e, x),
  ``w (|GE(E(e), c) - e| + |GI(E(e), c) - x|)``, BicycleGAN's cVAE-GAN image term;
* ``pair_optimizer="rmsprop"``: the pair step gets its own TF RMSProp over E, GE and GI;
* ``pair_edge_loss="ink_l1"``: ink and paper of the edge map weighed as two equal classes;
* ``encoder_noise="none"``: E's mean as the code, not the reference's one scalar noise draw;
* ``zl_trains="encoder_and_edge_generator"``: the z error trains GE too (InfoGAN, cLR-GAN);
* ``z_dim`` 8 in the recipes (BicycleGAN's nz; the reference's 100), so that E inverts GE;
* ``image_reads_edge``: GI also reads an edge map through strided skips into each of its
  deconvolutions (pix2pix's U-Net): GE's map (detached) in the WGAN steps, the sketch else;
* ``image_refiner_width`` (the recipes'): a small U-Net (:mod:`.completion_refiner`) remakes
  GI's image beside the sketch, by its own L1 to the photo in the pair step;
* ``image_refiner_gan_weight``, ``_upsample``, ``_depth`` (the classroom recipe's): the refiner
  also plays pix2pix's PatchGAN, to pick a colour per drawing, seeing the whole picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.classes import SKETCHYCOCO_CLASSES
from sketchwidgets.device import full_precision
from sketchwidgets.drawing.line_stats import INK_LEVEL
from sketchwidgets.models.base import ModelConfig, SketchModel
from sketchwidgets.models.completion_refiner import UPSAMPLES, CompletionRefiner
from sketchwidgets.models.edgegan_layers import (
    ScalarPReLU,
    SpectralNormConv2d,
    SpectralNormLinear,
    TFRMSprop,
    TFSameConvTranspose2d,
    bicubic_resize,
    instance_norm,
    lrelu,
    truncated_normal_,
)
from sketchwidgets.models.losses import ink_balanced_weights
from sketchwidgets.models.pix2pix import PatchDiscriminator

REFERENCE_BATCH_SIZE = 64  # train.py batch_size 64 (outputs/edgegan/flags.json)


@dataclass(frozen=True)
class EdgeGANConfig(ModelConfig):
    """EdgeGAN hyper-parameters; defaults from ``outputs/edgegan/flags.json`` and the code."""

    image_size: int = 64  # flags.json output_height 64 (joint image 64x128)
    z_dim: int = 100  # flags.json z_dim 100 (the recipe: 8, module docstring)
    gf_dim: int = 64  # models/edgegan.py EdgeGAN(gf_dim=64)
    df_dim: int = 64  # models/edgegan.py EdgeGAN(df_dim=64)
    ef_dim: int = 64  # models/encoder.py _resnet: 64, then [128, 256, 512, 512]
    classifier_dim: int = 64  # models/classifier.py size = 64 (widths 128, 256, 512, 768)
    image_dis_size: int = 128  # train.py image_dis_size 128 (flags.json sizeOfIn_patch2)
    edge_dis_size: int = 128  # train.py edge_dis_size 128 (flags.json sizeOfIn_patch3)
    use_image_discriminator: bool = True  # train.py use_image_discriminator True
    use_edge_discriminator: bool = True  # train.py use_edge_discriminator True
    lambda_gp: float = 10.0  # flags.json lambda_gp 10.0
    joint_dweight: float = 1.0  # train.py joint_dweight 1.0 (flags.json D_origin_loss)
    image_dweight: float = 1.0  # train.py image_dweight 1.0 (flags.json D_patch2_loss)
    edge_dweight: float = 1.0  # train.py edge_dweight 1.0 (flags.json D_patch3_loss)
    zl_weight: float = 10.0  # flags.json stage1_zl_loss 10.0
    # what the z error |z - E(GE(z, c))| trains: "encoder" = E alone, by its own optimiser
    # (e_optim); "encoder_and_edge_generator" = E and GE through one more TF RMSProp, as
    # InfoGAN's mutual-information term trains G and Q (Chen et al., NeurIPS 2016) and
    # BicycleGAN's cLR-GAN latent L1 trains G (Zhu et al., NeurIPS 2017) (docs/findings/edgegan.md)
    zl_trains: str = "encoder"  # e_optim (reference); measured best: "encoder_and_edge_generator"
    # L1 of GE(E(edge)), GI(E(edge)) against a real pair, over E, GE, GI (docs/findings/edgegan.md)
    pair_l1_weight: float = 0.0  # not in the reference (0 = off); BicycleGAN cVAE-GAN L1: 10
    # the pair step's optimiser: "shared" = E's, GE's and GI's own (their mean squares mix the
    # pair term's gradients with the ~10x larger WGAN ones); "rmsprop" = one more TF RMSProp
    # over E, GE and GI for this step only (docs/findings/edgegan.md)
    pair_optimizer: str = "shared"  # not in the reference; measured best: "rmsprop"
    # the pair term's edge loss: "l1", or "ink_l1" (ink and paper weighted as two equal
    # classes, as sketchwidgets.models.losses.ink_balanced_weights)
    pair_edge_loss: str = "l1"  # not in the reference; BicycleGAN's plain L1
    # z from E: "scalar" = mu + eps * sigma with one scalar eps (models/edgegan.py
    # encoder: tf.random_normal(shape=tf.shape(latent_dim)) is 0-d); "none" = mu
    encoder_noise: str = "scalar"  # models/edgegan.py (reference); measured best: "none"
    focal_gamma: float = 2.0  # nn/functional.py get_acgan_loss_focal ld_focal=2.
    ac_real_weight: float = 1.0  # get_acgan_loss_focal ld1=1 (classifier, real images)
    ac_fake_weight: float = 0.5  # get_acgan_loss_focal ld2=0.5 (added to GI's loss)
    lr: float = 2e-4  # flags.json learning_rate 0.0002, RMSProp (models/edgegan.py)
    rms_decay: float = 0.9  # tf.train.RMSPropOptimizer default decay=0.9
    rms_epsilon: float = 1e-10  # tf.train.RMSPropOptimizer default epsilon=1e-10
    class_names: tuple[str, ...] = SKETCHYCOCO_CLASSES  # flags.json num_classes 14, README order
    # GI reads the edge map through skips at each scale (module docstring, last departure)
    image_reads_edge: bool = False  # not in the reference: GI sees only [z | class]
    # channels of a refiner that remakes GI's image beside the sketch; 0 = none (module
    # docstring); trained by its own Adam (pix2pix's lr and betas) in the pair step
    image_refiner_width: int = 0  # not in the reference: the image is GI's
    # weight of a conditional PatchGAN's loss beside the refiner's L1 (pix2pix's ratio is
    # 1 to 100); 0 = the L1 alone. The PatchGAN: 16 channels, 3 layers, batch norm
    image_refiner_gan_weight: float = 0.0  # not in the reference
    # how the refiner doubles its features: "transposed" or "resize" (completion_refiner.py)
    image_refiner_upsample: str = "transposed"  # not in the reference; pix2pix's
    # the refiner's levels: 3 see 22 px of the picture, 5 all of it (completion_refiner.py)
    image_refiner_depth: int = 3  # not in the reference

    def __post_init__(self) -> None:
        size = self.image_size
        if size % 16 or not 32 <= size <= 128:
            raise ValueError(f"image_size must be a multiple of 16 in [32, 128], got {size}")
        for key in ("z_dim", "gf_dim", "df_dim", "ef_dim", "classifier_dim"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        choices = {
            "pair_optimizer": ("shared", "rmsprop"),
            "pair_edge_loss": ("l1", "ink_l1"),
            "encoder_noise": ("scalar", "none"),
            "zl_trains": ("encoder", "encoder_and_edge_generator"),
            "image_refiner_upsample": UPSAMPLES,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {getattr(self, key)!r}")
        self._check_refiner()
        for key in ("image_dis_size", "edge_dis_size"):
            if getattr(self, key) % 16 or getattr(self, key) < 16:
                raise ValueError(f"{key} must be a multiple of 16, got {getattr(self, key)}")

    def _check_refiner(self) -> None:
        for key, least in (("image_refiner_width", 0), ("image_refiner_depth", 2)):
            if getattr(self, key) < least:
                raise ValueError(f"{key} must be >= {least}, got {getattr(self, key)}")
        if self.image_refiner_gan_weight < 0:
            raise ValueError(
                f"image_refiner_gan_weight must be >= 0, got {self.image_refiner_gan_weight}"
            )
        if self.image_refiner_gan_weight and not self.image_refiner_width:
            raise ValueError(
                "image_refiner_gan_weight > 0 trains the refiner against a discriminator: "
                "set image_refiner_width > 0"
            )
        if self.image_refiner_width and self.pair_l1_weight <= 0:
            raise ValueError(
                "image_refiner_width > 0 trains the refiner on real pairs in the pair step: "
                f"set pair_l1_weight > 0 (got {self.pair_l1_weight})"
            )


# --------------------------------------------------------------------------- generators


class Generator(nn.Module):
    """``models/generator.py`` ``_convnet``: ``(N, z_dim + C)`` -> ``(N, 3, S, S)`` in [-1, 1].

    linear (N(0, 0.02), bias 0) -> ``(8 gf, S/16, S/16)`` -> **BatchNorm** -> ReLU, then 5x5
    stride-2 transposed convolutions (N(0, 0.02), bias 0) to 4 gf, 2 gf, gf (IN, ReLU) and 3
    (tanh). The first norm is a batch norm although ``G_norm`` is "instance": the code calls
    ``nn.norm(h0, self._norm)``, which lands "instance" in ``is_train`` and leaves ``norm`` at
    its default "batch" (``nn/modules/normalization.py``), a ``tf.contrib`` batch norm with
    ``is_training=True`` hard-wired: batch statistics in training and at test time alike.

    With ``skip_channels`` > 0 (``image_reads_edge``, not in the reference), each transposed
    convolution also takes that many channels of :class:`EdgeSkips` at its input's size.
    """

    def __init__(
        self, in_features: int, gf_dim: int, image_size: int, skip_channels: int = 0
    ) -> None:
        super().__init__()
        self.base = image_size // 16
        self.width = gf_dim * 8
        self.project = nn.Linear(in_features, self.width * self.base**2)  # g_lin_0
        self.project_norm = nn.BatchNorm2d(self.width, track_running_stats=False)  # eps 1e-5
        widths = [gf_dim * 8, gf_dim * 4, gf_dim * 2, gf_dim, 3]
        self.deconvs = nn.ModuleList(
            TFSameConvTranspose2d(c_in + skip_channels, c_out) for c_in, c_out in pairwise(widths)
        )
        for layer in [self.project, *self.deconvs]:  # nn/modules/linear.py, conv.py deconv2d
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)

    def forward(self, code: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        x = self.project(code).view(-1, self.width, self.base, self.base)
        x = F.relu(self.project_norm(x))  # batch statistics always (see the docstring)
        inputs = list(reversed(skips)) if skips else [None] * len(self.deconvs)
        for layer, skip in zip(self.deconvs[:-1], inputs[:-1], strict=True):
            x = F.relu(instance_norm(layer(_joined(x, skip))))  # deconv_block(norm, 'relu')
        return torch.tanh(self.deconvs[-1](_joined(x, inputs[-1])))  # norm None, act None


def _joined(x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
    """``x`` with the skip's channels after its own (``x`` alone without a skip)."""
    return x if skip is None else torch.cat([x, skip], 1)


class EdgeSkips(nn.Module):
    """Not in the reference (``image_reads_edge``): an edge map ``(N, 1, S, S)`` -> features at
    S/2, S/4, S/8 and S/16, each ``width`` channels: 4x4 stride-2 convolutions with leaky
    ReLU 0.2, as the encoder half of pix2pix's U-Net, without its norms."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else width, width, 4, stride=2, padding=1) for i in range(4)
        )
        for conv in self.convs:
            nn.init.normal_(conv.weight, 0.0, 0.02)
            nn.init.zeros_(conv.bias)

    def forward(self, edge: torch.Tensor) -> list[torch.Tensor]:
        features, x = [], edge
        for conv in self.convs:
            x = lrelu(conv(x))
            features.append(x)
        return features


# ----------------------------------------------------------------------- discriminators


class Discriminator(nn.Module):
    """``models/discriminator.py`` ``_convnet``: ``(N, 3, H, W)`` -> ``(N, 1)`` WGAN critic.

    4x4 stride-2 SAME convolutions without bias (``conv_block`` default ``bias=False``,
    truncated N(0, 0.02)) to df, 2 df, 4 df, 8 df, instance norm from the second, leaky
    ReLU 0.2, then one linear logit (N(0, 0.02), bias 0).
    """

    def __init__(self, df_dim: int, height: int, width: int) -> None:
        super().__init__()
        widths = [3, df_dim, df_dim * 2, df_dim * 4, df_dim * 8]
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False)
            for c_in, c_out in pairwise(widths)
        )
        for conv in self.convs:
            truncated_normal_(conv.weight, 0.02)
        self.logit = nn.Linear(widths[-1] * (height // 16) * (width // 16), 1)  # d_linear_5
        nn.init.normal_(self.logit.weight, 0.0, 0.02)
        nn.init.zeros_(self.logit.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = lrelu(self.convs[0](x))  # d_conv_0: norm None
        for conv in self.convs[1:]:
            x = lrelu(instance_norm(conv(x)))
        return self.logit(x.flatten(1))


# ---------------------------------------------------------------------------- encoder


class _ResidualBlock(nn.Module):
    """``nn/modules/conv.py`` ``residual``: reflect-padded 3x3 convs, IN, 1x1 shortcut, ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect")
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, padding_mode="reflect")
        self.shortcut = nn.Conv2d(c_in, c_out, 1)
        for conv in (self.conv1, self.conv2, self.shortcut):
            truncated_normal_(conv.weight, 0.02)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(instance_norm(self.conv1(x)))
        out = instance_norm(self.conv2(out))
        return F.relu(self.shortcut(x) + out)


class EdgeEncoder(nn.Module):
    """``models/encoder.py`` ``_resnet``: an edge map ``(N, 3, S, S)`` -> ``(mu, log_sigma)``.

    4x4 stride-2 conv (bias, ReLU, no norm), four residual blocks each followed by a 2x2
    average pool, ReLU, global average (``avg_pool`` 8x8 SAME), two linear heads.
    """

    def __init__(self, ef_dim: int, z_dim: int) -> None:
        super().__init__()
        widths = [ef_dim, ef_dim * 2, ef_dim * 4, ef_dim * 8, ef_dim * 8]  # 64,128,256,512,512
        self.stem = nn.Conv2d(3, widths[0], 4, stride=2, padding=1)
        truncated_normal_(self.stem.weight, 0.02)
        nn.init.zeros_(self.stem.bias)
        self.blocks = nn.ModuleList(_ResidualBlock(a, b) for a, b in pairwise(widths))
        self.mu = nn.Linear(widths[-1], z_dim)  # FC8_mu (nn.mlp: N(0, 0.02), bias 0)
        self.log_sigma = nn.Linear(widths[-1], z_dim)  # FC8_sigma
        for head in (self.mu, self.log_sigma):
            nn.init.normal_(head.weight, 0.0, 0.02)
            nn.init.zeros_(head.bias)

    def forward(self, edge: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.stem(edge))
        for block in self.blocks:
            x = F.avg_pool2d(block(x), 2)
        x = F.relu(x).mean(dim=(2, 3))  # the feature map is <= 8x8: the 8x8 pool averages it
        return self.mu(x), self.log_sigma(x)


# ------------------------------------------------------------------------- classifier


class _MRUBlock(nn.Module):
    """``nn/modules/conv.py`` ``mru_conv_block_v3`` (no norm, stride 2) inside ``mru_conv``.

    ``inp`` is the image at the hidden state's resolution; the gate (bias 0.5, leaky ReLU) is
    min-max normalised per channel, mixes the image features into the state, two 3x3 convs
    refine it, a 1x1 projection carries the state to the new width, then a 2x2 mean pool.
    """

    def __init__(self, image_channels: int, hidden: int, width: int, last: bool) -> None:
        super().__init__()
        self.act_in = ScalarPReLU()  # norm_activation_in
        self.gate = SpectralNormConv2d(hidden + image_channels, hidden, 3, bias=0.5)
        self.image_conv = SpectralNormConv2d(image_channels, hidden, 3, bias=0.0)
        self.act_merge = ScalarPReLU()  # norm_activation_merge_1
        self.conv1 = SpectralNormConv2d(hidden, width, 3, bias=0.0)
        self.act1 = ScalarPReLU()
        self.conv2 = SpectralNormConv2d(width, width, 3, bias=0.0)
        self.project = SpectralNormConv2d(hidden, width, 1, bias=0.0) if hidden != width else None
        self.act_last = ScalarPReLU() if last else None  # mru_conv_unit_last_norm

    def forward(self, inp: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        gate = lrelu(self.gate(torch.cat([self.act_in(state), inp], 1)))
        low = gate.amin(dim=(2, 3), keepdim=True)
        span = (gate.amax(dim=(2, 3), keepdim=True) - low).clamp_min(1e-12)  # 0/0 guard
        mixed = state + (gate - low) / span * self.image_conv(inp)
        new = self.conv2(self.act1(self.conv1(self.act_merge(mixed))))
        shortcut = self.project(state) if self.project is not None else state
        out = F.avg_pool2d(shortcut + new, 2)  # nn/modules/pooling.py mean_pool
        return self.act_last(out) if self.act_last is not None else out


class Classifier(nn.Module):
    """``models/classifier.py``: an image ``(N, 3, S, S)`` -> class logits ``(N, C)``.

    A 7x7 conv to 8 channels (PReLU) at full size, then four MRU blocks fed the image at
    S, S/2, S/4, S/8 (2x2 mean pools), widths 2, 4, 8, 12 x ``size``, a spatial mean and a
    spectrally normalised linear layer. The unused ``disc`` head of the reference is left out.
    """

    def __init__(self, size: int, num_classes: int) -> None:
        super().__init__()
        self.stem = SpectralNormConv2d(3, 8, 7, bias=0.0)
        self.stem_act = ScalarPReLU()
        widths = [8, size * 2, size * 4, size * 8, size * 12]
        self.blocks = nn.ModuleList(
            _MRUBlock(3, widths[i], widths[i + 1], last=i == 3) for i in range(4)
        )
        self.fc = SpectralNormLinear(widths[-1], max(num_classes, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        state = self.stem_act(self.stem(image))
        scale = image
        for block in self.blocks:
            state = block(scale, state)
            scale = F.avg_pool2d(scale, 2)
        return self.fc(state.mean(dim=(2, 3)))


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: float) -> torch.Tensor:
    """``get_acgan_loss_focal`` on real images: mean ``(1 - p_label)^gamma * CE``."""
    p_label = logits.softmax(1).gather(1, labels[:, None])[:, 0]
    return ((1 - p_label) ** gamma * F.cross_entropy(logits, labels, reduction="none")).mean()


def ink_weights(edge: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` weights of ``pair_edge_loss="ink_l1"``: ink and paper of each edge map
    as two equal classes (:func:`~sketchwidgets.models.losses.ink_balanced_weights`), ink being what
    :mod:`sketchwidgets.eval.shape_metrics` counts as ink (grey < 200 of 255): the shoes/handbags
    edge maps are 8 % ink, so a blank edge map no longer has the lowest L1."""
    return ink_balanced_weights(edge, ink_below=2 * INK_LEVEL / 255 - 1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``models/edgegan.py`` ``penalty``: ``mean((||grad D(x_hat)||_2 - 1)^2)`` in float32.

    ``x_hat = real + alpha (fake - real)``, alpha ~ U(0, 1) per sample (``random_blend``).
    """
    with full_precision():
        real, fake = real.float(), fake.float()
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        mixed = (real + alpha * (fake - real)).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# ------------------------------------------------------------------------------ model


class EdgeGAN(SketchModel):
    """EdgeGAN: GE and GI from ``[z | class]``, DJ on ``[edge | image]``, DI, DE, classifier, E."""

    name = "edgegan"
    config_class = EdgeGANConfig
    network_names = (
        "edge_generator",
        "image_generator",
        "joint_discriminator",
        "image_discriminator",
        "edge_discriminator",
        "classifier",
        "encoder",
    )
    # with image_reads_edge, image_refiner_width, image_refiner_gan_weight
    optional_networks: ClassVar[tuple[str, ...]] = (
        "edge_skips",
        "image_refiner",
        "refiner_discriminator",
    )
    needs_label: ClassVar[bool] = True
    output_names: ClassVar[tuple[str, ...]] = ("image", "edge")

    def __init__(self, config: EdgeGANConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        size, classes = c.image_size, len(c.class_names)
        skip_width = c.gf_dim if c.image_reads_edge else 0
        self.edge_generator = Generator(c.z_dim + classes, c.gf_dim, size)  # G1
        self.image_generator = Generator(c.z_dim + classes, c.gf_dim, size, skip_width)  # G2
        self.edge_skips = EdgeSkips(skip_width) if c.image_reads_edge else None
        refiner = (c.image_refiner_width, c.image_refiner_upsample, c.image_refiner_depth)
        self.image_refiner = CompletionRefiner(*refiner) if c.image_refiner_width else None
        judged = c.image_refiner_gan_weight > 0  # (sketch, image): 1 + 3 channels
        self.refiner_discriminator = PatchDiscriminator(4, 16, 3, "batch") if judged else None
        self.joint_discriminator = Discriminator(c.df_dim, size, 2 * size)  # D
        self.image_discriminator = Discriminator(c.df_dim, c.image_dis_size, c.image_dis_size)
        self.edge_discriminator = Discriminator(c.df_dim, c.edge_dis_size, c.edge_dis_size)
        self.classifier = Classifier(c.classifier_dim, classes)  # D2
        self.encoder = EdgeEncoder(c.ef_dim, c.z_dim)  # E

    @property
    def latent_dim(self) -> int:
        """z's length, ``config.z_dim`` (z ~ N(0, 1): utils/data/dataset.py np.random.normal)."""
        return self.config.z_dim

    # -------------------------------------------------------------- forward pieces

    def _code(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``[z | one-hot(label)]`` (models/edgegan.py define_inputs ``z_onehot``)."""
        onehot = F.one_hot(labels, self.num_classes).to(z.dtype)
        return torch.cat([z, onehot], 1)

    def _generate(
        self, z: torch.Tensor, labels: torch.Tensor, sketch: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """``(edge, image)``, each ``(N, 3, S, S)`` in [-1, 1]. With ``image_reads_edge``, GI
        reads ``sketch`` ``(N, 1 | 3, S, S)`` when given, else GE's edge map, detached."""
        code = self._code(z, labels)
        edge = self.edge_generator(code)
        if self.edge_skips is None:
            return edge, self.image_generator(code)
        seen = edge.detach() if sketch is None else sketch
        skips = self.edge_skips(seen.mean(1, keepdim=True))
        return edge, self.image_generator(code, skips)

    @property
    def has_noise(self) -> bool:
        """False with ``encoder_noise="none"``: z is E's mean, so a sketch gives one image
        whatever the seed (a re-roll would change nothing); True with the reference's noise."""
        return self.config.encoder_noise != "none"

    def encode(self, edge: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + eps * exp(log_sigma) with ONE scalar eps for the whole batch, as the code
        (mu alone with ``encoder_noise="none"``).

        ``edge`` is ``(N, 1 | 3, S, S)`` in [-1, 1]. The scalar comes from
        ``tf.random_normal(shape=tf.shape(self._latent_dim))``: the shape of a Python int.
        """
        mu, log_sigma = self.encoder(edge.to(self.device).expand(-1, 3, -1, -1))
        if self.config.encoder_noise == "none":
            return mu
        where = rng.device if rng is not None else mu.device
        eps = torch.randn((), generator=rng, device=where).to(mu.device, mu.dtype)
        return mu + eps * log_sigma.exp()

    def _critic_loss(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple:
        """WGAN critic loss ``mean(D(fake)) - mean(D(real))`` and its gradient penalty."""
        wgan = critic(fake).float().mean() - critic(real).float().mean()  # discriminator_ganloss
        return wgan, gradient_penalty(critic, real, fake)

    def _pairs(self, edge: torch.Tensor, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """What each critic sees: the joint ``[edge | image]`` and the resized halves."""
        c = self.config
        return {
            "joint": torch.cat([edge, image], 3),
            "image": bicubic_resize(image, c.image_dis_size),
            "edge": bicubic_resize(edge, c.edge_dis_size),
        }

    def _critics(self) -> dict[str, tuple[nn.Module, float]]:
        """The critics in use with their weight in the generators' losses."""
        c = self.config
        critics = {"joint": (self.joint_discriminator, c.joint_dweight)}
        if c.use_image_discriminator:
            critics["image"] = (self.image_discriminator, c.image_dweight)
        if c.use_edge_discriminator:
            critics["edge"] = (self.edge_discriminator, c.edge_dweight)
        return critics

    # -------------------------------------------------------------- training

    def _image_nets(self) -> list[nn.Module]:
        """What GI's losses train: GI, and its edge skips with ``image_reads_edge``."""
        skips = [self.edge_skips] if self.edge_skips is not None else []
        return [self.image_generator, *skips]

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One TF-style RMSProp per trained part (models/edgegan.py construct_optimizers)."""
        c = self.config

        def rmsprop(*nets: nn.Module) -> TFRMSprop:
            params = [p for net in nets for p in net.parameters()]
            return TFRMSprop(params, c.lr, c.rms_decay, c.rms_epsilon)

        optimizers = {"DJ": rmsprop(self.joint_discriminator)}  # d_optim
        if c.use_image_discriminator:
            optimizers["DI"] = rmsprop(self.image_discriminator)  # d_optim_patch2
        if c.use_edge_discriminator:
            optimizers["DE"] = rmsprop(self.edge_discriminator)  # d_optim_patch3
        optimizers["C"] = rmsprop(self.classifier)  # d_optim2
        optimizers["GE"] = rmsprop(self.edge_generator)  # edge_goptim
        optimizers["GI"] = rmsprop(*self._image_nets())  # image_goptim
        if c.zl_trains == "encoder":
            optimizers["E"] = rmsprop(self.encoder)  # e_optim
        else:  # not in the reference: the z error also trains GE
            optimizers["E"] = rmsprop(self.encoder, self.edge_generator)
        if self.image_refiner is not None:  # not in the reference; pix2pix's Adam
            params = self.image_refiner.parameters()
            optimizers["R"] = torch.optim.Adam(params, lr=c.lr, betas=(0.5, 0.999))
        if self.refiner_discriminator is not None:  # not in the reference; pix2pix's Adam
            params = self.refiner_discriminator.parameters()
            optimizers["RD"] = torch.optim.Adam(params, lr=c.lr, betas=(0.5, 0.999))
        if c.pair_l1_weight > 0 and c.pair_optimizer == "rmsprop":  # not in the reference
            optimizers["pair"] = rmsprop(self.encoder, self.edge_generator, *self._image_nets())
        return optimizers

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """DJ, DI, DE, classifier, GE+GI, E, GE+GI on one batch with one z (``update_model``)."""
        edge = batch["sketch"].expand(-1, 3, -1, -1)  # (N, 3, S, S): edges stored RGB
        photo, labels = batch["photo"], self._train_labels(batch["label"])
        z = torch.randn(photo.shape[0], self.latent_dim, device=photo.device)
        real = self._pairs(edge, photo)
        with torch.no_grad():  # G is not updated by the four critic steps: one forward serves
            fake = self._pairs(*self._generate(z, labels))
        losses = {}
        for name, (critic, _) in self._critics().items():
            losses |= self._critic_step(name, critic, real[name], fake[name], optimizers)
        losses |= self._classifier_step(photo, labels, optimizers["C"])
        losses |= self._generator_step(z, labels, optimizers)
        losses |= self._encoder_step(z, labels, optimizers["E"])
        if self.config.pair_l1_weight > 0:
            losses |= self._pair_step(edge, photo, labels, optimizers)
        losses |= self._generator_step(z, labels, optimizers)  # g_optim_b
        return losses

    def _train_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """The batch's class indices, checked: EdgeGAN trains on labelled pairs only."""
        labels = labels.long()
        bad = (labels < 0) | (labels >= self.num_classes)
        if bool(bad.any()):
            raise ValueError(
                f"EdgeGAN trains on labelled pairs of its {self.num_classes} classes "
                f"{list(self.class_names)}; got label(s) {sorted(set(labels[bad].tolist()))}"
            )
        return labels

    def _critic_step(
        self,
        name: str,
        critic: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
    ) -> dict[str, torch.Tensor]:
        """Minimise ``mean D(fake) - mean D(real) + lambda_gp * GP`` over one critic."""
        optimizer = optimizers[{"joint": "DJ", "image": "DI", "edge": "DE"}[name]]
        optimizer.zero_grad(set_to_none=True)
        wgan, penalty = self._critic_loss(critic, real, fake)
        (wgan + self.config.lambda_gp * penalty).backward()
        optimizer.step()
        return {f"D/{name}": wgan.detach(), f"D/{name}_gp": penalty.detach()}

    def _classifier_step(
        self, photo: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> dict[str, torch.Tensor]:
        """Minimise the focal loss of the classifier on the real images (``loss_d_ac``)."""
        optimizer.zero_grad(set_to_none=True)
        loss = self.config.ac_real_weight * focal_loss(
            self.classifier(photo), labels, self.config.focal_gamma
        )
        loss.backward()
        optimizer.step()
        return {"D/class_focal": loss.detach()}

    def _generator_step(
        self, z: torch.Tensor, labels: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """GE minimises its critics' WGAN losses, GI its own plus 0.5 x the classifier's CE.

        Both losses come from one forward and each updates only its own generator, as the
        reference's single ``sess.run([edge_goptim, image_goptim])``.
        """
        c = self.config
        edge, image = self._generate(z, labels)
        fake = self._pairs(edge, image)
        scores = {
            name: -critic(fake[name]).float().mean()
            for name, (critic, _) in self._critics().items()
        }
        weights = {name: weight for name, (_, weight) in self._critics().items()}
        joint = weights["joint"] * scores["joint"]
        edge_loss = joint + weights.get("edge", 0.0) * scores.get("edge", 0.0)
        ce = F.cross_entropy(self.classifier(image), labels)  # loss_g_ac
        image_loss = joint + weights.get("image", 0.0) * scores.get("image", 0.0)
        image_loss = image_loss + c.ac_fake_weight * ce
        self._step_on(edge_loss, [self.edge_generator], optimizers["GE"], retain=True)
        self._step_on(image_loss, self._image_nets(), optimizers["GI"], retain=False)
        return {
            "G/edge": edge_loss.detach(),
            "G/image": image_loss.detach(),
            "G/class_ce": ce.detach(),
        }

    @staticmethod
    def _step_on(
        loss: torch.Tensor, nets: list[nn.Module], optimizer: torch.optim.Optimizer, retain: bool
    ) -> None:
        """Gradients of ``loss`` for the parameters of ``nets`` only, then one optimiser step."""
        params = [p for net in nets for p in net.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, params, retain_graph=retain)
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def _encoder_step(
        self, z: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> dict[str, torch.Tensor]:
        """Minimise ``zl_weight * mean|z - E(GE(z, c))|`` over E (``zl_loss``, ``e_optim``), or
        over E and GE with ``zl_trains="encoder_and_edge_generator"``."""
        optimizer.zero_grad(set_to_none=True)
        with torch.set_grad_enabled(self.config.zl_trains != "encoder"):
            edge = self.edge_generator(self._code(z, labels))
        loss = self.config.zl_weight * (z - self.encode(edge)).abs().mean()
        loss.backward()
        optimizer.step()
        return {"E/zl": loss.detach()}

    def _pair_step(
        self,
        edge: torch.Tensor,
        photo: torch.Tensor,
        labels: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
    ) -> dict[str, torch.Tensor]:
        """Not in the reference: ``pair_l1_weight x (|GE(E(e), c) - e| + |GI(E(e), c) - x|)``
        on a real pair (e, x), minimised over E, GE and GI (BicycleGAN's cVAE-GAN L1 term)."""
        names = ("pair",) if "pair" in optimizers else ("E", "GE", "GI")
        for name in names:
            optimizers[name].zero_grad(set_to_none=True)
        fake_edge, fake_image = self._generate(self.encode(edge), labels, edge)
        if self.config.pair_edge_loss == "ink_l1":
            edge_l1 = ((fake_edge - edge).abs() * ink_weights(edge)).mean()
        else:
            edge_l1 = (fake_edge - edge).abs().mean()
        image_l1 = (fake_image - photo).abs().mean()
        (self.config.pair_l1_weight * (edge_l1 + image_l1)).backward()
        for name in names:
            optimizers[name].step()
            optimizers[name].zero_grad(set_to_none=True)
        losses = {"pair/edge_l1": edge_l1.detach(), "pair/image_l1": image_l1.detach()}
        if self.image_refiner is not None:
            losses.update(self._refiner_step(fake_image.detach(), edge, photo, optimizers))
        return losses

    def _refiner_step(
        self,
        image: torch.Tensor,
        sketch: torch.Tensor,
        photo: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
    ) -> dict[str, torch.Tensor]:
        """Not in the reference: ``pair_l1_weight x |R(GI's image, sketch) - photo|`` over the
        refiner alone, plus ``image_refiner_gan_weight`` x its PatchGAN loss when it has one
        (the PatchGAN steps first, pix2pix's update). GI's image comes in detached, so E, GE
        and GI keep their own losses."""
        refined = self._refined(image, sketch)
        losses: dict[str, torch.Tensor] = {}
        optimizers["R"].zero_grad(set_to_none=True)
        l1 = (refined - photo).abs().mean()
        loss = self.config.pair_l1_weight * l1
        if self.refiner_discriminator is not None:
            grey = sketch.mean(1, keepdim=True)
            losses["RD/gan"] = self._refiner_discriminator_step(grey, refined, photo, optimizers)
            judged = self.refiner_discriminator(torch.cat([grey, refined], 1))
            adversarial = F.binary_cross_entropy_with_logits(judged, torch.ones_like(judged))
            loss = loss + self.config.image_refiner_gan_weight * adversarial
            losses["R/gan"] = adversarial.detach()
        loss.backward()
        optimizers["R"].step()
        if self.refiner_discriminator is not None:
            optimizers["RD"].zero_grad(set_to_none=True)  # R's step left gradients in it
        losses["pair/refined_l1"] = l1.detach()
        return losses

    def _refiner_discriminator_step(
        self,
        grey: torch.Tensor,
        refined: torch.Tensor,
        photo: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
    ) -> torch.Tensor:
        """One step of the refiner's PatchGAN: (sketch, photo) real, (sketch, refined) fake."""
        bce = F.binary_cross_entropy_with_logits
        optimizers["RD"].zero_grad(set_to_none=True)
        real = self.refiner_discriminator(torch.cat([grey, photo], 1))
        fake = self.refiner_discriminator(torch.cat([grey, refined.detach()], 1))
        loss = 0.5 * (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
        loss.backward()
        optimizers["RD"].step()
        return loss.detach()

    def _refined(self, image: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        """GI's ``image`` remade beside ``sketch`` ``(N, 1 | 3, S, S)`` by the refiner; the
        image itself without one."""
        if self.image_refiner is None:
            return image
        return self.image_refiner(image, sketch)

    @torch.no_grad()
    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``val/image_l1`` and ``val/edge_l1``: GI and GE from z = E(edge) against the pair."""
        noise = torch.Generator(device="cpu").manual_seed(0)
        labels = self._train_labels(batch["label"])
        out = self.generate_outputs(batch["sketch"], rng=noise, label=labels)
        edge = batch["sketch"].expand(-1, 3, -1, -1)
        return {
            "val/image_l1": (out["image"] - batch["photo"]).abs().mean(),
            "val/edge_l1": (out["edge"] - edge).abs().mean(),
        }

    # -------------------------------------------------------------- inference

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sketches ``(N, 1, S, S)`` + classes -> images ``(N, 3, S, S)``: GI(E(sketch), c)."""
        return self.generate_outputs(sketch, rng=rng, label=label, z=z)["image"]

    def generate_outputs(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """``{"image": GI(z, c), "edge": GE(z, c)}`` with z = E(sketch) (one scalar noise draw
        from ``rng``). A given ``z`` ``(N, z_dim)`` replaces E(sketch). With
        ``image_reads_edge``, GI also reads the sketch; with ``image_refiner_width``, the
        refiner remakes GI's image beside it."""
        labels = self.label_indices(label, sketch.shape[0])
        sketch = sketch.to(self.device)
        with torch.inference_mode():
            if z is None:
                z = self.encode(sketch, rng)
            else:
                z = self.latent_codes(sketch.shape[0], z=z)
            edge, image = self._generate(z, labels.to(self.device), sketch)
            image = self._refined(image, sketch)
        return {"image": image, "edge": edge}

    @torch.no_grad()
    def sample(
        self,
        label: Any,
        n: int | None = None,
        *,
        rng: torch.Generator | None = None,
        z: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Class samples without a sketch: ``{"image", "edge"}`` from z ~ N(0, 1) (or ``z``).

        ``label`` is a class name or index (repeated ``n`` times) or one per sample.
        """
        count = n if n is not None else (z.shape[0] if z is not None else len(_as_list(label)))
        labels = self.label_indices(label, count).to(self.device)
        codes = self.latent_codes(count, rng, z)
        with torch.inference_mode():
            edge, image = self._generate(codes, labels)
        return {"image": image, "edge": edge}

    # -------------------------------------------------------------- checkpoints

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """As ``nn.Module``'s, but a checkpoint for another class count says so plainly."""
        key = "edge_generator.project.weight"
        if key in state_dict:
            saved = state_dict[key].shape[1] - self.config.z_dim
            if saved != self.num_classes:
                raise ValueError(
                    f"checkpoint was trained for {saved} classes, this EdgeGAN has "
                    f"{self.num_classes} ({list(self.class_names)}); build it with the "
                    "checkpoint's class_names, or load the file with sketchwidgets.load()"
                )
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def _as_list(label: Any) -> list[Any]:
    """A label as a list (one name or index -> a list of one)."""
    if isinstance(label, str | int):
        return [label]
    return list(label)
