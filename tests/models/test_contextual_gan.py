"""Contextual GAN: networks, joint-image training, and the latent search (tiny config, CPU).

The honest learning signal of the training test: a GAN's losses do not fall, so we measure
(1) D's balanced accuracy on *held-out* real joint images vs fresh fakes, which starts near
chance and must rise (D learns what real joint images look like), and (2) the distance
between the mean image of G's samples and the mean held-out real image, which must fall
(G's samples move toward the data). Both are measured on a copy of the model in the batch
norm mode it trains in, so measuring changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sketchwidgets.config import apply_overrides, config_from_dict
from sketchwidgets.data.builtin import embedded_pairs
from sketchwidgets.io import image_to_tensor
from sketchwidgets.models import build_model, load_model
from sketchwidgets.models.contextual_gan import (
    ContextualGAN,
    ContextualGANConfig,
    MinibatchStd,
    ema_update,
    joint_from_batch,
    mismatched_pairs,
    photo_to_sketch,
    r1_penalty,
)
from sketchwidgets.models.diffaugment import augment_joint, parse_policy
from sketchwidgets.models.latent_search import (
    KL_EPS,
    SearchDivergedError,
    SearchSettings,
    latent_search,
    nesterov_step,
    search_settings,
)
from sketchwidgets.train.recipes import preset
from tests.models.tiny_configs import TINY_CONFIGS

DATA_LIMITED = preset("contextual_gan/data_limited")

# lr 5e-4 instead of the paper's 2e-4, so that 40 steps are enough to see G move
# the defaults, the paper's training configuration, so these tests pin the paper's mechanics
TINY = ContextualGANConfig(
    gf_dim=8,
    df_dim=8,
    z_dim=16,
    batch_size=16,
    lr=5e-4,
    search=SearchSettings(n_init=5, iterations=30),
)


@pytest.fixture(scope="module")
def pairs() -> dict[str, torch.Tensor]:
    """104 embedded pairs (64 px, XDoG sketches): 0-63 train, 64-95 held out, 96- search."""
    embedded = embedded_pairs(104, seed=0, workers=1)
    return {
        "sketch": image_to_tensor(embedded.sketches[..., None]),
        "photo": image_to_tensor(embedded.photos),
        "label": torch.as_tensor(embedded.labels),
    }


def part(pairs: dict[str, torch.Tensor], start: int, stop: int) -> dict[str, torch.Tensor]:
    return {key: value[start:stop] for key, value in pairs.items()}


def tiny_model(seed: int = 0, **overrides) -> ContextualGAN:
    torch.manual_seed(seed)
    return ContextualGAN(dataclasses.replace(TINY, **overrides))


@torch.no_grad()
def learning_signals(model: ContextualGAN, held_out: dict) -> tuple[float, float]:
    """(D's balanced held-out accuracy, |mean G(z) - mean real| ), on a throwaway copy."""
    probe = copy.deepcopy(model).train()
    real = joint_from_batch(held_out)
    fake = probe.generator(probe.sample_z(len(real), torch.Generator().manual_seed(1)))
    accuracy = (
        (probe.discriminator(real) > 0).float().mean()
        + (probe.discriminator(fake) < 0).float().mean()
    ) / 2
    return float(accuracy), float((fake.mean(0) - real.mean(0)).abs().mean())


@pytest.fixture(scope="module")
def trained(pairs) -> tuple[ContextualGAN, list[tuple[float, float]], dict]:
    """A tiny model after 40 D-then-G steps on 64 pairs, with its signals at steps 0, 10, 40.

    One G update per D update (the paper's schedule), so D's early gain is large and clear."""
    model = tiny_model(generator_updates=1)
    data, held_out = part(pairs, 0, 64), part(pairs, 64, 96)
    optimizers = model.configure_optimizers()
    signals = [learning_signals(model, held_out)]
    for step in range(1, 41):
        index = torch.randint(0, 64, (16,))
        losses = model.train_step({k: v[index] for k, v in data.items()}, optimizers)
        if step in (10, 40):
            signals.append(learning_signals(model, held_out))
    return model.eval(), signals, losses


@pytest.fixture(scope="module")
def sketches(pairs) -> torch.Tensor:
    return pairs["sketch"][96:102]


def test_defaults_are_the_papers_and_the_preset_adds_the_measured_recipe():
    cfg = ContextualGANConfig()
    assert (cfg.image_size, cfg.z_dim, cfg.gf_dim, cfg.df_dim) == (64, 100, 64, 64)
    assert (cfg.lr, cfg.beta1, cfg.batch_size) == (2e-4, 0.5, 64)
    search = cfg.search
    assert (search.n_init, search.lambda_perceptual, search.lr) == (30, 0.01, 0.01)
    assert (search.momentum, search.iterations, search.contextual) == (0.9, 1000, "l1")
    assert cfg.generator_updates == 1  # the paper's (the authors' code runs G twice)
    assert (cfg.augment, cfg.spectral_norm, cfg.minibatch_std, cfg.ema_decay) == ("", 0, 0, 0)
    assert (cfg.r1_gamma, cfg.lr_d, cfg.standing_stats) == (0, 0, 0)
    recipe = build_model("contextual_gan", **DATA_LIMITED).config
    assert recipe.augment == "color,translation,cutout" and recipe.spectral_norm
    assert (recipe.encoder_width, recipe.reconstruction_weight) == (64, 100.0)
    assert (cfg.encoder_width, cfg.reconstruction_weight) == (0, 0.0)
    settings = search_settings(cfg, iterations=200)
    assert (settings.iterations, settings.n_init, settings.lr) == (200, 30, 0.01)
    assert search_settings() == cfg.search == SearchSettings()  # one default
    assert search_settings(recipe) != SearchSettings() and search_settings(recipe).lr == 1e-5


@pytest.mark.parametrize(
    "bad",
    [
        {"image_size": 48},
        {"generator_updates": 0},
        {"augment": "flip"},
        {"ema_decay": 1.0},
        {"r1_gamma": -1.0},
        {"mismatch_share": 1.0},
    ],
)
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        ContextualGANConfig(**bad)


def test_networks_shapes_ranges_and_init():
    model = build_model("contextual_gan", TINY)
    images = model.generator(model.sample_z(3, torch.Generator().manual_seed(0)))
    assert images.shape == (3, 3, 64, 128)
    assert images.min() >= -1 and images.max() <= 1
    assert model.discriminator(images).shape == (3,)
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(convs) == 8  # four transposed convs in G, four convs in D
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)
    assert abs(float(convs[0].weight.detach().std()) - 0.02) < 0.004  # N(0, 0.02)


