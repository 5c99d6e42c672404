"""The search options beyond the paper: ink-balanced and blurred contextual losses, the shared
candidate pool, and the sketch -> z encoder (tiny nets, 32-64 px, CPU, seconds)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sketchwidgets.config import apply_overrides
from sketchwidgets.models import build_model, load_model
from sketchwidgets.models.contextual_gan import (
    ContextualGAN,
    ContextualGANConfig,
    Generator,
    standing_statistics,
)
from sketchwidgets.models.latent_encoder import SketchEncoder, encoder_step
from sketchwidgets.models.latent_search import (
    SearchSettings,
    contextual_loss,
    draw_candidates,
    gaussian_blur,
    ink_balanced_weights,
    nesterov_step,
    pool_initialisation,
    refined_initialisation,
    search_settings,
)
from sketchwidgets.train.recipes import preset

SIZE = 32


def white(n: int = 1) -> torch.Tensor:
    return torch.ones(n, 3, SIZE, SIZE)


def with_ink(columns: slice, rows: slice = slice(None)) -> torch.Tensor:
    """A white 32 px half with black ink (-1) in the given rows and columns."""
    half = white()
    half[..., rows, columns] = -1.0
    return half


def test_ink_balanced_weights_give_each_class_half_the_plain_total():
    known = with_ink(slice(0, 8))  # 25 % ink
    weights = ink_balanced_weights(known)
    assert weights.shape == (1, 1, SIZE, SIZE)
    assert torch.allclose(weights[..., :8], torch.tensor(2.0))  # 0.5 / 0.25
    assert torch.allclose(weights[..., 8:], torch.tensor(2 / 3))  # 0.5 / 0.75
    assert float(weights.sum()) == pytest.approx(SIZE * SIZE)
    assert torch.equal(ink_balanced_weights(white()), torch.ones(1, 1, SIZE, SIZE))


def test_ink_balanced_l1_no_longer_prefers_a_blank_half():
    """25 % ink: the plain L1 charges a blank half a third of what an all-ink half costs;
    balanced, missing all the ink costs exactly as much as inking all the paper."""
    known = with_ink(slice(0, 8))
    blank, black = white(), -white()
    plain = [float(contextual_loss(g, known, "l1")) for g in (blank, black)]
    balanced = [float(contextual_loss(g, known, "ink_l1")) for g in (blank, black)]
    assert plain[0] == pytest.approx(plain[1] / 3)
    assert balanced[0] == pytest.approx(balanced[1]) == pytest.approx(3 * SIZE * SIZE)
    assert float(contextual_loss(known, known, "ink_l1")) == 0.0


def test_blur_makes_a_near_miss_cheaper_than_a_blank_half():
    known = with_ink(slice(10, 12), slice(4, 28))  # a vertical stroke
    shifted = with_ink(slice(12, 14), slice(4, 28))  # the same stroke, 2 px to the right
    blank = white()
    for kind in ("l1", "ink_l1"):
        assert float(contextual_loss(shifted, known, kind)) > float(
            contextual_loss(blank, known, kind)
        )
        assert float(contextual_loss(shifted, known, kind, blur=2.0)) < float(
            contextual_loss(blank, known, kind, blur=2.0)
        )


def test_gaussian_blur_keeps_flat_images_and_the_mean():
    flat = torch.full((2, 3, SIZE, SIZE), 0.3)
    assert torch.allclose(gaussian_blur(flat, 1.5), flat, atol=1e-6)
    stroke = with_ink(slice(10, 12), slice(4, 28))
    blurred = gaussian_blur(stroke, 1.0)
    assert blurred.shape == stroke.shape
    assert float(blurred.mean()) == pytest.approx(float(stroke.mean()), abs=1e-5)
    assert float(blurred.min()) > -1.0  # the ink is spread out
    assert gaussian_blur(stroke, 0.0) is stroke


def tiny_generator() -> Generator:
    torch.manual_seed(0)
    generator = Generator(z_dim=8, gf_dim=4, image_size=SIZE)
    standing_statistics(generator, 64, lambda n, g: draw_candidates(n, 1, 8, g, "cpu")[:, 0])
    return generator.eval().requires_grad_(False)


def test_pool_initialisation_keeps_each_inputs_best_code_of_the_shared_pool():
    generator = tiny_generator()
    pool = draw_candidates(1, 40, 8, torch.Generator().manual_seed(1), "cpu")[0]
    known = generator(pool[[3, 17]])[..., :SIZE]  # two inputs G can draw exactly

    settings = SearchSettings(contextual="ink_l1", blur=1.0, init_score="contextual")
    z0, chosen, table = pool_initialisation(generator, known, pool, settings, chunk=16)
    assert table.shape == (2, 40) and chosen.tolist() == [3, 17]
    assert torch.equal(z0, pool[[3, 17]])
    # the same codes offered to each input separately: the same choice
    per_input = pool.expand(2, -1, -1)

    def score(target, half):
        return contextual_loss(half, target, "ink_l1", 1.0)

    _, again, scores, _ = refined_initialisation(generator, known, per_input, score=score)
    kl = dataclasses.replace(settings, init_score="kl")
    _, by_kl, kl_table = pool_initialisation(generator, known, pool, kl)
    _, _, paper_scores, _ = refined_initialisation(generator, known, per_input)
    assert torch.allclose(kl_table, paper_scores, atol=1e-5)
    assert again.tolist() == [3, 17] and torch.allclose(scores, table, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_encoder_returns_codes_and_learns_to_explain_gs_sketches():
    generator = tiny_generator()
    encoder = SketchEncoder(z_dim=8, width=8, image_size=SIZE)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=2e-3)
    draws = torch.Generator().manual_seed(2)

    def sketch_half(z):
        return generator(z)[..., :SIZE]

    test_z = draw_candidates(16, 1, 8, torch.Generator().manual_seed(9), "cpu")[:, 0]
    known = sketch_half(test_z)

    def fit() -> float:
        encoder.eval()
        with torch.no_grad():
            codes = encoder(known)
        encoder.train()
        assert codes.shape == (16, 8) and float(codes.abs().max()) <= 1.0
        return float(contextual_loss(sketch_half(codes), known, "l1").mean())

    before = fit()
    losses = [
        float(
            encoder_step(
                encoder, sketch_half, draw_candidates(32, 1, 8, draws, "cpu")[:, 0], optimizer
            )
        )
        for _ in range(150)
    ]
    assert sum(losses[-10:]) < 0.7 * sum(losses[:10])
    assert fit() < 0.8 * before


def test_model_trains_its_encoder_searches_from_it_and_saves_it(tmp_path):
    torch.manual_seed(0)
    tiny = {"image_size": SIZE, "gf_dim": 4, "df_dim": 4, "z_dim": 8, "batch_size": 8}
    encoder = {"encoder_width": 4, "reconstruction_weight": 0.0}
    model = build_model(
        "contextual_gan", **{**preset("contextual_gan/data_limited"), **tiny, **encoder}
    )
    optimizers = model.configure_optimizers()
    assert set(optimizers) == {"G", "D", "E"}
    batch = {"sketch": with_ink(slice(8, 12))[:, :1].expand(8, -1, -1, -1), "photo": white(8)}
    before = model.encoder.head.weight.clone()
    losses = model.train_step(batch, optimizers)
    assert "E/z" in losses and not torch.equal(before, model.encoder.head.weight)
    model.eval()
    sketches = batch["sketch"][:3]
    result = model.search(sketches, iterations=2)
    assert result.init_scores.shape == (3, 1)  # one start per sketch: the encoder's code
    assert model.encode(sketches).shape == (3, 8)
    loaded = load_model(model.save(tmp_path / "enc.pt"))
    assert torch.equal(loaded.encoder.head.weight, model.encoder.head.weight)
    with pytest.raises(ValueError, match="no encoder"):
        ContextualGAN(ContextualGANConfig(image_size=SIZE, gf_dim=4, df_dim=4)).encode(sketches)


def test_pool_search_and_paper_config_settings():
    settings = search_settings(
        ContextualGANConfig(search=SearchSettings(contextual="ink_l1", blur=1.0, init_pool=64))
    )
    assert (settings.contextual, settings.blur, settings.init_pool) == ("ink_l1", 1.0, 64)
    paper = ContextualGANConfig()  # the defaults: the paper's
    assert (paper.search.contextual, paper.search.blur, paper.search.init_score) == ("l1", 0, "kl")
    assert (paper.search.init_pool, paper.encoder_width) == (0, 0)
    torch.manual_seed(0)
    model = ContextualGAN(
        ContextualGANConfig(
            image_size=SIZE,
            gf_dim=4,
            df_dim=4,
            z_dim=8,
            search=SearchSettings(init_pool=32),
        )
    ).eval()
    result = model.search(with_ink(slice(8, 12))[:, :1].expand(2, -1, -1, -1), iterations=1)
    assert result.init_scores.shape == (2, 30)  # the n_init best of the pool, best first
    assert result.init_indices.tolist() == [0, 0]
    assert bool((result.init_scores.diff(dim=1) >= 0).all())
    assert (paper.search.truncation, paper.search.lr, paper.search.iterations) == (1, 0.01, 1000)


def test_truncation_keeps_the_candidates_and_the_search_inside_the_box():
    torch.manual_seed(0)
    model = ContextualGAN(
        ContextualGANConfig(
            image_size=SIZE,
            gf_dim=4,
            df_dim=4,
            z_dim=8,
            search=SearchSettings(truncation=0.3),
        )
    ).eval()
    sketches = with_ink(slice(8, 12))[:, :1].expand(2, -1, -1, -1)
    for pool in (0, 32):  # per-input candidates, and the shared pool
        result = model.search(sketches, iterations=5, lr=0.05, init_pool=pool, n_init=4)
        assert float(result.z_hat.abs().max()) <= 0.3 + 1e-6
        assert float(result.z_hat.abs().max()) > 0.1  # the box is used, not collapsed to 0
    z, _ = nesterov_step(
        torch.zeros(3), torch.zeros(3), torch.tensor([5.0, -5.0, 0.0]), 1, 0.9, 0.3
    )
    assert z.tolist() == pytest.approx([-0.3, 0.3, 0.0])


@pytest.mark.parametrize(
    "bad",
    [
        {"init_score": "l2"},
        {"blur": -1.0},
        {"init_pool": -1},
        {"contextual": "l2"},
        {"perceptual": "x"},
        {"truncation": 0.0},
    ],
)
def test_search_settings_reject_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SearchSettings(**bad)
    with pytest.raises(ValueError, match=next(iter(bad))):  # --set search.<key>=<value> too
        apply_overrides(ContextualGANConfig(), {f"search.{key}": v for key, v in bad.items()})
