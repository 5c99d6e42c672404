"""pix2pix: the paper's configuration, shapes, parity with the reference, training, inference.

Tiny configurations (32 px, ngf = ndf = 8) keep the file fast on a 2-core CPU.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from sketchwidgets.io import image_to_tensor
from sketchwidgets.models import MODELS, build_model, load_model, model_class
from sketchwidgets.models.pix2pix import (
    PatchDiscriminator,
    Pix2Pix,
    Pix2PixConfig,
    UnetGenerator,
)

TINY = Pix2PixConfig(image_size=32, ngf=8, ndf=8)
REFERENCE = (
    Path(__file__).resolve().parents[2] / "benchmarks" / "model_speed" / "reference_pix2pix.py"
)


def tiny(seed: int = 0, **overrides) -> Pix2Pix:
    torch.manual_seed(seed)
    return Pix2Pix(dataclasses.replace(TINY, **overrides))


def random_batch(n: int = 4, size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "sketch": torch.rand(n, 1, size, size, generator=g) * 2 - 1,
        "photo": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
        "label": torch.full((n,), -1),
    }


def line_sketch(height: int = 48, width: int = 40) -> np.ndarray:
    """Black ink (0) on white (255): a box outline."""
    sketch = np.full((height, width), 255, np.uint8)
    sketch[10:12, 8:30] = sketch[36:38, 8:30] = 0
    sketch[10:38, 8:10] = sketch[10:38, 28:30] = 0
    return sketch


# ------------------------------------------------------------------------ configuration


def test_defaults_are_the_papers():
    c = Pix2PixConfig()
    assert (c.image_size, c.ngf, c.ndf, c.n_layers_D) == (256, 64, 64, 3)
    assert c.lambda_l1 == 100.0 and c.recon == "l1" and c.gan_mode == "vanilla"
    assert (c.lr, c.beta1, c.beta2) == (2e-4, 0.5, 0.999)
    assert c.norm == "batch" and c.use_dropout
    assert not c.paper_protocol_eval
    assert c.num_downs == 8  # reference 'unet_256'


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_size": 48}, "power of two"),
        ({"image_size": 16}, ">= 32"),
        ({"norm": "group"}, "norm='group'.*batch"),
        ({"gan_mode": "wgan"}, "vanilla.*lsgan"),
        ({"recon": "l3"}, "l1.*l2"),
        ({"n_layers_D": 0}, "n_layers_D"),
    ],
)
def test_bad_config_values_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        Pix2PixConfig(**overrides)


def test_registry_builds_pix2pix_and_names_known_models_on_a_typo():
    assert MODELS["pix2pix"] is Pix2Pix
    model = build_model("pix2pix", image_size=32, ngf=8, ndf=8)
    assert isinstance(model, Pix2Pix) and model.config.image_size == 32
    with pytest.raises(KeyError, match="pix2px.*known models.*pix2pix"):
        model_class("pix2px")


# ------------------------------------------------------------------------------ networks


@pytest.mark.parametrize(("size", "depth"), [(32, 5), (64, 6), (128, 7), (256, 8)])
def test_unet_depth_fits_the_image_size(size, depth):
    config = dataclasses.replace(TINY, image_size=size)
    assert config.num_downs == depth
    net = UnetGenerator(1, 3, config.num_downs, ngf=4).eval()
    with torch.no_grad():
        out = net(torch.zeros(1, 1, size, size))
    assert out.shape == (1, 3, size, size)
    assert out.abs().max() <= 1  # Tanh


def test_unet_has_dropout_only_in_the_inner_decoder_levels():
    net = UnetGenerator(1, 3, 8, ngf=4)
    with_dropout = [
        i
        for i, block in enumerate(net.decoder)
        if any(isinstance(m, torch.nn.Dropout) for m in block)
    ]
    assert with_dropout == [1, 2, 3]  # the reference's 3 blocks outside the innermost
    assert UnetGenerator(1, 3, 5, ngf=4).decoder[1][-1].__class__ is not torch.nn.Dropout


def test_patchgan_gives_30x30_logits_with_a_70x70_receptive_field():
    net = PatchDiscriminator(4, ndf=4, n_layers=3).eval()  # eval: BN does not mix pixels
    x = torch.randn(1, 4, 256, 256, requires_grad=True)
    out = net(x)
    assert out.shape == (1, 1, 30, 30)
    out[0, 0, 15, 15].backward()
    # the Winograd layer leaves float-rounding residue (~1e-7 of the largest) outside the field
    reached = x.grad.abs() > 1e-5 * x.grad.abs().max()
    rows = torch.nonzero(reached.sum(dim=(0, 1, 3)))
    cols = torch.nonzero(reached.sum(dim=(0, 1, 2)))
    assert int(rows.max() - rows.min() + 1) == 70
    assert int(cols.max() - cols.min() + 1) == 70


def test_weights_start_from_normal_0_02():
    model = tiny()
    conv = model.generator.encoder[2][0].weight
    assert conv.std().item() == pytest.approx(0.02, rel=0.1)
    assert model.discriminator.model[0].weight.std().item() == pytest.approx(0.02, rel=0.1)
    bn = model.generator.encoder[2][1].weight
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01)


def _load_reference():
    spec = importlib.util.spec_from_file_location("reference_pix2pix", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_weights_same_outputs_and_losses_as_the_reference_loop():
    reference = _load_reference().ReferencePix2Pix(32, ngf=8, ndf=8)
    model = tiny()
    for ours, theirs in ((model.generator, reference.netG), (model.discriminator, reference.netD)):
        ours.load_state_dict(
            dict(zip(ours.state_dict(), theirs.state_dict().values(), strict=True))
        )
    batch = random_batch()
    optimizers = model.configure_optimizers()
    for step in range(3):
        torch.manual_seed(step)
        reference.set_input(batch["sketch"], batch["photo"])
        reference.optimize_parameters()
        torch.manual_seed(step)
        losses = model.train_step(batch, optimizers)
        for name, value in reference.losses().items():
            assert losses[name].item() == pytest.approx(value, rel=1e-3, abs=1e-5), name
    reference.netG.eval()
    with torch.no_grad():
        expected = reference.netG(batch["sketch"])
    assert torch.allclose(model.generate_tensor(batch["sketch"]), expected, atol=1e-4)


# ------------------------------------------------------------------------------ training


def test_train_step_returns_detached_finite_losses_and_updates_both_networks():
    model = tiny()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    losses = model.train_step(random_batch(), model.configure_optimizers())
    assert set(losses) == {"D/real", "D/fake", "G/gan", "G/l1"}
    for value in losses.values():
        assert value.ndim == 0 and not value.requires_grad and torch.isfinite(value)
    for net in ("generator", "discriminator"):
        changed = [
            not torch.equal(p, before[name])
            for name, p in model.named_parameters()
            if name.startswith(net)
        ]
        assert sum(changed) > len(changed) // 2, net
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_discriminator_objective_is_halved():
    """Sec. 3.3: D's gradient is that of (BCE(D(fake), 0) + BCE(D(real), 1)) / 2.

    (Adam hides a constant factor in the loss, so the parity test cannot see this one.)
    """
    model = tiny()
    batch = random_batch()
    with torch.no_grad():
        fake_pair = torch.cat([batch["sketch"], model.generator(batch["sketch"])], 1)
    real_pair = torch.cat([batch["sketch"], batch["photo"]], 1)
    twin = copy.deepcopy(model.discriminator)
    frozen = torch.optim.SGD(model.discriminator.parameters(), lr=0.0)
    model._discriminator_step(batch["sketch"], batch["photo"], fake_pair, frozen)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    fake_logits, real_logits = twin(fake_pair), twin(real_pair)
    loss = bce(fake_logits, torch.zeros_like(fake_logits))
    loss = (loss + bce(real_logits, torch.ones_like(real_logits))) / 2
    loss.backward()
    for ours, expected in zip(model.discriminator.parameters(), twin.parameters(), strict=True):
        assert torch.allclose(ours.grad, expected.grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ({"recon": "l2"}, {"D/real", "D/fake", "G/gan", "G/l2"}),
        ({"gan_mode": "lsgan"}, {"D/real", "D/fake", "G/gan", "G/l1"}),
        ({"norm": "instance"}, {"D/real", "D/fake", "G/gan", "G/l1"}),
    ],
)
def test_variants_train(overrides, keys):
    model = tiny(**overrides)
    optimizers = model.configure_optimizers()
    for _ in range(2):
        losses = model.train_step(random_batch(), optimizers)
    assert set(losses) == keys and all(torch.isfinite(v) for v in losses.values())


def test_validation_loss_is_eval_mode_l1_and_changes_nothing():
    model = tiny(image_size=64)
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    batch = random_batch(size=64)
    first = model.validation_losses(batch)
    assert set(first) == {"val/l1"}
    assert torch.equal(first["val/l1"], model.validation_losses(batch)["val/l1"])  # no dropout
    fake = model.generate_tensor(batch["sketch"])
    assert first["val/l1"].item() == pytest.approx((fake - batch["photo"]).abs().mean().item())
    assert model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


# ----------------------------------------------------------------------------- inference


def test_generate_any_size_uint8_to_model_size_or_back():
    model = tiny()
    image = model.generate(line_sketch(48, 40))
    assert image.dtype == np.uint8 and image.shape == (32, 32, 3)
    assert model.generate(line_sketch(48, 40), keep_size=True).shape == (48, 40, 3)
    batch = model.generate(np.stack([line_sketch(48, 40)] * 2))
    assert batch.shape == (2, 32, 32, 3)
    assert model.training  # generate() restores the mode


def test_white_on_black_drawing_is_detected():
    model = tiny()
    model.train_step(random_batch(), model.configure_optimizers())  # not a constant output
    black_on_white = line_sketch()
    assert np.array_equal(model.generate(255 - black_on_white), model.generate(black_on_white))
    assert not np.array_equal(
        model.generate(255 - black_on_white, invert=False), model.generate(black_on_white)
    )


def test_a_stored_noise_input_loads_when_off_and_is_refused_when_on(tmp_path):
    """The noise channel (a thesis variant) was removed: a checkpoint that stores it off (as
    every shipped one does) loads; one that stores it on names the setting and the file."""
    model = tiny()
    state = model.model_state()
    for value in (False, True):
        torch.save(
            {**state, "config": {**state["config"], "noise_input": value}}, tmp_path / "m.pt"
        )
        if value:
            with pytest.raises(
                ValueError, match=r"m.pt: noise_input=True: this setting was removed"
            ):
                load_model(tmp_path / "m.pt")
        else:
            assert load_model(tmp_path / "m.pt").config == model.config


def test_default_eval_is_deterministic_and_paper_protocol_samples_dropout():
    model = tiny(image_size=64)  # 64 px: one dropout level
    sketch = image_to_tensor(line_sketch(64, 64)[..., None])[None]
    assert torch.equal(model.generate_tensor(sketch), model.generate_tensor(sketch))
    paper = Pix2Pix(dataclasses.replace(model.config, paper_protocol_eval=True))
    paper.load_state_dict(model.state_dict())
    buffers = {k: v.clone() for k, v in paper.state_dict().items()}

    def sample(seed):
        return paper.generate_tensor(sketch, rng=torch.Generator().manual_seed(seed))

    assert torch.equal(sample(1), sample(1))
    assert not torch.equal(sample(1), sample(2))
    assert all(torch.equal(v, paper.state_dict()[k]) for k, v in buffers.items())  # BN untouched


def test_save_and_load_round_trip(tmp_path):
    model = tiny()
    model.train_step(random_batch(), model.configure_optimizers())
    path = model.save(tmp_path / "p2p.pt")
    loaded = load_model(path)
    assert isinstance(loaded, Pix2Pix) and loaded.config == model.config
    sketch = line_sketch()
    assert np.array_equal(loaded.generate(sketch), model.generate(sketch))


# ------------------------------------------------------------------------------ learning


@pytest.fixture(scope="module")
def embedded_32px():
    builtin = pytest.importorskip("sketchwidgets.data.builtin")
    pairs = builtin.embedded_pairs(96, size=32, seed=0, workers=1)
    sketches = image_to_tensor(pairs.sketches[..., None])
    photos = image_to_tensor(pairs.photos)
    train = {"sketch": sketches[:64], "photo": photos[:64]}
    held_out = {"sketch": sketches[64:], "photo": photos[64:]}
    return train, held_out


@pytest.mark.slow
@pytest.mark.guards_default
def test_training_on_64_embedded_pairs_lowers_held_out_l1(embedded_32px):
    train, held_out = embedded_32px
    model = tiny(ngf=32)  # ndf 8: enough D, 3x faster than 32
    optimizers = model.configure_optimizers()
    start = model.validation_losses(held_out)["val/l1"].item()
    order = torch.Generator().manual_seed(0)
    for _ in range(125):
        index = torch.randperm(64, generator=order)[:16]
        batch = {"sketch": train["sketch"][index], "photo": train["photo"][index]}
        model.train_step(batch, optimizers)
    end = model.validation_losses(held_out)["val/l1"].item()
    assert end <= 0.7 * start, f"held-out L1 {start:.3f} -> {end:.3f}"