def test_joint_from_batch_puts_sketch_left_photo_right(pairs):
    batch = part(pairs, 0, 2)
    joint = joint_from_batch(batch)
    assert joint.shape == (2, 3, 64, 128)
    assert torch.equal(joint[:, 1:2, :, :64], batch["sketch"])
    assert torch.equal(joint[:, :, :, 64:], batch["photo"])


@pytest.mark.parametrize("updates", [1, 2])
def test_each_step_updates_d_once_and_g_generator_updates_times(pairs, updates):
    model = tiny_model(generator_updates=updates)
    optimizers = model.configure_optimizers()
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    model.train_step(part(pairs, 0, 8), optimizers)
    steps = {
        name: opt.state[opt.param_groups[0]["params"][0]]["step"]
        for name, opt in optimizers.items()
    }
    assert (int(steps["D"]), int(steps["G"])) == (1, updates)
    g_after = list(model.generator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, g_after, strict=True))


def test_train_step_rejects_the_wrong_size():
    model = tiny_model()
    batch = {"sketch": torch.zeros(2, 1, 32, 32), "photo": torch.zeros(2, 3, 32, 32)}
    with pytest.raises(ValueError, match="size=64"):
        model.train_step(batch, model.configure_optimizers())


def test_training_teaches_d_then_moves_g_toward_the_data(trained):
    _, [(acc0, dist0), (acc10, _), (_, dist40)], losses = trained
    assert set(losses) == {"D/real", "D/fake", "D/acc_real", "D/acc_fake", "G/gan"}
    assert all(v.ndim == 0 and not v.requires_grad for v in losses.values())
    assert acc10 >= acc0 + 0.25, f"D's held-out accuracy went {acc0:.2f} -> {acc10:.2f}"
    assert dist40 <= 0.9 * dist0, f"G's sample mean distance went {dist0:.3f} -> {dist40:.3f}"


