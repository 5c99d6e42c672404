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

import numpy as np
import pytest
import torch
from torch import nn

from sketchwidgets.data.builtin import embedded_pairs
from sketchwidgets.io import image_to_tensor
from sketchwidgets.models import build_model, load_model
from sketchwidgets.models.contextual_gan import (
    ContextualGAN,
    ContextualGANConfig,
    joint_from_batch,
    photo_to_sketch,
)
from sketchwidgets.models.latent_search import (
    KL_EPS,
    SearchDivergedError,
    latent_search,
    nesterov_step,
    search_settings,
)

# lr 5e-4 instead of the paper's 2e-4, so that 40 steps are enough to see G move
TINY = ContextualGANConfig(
    gf_dim=8, df_dim=8, z_dim=16, batch_size=16, lr=5e-4, n_init=5, search_iters=30
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


def test_config_defaults_are_the_papers():
    cfg = ContextualGANConfig()
    assert (cfg.image_size, cfg.z_dim, cfg.gf_dim, cfg.df_dim) == (64, 100, 64, 64)
    assert (cfg.lr, cfg.beta1, cfg.batch_size) == (2e-4, 0.5, 64)
    assert (cfg.n_init, cfg.lambda_perceptual, cfg.search_lr) == (30, 0.01, 0.01)
    assert (cfg.momentum, cfg.search_iters, cfg.contextual) == (0.9, 1000, "l1")
    assert cfg.generator_updates == 2  # the authors' code: G's optimiser twice per D step
    settings = search_settings(cfg, iterations=200)
    assert (settings.iterations, settings.n_init, settings.lr) == (200, 30, 0.01)
    assert search_settings() == search_settings(cfg)  # no config: the config's defaults


@pytest.mark.parametrize(
    "bad",
    [{"image_size": 48}, {"contextual": "l2"}, {"perceptual": "x"}, {"generator_updates": 0}],
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
    result = model.search(sketches, generator=torch.Generator().manual_seed(0), iterations=30)
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
    result = photo_to_sketch(
        model, photos, generator=torch.Generator().manual_seed(0), iterations=10
    )
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
            generator=torch.Generator().manual_seed(0),
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
    model = tiny_model(search_iters=3, n_init=2)
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
