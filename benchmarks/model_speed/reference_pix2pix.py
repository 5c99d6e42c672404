"""A plain, untuned pix2pix in the reference's style, for benchmarks/speed.py --model pix2pix only.

Written the way junyanz/pytorch-CycleGAN-and-pix2pix writes it (``models/networks.py``:
recursive ``UnetSkipConnectionBlock``, ``NLayerDiscriminator``, ``GANLoss``, ``init_weights``
'normal'; ``models/pix2pix_model.py``: ``optimize_parameters``): eager float32, contiguous
(NCHW) tensors, default Adam (a for-loop on CPU), in-place activations as the reference uses
them. It is the "plain loop" our :mod:`sketchwidgets.models.pix2pix` is measured against,
and it must stay straightforward: no speed tricks here.
"""

from __future__ import annotations

import torch
from torch import nn


class UnetSkipConnectionBlock(nn.Module):
    """X -> [down -> submodule -> up] -> cat(X, up), the reference's recursive U-Net block."""

    def __init__(
        self,
        outer_nc,
        inner_nc,
        input_nc=None,
        submodule=None,
        outermost=False,
        innermost=False,
        use_dropout=False,
    ):
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=False)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = nn.BatchNorm2d(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = nn.BatchNorm2d(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=False)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=False)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model = model + [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """The reference U-Net: ``num_downs`` halvings, 8 for 256 px ('unet_256')."""

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, use_dropout=True):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(
                ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout
            )
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetSkipConnectionBlock(
            output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True
        )

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """The reference PatchGAN ('basic' = 3 layers, a 70x70 receptive field)."""

    def __init__(self, input_nc, ndf=64, n_layers=3):
        super().__init__()
        sequence = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            sequence += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        prev, mult = mult, min(2**n_layers, 8)
        sequence += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(ndf * mult),
            nn.LeakyReLU(0.2, True),
        ]
        sequence += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*sequence)

    def forward(self, x):
        return self.model(x)


class GANLoss(nn.Module):
    """The reference GANLoss: a label tensor the size of the prediction, BCE-with-logits."""

    def __init__(self, gan_mode="vanilla"):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(1.0))
        self.register_buffer("fake_label", torch.tensor(0.0))
        self.loss = nn.MSELoss() if gan_mode == "lsgan" else nn.BCEWithLogitsLoss()

    def forward(self, prediction, target_is_real):
        target = self.real_label if target_is_real else self.fake_label
        return self.loss(prediction, target.expand_as(prediction))


def init_weights(net, gain=0.02):
    """The reference 'normal' init: conv N(0, gain), BatchNorm weight N(1, gain), biases 0."""

    def init_func(m):
        name = m.__class__.__name__
        if hasattr(m, "weight") and ("Conv" in name or "Linear" in name):
            nn.init.normal_(m.weight.data, 0.0, gain)
            if m.bias is not None:
                nn.init.constant_(m.bias.data, 0.0)
        elif "BatchNorm2d" in name:
            nn.init.normal_(m.weight.data, 1.0, gain)
            nn.init.constant_(m.bias.data, 0.0)

    net.apply(init_func)


def set_requires_grad(net, requires_grad):
    """Freeze or unfreeze a network (the reference's ``BaseModel.set_requires_grad``)."""
    for param in net.parameters():
        param.requires_grad = requires_grad


class ReferencePix2Pix:
    """netG, netD, two Adams and ``optimize_parameters`` exactly in the reference's order."""

    def __init__(
        self,
        image_size,
        input_nc=1,
        output_nc=3,
        ngf=64,
        ndf=64,
        lambda_l1=100.0,
        lr=2e-4,
        beta1=0.5,
        device="cpu",
    ):
        num_downs = image_size.bit_length() - 1  # log2(image_size): 8 for 256 px
        self.netG = UnetGenerator(input_nc, output_nc, num_downs, ngf).to(device)
        self.netD = NLayerDiscriminator(input_nc + output_nc, ndf).to(device)
        init_weights(self.netG)
        init_weights(self.netD)
        self.criterionGAN = GANLoss().to(device)
        self.criterionL1 = nn.L1Loss()
        self.lambda_l1 = lambda_l1
        self.optimizer_G = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizer_D = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))

    def set_input(self, sketch, photo):
        self.real_A, self.real_B = sketch, photo

    def forward(self):
        self.fake_B = self.netG(self.real_A)

    def backward_D(self):
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        self.loss_D_fake = self.criterionGAN(self.netD(fake_AB.detach()), False)
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        self.loss_D_real = self.criterionGAN(self.netD(real_AB), True)
        self.loss_D = (self.loss_D_fake + self.loss_D_real) * 0.5
        self.loss_D.backward()

    def backward_G(self):
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        self.loss_G_GAN = self.criterionGAN(self.netD(fake_AB), True)
        self.loss_G_L1 = self.criterionL1(self.fake_B, self.real_B) * self.lambda_l1
        self.loss_G = self.loss_G_GAN + self.loss_G_L1
        self.loss_G.backward()

    def optimize_parameters(self):
        self.forward()
        set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad()
        self.backward_D()
        self.optimizer_D.step()
        set_requires_grad(self.netD, False)
        self.optimizer_G.zero_grad()
        self.backward_G()
        self.optimizer_G.step()

    def losses(self):
        """The four logged losses; G/l1 without the lambda factor, as sketchwidgets logs it."""
        return {
            "D/real": self.loss_D_real.item(),
            "D/fake": self.loss_D_fake.item(),
            "G/gan": self.loss_G_GAN.item(),
            "G/l1": self.loss_G_L1.item() / self.lambda_l1,
        }