def test_validation_losses_change_nothing(trained, pairs):
    model = trained[0]
    before = copy.deepcopy(model.state_dict())
    losses = model.validation_losses(part(pairs, 64, 72))
    assert set(losses) == {"val/d_real", "val/d_fake", "val/d_acc_real", "val/d_acc_fake"}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_search_lowers_contextual_loss_on_every_sketch(trained, sketches):
    model = trained[0]
    result = model.search(sketches, rng=torch.Generator().manual_seed(0), iterations=30)
    assert result.contextual.shape == (31, 6)
    assert torch.all(result.contextual[-1] < result.contextual[0])
    mean = result.mean_contextual
    smooth = torch.nn.functional.avg_pool1d(mean[None, None], 5, stride=5).flatten()
    assert torch.all(smooth[1:] <= smooth[:-1] * 1.001), f"not falling on average: {smooth}"
    assert result.completion.shape == (6, 3, 64, 64)
    assert torch.equal(result.completion, result.images[..., 64:])
    assert result.z_hat.abs().max() <= 1


def brute_force_kl(sketch: np.ndarray, generated: np.ndarray) -> float:
    """KL(input || generated) of grayscale + 1 as distributions, as the authors' scipy entropy."""

    def distribution(rgb: np.ndarray) -> np.ndarray:
        gray = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
        mass = (gray.ravel().astype(np.float64) + 1) / 2 + KL_EPS
        return mass / mass.sum()

    p, q = distribution(sketch), distribution(generated)
    return float(np.sum(p * np.log(p / q)))


def test_refined_initialisation_picks_the_lowest_kl(trained, sketches):
    model = trained[0]
    candidates = torch.rand(6, 5, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    result = model.search(sketches, z_candidates=candidates, iterations=0)
    with torch.no_grad():
        halves = torch.stack([model.generator(candidates[:, k])[..., :64] for k in range(5)], 1)
    inputs = sketches.expand(-1, 3, -1, -1).numpy()
    kl = np.array(
        [[brute_force_kl(inputs[i], halves[i, k].numpy()) for k in range(5)] for i in range(6)]
    )
    assert np.allclose(result.init_scores.numpy(), kl, rtol=1e-4)
    assert result.init_indices.tolist() == kl.argmin(1).tolist()
    chosen = candidates[torch.arange(6), result.init_indices]
    assert torch.equal(result.z_hat, chosen)  # zero iterations: z_hat is the chosen start


def test_batched_search_equals_one_sketch_at_a_time(trained, sketches):
    # float64, so that the only way to differ is coupling between sketches (batch-norm batch
    # statistics, a mean over the batch), not float32 rounding amplified by the clipped steps
    model = copy.deepcopy(trained[0]).double()
    candidates = torch.rand(6, 5, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    batched = model.search(sketches.double(), z_candidates=candidates, iterations=15)
    for i in range(6):
        alone = model.search(
            sketches[i : i + 1].double(), z_candidates=candidates[i : i + 1], iterations=15
        )
        assert torch.allclose(alone.z_hat, batched.z_hat[i : i + 1], atol=1e-6)
        assert torch.allclose(alone.contextual[:, 0], batched.contextual[:, i], rtol=1e-6)


def test_nesterov_step_is_torch_sgd_with_nesterov():
    z, grads = torch.zeros(4, 8), torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(0))
    param = nn.Parameter(z.clone())
    sgd = torch.optim.SGD([param], lr=0.01, momentum=0.9, nesterov=True)
    velocity = torch.zeros_like(z)
    for grad in grads:
        z, velocity = nesterov_step(z, velocity, grad, 0.01, 0.9)
        param.grad = grad.clone()
        sgd.step()
    assert torch.allclose(z, param.detach(), atol=1e-7)


def test_photo_to_sketch_masks_the_other_half(trained, pairs):
    model = trained[0]
    photos = pairs["photo"][101:104]
    result = photo_to_sketch(model, photos, rng=torch.Generator().manual_seed(0), iterations=10)
    assert result.mask_side == "right"
    assert result.completion.shape == (3, 3, 64, 64)
    assert torch.equal(result.completion, result.images[..., :64])
    assert torch.all(result.contextual[-1] < result.contextual[0])


def test_blank_sketch_error_names_the_index(trained, sketches):
    model = trained[0]
    batch = sketches.clone()
    batch[2] = 1.0  # white paper, no ink
    with pytest.raises(ValueError, match="sketch 2 is blank"):
        model.search(batch, iterations=1)
    with pytest.raises(ValueError, match="sketch 0 is blank"):
        model.generate(np.full((64, 64), 255, np.uint8))


class NaNAfter(nn.Module):
    """Wraps G; after ``calls`` forward passes, row ``row`` of every output is NaN."""

    def __init__(self, net: nn.Module, calls: int, row: int) -> None:
        super().__init__()
        self.net, self.calls, self.row, self.count = net, calls, row, 0
        self.z_dim, self.image_size = net.z_dim, net.image_size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.count += 1
        out = self.net(z)
        return (
            out.index_fill(0, torch.tensor([self.row]), float("nan"))
            if self.count > self.calls
            else out
        )


def test_search_that_produces_nan_stops_and_names_the_sketch(trained, sketches):
    model = trained[0]
    poisoned = NaNAfter(model.generator, calls=5 + 3, row=1)  # 5 init draws, then 3 steps
    with pytest.raises(SearchDivergedError, match="sketch 1 became NaN") as error:
        latent_search(
            poisoned,
            model.discriminator,
            sketches,
            settings=search_settings(TINY),
            rng=torch.Generator().manual_seed(0),
        )
    assert error.value.sketch_indices == [1] and error.value.iteration == 3
    assert poisoned.count == 5 + 4  # stopped at once


def test_wrong_size_tensor_warns_and_is_resized(trained, sketches):
    model = trained[0]
    small = torch.nn.functional.interpolate(sketches[:2], size=(48, 48))
    with pytest.warns(UserWarning, match="48x48"):
        result = model.search(small, iterations=2)
    assert result.completion.shape == (2, 3, 64, 64)


def test_callback_sees_init_steps_and_snapshots_and_can_stop(trained, sketches):
    model = trained[0]
    reports = []

    def callback(progress):
        reports.append(progress)
        return progress.iteration == 7  # stop after 7 steps

    result = model.search(
        sketches[:2], callback=callback, snapshot_every=3, keep_candidates=True, iterations=20
    )
    assert reports[0].stage == "init" and reports[0].init_scores.shape == (2, 5)
    assert reports[0].candidates.shape == (2, 5, 3, 64, 128)
    steps = [r.iteration for r in reports[1:]]
    assert steps == list(range(8)) and result.iterations == 7
    assert [r.iteration for r in reports[1:] if r.images is not None] == [0, 3, 6]
    assert [step for step, _ in result.snapshots] == [0, 3, 6]
    assert reports[-1].contextual.shape == (2,)
    assert torch.equal(result.contextual[-1], reports[-1].contextual)


def test_search_leaves_the_networks_as_it_found_them(sketches):
    model = tiny_model().train()
    before = copy.deepcopy(model.state_dict())
    model.search(sketches[:2], iterations=2)  # eval mode inside: no batch-norm statistic moves
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.generator.training and model.discriminator.training
    assert all(p.requires_grad for p in model.parameters())


def test_generate_round_trip_through_save_and_load(tmp_path, sketches):
    model = tiny_model(search=SearchSettings(iterations=3, n_init=2))
    path = model.save(tmp_path / "contextual.pt")
    loaded = load_model(path)
    assert isinstance(loaded, ContextualGAN) and loaded.config == model.config
    sketch = ((sketches[0, 0].numpy() + 1) * 127.5).astype(np.uint8)[::2, ::2]  # 32x32
    first = model.generate(sketch, seed=3)
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first, loaded.generate(sketch, seed=3))
    assert not np.array_equal(first, model.generate(sketch, seed=4))
    assert model.generate(sketch, seed=3, keep_size=True).shape == (32, 32, 3)


