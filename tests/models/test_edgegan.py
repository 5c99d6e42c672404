"""EdgeGAN: the TensorFlow defaults it reproduces, the convergence gate, inference, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.device import torch_threads
from sketchwidgets.models import load_model
from sketchwidgets.models.edgegan import EdgeGAN, EdgeGANConfig, gradient_penalty, ink_weights
from sketchwidgets.models.edgegan_layers import (
    TFRMSprop,
    TFSameConvTranspose2d,
    bicubic_resize,
)

CLASSES = ("red", "blue")
LINE = np.full((32, 32), 255, np.uint8)
LINE[16, 4:28] = 0  # one stroke
TINY = {
    "image_size": 32,
    "z_dim": 8,
    "gf_dim": 4,
    "df_dim": 4,
    "ef_dim": 4,
    "classifier_dim": 2,
    "image_dis_size": 32,
    "edge_dis_size": 32,
    "class_names": CLASSES,
}
# The convergence gate keeps every loss and weight of the reference: the three WGAN critics
# with their gradient penalty (lambda_gp 10, weights 1), the focal classifier (0.5 x CE on GI),
# E's L1 (weight 10), TF RMSProp (decay 0.9, mean square starting at 1), the update order. Two
# departures, both measured: the lr is 25x the reference's 2e-4 for a 16-pair set (the
# ones-initialised mean square holds small gradients back for ~150 steps), and the pair term
# of the shipped configuration is on (pair_l1_weight 10, see EdgeGANConfig). Without it the
# class term's gradient on GI is ~1/30 of the critics' and GI drops its inputs within ~50 steps
# (mode collapse): GI took its class after 210 steps for one seed and not within 420 for two
# others, too slow and too seed-dependent to gate. With it: above 0.85 by step 60-80 (seeds 0, 1).
# The shipped recipe's two other departures (encoder_noise "none", pair_optimizer "rmsprop") are
# left out here: with "none" E's sigma head is unused, so the z error as trained (mu + noise x
# sigma) cannot fall; each is tested on its own below. Nor does the z error of E's mean fall on
# this set within a gate's budget with the recipe's settings, even with z_dim 8 and
# zl_trains="encoder_and_edge_generator" (32 fixed codes, 180 steps, lr 2e-3, seeds 0, 1:
# 0.832 -> 0.840, 0.824; with z_dim 2: 0.767 -> 0.628, 0.761): on shoes/handbags it starts to
# fall after ~300 steps. E's z step is tested alone below.
GATE = {**TINY, "lr": 5e-3, "pair_l1_weight": 10.0}
GATE_STEPS = 120


def tiny_set(n: int = 16) -> dict[str, torch.Tensor]:
    """Class 0: circle edges, photo dark on the left; class 1: square edges, photo dark on the
    right (32 px, fixed). The classes differ in layout, as object classes do: a generator with
    instance norm after every layer draws layouts far sooner than a global colour."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 2
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    radius = 0.4 + 0.3 * torch.rand(n, 1, 1, generator=g)
    circle = ((xx**2 + yy**2).sqrt()[None] - radius).abs() < 0.08
    square = (torch.maximum(xx.abs(), yy.abs())[None] - radius).abs() < 0.08
    edge = torch.where(labels[:, None, None] == 0, circle, square)
    dark = (xx < 0)[None] == (labels[:, None, None] == 0)  # class 0 dark left, 1 dark right
    photo = torch.where(edge | dark, -1.0, 0.8)[:, None].expand(-1, 3, -1, -1)
    return {"sketch": torch.where(edge, -1.0, 1.0)[:, None], "photo": photo, "label": labels}


def probes(model: EdgeGAN) -> dict[str, float]:
    """Classifier accuracy and dark-side accuracy of GI's images for fixed (z, c), and E's z
    error on GE's edges: as trained (sampled z, 16 fixed noise draws) and of its mean alone."""
    g = torch.Generator().manual_seed(1)
    z, labels = torch.randn(32, model.latent_dim, generator=g), torch.arange(32) % 2
    eps = torch.randn(16, generator=g)
    with torch.no_grad():
        edge, image = model._generate(z, labels)
        mu, log_sigma = model.encoder(edge)
        z_error = torch.stack([(z - mu - e * log_sigma.exp()).abs().mean() for e in eps])
        half = image.shape[-1] // 2
        right_darker = image[..., half:].mean((1, 2, 3)) < image[..., :half].mean((1, 2, 3))
        return {
            "accuracy": (model.classifier(image).argmax(1) == labels).float().mean().item(),
            "side": (right_darker.long() == labels).float().mean().item(),
            "z_error": z_error.mean().item(),
            "z_error_mean": (z - mu).abs().mean().item(),
        }


