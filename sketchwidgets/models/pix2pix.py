"""pix2pix: conditional adversarial networks for sketch -> photo translation.

Phillip Isola, Jun-Yan Zhu, Tinghui Zhou, Alexei A. Efros. "Image-to-Image Translation with
Conditional Adversarial Networks", CVPR 2017, arXiv:1611.07004.

Implemented, in the paper's terms:

* Sec. 3.1, Eq. 4: ``G* = arg min_G max_D L_cGAN(G, D) + lambda * L_L1(G)``, lambda = 100;
  the GAN term is the vanilla (binary cross-entropy) or least-squares objective;
* Sec. 3.2.1 and App. 6.1.1: the "U-Net" generator, an encoder-decoder with skip connections
  between mirrored layers, dropout as the noise source in the first decoder blocks;
* Sec. 3.2.2 and App. 6.1.2: the PatchGAN ("Markovian") discriminator on the *pair*
  (sketch, photo); 3 layers give the 70x70 receptive field;
* Sec. 3.3: one D step then one G step, D's objective divided by 2, Adam (lr 2e-4,
  beta1 0.5); at test time the paper keeps dropout on and uses batch statistics;
* App. 6.2: weights from N(0, 0.02).

Departures, one option each (every default is the paper's but the first):

* ``paper_protocol_eval``: off by default, so eval mode is PyTorch's (dropout off, running
  statistics); on, it tests as Sec. 3.3 does;
* ``recon="l2"``: an L2 reconstruction term instead of L1 (a thesis variant).

Reference code, followed layer by layer: junyanz/pytorch-CycleGAN-and-pix2pix,
``models/networks.py`` (``UnetGenerator``, ``UnetSkipConnectionBlock``,
``NLayerDiscriminator``, ``GANLoss``, ``init_weights``) and ``models/pix2pix_model.py``.
Where the reference differs from the paper we follow the reference and say so in a comment.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from sketchwidgets.models.base import ModelConfig, SketchModel
from sketchwidgets.models.fast.inference_unet import InferenceUnet, can_fold, weights_key
from sketchwidgets.models.layers import (
    NORM_KINDS,
    DownConv,
    PatchConv,
    UpConv,
    conv_bias,
    init_weights,
    norm_layer,
    set_requires_grad,
)
from sketchwidgets.models.losses import (
    GAN_MODES,
    RECONSTRUCTION_KINDS,
    GANLoss,
    reconstruction_loss,
)


@dataclass(frozen=True)
class Pix2PixConfig(ModelConfig):
    """pix2pix hyperparameters; the defaults are the paper's (source in each comment)."""

    image_size: int = 256  # Sec. 4 / App. 6.2: 256x256 images (reference 'unet_256')
    input_nc: int = 1  # our sketches are 1-channel; the reference uses 3 for edges2shoes
    output_nc: int = 3  # RGB photo
    ngf: int = 64  # App. 6.1.1: encoder C64-C128-C256-C512-...
    ndf: int = 64  # App. 6.1.2: 70x70 discriminator C64-C128-C256-C512
    n_layers_D: int = 3  # App. 6.1.2: 70x70 PatchGAN (reference netD='basic')
    norm: str = "batch"  # App. 6.1: Convolution-BatchNorm-ReLU (reference norm='batch')
    use_dropout: bool = True  # Sec. 3.1 / App. 6.1.1: dropout 50% in the decoder
    gan_mode: str = "vanilla"  # Eq. 1: log D + log(1 - D) (reference gan_mode='vanilla')
    lambda_l1: float = 100.0  # Eq. 4, Sec. 4.2: lambda = 100 (reference --lambda_L1 100)
    recon: str = "l1"  # Eq. 3: L1 (thesis variant: "l2")
    lr: float = 2e-4  # Sec. 3.3: Adam, learning rate 0.0002
    beta1: float = 0.5  # Sec. 3.3: momentum beta1 = 0.5
    beta2: float = 0.999  # Sec. 3.3: beta2 = 0.999
    paper_protocol_eval: bool = False  # Sec. 3.3: test with dropout on and batch statistics
    class_names: tuple[str, ...] = ()  # not class-conditional (Sec. 3: G(x, z) only)

    # settings a stored config may still hold, at the value that behaves as this version
    # (Sec. 3.1: no input noise, dropout only)
    retired_fields: ClassVar[dict[str, Any]] = {"noise_input": False}

    def __post_init__(self) -> None:
        size = self.image_size
        if size < 32 or size & (size - 1):
            raise ValueError(f"image_size must be a power of two >= 32, got {size}")
        _check_choice("norm", self.norm, NORM_KINDS)
        _check_choice("gan_mode", self.gan_mode, GAN_MODES)
        _check_choice("recon", self.recon, RECONSTRUCTION_KINDS)
        if self.n_layers_D < 1:
            raise ValueError(f"n_layers_D must be >= 1, got {self.n_layers_D}")

    @property
    def num_downs(self) -> int:
        """U-Net depth: halvings from ``image_size`` down to 1x1 (8 for 256 px, as 'unet_256')."""
        return int(math.log2(self.image_size))