@pytest.mark.parametrize("contextual, perceptual", [("kl", "paper"), ("l1", "nonsaturating")])
def test_search_loss_options_run_and_move_z(trained, sketches, contextual, perceptual):
    model = trained[0]
    candidates = torch.rand(2, 5, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1
    result = model.search(
        sketches[:2],
        z_candidates=candidates,
        iterations=5,
        contextual=contextual,
        perceptual=perceptual,
    )
    start = candidates[torch.arange(2), result.init_indices]
    assert not torch.allclose(result.z_hat, start)
    assert torch.isfinite(result.contextual).all() and torch.isfinite(result.perceptual).all()


def test_progress_bar_option(trained, sketches, capsys):
    trained[0].search(sketches[:1], iterations=3, progress=True)
    assert "latent search" in capsys.readouterr().err


# ---------------------------------------------------------------- data-limited training options


def test_diffaugment_moves_and_cuts_both_halves_alike():
    torch.manual_seed(0)
    half = torch.rand(4, 3, 16, 16) * 2 - 1
    joint = torch.cat([half, half], dim=3)  # identical halves stay identical
    out = augment_joint(joint, parse_policy("color,translation,cutout"))
    assert out.shape == joint.shape
    assert torch.equal(out[..., :16], out[..., 16:])
    assert not torch.allclose(out, joint)
    assert torch.equal(augment_joint(joint, ()), joint)
    with pytest.raises(ValueError, match="flip"):
        parse_policy("color,flip")


def test_diffaugment_is_differentiable():
    joint = torch.zeros(2, 3, 16, 32, requires_grad=True)
    augment_joint(joint, parse_policy("color,translation,cutout")).sum().backward()
    assert joint.grad is not None and joint.grad.abs().sum() > 0


def test_ema_update_averages_weights_and_copies_buffers():
    average, live = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    nn.init.constant_(average.weight, 1.0)
    nn.init.constant_(live.weight, 3.0)
    live.running_mean.fill_(5.0)
    ema_update(average, live, decay=0.75)
    assert torch.allclose(average.weight, torch.full((2,), 1.5))  # 0.75 * 1 + 0.25 * 3
    assert torch.equal(average.running_mean, live.running_mean)


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    weight = torch.tensor([1.0, -2.0, 3.0])
    real = torch.randn(5, 3, requires_grad=True)
    assert torch.isclose(r1_penalty(real @ weight, real), torch.tensor(14.0))


def test_spectral_norm_replaces_batch_norm_in_d():
    model = tiny_model(spectral_norm=True)
    d = model.discriminator
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    assert all(
        nn.utils.parametrize.is_parametrized(m)
        for m in d.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    )
    for _ in range(20):  # power iterations run in train mode
        d(torch.zeros(2, 3, 64, 128))
    sigma = torch.linalg.matrix_norm(d.classify.weight.detach(), ord=2)
    assert abs(float(sigma) - 1.0) < 0.05


def test_minibatch_std_scores_images_one_by_one_in_eval_mode(pairs):
    model = tiny_model(minibatch_std=True)
    real = joint_from_batch(part(pairs, 0, 8))
    model.discriminator(real)  # train mode: sets the running average
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model.discriminator(real)[:2], model.discriminator(real[:2]))