@pytest.fixture(scope="module")
def gate() -> tuple[EdgeGAN, dict, dict, list]:
    """A tiny EdgeGAN trained GATE_STEPS full steps on the tiny set: (model, before, after,
    losses per step)."""
    with torch_threads(1):
        torch.manual_seed(0)
        model = EdgeGAN(EdgeGANConfig(**GATE))
        optimizers = model.configure_optimizers()
        data, history = tiny_set(), []
        before = probes(model)
        for _ in range(GATE_STEPS):
            pick = torch.randperm(16)[:8]
            history.append(model.train_step({k: v[pick] for k, v in data.items()}, optimizers))
        return model, before, probes(model), history


# ------------------------------------------------------------------- TensorFlow defaults


def test_transposed_conv_is_the_adjoint_of_tf_same_convolution():
    layer = TFSameConvTranspose2d(3, 2)
    x, y = torch.randn(1, 3, 4, 4), torch.randn(1, 2, 8, 8)
    forward = F.conv_transpose2d(x, layer.weight, stride=2, padding=1)[..., :8, :8]
    assert torch.allclose(layer(x) - layer.bias[:, None, None], forward)
    same = F.conv2d(F.pad(y, (1, 2, 1, 2)), layer.weight, stride=2)  # TF SAME: 1 before, 2 after
    assert torch.allclose((forward * y).sum(), (x * same).sum(), atol=1e-5)


def test_bicubic_resize_is_tf_legacy():
    ramp = torch.arange(8.0).reshape(1, 1, 1, 8).expand(1, 1, 8, 8)
    up = bicubic_resize(ramp, 16)
    assert torch.allclose(up[0, 0, 0, ::2], torch.arange(8.0))  # src = dst / 2, no offset
    assert torch.allclose(up[0, 0, 0, 3:13:2], torch.arange(5.0) + 1.5)  # a ramp stays a ramp
    assert up[0, 0, 0, -1].item() == pytest.approx(7 + 0.09375)  # clamped border, a = -0.75


def test_tf_rmsprop_starts_its_mean_square_at_one():
    param = nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = TFRMSprop([param], lr=0.1)
    param.grad = torch.tensor([0.5, 3.0])
    optimizer.step()
    ms = 0.9 * 1.0 + 0.1 * param.grad**2
    expected = torch.tensor([1.0, -2.0]) - 0.1 * param.grad / (ms + 1e-10).sqrt()
    assert torch.allclose(param.detach(), expected)


def test_gradient_penalty_of_a_linear_critic_and_in_float32():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    expected = (critic[1].weight.norm() - 1) ** 2  # the gradient is w everywhere
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty = gradient_penalty(critic, real.bfloat16(), fake.bfloat16())
    assert penalty.dtype == torch.float32


# ---------------------------------------------------------------- convergence gate


def test_losses_at_initialisation():
    torch.manual_seed(0)
    model = EdgeGAN(EdgeGANConfig(**{**TINY, "image_dis_size": 64, "edge_dis_size": 64}))
    losses = model.train_step(tiny_set(8), model.configure_optimizers())
    for name in ("joint", "image", "edge"):
        assert abs(losses[f"D/{name}"].item()) < 0.5  # critics output ~0 (N(0, 0.02) weights)
        assert 0 < losses[f"D/{name}_gp"].item() < 50 and math.isfinite(losses[f"D/{name}_gp"])
    assert losses["G/class_ce"].item() == pytest.approx(math.log(2), abs=0.05)  # no class yet
    assert losses["D/class_focal"].item() < math.log(2)  # the focal factor (1 - p)^2 < 1
    assert losses["E/zl"].item() > 10 * 0.5  # 10 x |z - E(GE(z))|, z ~ N(0, 1): not learned