def _check_choice(key: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"{key}={value!r} is not one of {list(known)}")


# --------------------------------------------------------------------------- generator


def _encoder_block(level: int, depth: int, c_in: int, c_out: int, norm: str) -> nn.Sequential:
    """Level ``level`` of ``depth`` encoder levels: Conv [-Norm] [-LeakyReLU(0.2)]."""
    conv = DownConv(c_in, c_out, bias=conv_bias(norm))
    if level == depth - 1:  # innermost: no norm (paper errata), the decoder's ReLU follows
        return nn.Sequential(conv)
    if level == 0:  # App. 6.1.1: "BatchNorm is not applied to the first C64 layer"
        return nn.Sequential(conv, nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(conv, norm_layer(norm, c_out), nn.LeakyReLU(0.2, inplace=True))


def _decoder_block(level: int, c_in: int, c_out: int, norm: str, dropout: bool) -> nn.Sequential:
    """ReLU-UpConv-Norm[-Dropout(0.5)]; the outermost level ends in Tanh instead of a norm."""
    if level == 0:
        return nn.Sequential(nn.ReLU(inplace=True), UpConv(c_in, c_out), nn.Tanh())
    layers = [
        nn.ReLU(inplace=True),
        UpConv(c_in, c_out, bias=conv_bias(norm)),
        norm_layer(norm, c_out),
    ]
    return nn.Sequential(*layers, nn.Dropout(0.5)) if dropout else nn.Sequential(*layers)


class UnetGenerator(nn.Module):
    """The U-Net of Sec. 3.2.1: ``num_downs`` halvings to 1x1, mirrored skips, Tanh output.

    ``(N, input_nc, S, S) -> (N, output_nc, S, S)`` with ``S = 2**num_downs``.
    Same layers, parameter order and arithmetic as the reference's recursive
    ``UnetSkipConnectionBlock`` chain, written as an encoder list and a decoder list.
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        num_downs: int,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = True,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"a U-Net needs num_downs >= 5, got {num_downs}")
        widths = [ngf * min(2**level, 8) for level in range(num_downs)]  # 64,128,256,512,512..
        ins = [input_nc, *widths[:-1]]
        outs = [output_nc, *widths[:-1]]
        self.encoder = nn.ModuleList(
            _encoder_block(level, num_downs, ins[level], widths[level], norm)
            for level in range(num_downs)
        )
        # decoder[0] is the innermost level; every other level also receives its skip (2x width).
        # Dropout sits in the 8*ngf -> 8*ngf levels just outside the innermost, as the reference
        # does (the paper's CD512 x3 counts the innermost decoder layer instead).
        self.decoder = nn.ModuleList(
            _decoder_block(
                level,
                widths[level] * (1 if level == num_downs - 1 else 2),
                outs[level],
                norm,
                use_dropout and 4 <= level < num_downs - 1,
            )
            for level in reversed(range(num_downs))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:  # (N, C, S, S) -> ... -> (N, 8ngf, 1, 1)
            x = block(x)
            skips.append(x)
        x = self.decoder[0](skips.pop())  # (N, 8ngf, 2, 2)
        for block, skip in zip(self.decoder[1:], reversed(skips), strict=True):
            x = block(torch.cat([skip, x], 1))  # skip: post-LeakyReLU encoder features
        return x


# ----------------------------------------------------------------------- discriminator


class PatchDiscriminator(nn.Module):
    """The PatchGAN of Sec. 3.2.2: a grid of real/fake logits, one per overlapping patch.

    ``(N, input_nc, S, S) -> (N, 1, S/2**n_layers - 2, ...)``: 30x30 logits for 256 px and
    3 layers, each seeing a 70x70 patch. C64 (no norm) - C128 - C256 (stride 2) - C512 (stride 1)
    - 1-channel conv (App. 6.1.2). The C512 layer is a ``PatchConv`` (Winograd on the CPU, the
    largest share of a training step at 256 px otherwise).
    """

    def __init__(
        self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch"
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)
        widths = [ndf * min(2**n, 8) for n in range(n_layers + 1)]
        layers: list[nn.Module] = [DownConv(input_nc, ndf), nn.LeakyReLU(0.2, inplace=True)]
        for n in range(1, n_layers):
            layers += [
                DownConv(widths[n - 1], widths[n], bias=bias),
                norm_layer(norm, widths[n]),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers += [
            PatchConv(widths[-2], widths[-1], bias=bias),
            norm_layer(norm, widths[-1]),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(widths[-1], 1, 4, stride=1, padding=1),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.model(pair)


# ------------------------------------------------------------------------------ model


class Pix2Pix(SketchModel):
    """pix2pix (Isola et al. 2017): U-Net generator + PatchGAN discriminator, cGAN + lambda*L1."""

    name = "pix2pix"
    config_class = Pix2PixConfig
    network_names = ("generator", "discriminator")

    def __init__(self, config: Pix2PixConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.generator = UnetGenerator(
            c.input_nc, c.output_nc, c.num_downs, c.ngf, c.norm, c.use_dropout
        )
        self.discriminator = PatchDiscriminator(
            c.input_nc + c.output_nc, c.ndf, c.n_layers_D, c.norm
        )
        init_weights(self.generator)  # App. 6.2: N(0, 0.02)
        init_weights(self.discriminator)
        self.gan_loss = GANLoss(c.gan_mode)
        self._folded: tuple[tuple, InferenceUnet | None] | None = None  # see _inference_unet

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for G and for D (Sec. 3.3); fused on CPU/CUDA, the same update as the for-loop."""
        c = self.config
        fused = self.device.type in ("cpu", "cuda")
        return {
            "G": torch.optim.Adam(
                self.generator.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), fused=fused
            ),
            "D": torch.optim.Adam(
                self.discriminator.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), fused=fused
            ),
        }

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """One D step then one G step on a batch, as ``Pix2PixModel.optimize_parameters``."""
        sketch, photo = batch["sketch"], batch["photo"]  # (N, 1, S, S), (N, 3, S, S)
        fake = self.generator(sketch)  # (N, 3, S, S): one G pass a step
        fake_pair = torch.cat([sketch, fake], 1)  # (N, 4, S, S): what D judges, built once
        losses = self._discriminator_step(sketch, photo, fake_pair.detach(), optimizers["D"])
        losses |= self._generator_step(fake, photo, fake_pair, optimizers["G"])
        return losses

    def _discriminator_step(
        self,
        sketch: torch.Tensor,
        photo: torch.Tensor,
        fake_pair: torch.Tensor,
        optimizer: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        """Maximise log D(x, y) + log(1 - D(x, G(x))); the objective halved (Sec. 3.3)."""
        set_requires_grad(self.discriminator, True)
        optimizer.zero_grad(set_to_none=True)
        # fake first, then real, as the reference: D's BatchNorm sees two separate batches
        loss_fake = self.gan_loss(self.discriminator(fake_pair), False)  # logits (N,1,P,P)
        loss_real = self.gan_loss(self.discriminator(torch.cat([sketch, photo], 1)), True)
        ((loss_fake + loss_real) * 0.5).backward()
        optimizer.step()
        return {"D/real": loss_real.detach(), "D/fake": loss_fake.detach()}

    def _generator_step(
        self,
        fake: torch.Tensor,
        photo: torch.Tensor,
        fake_pair: torch.Tensor,
        optimizer: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        """Minimise -log D(x, G(x)) + lambda * ||y - G(x)||_1 (Eq. 4) with D frozen."""
        set_requires_grad(self.discriminator, False)  # no weight gradients for D in this pass
        optimizer.zero_grad(set_to_none=True)
        loss_gan = self.gan_loss(self.discriminator(fake_pair), True)
        loss_rec = reconstruction_loss(fake, photo, self.config.recon)
        (loss_gan + self.config.lambda_l1 * loss_rec).backward()
        optimizer.step()
        set_requires_grad(self.discriminator, True)
        return {"G/gan": loss_gan.detach(), f"G/{self.config.recon}": loss_rec.detach()}

    @torch.no_grad()
    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``val/l1``: mean |G(sketch) - photo| in eval mode (no dropout, running BN statistics)."""
        noise = torch.Generator(device="cpu").manual_seed(0)
        fake = self.generate_tensor(batch["sketch"], rng=noise, protocol=False)
        return {"val/l1": (fake - batch["photo"]).abs().mean()}

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
        protocol: bool | None = None,
    ) -> torch.Tensor:
        """Sketches ``(N, 1, S, S)`` in [-1, 1] -> photos ``(N, 3, S, S)`` in [-1, 1].

        Eval mode by default; with ``config.paper_protocol_eval`` (or ``protocol=True``) the
        generator runs as in training: dropout on (drawn from ``rng``), batch statistics.
        The model's mode and BatchNorm running statistics are left as they were. pix2pix has
        no explicit latent code (``latent_dim == 0``): a ``z`` raises ``ValueError``; its noise
        (dropout, with the paper's protocol) comes from ``rng``. ``label`` is ignored.
        """
        self.check_z(z, sketch.shape[0])
        sketch = sketch.to(self.device)
        paper = self.config.paper_protocol_eval if protocol is None else protocol
        with torch.inference_mode():
            folded = None if paper else self._inference_unet()
            if folded is not None:
                return folded(sketch)
            with _generator_mode(self.generator, paper, rng):
                return self.generator(sketch)

    @property
    def has_noise(self) -> bool:
        """A seed changes the image only with the paper's test protocol (dropout on)."""
        return self.config.paper_protocol_eval

    def _inference_unet(self) -> InferenceUnet | None:
        """The eval-mode generator with BatchNorm folded (models/fast/inference_unet.py), cached
        until a weight or running statistic changes; None when the net cannot be folded.
        None while tracing: an export (export/exporter.py) records the plain net's ops,
        the folded net's CPU matrix layouts being an eager-only speed-up."""
        if torch.jit.is_tracing():
            return None
        key = weights_key(self.generator)
        if self._folded is None or self._folded[0] != key:
            net = self.generator
            self._folded = (key, InferenceUnet(net) if can_fold(net) else None)
        return self._folded[1]


@contextlib.contextmanager
def _generator_mode(
    net: nn.Module, paper_protocol: bool, rng: torch.Generator | None
) -> Iterator[None]:
    """Eval mode, or the paper's test protocol: train mode without updating BN statistics."""
    was_training = net.training
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    tracked = [m.track_running_stats for m in norms]
    net.train(paper_protocol)
    for m in norms:  # batch statistics in train mode, running buffers untouched
        m.track_running_stats = not paper_protocol and m.track_running_stats
    try:
        if paper_protocol and rng is not None:  # dropout masks drawn from `rng`
            seed = int(torch.randint(2**62, (1,), generator=rng, device=rng.device))
            cuda = [p.device for p in net.parameters() if p.device.type == "cuda"][:1]
            with torch.random.fork_rng(devices=cuda):
                torch.manual_seed(seed)
                yield
        else:
            yield
    finally:
        net.train(was_training)
        for m, flag in zip(norms, tracked, strict=True):
            m.track_running_stats = flag