@pytest.mark.parametrize(
    "options",
    [
        {"augment": "color,translation,cutout"},
        {"spectral_norm": True, "minibatch_std": True},
        {"r1_gamma": 1.0},
        {"ema_decay": 0.9, "lr_d": 4e-4, "standing_stats": 64},
        {"mismatch_share": 0.5},
    ],
)
def test_each_option_trains_and_searches(pairs, sketches, options):
    model = tiny_model(**options)
    optimizers = model.configure_optimizers()
    losses = model.train_step(part(pairs, 0, 16), optimizers)
    assert all(torch.isfinite(v) for v in losses.values())
    if "r1_gamma" in options:
        assert float(losses["D/r1"]) > 0
    if "lr_d" in options:
        assert optimizers["D"].param_groups[0]["lr"] == 4e-4
    assert ("D/mismatch" in losses) == ("mismatch_share" in options)
    result = model.search(sketches[:2], iterations=2, n_init=2)
    assert result.completion.shape == (2, 3, 64, 64)


def test_ema_generator_is_the_sampler_and_is_saved(tmp_path):
    model = tiny_model(ema_decay=0.9)
    plain = tiny_model()
    assert model.sampler is model.generator_ema and plain.sampler is plain.generator
    loaded = load_model(model.save(tmp_path / "ema.pt"))
    assert torch.equal(loaded.generator_ema.project.weight, model.generator_ema.project.weight)


def mean_pairwise_distance(images: torch.Tensor) -> float:
    flat = images.flatten(1)
    return float(torch.cdist(flat, flat).sum() / (len(flat) * (len(flat) - 1)))


@pytest.mark.slow
@pytest.mark.guards_default
def test_default_training_does_not_collapse_on_a_tiny_set():
    """Collapse guard: after 200 steps on 16 fixed 32 px pairs, samples of different z differ.

    Measure: the mean pairwise L2 distance of 32 samples over that of the 16 real joint images,
    samples drawn as the search draws them (``search_generator``: G's moving average with
    standing statistics). Measured with seeds 0 and 1 at steps 50, 100, 150, 200: the
    data_limited preset (with the reconstruction-trained encoder) 0.20, 0.34, 0.42, 0.46 /
    0.22, 0.39, 0.46, 0.49;
    the same without the encoder 0.17, 0.20, 0.22, 0.29 / 0.19, 0.22, 0.24, 0.28; the paper's
    training stays at 0.15-0.19 -- the collapse of docs/findings/contextual_gan.md, every z one of
    two textures. 0.35 sits between the preset and the preset without the encoder.
    """
    embedded = embedded_pairs(16, seed=0, workers=1)
    sketch = F.interpolate(image_to_tensor(embedded.sketches[..., None]), 32, mode="area")
    photo = F.interpolate(image_to_tensor(embedded.photos), 32, mode="area")
    torch.manual_seed(0)
    tiny = {"image_size": 32, "gf_dim": 8, "df_dim": 8, "z_dim": 16, "batch_size": 16}
    model = build_model("contextual_gan", **{**DATA_LIMITED, **tiny, "encoder_width": 8})
    optimizers = model.configure_optimizers()
    for _ in range(200):
        index = torch.randint(0, 16, (16,))
        model.train_step({"sketch": sketch[index], "photo": photo[index]}, optimizers)
    model.eval()
    with torch.no_grad():
        fake = model.search_generator()(model.sample_z(32, torch.Generator().manual_seed(1)))
    real = joint_from_batch({"sketch": sketch, "photo": photo})
    assert mean_pairwise_distance(fake) / mean_pairwise_distance(real) > 0.35