@pytest.mark.slow
def test_gate_losses_stay_finite(gate):
    _, _, _, history = gate
    assert all(math.isfinite(v.item()) for step in history for v in step.values())
    assert history[-1]["D/class_focal"] < history[0]["D/class_focal"]


@pytest.mark.slow
def test_gate_images_take_their_class(gate):
    _, before, after, history = gate
    assert before["accuracy"] == pytest.approx(0.5, abs=0.2)  # chance
    assert after["accuracy"] >= 0.8  # the classifier (trained on real) recognises GI's images
    assert after["side"] >= 0.8  # and so would anyone: the dark half is the class's side
    ce = [step["G/class_ce"].item() for step in history]
    assert np.mean(ce[-20:]) < 0.5 * np.mean(ce[:20])


@pytest.mark.slow
def test_gate_encoder_z_error_falls(gate):
    """E's loss as trained (mu + one noise draw x sigma) falls: E learns its noise scale and
    the mean of z. Its mean alone does not yet invert GE at this budget (it stays near
    E|z| = 0.8 for z ~ N(0, 1)): the documented limit of short runs, not asserted either way."""
    _, before, after, _ = gate
    assert after["z_error"] < 0.75 * before["z_error"]  # 32 fixed z, 16 fixed noise draws


@pytest.mark.slow
def test_same_z_different_class_gives_a_different_image(gate):
    model = gate[0]
    z = model.sample_z(4, torch.Generator().manual_seed(3))
    red, blue = model.sample("red", z=z), model.sample("blue", z=z)
    assert (red["image"] - blue["image"]).abs().mean() > 0.3
    assert torch.equal(red["image"], model.sample("red", z=z)["image"])  # same z, same image


def test_pair_term_is_off_by_default_and_fits_real_pairs_when_on():
    """``pair_l1_weight`` (not in the reference): 0 runs the reference's steps only; > 0 adds a
    step over E, GE and GI whose L1 to a real pair falls on a fixed batch."""
    torch.manual_seed(0)
    reference = EdgeGAN(EdgeGANConfig(**TINY))
    batch = tiny_set(8)
    assert not any(
        k.startswith("pair/") for k in reference.train_step(batch, reference.configure_optimizers())
    )
    model = EdgeGAN(EdgeGANConfig(**{**TINY, "pair_l1_weight": 10.0, "lr": 5e-3}))
    optimizers = model.configure_optimizers()
    edge = batch["sketch"].expand(-1, 3, -1, -1)
    fit = [model._pair_step(edge, batch["photo"], batch["label"], optimizers) for _ in range(40)]
    assert {"pair/edge_l1", "pair/image_l1"} <= set(model.train_step(batch, optimizers))
    total = [step["pair/edge_l1"].item() + step["pair/image_l1"].item() for step in fit]
    assert np.mean(total[-5:]) < 0.7 * np.mean(total[:5])


def test_image_reads_edge_lets_the_strokes_reach_the_image():
    """``image_reads_edge`` (not in the reference): at one code and class, two sketches give
    two images; without it GI sees only ``[z | class]`` and gives one."""
    batch = tiny_set(8)
    sketches, labels = batch["sketch"][[0, 2]], batch["label"][[0, 2]]  # two circles, class 0
    assert not torch.equal(sketches[0], sketches[1])
    differences = {}
    for reads in (False, True):
        torch.manual_seed(0)
        model = EdgeGAN(EdgeGANConfig(**{**TINY, "image_reads_edge": reads})).eval()
        images = model.generate_tensor(sketches, label=labels, z=torch.zeros(2, model.latent_dim))
        differences[reads] = (images[0] - images[1]).abs().max().item()
    assert differences[False] == 0.0
    assert differences[True] > 1e-3


