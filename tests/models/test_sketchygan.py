"""SketchyGAN: the MRU against its equations, spectral norm, the losses, z, classes, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.models.mru import MRU
from sketchwidgets.models.sketchygan import (
    MRUDiscriminator,
    SketchyGAN,
    SketchyGANConfig,
    diversity_loss,
    dragan_penalty,
    focal_cross_entropy,
    perceptual_loss,
)

CLASSES = ("apple", "ball", "mug", "house")


def tiny_config(**overrides) -> SketchyGANConfig:
    values = dict(image_size=32, ngf=8, ndf=4, latent_dim=8, class_names=CLASSES)
    return SketchyGANConfig(**(values | overrides))


@pytest.fixture(scope="module")
def tiny_set() -> dict[str, torch.Tensor]:
    """A fixed labelled batch: 8 embedded pairs of 4 classes at 32 px."""
    data = EmbeddedDataset(8, size=32, split="all", classes=CLASSES, workers=1)
    items = [data[i] for i in range(len(data))]
    return {
        "sketch": torch.stack([item["sketch"] for item in items]),
        "photo": torch.stack([item["photo"] for item in items]),
        "label": torch.tensor([item["label"] for item in items]),
    }


@pytest.fixture(scope="module")
def trained(tiny_set):
    """A tiny model, its losses per step and val L1 before/after 40 steps on the fixed set."""
    torch.manual_seed(0)
    model = SketchyGAN(tiny_config(lr_g=1e-3, lr_d=1e-3))
    before = float(model.validation_losses(tiny_set)["val/l1"])
    optimizers = model.configure_optimizers()
    history = [model.train_step(tiny_set, optimizers) for _ in range(40)]
    after = float(model.validation_losses(tiny_set)["val/l1"])
    return model, history, before, after


# --------------------------------------------------------------------------- MRU


def _centre_only(conv: nn.Conv2d, weights: list[list[float]], bias: list[float]) -> None:
    """Make a 3x3 (or 1x1) conv a per-pixel linear map: only the centre tap is non-zero."""
    with torch.no_grad():
        conv.weight.zero_()
        centre = conv.weight.shape[-1] // 2
        conv.weight[:, :, centre, centre] = torch.tensor(weights)
        conv.bias.copy_(torch.tensor(bias))


@pytest.mark.parametrize("gate", ["sigmoid", "minmax"])
def test_mru_output_equals_the_equations_on_a_hand_built_input(gate):
    mru = MRU(1, 2, 1, gate=gate, convs=1, norm=False, act="relu")
    _centre_only(mru.mask, [[0.5, -1.0]], [0.1])  # m from [x, I]
    _centre_only(mru.keep, [[1.0, 0.5], [-0.5, 2.0]], [0.0, 0.2])  # n from [x, I]
    _centre_only(mru.features[0], [[2.0, 1.0], [-1.0, 0.5]], [0.0, 0.3])  # z from [m*x, I]
    _centre_only(mru.project, [[1.5], [-2.0]], [0.1, 0.4])  # 1x1 projection of x
    x = torch.tensor([[0.2, -0.4, 1.0], [0.0, 0.7, -1.2], [0.3, 0.9, -0.1]]).view(1, 1, 3, 3)
    image = torch.tensor([[1.0, -1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, 1.0]]).view(1, 1, 3, 3)

    xs, ims = x.numpy()[0, 0], image.numpy()[0, 0]

    def gate_of(t: np.ndarray) -> np.ndarray:
        if gate == "sigmoid":
            return 1 / (1 + np.exp(-t))
        t = np.where(t > 0, t, 0.2 * t)
        return (t - t.min()) / (t.max() - t.min() + 1e-6)

    m = gate_of(0.5 * xs - 1.0 * ims + 0.1)
    expected = []
    for kz, kn, kp in [
        ((2.0, 1.0, 0.0), (1.0, 0.5, 0.0), (1.5, 0.1)),
        ((-1.0, 0.5, 0.3), (-0.5, 2.0, 0.2), (-2.0, 0.4)),
    ]:
        z = np.maximum(kz[0] * m * xs + kz[1] * ims + kz[2], 0)
        n = gate_of(kn[0] * xs + kn[1] * ims + kn[2])
        projected = np.maximum(kp[0] * xs + kp[1], 0)
        expected.append((1 - n) * z + n * projected)
    out = mru(x, image)
    assert out.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(out.detach().numpy()[0], np.stack(expected), rtol=1e-5, atol=1e-6)


def test_mru_keeps_the_input_where_the_gate_is_open():
    mru = MRU(3, 3, 1, gate="sigmoid", convs=2, norm=False)
    with torch.no_grad():
        mru.keep.weight.zero_()
        mru.keep.bias.fill_(50.0)  # n = sigmoid(50) = 1: y = x
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(mru(x, torch.randn(2, 1, 5, 5)), x)


# --------------------------------------------------------------------------- D


def test_spectral_norm_keeps_each_largest_singular_value_near_one():
    torch.manual_seed(0)
    d = MRUDiscriminator(tiny_config())
    layers = [m for m in d.modules() if hasattr(m, "parametrizations")]
    assert len(layers) == sum(isinstance(m, nn.Conv2d | nn.Linear) for m in d.modules())
    with torch.no_grad():
        for layer in layers:
            layer.parametrizations.weight.original.mul_(10.0)  # raw weights far from norm 1
        raw = [
            torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), 2)
            for m in layers
        ]
        assert max(float(s) for s in raw) > 2.0
        for _ in range(30):  # one power iteration per forward in train mode
            d(torch.randn(2, 3, 32, 32))
    d.eval()
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), 2)
        assert abs(float(sigma) - 1.0) < 0.05, (layer, float(sigma))


def test_discriminator_heads_shapes():
    d = MRUDiscriminator(tiny_config(d_sketch=True))
    logits, classes = d(torch.randn(2, 4, 32, 32))
    assert logits.shape == (2, 1, 2, 2) and classes.shape == (2, len(CLASSES))


# --------------------------------------------------------------------------- losses


def test_dragan_is_zero_for_a_critic_constant_around_the_data_and_positive_otherwise():
    real = torch.rand(4, 3, 8, 8) * 2 - 1
    constant = dragan_penalty(lambda x: x.sum(dim=(1, 2, 3)) * 0 + 3.0, real)
    assert float(constant) == 0.0
    steep = dragan_penalty(lambda x: 5.0 * x.flatten(1).sum(1), real)
    slope = 5.0 * (3 * 8 * 8) ** 0.5  # |grad| of 5 * sum(x), the same at every point
    assert float(steep) == pytest.approx((slope - 1) ** 2, rel=1e-5)
    gentle = dragan_penalty(lambda x: 0.01 * x.flatten(1).sum(1), real)
    assert float(gentle) == 0.0  # one-sided (the code): slopes below 1 are not penalised
    two_sided = dragan_penalty(lambda x: 0.01 * x.flatten(1).sum(1), real, one_sided=False)
    assert float(two_sided) == pytest.approx((0.01 * (3 * 64) ** 0.5 - 1) ** 2, rel=1e-5)


def test_dragan_runs_in_float32_under_bf16_autocast_and_reaches_d():
    d = MRUDiscriminator(tiny_config())
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty = dragan_penalty(lambda x: d(x)[0], real, one_sided=False)
    assert penalty.dtype == torch.float32 and float(penalty.detach()) > 0
    penalty.backward()
    assert d.real_fake.parametrizations.weight.original.grad.abs().sum() > 0


def test_focal_ac_loss_is_cross_entropy_scaled_by_the_miss():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.5, 0.0]])
    labels = torch.tensor([0, 2])
    ce = F.cross_entropy(logits, labels, reduction="none")
    p = torch.softmax(logits, 1)[torch.arange(2), labels]
    assert float(focal_cross_entropy(logits, labels, 0.0)) == pytest.approx(float(ce.mean()))
    focal = float(((1 - p) ** 2 * ce).mean())
    assert float(focal_cross_entropy(logits, labels, 2.0)) == pytest.approx(focal, rel=1e-6)


def test_diversity_loss_is_minus_the_slope_between_two_z():
    a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    za, zb = torch.zeros(1, 4), torch.tensor([[0.0, 3.0, 4.0, 0.0]])  # |za - zb| = 5
    assert float(diversity_loss(a, b, za, zb)) == pytest.approx(-0.5 / 5)


def test_perceptual_loss_is_the_mean_feature_l1(tiny_set):
    torch.manual_seed(0)
    features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
    features.requires_grad_(False)
    photo = tiny_set["photo"]
    assert float(perceptual_loss(features, photo, photo)) == 0.0
    expected = (features(photo.flip(0)) - features(photo)).abs().mean()
    assert float(perceptual_loss(features, photo.flip(0), photo)) == pytest.approx(float(expected))


def test_perceptual_loss_from_plain_inception_weights(tmp_path, tiny_set):
    """The feature network file: plain TF-InceptionV3 weights (tests/crafted_files.py)."""
    from tests.crafted_files import plain_inception_weights

    path = plain_inception_weights(tmp_path / "inception.pt")
    pair = {key: value[:2] for key, value in tiny_set.items()}  # 299 px Inception: 2 items
    model = SketchyGAN(tiny_config(perceptual_weights=str(path), perceptual_size=299))
    losses = model.train_step(pair, model.configure_optimizers())
    assert float(losses["G/perceptual"]) > 0
    plain_keys = SketchyGAN(tiny_config()).state_dict().keys()
    assert model.state_dict().keys() == plain_keys  # the feature net is not saved
    without = SketchyGAN(tiny_config()).train_step(pair, model.configure_optimizers())
    assert "G/perceptual" not in without


def test_perceptual_loss_resizes_to_the_network_size():
    fake, real = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    small = F.interpolate(fake, size=(8, 8), mode="bilinear") - F.interpolate(
        real, size=(8, 8), mode="bilinear"
    )
    loss = perceptual_loss(nn.Identity(), fake, real, size=8)
    assert float(loss) == pytest.approx(float(small.abs().mean()), rel=1e-5)


def test_missing_perceptual_network_names_the_path(tiny_set, tmp_path):
    model = SketchyGAN(tiny_config(perceptual_weights=str(tmp_path / "nope.pt")))
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        model.train_step(tiny_set, model.configure_optimizers())


# --------------------------------------------------------------------------- training


@pytest.mark.slow
@pytest.mark.guards_default
def test_ac_head_loss_falls_on_a_fixed_labelled_set(trained):
    _, history, _, _ = trained
    ac = [float(step["D/ac"]) for step in history]
    assert np.mean(ac[-5:]) < 0.8 * np.mean(ac[:3]), ac


@pytest.mark.slow
@pytest.mark.guards_default
def test_training_lowers_l1_to_the_photos(trained):
    _, history, before, after = trained
    assert after < 0.9 * before, (before, after)  # eval mode: running BN statistics
    l1 = [float(step["G/l1"]) for step in history]
    assert np.mean(l1[-5:]) < 0.8 * np.mean(l1[:3]), l1
    assert {"D/real", "D/fake", "D/ac", "D/dragan", "G/gan", "G/ac", "G/diversity"} <= set(
        history[0]
    )


@pytest.mark.slow
@pytest.mark.guards_default
def test_two_z_give_two_images_and_the_same_z_the_same(trained, tiny_set):
    model, _, _, _ = trained
    sketch, label = tiny_set["sketch"][:2], tiny_set["label"][:2]
    z1, z2 = model.sample_z(2), model.sample_z(2)
    first = model.generate_tensor(sketch, label=label, z=z1)
    again = model.generate_tensor(sketch, label=label, z=z1.clone())
    other = model.generate_tensor(sketch, label=label, z=z2)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert float((first - other).abs().mean()) > 1e-3
    seeded = [model.generate(sketch, label=label, seed=3) for _ in range(2)]
    np.testing.assert_array_equal(*seeded)


@pytest.mark.slow
@pytest.mark.guards_default
def test_a_different_class_changes_the_image(trained, tiny_set):
    model, _, _, _ = trained
    sketch = tiny_set["sketch"][:1]
    z = model.sample_z(1, torch.Generator().manual_seed(0))
    images = [model.generate_tensor(sketch, label=[name], z=z) for name in CLASSES]
    for other in images[1:]:
        assert float((images[0] - other).abs().mean()) > 1e-4


def test_train_step_rejects_unlabelled_pairs(tiny_set):
    model = SketchyGAN(tiny_config())
    batch = tiny_set | {"label": torch.full((8,), -1)}
    with pytest.raises(ValueError, match="labelled pairs.*apple"):
        model.train_step(batch, model.configure_optimizers())


# --------------------------------------------------------------------------- bad input


def test_unknown_class_name_or_index_lists_the_known_classes():
    model = SketchyGAN(tiny_config())
    sketch = np.full((32, 32), 255, np.uint8)
    sketch[8:24, 16] = 0
    assert model.generate(sketch, label="mug", seed=0).shape == (32, 32, 3)
    with pytest.raises(ValueError, match="unknown class 'zebra'.*'apple'.*'house'"):
        model.generate(sketch, label="zebra")
    with pytest.raises(ValueError, match="index 7 out of range.*'apple'"):
        model.generate(sketch, label=7)
    with pytest.raises(ValueError, match="needs a class label.*'apple'"):
        model.generate(sketch)
    with pytest.raises(ValueError, match="needs a class label"):
        model.generate_tensor(torch.zeros(1, 1, 32, 32))


def test_default_classes_are_the_embedded_ones():
    from sketchwidgets.data.builtin import CLASSES as EMBEDDED

    assert SketchyGANConfig().class_names == EMBEDDED


def test_config_checks_its_values():
    with pytest.raises(ValueError, match="multiple of 32"):
        SketchyGANConfig(image_size=48)
    with pytest.raises(ValueError, match="mru_gate"):
        SketchyGANConfig(mru_gate="tanh")
    with pytest.raises(ValueError, match="needs class labels"):
        SketchyGAN(SketchyGANConfig(class_names=()))
    assert SketchyGANConfig(class_names=["a", "b"]).class_names == ("a", "b")


def test_class_map_variant_and_sketch_in_d_train(tiny_set):
    model = SketchyGAN(tiny_config(class_map=True, d_sketch=True, mru_gate="sigmoid"))
    losses = model.train_step(tiny_set, model.configure_optimizers())
    assert all(torch.isfinite(v) for v in losses.values())
    z = model.sample_z(1)
    a = model.generate_tensor(tiny_set["sketch"][:1], label=[0], z=z)
    b = model.generate_tensor(tiny_set["sketch"][:1], label=[1], z=z)
    assert float((a - b).abs().mean()) > 1e-4  # the class map differs per class from the start


@pytest.mark.parametrize("running", [False, True])
def test_test_time_batch_norm_uses_the_batch_as_the_code_or_running_averages(tiny_set, running):
    model = SketchyGAN(tiny_config(bn_running_stats=running))
    model.train_step(tiny_set, model.configure_optimizers())
    z = model.sample_z(8, torch.Generator().manual_seed(0))
    alone = model.generate_tensor(tiny_set["sketch"][:1], label=tiny_set["label"][:1], z=z[:1])
    batch = model.generate_tensor(tiny_set["sketch"], label=tiny_set["label"], z=z)
    assert torch.allclose(alone, batch[:1], atol=1e-5) == running


def test_default_classes_are_the_embedded_sets():
    from sketchwidgets.data.builtin import CLASSES

    assert SketchyGANConfig().class_names == CLASSES
