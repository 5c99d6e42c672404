"""SketchyGAN: class-conditional, diverse sketch -> photo synthesis with MRU networks.

Wengling Chen, James Hays. "SketchyGAN: Towards Diverse and Realistic Sketch to Image
Synthesis", CVPR 2018, arXiv:1801.02753. Reference code: wchen342/SketchyGAN
``src_single/models_mru.py`` (``generator_skip``, ``image_encoder_mru``,
``critic_multiple_proj``), ``mru.py``, ``graph_single.py`` (``get_losses``) and the argparse
defaults of ``main_single.py``. Implemented, in the paper's terms:

* Sec. 3.1, Fig. 2: the masked residual unit (:mod:`sketchwidgets.models.mru`), fed the
  sketch resized to every level;
* Sec. 3.2, Fig. 3: the generator, an MRU encoder-decoder with skip connections, noise ``z``
  at the bottleneck, the class through conditional batch norm, tanh output, 64x64;
* the discriminator: the encoder's shape with MRUs, spectral norm on every convolution and
  linear layer, two heads: real/fake logits and class logits;
* Sec. 3.3, the objective: GAN, auxiliary classification (D on real photos, G on its fakes),
  DRAGAN gradient penalty around the real photos, supervised L1 and perceptual loss to the
  paired photo, and the diversity loss (minus the output's slope between two z).

Departures: where the reference code differs from the paper the code is followed, and each
difference is an option (default: the code's):

* ``mru_gate``, ``mru_convs``: the code's leaky-ReLU min-max gate and two 3x3 convolutions;
* ``g_activation``: the code's ``miu_relu`` in G (paper: ReLU);
* ``ac_focal_gamma``: the code's focal auxiliary-classifier loss (paper: plain cross-entropy);
* ``dragan_one_sided``: the code's ``max(0, |g| - 1)^2`` penalty (DRAGAN: two-sided);
* ``d_sketch``: D judges the photo alone, as the code (paper Fig. 3: with the sketch);
* ``class_map``: a learned class map beside the sketch (the write-up; the code: off);
* ``lr_g``, ``lr_d``: the code's 2e-4 and 4e-4 (the write-up: 1e-4, 2e-4);
* ``bn_running_stats``: off, as the code: G's batch norm uses the batch's statistics at test
  time too, so an image depends on the other sketches of its batch (generate in batches like
  the training ones, or one at a time, consistently); on, PyTorch's running averages.

Not reproduced: the code's final encoder cell (``mru_conv_block_v3``, without the keep gate),
its learning-rate decay and L2 weight decay, and the paper's strided convolutions between
levels (the code's mean pooling and nearest upsampling are used). The code trains with batch
size 16 (``main_single.py --batch_size 16``): a Trainer setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from sketchwidgets.device import full_precision
from sketchwidgets.models.base import ModelConfig, SketchModel
from sketchwidgets.models.features.networks import load_feature_network
from sketchwidgets.models.layers import set_requires_grad
from sketchwidgets.models.losses import GANLoss
from sketchwidgets.models.mru import (
    ACTIVATIONS,
    GATES,
    MRU,
    NormAct,
    activation,
    mean_pool,
    pyramid,
    upsample,
)

LEVELS = 5  # the code's networks halve the image five times (64 px -> 2 px in G)
# the embedded dataset's classes (sketchwidgets.data.builtin.CLASSES; models do not import data)
EMBEDDED_CLASSES = ("apple", "ball", "mug", "house", "tree", "car", "fish", "bottle")


@dataclass(frozen=True)
class SketchyGANConfig(ModelConfig):
    """SketchyGAN hyperparameters; defaults from the reference code (source in each comment).

    ``perceptual_weights`` names a file, so it is a setting the user gives each time: a
    checkpoint that stores one loads without it (:data:`path_fields`).
    """

    path_fields: ClassVar[tuple[str, ...]] = ("perceptual_weights",)

    image_size: int = 64  # main_single.py --small_img 1: 64x64 (models_mru asserts 64)
    class_names: tuple[str, ...] = EMBEDDED_CLASSES  # paper: 125 Sketchy classes
    latent_dim: int = 256  # models_mru generator_skip: noise_vec of shape (batch, 256)
    ngf: int = 64  # models_mru SIZE = 64: G widths 64-128-256-512, decoder 384-256-128-128-64
    ndf: int = 64  # models_mru SIZE = 64: D widths 128-256-512-768
    stem_channels: int = 8  # models_mru: h0 = conv2d(x, 8, kernel_size=7) in G and D
    mru_gate: str = "minmax"  # mru.py mru_deconv_block_v2 (LReLU, min-max); paper: "sigmoid"
    mru_convs: int = 2  # mru.py: two 3x3 convs make the new features; paper Eq. 3: 1
    g_activation: str = "miu_relu"  # models_mru activation_fn_g = miu_relu; paper: "relu"
    d_activation: str = "prelu"  # models_mru activation_fn_d = prelu (init 0.2)
    conditional_bn: bool = True  # models_mru set_param: normalizer_fn_g = conditional batchnorm
    bn_running_stats: bool = False  # models_mru batchnorm: tf.nn.moments, batch stats at test too
    class_map: bool = False  # write-up: a learned 1xSxS class map beside the sketch; code: off
    d_sketch: bool = False  # graph_single: D judges the photo alone; paper Fig. 3: + sketch
    lambda_ac_d: float = 1.0  # graph_single get_acgan_loss_focal: ld1 = 1
    lambda_ac_g: float = 0.5  # graph_single get_acgan_loss_focal: ld2 = 0.5
    ac_focal_gamma: float = 2.0  # graph_single: focal AC loss, ld_focal = 2; paper: 0 (plain CE)
    lambda_dragan: float = 10.0  # main_single.py --ld 10 (paper: DRAGAN weight 10)
    dragan_one_sided: bool = True  # graph_single: max(0, |g| - 1)^2; DRAGAN paper: (|g| - 1)^2
    lambda_l1: float = 10.0  # graph_single: coeff_gt = 10 on the direct (L1) loss
    lambda_perceptual: float = 3.0  # graph_single: coeff_gt * 0.3 on the perceptual loss
    perceptual_weights: str = ""  # Inception weights file (code: Inception-v4); "" = off
    perceptual_size: int = 0  # graph_single: bilinear resize to 299 for Inception; 0 = as is
    lambda_diversity: float = 10.0  # graph_single: coeff_dv = 10
    lr_g: float = 2e-4  # main_single.py --lr_G 2e-4 (write-up: 1e-4)
    lr_d: float = 4e-4  # main_single.py --lr_D 4e-4 (write-up: 2e-4)
    beta1: float = 0.0  # graph_single get_optimizer: Adam beta1 = 0
    beta2: float = 0.9  # graph_single get_optimizer: Adam beta2 = 0.9

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        unit = 2**LEVELS
        if self.image_size < unit or self.image_size % unit:
            raise ValueError(f"image_size must be a multiple of {unit}, got {self.image_size}")
        _check_choice("mru_gate", self.mru_gate, GATES)
        _check_choice("g_activation", self.g_activation, ACTIVATIONS)
        _check_choice("d_activation", self.d_activation, ACTIVATIONS)
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"class_names has duplicates: {list(self.class_names)}")


def _check_choice(key: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"{key}={value!r} is not one of {list(known)}")


def _init_normal(module: nn.Module) -> None:
    """Code ``weight_initializer``: conv and linear weights N(0, 0.02), biases 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


