"""Named config presets: the data-limited Contextual GAN recipe, and the recipes that use it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sketchwidgets import pretrained
from sketchwidgets.config import known_keys, stored_config
from sketchwidgets.models import build_model, model_class
from sketchwidgets.models.contextual_gan import ContextualGANConfig
from sketchwidgets.models.latent_search import SearchSettings
from sketchwidgets.train.recipes import PRESETS, _config_overrides, preset

DATA_LIMITED = "contextual_gan/data_limited"


def test_the_data_limited_preset_builds_the_measured_recipe():
    config = build_model("contextual_gan", **preset(DATA_LIMITED)).config
    assert config == ContextualGANConfig(
        image_size=64,
        z_dim=100,
        gf_dim=64,
        df_dim=64,
        lr=1e-3,
        beta1=0.5,
        batch_size=32,
        generator_updates=1,
        search=SearchSettings(
            iterations=10,
            n_init=30,
            lr=1e-5,
            momentum=0.9,
            lambda_perceptual=0.01,
            contextual="ink_l1",
            perceptual="paper",
            blur=1.5,
            init_score="contextual",
            init_pool=1024,
            truncation=0.5,
        ),
        class_names=(),
        augment="color,translation,cutout",
        spectral_norm=True,
        minibatch_std=True,
        ema_decay=0.99,
        r1_gamma=0.0,
        lr_d=0.0,
        mismatch_share=0.0,
        standing_stats=256,
        encoder_width=64,
        reconstruction_weight=100.0,
    )


def test_the_defaults_are_the_papers():
    config = ContextualGANConfig()
    assert (config.lr, config.batch_size, config.generator_updates) == (2e-4, 64, 1)
    assert (config.augment, config.spectral_norm, config.minibatch_std) == ("", False, False)
    assert (config.ema_decay, config.standing_stats, config.encoder_width) == (0.0, 0, 0)
    assert config.reconstruction_weight == 0.0
    search = config.search
    assert (search.iterations, search.lr, search.contextual, search.blur) == (1000, 0.01, "l1", 0)
    assert (search.init_score, search.init_pool, search.truncation) == ("kl", 0, 1.0)


def test_every_preset_names_its_model_and_only_its_config_keys():
    for name, overrides in PRESETS.items():
        keys = set(known_keys(model_class(name.split("/")[0]).config_class()))
        assert set(overrides) <= keys, name
    for spec in pretrained.RECIPES.values():
        assert not spec.preset or spec.preset.split("/")[0] == spec.model


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown preset 'contextual_gan/tiny'; known: contextual"):
        preset("contextual_gan/tiny")


def test_preset_returns_a_copy():
    preset(DATA_LIMITED)["lr"] = 1.0
    assert PRESETS[DATA_LIMITED]["lr"] == 1e-3


@pytest.mark.parametrize(
    "name",
    [n for n in pretrained.shipped_names() if pretrained.recipe(n).model == "contextual_gan"],
)
def test_the_recipe_rebuilds_the_config_its_shipped_card_stores(name):
    spec = pretrained.recipe(name)
    assert spec.preset == DATA_LIMITED
    card = json.loads(pretrained.card_path(name).read_text())
    config = build_model(spec.model, **_config_overrides(spec, [], smoke=False)).config
    stored = stored_config(ContextualGANConfig, card["config"], name)
    # the line statistics are measured on the training sketches, not set by the recipe
    assert config == dataclasses.replace(stored, line_stats=None)