def test_standing_statistics_let_z_matter_early_and_leave_the_model_alone(pairs, sketches):
    """Two steps in, the running averages still hide z (variance ~1 vs ~1e-3 in the batch):
    the eval-mode G barely depends on z unless the search uses standing statistics."""
    outputs = {}
    for codes in (0, 256):
        model = tiny_model(standing_stats=codes)
        optimizers = model.configure_optimizers()
        for start in (0, 16):
            model.train_step(part(pairs, start, start + 16), optimizers)
        model.eval()
        before = copy.deepcopy(model.state_dict())
        z = model.sample_z(2, torch.Generator().manual_seed(5))
        with torch.no_grad():
            images = model.search_generator()(z)
        outputs[codes] = float((images[0] - images[1]).abs().mean())
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert outputs[256] > 10 * outputs[0]


def test_minibatch_std_runs_under_bf16_autocast_and_keeps_a_float32_statistic():
    layer = MinibatchStd()
    h = torch.randn(4, 3, 2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(h.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and out.shape == (4, 4, 2, 2)
    assert layer.running_std.dtype == torch.float32 and float(layer.running_std) > 0


def test_mismatched_pairs_keep_each_sketch_and_take_the_next_items_photo(pairs):
    joint = joint_from_batch(part(pairs, 0, 4))
    mixed = mismatched_pairs(joint)
    assert torch.equal(mixed[..., :64], joint[..., :64])
    assert torch.equal(mixed[1:, :, :, 64:], joint[:-1, :, :, 64:])
    assert torch.equal(mixed[0, :, :, 64:], joint[-1, :, :, 64:])
    with pytest.raises(ValueError, match="at least 2"):
        mismatched_pairs(joint[:1])


@torch.no_grad()
def matching_gap(model: ContextualGAN, held_out: dict) -> float:
    """D's mean logit on matched held-out joint images minus that on mismatched ones."""
    probe = copy.deepcopy(model).train()
    real = joint_from_batch(held_out)
    return float(
        probe.discriminator(real).mean() - probe.discriminator(mismatched_pairs(real)).mean()
    )


@pytest.mark.slow
def test_matching_aware_d_learns_which_photo_belongs_to_which_sketch(pairs):
    """With the mismatch term D scores held-out matched pairs above swapped ones; without it,
    D has no reason to. Measured (this seed, 40/80/120/160 steps): gap 0.01/0.04/0.16/0.27
    with the term, within +-0.03 without it."""
    data, held_out = part(pairs, 0, 64), part(pairs, 64, 96)
    gaps = {}
    for share in (0.0, 0.5):
        model = tiny_model(generator_updates=1, mismatch_share=share, augment="")
        optimizers = model.configure_optimizers()
        batches = torch.Generator().manual_seed(0)
        for _ in range(120):
            index = torch.randint(0, 64, (16,), generator=batches)
            model.train_step({k: v[index] for k, v in data.items()}, optimizers)
        gaps[share] = matching_gap(model, held_out)
    assert gaps[0.5] > 0.1 and abs(gaps[0.0]) < 0.05, gaps


def photo_error(model: ContextualGAN, pairs: dict) -> float:
    """Mean |photo half - true photo| of completions from the encoder's code alone."""
    completion = model.search(pairs["sketch"], iterations=0).completion
    return float((completion - pairs["photo"]).abs().mean())


@pytest.mark.slow
@pytest.mark.guards_default
def test_reconstruction_ties_the_photo_half_to_the_sketchs_code():
    """With the reconstruction term, the code E reads from a sketch gives back that sketch's
    photo; an encoder trained on G's own samples (the term off) gives a photo no closer than
    the mean photo. Measured (32 px, 64 train / 32 held-out embedded pairs, 150 steps, seed 0):
    training sketches 0.240 with the term vs 0.335 without (mean photo 0.293), held-out 0.310
    vs 0.339; the reconstruction L1 falls from 0.61 to 0.19."""
    embedded = embedded_pairs(96, seed=0, workers=1)
    pairs = {
        "sketch": F.interpolate(image_to_tensor(embedded.sketches[..., None]), 32, mode="area"),
        "photo": F.interpolate(image_to_tensor(embedded.photos), 32, mode="area"),
    }
    data, held_out = part(pairs, 0, 64), part(pairs, 64, 96)
    mean_photo = float((data["photo"].mean(0, keepdim=True) - data["photo"]).abs().mean())
    errors, curves = {}, {}
    for weight in (0.0, 100.0):
        torch.manual_seed(0)
        model = build_model("contextual_gan", **DATA_LIMITED | {
            "image_size": 32, "gf_dim": 8, "df_dim": 8, "z_dim": 16, "batch_size": 16,
            "encoder_width": 8, "reconstruction_weight": weight, "standing_stats": 64,
        })  # fmt: skip
        optimizers = model.configure_optimizers()
        batches = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(150):
            index = torch.randint(0, 64, (16,), generator=batches)
            step = model.train_step({k: v[index] for k, v in data.items()}, optimizers)
            losses.append(float(step.get("G/reconstruction", torch.tensor(0.0))))
        model.eval()
        errors[weight] = (photo_error(model, data), photo_error(model, held_out))
        curves[weight] = losses
    assert errors[100.0][0] < 0.9 * mean_photo < errors[0.0][0], (errors, mean_photo)
    assert errors[100.0][1] < errors[0.0][1] - 0.01, errors
    assert sum(curves[100.0][-10:]) < 0.4 * sum(curves[100.0][:10])
    assert all(v == 0.0 for v in curves[0.0])  # off: no reconstruction step at all


def tiny_encoder_model(**overrides) -> ContextualGAN:
    """The contract test's tiny Contextual GAN (32 px, widths 4, encoder width 4), seeded, eval."""
    torch.manual_seed(0)
    config = apply_overrides(ContextualGANConfig(), {**TINY_CONFIGS["contextual_gan"], **overrides})
    return ContextualGAN(config).eval()


def test_reconstruction_codes_stay_inside_the_search_box():
    model = tiny_encoder_model(reconstruction_weight=10.0, **{"search.truncation": 0.3})
    sketch = -torch.ones(4, 1, 32, 32)  # all ink: a saturating input
    codes = model.encode(sketch)
    assert codes.shape == (4, 8) and float(codes.abs().max()) <= 0.3
    assert not model.has_noise  # one sketch, one code, one completion: no re-roll
    first, again = (model.generate_tensor(sketch[:1], rng=torch.Generator().manual_seed(s))
                    for s in (1, 2))  # fmt: skip
    assert torch.equal(first, again)
    assert ContextualGAN(ContextualGANConfig(image_size=32, gf_dim=4, df_dim=4)).has_noise
    with pytest.raises(ValueError, match="encoder_width"):
        ContextualGANConfig(encoder_width=0, reconstruction_weight=1.0)
    with pytest.raises(ValueError, match="reconstruction_weight"):
        ContextualGANConfig(encoder_width=4, reconstruction_weight=-1.0)


def test_the_refiner_lets_the_strokes_reach_the_photo(sketches):
    """From one starting code, two drawings give one sketch half (G alone) and, with a
    refiner, two photos; without a refiner the photo half is G's, the same for both."""
    drawings = F.interpolate(sketches[:2], 32, mode="area")
    code = torch.zeros(2, 1, 8)
    completions = {}
    for width in (0, 4):
        model = tiny_encoder_model(refiner_width=width)
        start = model.search(drawings, z_candidates=code, iterations=0)
        assert torch.equal(start.images[0, ..., :32], start.images[1, ..., :32])
        assert torch.equal(start.images[..., 32:], start.completion)
        completions[width] = start.completion
    assert torch.equal(completions[0][0], completions[0][1])
    assert (completions[4][0] - completions[4][1]).abs().max() > 1e-3


def test_the_refiner_learns_from_real_pairs_and_leaves_g_to_the_paper(pairs):
    """The refiner has its own optimiser and moves in the reconstruction step, whose refiner L1
    falls on a fixed batch; G's and E's steps are those of a model without a refiner."""
    batch = {k: F.interpolate(v[:8], 32, mode="area") for k, v in pairs.items() if k != "label"}
    real = joint_from_batch(batch)
    plain = tiny_encoder_model().train()
    generators = {}
    for width in (0, 4):
        model = tiny_encoder_model(refiner_width=width).train()
        for name in ("generator", "encoder"):  # the same start for both
            getattr(model, name).load_state_dict(getattr(plain, name).state_dict())
        optimizers = model.configure_optimizers()
        steps = [model._reconstruction_step(real, optimizers) for _ in range(30)]
        generators[width] = model.generator.state_dict()
    assert set(optimizers) == {"G", "D", "E", "R"}
    in_g = {id(p) for group in optimizers["G"].param_groups for p in group["params"]}
    assert not in_g & {id(p) for p in model.refiner.parameters()}
    refiner_l1 = [float(step["R/reconstruction"]) for step in steps]
    assert np.mean(refiner_l1[-5:]) < 0.7 * np.mean(refiner_l1[:5])
    for key, value in generators[0].items():
        assert torch.equal(value, generators[4][key]), key
    with pytest.raises(ValueError, match="refiner_width > 0 trains the refiner"):
        ContextualGANConfig(refiner_width=4)


def test_random_start_searches_from_drawn_codes_even_with_an_encoder():
    model = tiny_encoder_model(**{"search.init_pool": 0, "search.n_init": 6})
    sketch = -torch.ones(2, 1, 32, 32)
    assert model.search(sketch, iterations=1).init_scores.shape == (2, 1)  # the encoder's code
    drawn = model.search(sketch, iterations=1, random_start=True)
    assert drawn.init_scores.shape == (2, 6)  # n_init random candidates per sketch (paper)


# ---------------------------------------------------------------- configs stored by older versions


FLAT_SEARCH = {  # how configs kept the search settings before they moved into ``search``
    "search_iters": 3,
    "n_init": 2,
    "search_lr": 0.02,
    "momentum": 0.8,
    "lambda_perceptual": 0.03,
    "contextual": "kl",
    "perceptual": "nonsaturating",
    "contextual_blur": 0.5,
    "init_score": "kl",
    "init_pool": 8,
    "truncation": 0.7,
}


def test_a_checkpoint_with_the_flat_search_names_loads_with_its_settings(tmp_path):
    model = tiny_encoder_model()
    state = model.model_state()
    flat = {k: v for k, v in state["config"].items() if k != "search"} | FLAT_SEARCH
    torch.save({**state, "config": flat}, tmp_path / "old.pt")
    loaded = load_model(tmp_path / "old.pt")
    expected = SearchSettings(
        iterations=3,
        n_init=2,
        lr=0.02,
        momentum=0.8,
        lambda_perceptual=0.03,
        contextual="kl",
        perceptual="nonsaturating",
        blur=0.5,
        init_score="kl",
        init_pool=8,
        truncation=0.7,
    )
    assert loaded.config.search == expected
    assert loaded.config == dataclasses.replace(model.config, search=expected)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def _flat_configs() -> dict:
    """The configs of the first shipped contextual_gan cards, stored with the old flat names."""
    return json.loads(
        (Path(__file__).parent / "fixtures" / "contextual_gan_flat_configs.json").read_text()
    )


def test_the_first_shipped_cards_flat_configs_read_as_the_presets_search():
    for stored in _flat_configs().values():
        assert stored["search_iters"] == 10 and "search" not in stored  # the old names
        config = config_from_dict(ContextualGANConfig, stored)
        assert config.search == build_model("contextual_gan", **DATA_LIMITED).config.search
        assert (config.search.iterations, config.search.lr, config.search.blur) == (10, 1e-5, 1.5)


def test_a_stored_r1_every_reads_at_the_fixed_interval_and_is_refused_at_another():
    """``r1_every`` left the config (every R1_EVERY-th D step): the first shipped cards store 4."""
    from sketchwidgets.config import RetiredSetting
    from sketchwidgets.models.contextual_gan import R1_EVERY

    stored = _flat_configs()["contextual_gan/faces"]
    assert stored["r1_every"] == R1_EVERY == 4
    assert config_from_dict(ContextualGANConfig, stored).r1_gamma == 0.0
    with pytest.raises(RetiredSetting, match="r1_every=1: this setting was removed"):
        config_from_dict(ContextualGANConfig, {**stored, "r1_every": 1})