# --------------------------------------------------------------------------- generator


class MRUGenerator(nn.Module):
    """``generator_skip``: ``forward(sketch, z, label) -> (N, 3, S, S)`` in [-1, 1].

    Encoder: a 7x7 stride-2 stem, then four MRUs each followed by a 2x2 mean pool
    (S/2 -> S/32). Noise: ``z`` through a linear layer to an ``ngf``-channel S/16 map.
    Decoder: five MRUs each after a nearest 2x upsampling, their image input the sketch at
    that size concatenated with the noise (first) or the mirrored encoder output (skips).
    """

    def __init__(self, c: SketchyGANConfig) -> None:
        super().__init__()
        size, ngf = c.image_size, c.ngf
        classes = len(c.class_names) if c.conditional_bn else 0
        sketch_ch = 2 if c.class_map else 1
        mru = dict(
            num_classes=classes,
            gate=c.mru_gate,
            convs=c.mru_convs,
            act=c.g_activation,
            running_stats=c.bn_running_stats,
        )
        self.class_map = nn.Embedding(len(c.class_names), size * size) if c.class_map else None
        self.stem = nn.Conv2d(sketch_ch, c.stem_channels, 7, stride=2, padding=3)
        widths = [c.stem_channels, ngf, 2 * ngf, 4 * ngf, 8 * ngf]
        self.encoder = nn.ModuleList(
            MRU(widths[i], widths[i + 1], sketch_ch, **mru) for i in range(4)
        )
        self.noise_side = size // 16
        self.noise = nn.Linear(c.latent_dim, ngf * self.noise_side**2)
        self.noise_norm = NormAct(ngf, classes, True, c.g_activation, c.bn_running_stats)
        # (out width, extra image channels): noise, skip e2, skip e1, skip stem, sketch only
        decoder = [(6 * ngf, ngf), (4 * ngf, 2 * ngf), (2 * ngf, ngf), (2 * ngf, widths[0])]
        decoder.append((ngf, 0))
        ins = [8 * ngf] + [out for out, _ in decoder[:-1]]
        self.decoder = nn.ModuleList(
            MRU(c_in, out, sketch_ch + extra, **mru)
            for c_in, (out, extra) in zip(ins, decoder, strict=True)
        )
        self.to_rgb = nn.Conv2d(ngf, 3, 7, padding=3)

    def forward(self, sketch: torch.Tensor, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        if self.class_map is not None:
            side = sketch.shape[-1]
            sketch = torch.cat([sketch, self.class_map(label).view(-1, 1, side, side)], 1)
        sketches = pyramid(sketch, LEVELS)  # S, S/2, ..., S/32
        skips = [self.stem(sketch)]  # (N, 8, S/2)
        for level, block in enumerate(self.encoder, start=1):
            skips.append(mean_pool(block(skips[-1], sketches[level], label)))
        noise = self.noise(z).view(z.shape[0], -1, self.noise_side, self.noise_side)
        extras = [self.noise_norm(noise, label), skips[2], skips[1], skips[0], None]
        x = skips[-1]  # (N, 8 ngf, S/32)
        for level, (block, extra) in enumerate(zip(self.decoder, extras, strict=True)):
            x = upsample(x)
            image = sketches[LEVELS - 1 - level]
            image = image if extra is None else torch.cat([image, extra], 1)
            x = block(x, image, label)
        return torch.tanh(self.to_rgb(x))


# ----------------------------------------------------------------------- discriminator


class MRUDiscriminator(nn.Module):
    """``critic_multiple_proj``: ``forward(image) -> (logits (N,1,S/16,S/16), classes (N,K))``.

    A 7x7 stem at full size, four MRUs (widths 2, 4, 8, 12 x ``ndf``, no norm), each fed the
    judged image at its size and followed by a 2x2 mean pool; a 1x1 conv gives the real/fake
    logits, a linear layer on the spatial mean the class logits. Spectral norm wraps every
    convolution and linear layer (code ``Config.sn = True``).
    """

    def __init__(self, c: SketchyGANConfig) -> None:
        super().__init__()
        image_ch = 3 + (1 if c.d_sketch else 0)
        widths = [c.stem_channels, 2 * c.ndf, 4 * c.ndf, 8 * c.ndf, 12 * c.ndf]
        self.stem = nn.Conv2d(image_ch, c.stem_channels, 7, padding=3)
        self.stem_act = activation(c.d_activation)
        self.blocks = nn.ModuleList(
            MRU(widths[i], widths[i + 1], image_ch, gate=c.mru_gate, convs=c.mru_convs,
                norm=False, act=c.d_activation)
            for i in range(4)
        )  # fmt: skip
        self.head_act = activation(c.d_activation)  # code: last_unit norm_activ
        self.real_fake = nn.Conv2d(widths[-1], 1, 1)
        self.classify = nn.Linear(widths[-1], len(c.class_names))
        _init_normal(self)
        for layer in [m for m in self.modules() if isinstance(m, nn.Conv2d | nn.Linear)]:
            spectral_norm(layer)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = pyramid(image, 3)
        x = self.stem_act(self.stem(image))
        for block, level_image in zip(self.blocks, images, strict=True):
            x = mean_pool(block(x, level_image))
        x = self.head_act(x)
        return self.real_fake(x), self.classify(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------- losses


def focal_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, gamma: float) -> torch.Tensor:
    """Mean ``(1 - p_true)^gamma * CE`` (code ``get_acgan_loss_focal``); gamma 0: plain CE."""
    ce = F.cross_entropy(logits.float(), labels, reduction="none")
    if gamma == 0:
        return ce.mean()
    return ((1 - torch.exp(-ce)) ** gamma * ce).mean()


def dragan_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    *,
    one_sided: bool = True,
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """DRAGAN (Kodali et al. 2017) as graph_single's ``..._local_gp_one_side_multi``.

    Points between each real image and a copy perturbed by ``0.5 * std(real) * U[0, 1)``; the
    penalty is the mean of ``max(0, |grad critic| - 1)^2`` there (two-sided: ``(|g| - 1)^2``).
    Runs in float32 even under the trainer's autocast. ``critic(x)`` returns the logits.
    """
    with full_precision():
        real = real.detach().float()
        where = rng.device if rng is not None else real.device
        noise = torch.rand(real.shape, generator=rng, device=where).to(real.device)
        alpha = torch.rand((real.shape[0], 1, 1, 1), generator=rng, device=where)
        perturbed = real + 0.5 * real.std(correction=0) * noise
        points = (real + alpha.to(real.device) * (perturbed - real)).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
        gap = grad.flatten(1).norm(dim=1) - 1
        return (gap.clamp_min(0) if one_sided else gap).pow(2).mean()


def diversity_loss(
    fake_a: torch.Tensor, fake_b: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor
) -> torch.Tensor:
    """Minus the mean of ``|G(z_a) - G(z_b)| / ||z_a - z_b||`` (graph_single ``loss_dv``)."""
    distance = (z_a - z_b).norm(dim=1).clamp_min(1e-8).view(-1, 1, 1, 1)
    return -((fake_a - fake_b).abs() / distance).mean()


def perceptual_loss(
    net: nn.Module, fake: torch.Tensor, real: torch.Tensor, size: int = 0
) -> torch.Tensor:
    """Sum over the net's outputs of the mean feature L1 (graph_single ``get_perceptual_loss``).

    ``size > 0`` first resizes both batches bilinearly to ``size`` (the code: 299 for
    Inception-v4; the FID Inception file of ../shared/weights expects 299 as well).
    """
    if size:
        fake = F.interpolate(fake, size=(size, size), mode="bilinear", align_corners=False)
        real = F.interpolate(real, size=(size, size), mode="bilinear", align_corners=False)
    fake_features, real_features = net(fake), net(real.detach())
    if isinstance(fake_features, torch.Tensor):
        fake_features, real_features = [fake_features], [real_features]
    pairs = zip(fake_features, real_features, strict=True)
    return sum(
        ((f - r.detach()).abs().mean() for f, r in pairs), torch.zeros((), device=fake.device)
    )


# ------------------------------------------------------------------------------ model


class SketchyGAN(SketchModel):
    """SketchyGAN (Chen & Hays 2018): MRU generator and two-headed, spectrally normed D."""

    name = "sketchygan"
    config_class = SketchyGANConfig
    network_names = ("generator", "discriminator")
    needs_label = True

    def __init__(self, config: SketchyGANConfig | None = None) -> None:
        super().__init__(config)
        self.generator = MRUGenerator(self.config)
        _init_normal(self.generator)
        nn.init.xavier_uniform_(self.generator.noise.weight)  # code fully_connected: xavier
        self.discriminator = MRUDiscriminator(self.config)
        self.gan_loss = GANLoss("vanilla")  # graph_single get_loss_wgan_sn: softplus = BCE
        self._features: tuple[nn.Module, ...] = ()  # loaded lazily, kept out of state_dict

    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(beta1 0, beta2 0.9) for G (lr 2e-4) and D (lr 4e-4), as the code."""
        c = self.config
        betas = (c.beta1, c.beta2)
        return {
            "G": torch.optim.Adam(self.generator.parameters(), lr=c.lr_g, betas=betas),
            "D": torch.optim.Adam(self.discriminator.parameters(), lr=c.lr_d, betas=betas),
        }

    # ------------------------------------------------------------------ training

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """One D step then one G step; G runs once on two z per sketch for the diversity term."""
        sketch, photo, label = batch["sketch"], batch["photo"], self._train_labels(batch)
        n, twice = sketch.shape[0], self.config.lambda_diversity > 0
        z = self.sample_z(2 * n if twice else n).to(sketch.dtype)
        repeat = 2 if twice else 1
        fakes = self.generator(sketch.repeat(repeat, 1, 1, 1), z, label.repeat(repeat))
        fake = fakes[:n]
        losses = self._discriminator_step(sketch, photo, fake.detach(), label, optimizers["D"])
        losses |= self._generator_step(sketch, photo, fakes, z, label, optimizers["G"])
        return losses

    def _train_labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        label = batch.get("label")
        if label is None or bool((label < 0).any()) or bool((label >= self.num_classes).any()):
            raise ValueError(
                f"SketchyGAN trains on labelled pairs with labels in 0..{self.num_classes - 1} "
                f"(classes: {list(self.class_names)}); the batch has {label}"
            )
        return label.to(self.device)

    def _judge(
        self, image: torch.Tensor, sketch: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """D's (real/fake logits, class logits) on an image (and its sketch when d_sketch)."""
        return self.discriminator(torch.cat([image, sketch], 1) if self.config.d_sketch else image)

    def _discriminator_step(
        self,
        sketch: torch.Tensor,
        photo: torch.Tensor,
        fake: torch.Tensor,
        label: torch.Tensor,
        optimizer: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        """GAN + focal AC on real photos + DRAGAN around the real photos."""
        c = self.config
        set_requires_grad(self.discriminator, True)
        optimizer.zero_grad(set_to_none=True)
        real_logits, real_classes = self._judge(photo, sketch)
        fake_logits, _ = self._judge(fake, sketch)
        loss_real, loss_fake = self.gan_loss(real_logits, True), self.gan_loss(fake_logits, False)
        loss_ac = focal_cross_entropy(real_classes, label, c.ac_focal_gamma)
        total = loss_real + loss_fake + c.lambda_ac_d * loss_ac
        losses = {"D/real": loss_real, "D/fake": loss_fake, "D/ac": loss_ac}
        if c.lambda_dragan > 0:
            sketch32 = sketch.float()
            penalty = dragan_penalty(
                lambda x: self._judge(x, sketch32)[0], photo, one_sided=c.dragan_one_sided
            )
            total = total + c.lambda_dragan * penalty
            losses["D/dragan"] = penalty
        total.backward()
        optimizer.step()
        return {k: v.detach() for k, v in losses.items()}

    def _generator_step(
        self,
        sketch: torch.Tensor,
        photo: torch.Tensor,
        fakes: torch.Tensor,
        z: torch.Tensor,
        label: torch.Tensor,
        optimizer: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        """GAN + AC on the fakes + L1 (+ perceptual) to the photo + diversity, D frozen."""
        c, n = self.config, sketch.shape[0]
        set_requires_grad(self.discriminator, False)
        optimizer.zero_grad(set_to_none=True)
        fake = fakes[:n]
        logits, classes = self._judge(fake, sketch)
        losses = {
            "G/gan": self.gan_loss(logits, True),
            "G/ac": focal_cross_entropy(classes, label, 0.0),
            "G/l1": (fake - photo).abs().mean(),
        }
        total = losses["G/gan"] + c.lambda_ac_g * losses["G/ac"] + c.lambda_l1 * losses["G/l1"]
        features = self._feature_network(fake.device)
        if features is not None and c.lambda_perceptual > 0:
            losses["G/perceptual"] = perceptual_loss(features, fake, photo, c.perceptual_size)
            total = total + c.lambda_perceptual * losses["G/perceptual"]
        if c.lambda_diversity > 0:
            losses["G/diversity"] = diversity_loss(fake, fakes[n:], z[:n], z[n:])
            total = total + c.lambda_diversity * losses["G/diversity"]
        total.backward()
        optimizer.step()
        set_requires_grad(self.discriminator, True)
        return {k: v.detach() for k, v in losses.items()}

    def _feature_network(self, device: torch.device) -> nn.Module | None:
        """The perceptual loss's network (``perceptual_weights``), loaded once; None when off."""
        if not self.config.perceptual_weights:
            return None
        if not self._features:
            path = self.config.perceptual_weights  # plain weights or the listed Inception file
            self._features = (load_feature_network(path, setting="perceptual_weights"),)
        net = self._features[0]
        return net.to(device)

    @torch.no_grad()
    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``val/l1``: mean |G(sketch, z, class) - photo| in eval mode, z from seed 0."""
        noise = torch.Generator(device="cpu").manual_seed(0)
        fake = self.generate_tensor(batch["sketch"], rng=noise, label=batch["label"])
        return {"val/l1": (fake - batch["photo"]).abs().mean()}

    # ------------------------------------------------------------------ inference

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sketches ``(N, 1, S, S)`` + classes -> photos ``(N, 3, S, S)``, eval mode.

        ``label``: class indices or names (required); ``z`` ``(N, latent_dim)`` or drawn from
        ``rng``. The same sketch, class and z give the same image.
        """
        n = sketch.shape[0]
        sketch = sketch.to(self.device)
        labels = self.label_indices(label, n)
        codes = self.latent_codes(n, rng, z)
        with torch.inference_mode(), _eval_mode(self.generator):
            return self.generator(sketch, codes.to(sketch.dtype), labels.to(sketch.device))


@contextlib.contextmanager
def _eval_mode(net: nn.Module) -> Iterator[None]:
    """Run ``net`` in eval mode (running BN statistics), restoring its mode afterwards."""
    was_training = net.training
    net.eval()
    try:
        yield
    finally:
        net.train(was_training)