def test_image_reads_edge_trains_its_skips_with_gi_and_in_the_pair_step():
    """The skips move under GI's WGAN step and under the pair step, and the pair term still
    falls on a fixed batch."""
    torch.manual_seed(0)
    config = {**TINY, "image_reads_edge": True, "pair_l1_weight": 10.0, "lr": 5e-3}
    model = EdgeGAN(EdgeGANConfig(**config))
    optimizers = model.configure_optimizers()
    batch = tiny_set(8)
    before = [p.detach().clone() for p in model.edge_skips.parameters()]
    model._generator_step(torch.randn(8, model.latent_dim), batch["label"], optimizers)
    moved = [
        not torch.equal(a, b) for a, b in zip(before, model.edge_skips.parameters(), strict=True)
    ]
    assert all(moved)
    edge = batch["sketch"].expand(-1, 3, -1, -1)
    fit = [model._pair_step(edge, batch["photo"], batch["label"], optimizers) for _ in range(40)]
    image_l1 = [step["pair/image_l1"].item() for step in fit]
    assert np.mean(image_l1[-5:]) < 0.7 * np.mean(image_l1[:5])


def test_pair_step_with_its_own_optimizer_leaves_the_gan_optimizers_alone():
    """``pair_optimizer="rmsprop"``: the pair step updates E, GE and GI through one more TF
    RMSProp, so its gradients no longer enter the mean squares of the WGAN steps' optimisers."""
    torch.manual_seed(0)
    model = EdgeGAN(EdgeGANConfig(**{**TINY, "pair_l1_weight": 10.0, "pair_optimizer": "rmsprop"}))
    optimizers = model.configure_optimizers()
    trained = [*model.encoder.parameters(), *model.edge_generator.parameters()]
    trained += list(model.image_generator.parameters())
    assert [id(p) for p in optimizers["pair"].param_groups[0]["params"]] == [id(p) for p in trained]
    batch = tiny_set(8)
    before = [p.detach().clone() for p in trained]
    model._pair_step(
        batch["sketch"].expand(-1, 3, -1, -1), batch["photo"], batch["label"], optimizers
    )
    assert all(not optimizers[name].state for name in ("E", "GE", "GI"))
    assert any(not torch.equal(a, p) for a, p in zip(before, trained, strict=True))
    shared = EdgeGAN(EdgeGANConfig(**{**TINY, "pair_l1_weight": 10.0}))
    assert "pair" not in shared.configure_optimizers()


def test_encoder_noise_none_encodes_to_the_mean():
    """``encoder_noise``: "scalar" (the reference) adds one noise draw times sigma to mu, so two
    seeds give two codes; "none" gives mu itself whatever the seed."""
    torch.manual_seed(0)
    sketch = tiny_set(4)["sketch"]
    seeds = [torch.Generator().manual_seed(s) for s in (0, 1)]
    reference = EdgeGAN(EdgeGANConfig(**TINY))
    assert not torch.equal(*(reference.encode(sketch, g) for g in seeds))
    model = EdgeGAN(EdgeGANConfig(**{**TINY, "encoder_noise": "none"}))
    mu, _ = model.encoder(sketch.expand(-1, 3, -1, -1))
    for g in seeds:
        assert torch.equal(model.encode(sketch, g), mu)
    assert reference.has_noise and not model.has_noise  # no re-roll where a seed changes nothing
    with pytest.raises(ValueError, match="encoder_noise must be one of"):
        EdgeGANConfig(**{**TINY, "encoder_noise": "gaussian"})


@pytest.mark.slow
def test_encoder_step_inverts_the_edge_generator_and_trains_it_when_asked():
    """E's z step alone (no critics) on a fresh tiny model with the recipe's lr and E's mean:
    |z - E(GE(z, c))| on 32 fixed codes falls clearly below where it starts (E|z| = 0.83 for
    these codes, what guessing 0 gives) and below the error for another code's edge map.
    Measured (seeds 0, 1; 800 steps, ~8 s): 0.832 -> 0.692, 0.695, shifted 0.878, 0.865; with
    ``zl_trains="encoder"`` 0.695, 0.734. Needs a small z (TINY's 8): with the reference's 100
    E stays at 0.78 (docs/findings/edgegan.md). ``zl_trains="encoder_and_edge_generator"``
    also moves GE; the reference leaves GE to its own steps."""
    config = {**TINY, "lr": 1e-3, "encoder_noise": "none"}
    torch.manual_seed(0)
    model = EdgeGAN(EdgeGANConfig(**config, zl_trains="encoder_and_edge_generator"))
    optimizer = model.configure_optimizers()["E"]
    z, labels = torch.randn(32, 8, generator=torch.Generator().manual_seed(1)), torch.arange(32) % 2

    def z_error(codes: torch.Tensor) -> float:
        with torch.no_grad():
            mu, _ = model.encoder(model.edge_generator(model._code(codes, labels)))
        return (z - mu).abs().mean().item()

    start, ge_before = z_error(z), model.edge_generator.project.weight.detach().clone()
    for _ in range(800):
        model._encoder_step(torch.randn(8, 8), torch.randint(0, 2, (8,)), optimizer)
    assert z_error(z) < 0.9 * start and z_error(z) < z_error(z.roll(1, 0)) - 0.1
    assert not torch.equal(ge_before, model.edge_generator.project.weight)


def test_the_reference_z_step_trains_the_encoder_alone():
    """``zl_trains="encoder"`` (the reference, the default): E's z step leaves GE as it was."""
    torch.manual_seed(0)
    reference = EdgeGAN(EdgeGANConfig(**TINY, lr=1e-3, encoder_noise="none"))
    z, labels = torch.randn(8, 8, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 2
    ge_before = reference.edge_generator.project.weight.detach().clone()
    e_before = reference.encoder.mu.weight.detach().clone()
    reference._encoder_step(z, labels, reference.configure_optimizers()["E"])
    assert torch.equal(ge_before, reference.edge_generator.project.weight)
    assert not torch.equal(e_before, reference.encoder.mu.weight)
    with pytest.raises(ValueError, match="zl_trains must be one of"):
        EdgeGANConfig(**{**TINY, "zl_trains": "generators"})


def test_ink_weights_prefer_a_thick_stroke_to_a_blank_edge_map():
    """``pair_edge_loss="ink_l1"``: with thin strokes the plain L1 prefers a blank edge map to
    a 3-px stroke over the 1-px one; the ink-balanced weights (mean 1) prefer the stroke."""
    edge = torch.ones(1, 3, 32, 32)
    edge[..., 8:24, 16] = -1.0  # one 1-px stroke: 1.6 % ink
    thick = torch.ones_like(edge)
    thick[..., 8:24, 15:18] = -1.0
    weights = ink_weights(edge)
    assert weights.mean().item() == pytest.approx(1.0)
    plain = [(fake - edge).abs().mean().item() for fake in (torch.ones_like(edge), thick)]
    balanced = [((fake - edge).abs() * weights).mean().item() for fake in (edge * 0 + 1, thick)]
    assert plain[0] < plain[1] and balanced[0] > 10 * balanced[1]
    assert torch.equal(ink_weights(torch.ones(1, 1, 8, 8)), torch.ones(1, 1, 8, 8))


def test_shipped_shoes_handbags_checkpoint_follows_the_sketch(shared_data):
    """The shipped edgegan/shoes_handbags on its 400 held-out pairs: GE's edge maps and the Canny
    edges of GI's images are closer (dilated IoU) to their own sketch than to another sketch of
    the same class. The checkpoint of the pair term alone failed this (gaps 0.001 and 0.024, GE
    blank); the shipped recipe scores 0.165 and 0.139 (docs/findings/edgegan.md)."""
    from sketchwidgets.data.edgegan_format import shoes_handbags
    from sketchwidgets.data.sketchify import canny
    from sketchwidgets.eval.baselines import stack_dataset
    from sketchwidgets.eval.shape_metrics import sketch_dependence
    from sketchwidgets.io import image_to_tensor, tensor_to_image
    from sketchwidgets.pretrained import load_pretrained

    held_out = stack_dataset(shoes_handbags(shared_data("shoes_handbags_photo_edges"), split="val"))
    sketches, labels = held_out["sketch"], held_out["label"]
    model = load_pretrained("edgegan/shoes_handbags")
    out = model.generate_outputs(sketches, label=labels, rng=torch.Generator().manual_seed(0))
    edges_of_images = torch.stack(
        [image_to_tensor(canny(tensor_to_image(image))) for image in out["image"]]
    )
    for drawn, least in ((out["edge"], 0.1), (edges_of_images, 0.08)):
        scores = sketch_dependence(sketches, drawn, labels)
        assert scores["matched"] - scores["shuffled"] > least, scores


@pytest.mark.parametrize("name", ["edgegan/shoes_handbags", "edgegan/classroom"])
def test_shipped_checkpoint_encoder_inverts_the_edge_generator(name):
    """E gives back the z that GE drew from: for 256 fixed codes of every class, E's mean is
    far closer to its own z than to the code of the neighbouring edge map (a shifted z), and
    well below 0.80, the error of guessing 0 for z ~ N(0, 1). Shipped: 0.45-0.48 against
    0.95-0.96 (shoes/handbags), 0.28-0.32 against 1.00-1.08 (classroom); the recipe at 700
    steps gave 0.70-0.73 against 0.83-0.86, and with z_dim 100 and E trained alone 0.79 / 0.80
    (docs/findings/edgegan.md)."""
    from sketchwidgets.pretrained import load_pretrained

    model = load_pretrained(name)
    g = torch.Generator().manual_seed(0)
    for label in range(len(model.class_names)):
        z, labels = torch.randn(256, model.latent_dim, generator=g), torch.full((256,), label)
        with torch.no_grad():
            mu, _ = model.encoder(model.sample(labels, z=z)["edge"])
        own, shifted = (z - mu).abs().mean().item(), (z.roll(1, 0) - mu).abs().mean().item()
        assert own < 0.6 and own < shifted - 0.3, (model.class_names[label], own, shifted)


# -------------------------------------------------------------------------- inference


def test_generate_from_a_sketch_gives_image_and_edge(untrained):
    model = untrained
    sketch = (tiny_set(2)["sketch"][0, 0].numpy() * 127.5 + 127.5).astype("uint8")
    outputs = model.generate(sketch, label="blue", seed=0, outputs=True)
    assert list(outputs) == ["image", "edge"] and outputs["edge"].shape == (32, 32, 3)
    again = model.generate(sketch, label=1, seed=0)
    assert (again == outputs["image"]).all()  # a seed fixes E's noise draw
    z = torch.zeros(1, model.latent_dim)
    by_z = model.generate(sketch, label="blue", z=z)
    assert (by_z == model.generate(LINE, label="blue", z=z)).all()  # z replaces E


def test_sample_without_a_sketch(untrained):
    model = untrained
    samples = model.sample(["red", "blue", "blue"], rng=torch.Generator().manual_seed(0))
    assert samples["image"].shape == samples["edge"].shape == (3, 3, 32, 32)
    assert float(samples["image"].abs().max()) <= 1.0


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def untrained() -> EdgeGAN:
    torch.manual_seed(0)
    return EdgeGAN(EdgeGANConfig(**TINY))


def test_class_index_out_of_range(untrained):
    with pytest.raises(ValueError, match=r"class index 2 out of range.*0='red', 1='blue'"):
        untrained.generate(LINE, label=2)


def test_unknown_class_name(untrained):
    with pytest.raises(ValueError, match=r"unknown class 'giraffe'.*'red'"):
        untrained.generate(LINE, label="giraffe")


def test_missing_class(untrained):
    with pytest.raises(ValueError, match="needs a class label"):
        untrained.generate(LINE)


def test_checkpoint_with_another_class_count(untrained, tmp_path):
    path = untrained.save(tmp_path / "two.pt")
    three = EdgeGAN(EdgeGANConfig(**{**TINY, "class_names": ("red", "blue", "green")}))
    state = torch.load(path, weights_only=True)["state_dict"]
    with pytest.raises(ValueError, match="trained for 2 classes, this EdgeGAN has 3"):
        three.load_state_dict(state)
    assert load_model(path).class_names == CLASSES  # the file itself loads as it was saved


def test_training_needs_labels_of_known_classes(untrained):
    batch = {**tiny_set(4), "label": torch.tensor([0, 1, -1, 0])}
    with pytest.raises(ValueError, match=r"labelled pairs of its 2 classes.*\[-1\]"):
        untrained.train_step(batch, untrained.configure_optimizers())


def test_defaults_to_the_reference_classes_and_refuses_none():
    assert EdgeGAN(EdgeGANConfig(image_size=32)).num_classes == 14  # flags.json num_classes
    with pytest.raises(ValueError, match="class_names"):
        EdgeGAN(EdgeGANConfig(image_size=32, class_names=()))


def test_image_refiner_lets_the_strokes_reach_the_image():
    """``image_refiner_width`` (not in the reference): at one code and class, two sketches
    give two images, and the refiner's image is not GI's."""
    batch = tiny_set(8)
    sketches, labels = batch["sketch"][[0, 2]], batch["label"][[0, 2]]  # two circles, class 0
    torch.manual_seed(0)
    config = {**TINY, "image_refiner_width": 4, "pair_l1_weight": 1.0}
    model = EdgeGAN(EdgeGANConfig(**config)).eval()
    z = torch.zeros(2, model.latent_dim)
    images = model.generate_tensor(sketches, label=labels, z=z)
    assert (images[0] - images[1]).abs().max().item() > 1e-3
    with torch.no_grad():
        _, gi_image = model._generate(z, labels)
    assert not torch.allclose(images, gi_image)


def test_image_refiner_learns_the_photo_alone_in_the_pair_step():
    """The refiner's L1 falls on a fixed batch, and its gradient stays in the refiner: after
    each pair step E, GE and GI hold no gradient (theirs are stepped and cleared first)."""
    torch.manual_seed(0)
    config = {**TINY, "image_refiner_width": 8, "pair_l1_weight": 10.0, "lr": 5e-3}
    model = EdgeGAN(EdgeGANConfig(**config))
    optimizers = model.configure_optimizers()
    batch = tiny_set(8)
    edge = batch["sketch"].expand(-1, 3, -1, -1)
    others = [model.encoder, model.edge_generator, model.image_generator]
    refined = []
    for _ in range(40):
        refined.append(model._pair_step(edge, batch["photo"], batch["label"], optimizers))
        assert all(p.grad is None for net in others for p in net.parameters())
    l1 = [step["pair/refined_l1"].item() for step in refined]
    assert np.mean(l1[-5:]) < 0.7 * np.mean(l1[:5])


def test_image_refiner_needs_the_pair_step():
    with pytest.raises(ValueError, match="pair_l1_weight"):
        EdgeGANConfig(**{**TINY, "image_refiner_width": 4, "pair_l1_weight": 0.0})


def test_image_refiner_gan_needs_a_refiner():
    with pytest.raises(ValueError, match="image_refiner_width"):
        EdgeGANConfig(**{**TINY, "image_refiner_gan_weight": 0.1, "pair_l1_weight": 1.0})
    with pytest.raises(ValueError, match="image_refiner_gan_weight"):
        EdgeGANConfig(**{**TINY, "image_refiner_width": 4, "image_refiner_gan_weight": -1.0})


def test_image_refiner_depth_builds_that_many_levels():
    config = {**TINY, "image_refiner_width": 4, "pair_l1_weight": 1.0}
    model = EdgeGAN(EdgeGANConfig(**config, image_refiner_depth=5))
    assert len(model.image_refiner.down) == 5 and len(model.image_refiner.up) == 5
    with pytest.raises(ValueError, match="image_refiner_depth must be >= 2, got 1"):
        EdgeGANConfig(**config, image_refiner_depth=1)


def test_image_refiner_plays_against_its_patchgan():
    """``image_refiner_gan_weight`` > 0: the PatchGAN learns to tell the photo from the
    refiner's image on a fixed batch (its loss falls below chance, ln 2), each pair step reports
    both players' losses, and only the refiner holds a gradient after it."""
    torch.manual_seed(0)
    config = {**TINY, "image_refiner_width": 8, "pair_l1_weight": 10.0}
    model = EdgeGAN(EdgeGANConfig(**config, image_refiner_gan_weight=1.0))
    assert EdgeGAN(EdgeGANConfig(**config)).refiner_discriminator is None
    optimizers = model.configure_optimizers()
    batch = tiny_set(8)
    edge = batch["sketch"].expand(-1, 3, -1, -1)
    judge = [p.detach().clone() for p in model.refiner_discriminator.parameters()]
    steps = []
    for _ in range(30):
        steps.append(model._pair_step(edge, batch["photo"], batch["label"], optimizers))
        held = {name.split(".")[0] for name, p in model.named_parameters() if p.grad is not None}
        assert held == {"image_refiner"}
    assert {"RD/gan", "R/gan", "pair/refined_l1"} <= set(steps[-1])
    now = model.refiner_discriminator.parameters()
    assert any(not p.equal(q) for p, q in zip(now, judge, strict=True))
    assert np.mean([s["RD/gan"].item() for s in steps[-5:]]) < 0.6
