"""Shipped checkpoints: every card matches its weights, names and errors, the pretrain command."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import pytest
import torch

import sketchwidgets as sw
from sketchwidgets import pretrained
from sketchwidgets.cli import main as cli_main
from sketchwidgets.config import known_keys
from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.drawing.line_stats import LineStats
from sketchwidgets.eval import baselines, checkpoint_cards
from sketchwidgets.models import MODELS, build_model, model_class
from sketchwidgets.train import recipe_data, recipes
from sketchwidgets.train.recipe_data import recipe_shares

SHIPPED = pretrained.shipped_names()
# every model with a classroom checkpoint, and each public data set it is trained on
EXPECTED_RECIPES = {
    "pix2pix/classroom",
    "contextual_gan/classroom",
    "sketchygan/classroom",
    "edgegan/classroom",
    "pix2pix/faces",
    "contextual_gan/faces",
    "pix2pix/shoes_handbags",
    "edgegan/shoes_handbags",
    "sketchygan/sketchy",
}
CLASS_COUNTS = {"classroom": 8, "faces": 0, "shoes_handbags": 2, "sketchy": 125}
BUDGET_BYTES = 30_000_000


def _held_out(name: str, shared_data) -> torch.utils.data.Dataset:
    """The held-out split the card names (the shared folder through the shared fixture)."""
    recipe = pretrained.recipe(name)
    if recipe.dataset != "classroom":
        shared_data(pretrained.DATASETS[recipe.dataset]["source"])
    return recipe_data.splits(recipe)[1]


# --------------------------------------------------------------------------- the table


def test_recipes_cover_every_combination_of_the_issue():
    assert set(pretrained.RECIPES) == EXPECTED_RECIPES
    for name, recipe in pretrained.RECIPES.items():
        assert recipe.model in MODELS and recipe.dataset in pretrained.DATASETS
        assert name == f"{recipe.model}/{recipe.dataset}" and recipe.steps > 0
        config_keys = set(known_keys(model_class(recipe.model).config_class()))
        assert set(recipe.overrides) | set(recipe.smoke_overrides) <= config_keys


def test_all_recipes_together_fit_the_30_mb_budget():
    """Float16 bytes of every tensor each recipe's file would hold, summed over the table."""
    total = 0
    for recipe in pretrained.RECIPES.values():
        overrides = {**(recipes.preset(recipe.preset) if recipe.preset else {}), **recipe.overrides}
        if model_class(recipe.model).needs_label:
            names = CLASS_COUNTS[recipe.dataset]
            overrides["class_names"] = tuple(f"class{i}" for i in range(names))
        state = build_model(recipe.model, **overrides).state_dict()
        kept = [v for k, v in state.items() if k.split(".")[0] not in recipe.drop]
        total += sum(v.numel() * (2 if v.is_floating_point() else v.element_size()) for v in kept)
    assert total < BUDGET_BYTES, f"all recipes together: {total / 1e6:.1f} MB"


def test_shipped_files_fit_the_budget_and_are_cards_of_real_runs():
    sizes = [pretrained.checkpoint_path(n).stat().st_size for n in SHIPPED]
    assert sum(sizes) < BUDGET_BYTES
    for name, card in pretrained.available().items():
        assert card["name"] == name and not card["smoke"]
        assert card["steps"] == pretrained.recipe(name).steps
        assert card["command"] == f"python -m sketchwidgets pretrain {name}"
        assert card["mix"]["shares"] == dataclasses.asdict(recipe_shares(pretrained.recipe(name)))


# --------------------------------------------------------------------------- shipped weights


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_reproduces_its_card(name, shared_data):
    card = pretrained.read_card(name)
    path = pretrained.checkpoint_path(name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == card["sha256"]
    model = sw.load(f"pretrained:{name}", device="cpu")
    scores = baselines.heldout_metrics(model, _held_out(name, shared_data), seed=card["seed"])
    for metric in pretrained.METRICS:
        assert math.isclose(scores[metric], card["heldout"][metric], rel_tol=1e-4, abs_tol=1e-5), (
            name,
            metric,
            scores[metric],
            card["heldout"][metric],
        )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_beats_the_nearest_neighbour_on_drawn_sketches(name, shared_data):
    """On the drawn hold-out (the held-out photos drawn in the hand style, never trained on),
    the card's figures are the weights' own, and better than the nearest neighbour's on PSNR
    and L1 (its retrieval from the same drawn training side, measured by ``pretrain``)."""
    card = pretrained.read_card(name)
    drawn = recipe_data.drawn_holdout(_held_out(name, shared_data), seed=card["seed"])
    model = sw.load(f"pretrained:{name}", device="cpu")
    scores = baselines.heldout_metrics(model, drawn, seed=card["seed"])
    gap = card["domain_gap"]["drawn"]
    for metric in pretrained.METRICS:
        assert math.isclose(scores[metric], gap["model"][metric], rel_tol=1e-4, abs_tol=1e-5)
    nearest = gap["nearest_neighbour"]
    assert scores["psnr"] > nearest["psnr"] and scores["l1"] < nearest["l1"], (scores, nearest)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_is_float16_plain_data(name):
    state = torch.load(pretrained.checkpoint_path(name), weights_only=True)
    floats = [v for v in state["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    model = pretrained.load_pretrained(name, device="cpu")
    label = 0 if model.class_names else None  # a model without classes refuses a label
    image = model.generate(
        EmbeddedDataset(8, size=64, split="all").sketches[0], seed=0, label=label
    )
    assert image.shape == (64, 64, 3) and image.dtype.name == "uint8" and image.std() > 0


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_has_its_cards_line_statistics(name):
    """From the checkpoint where it recorded them, else from the card."""
    card = pretrained.read_card(name)
    state = torch.load(pretrained.checkpoint_path(name), weights_only=True)
    stored = state["config"].get("line_stats")
    model = pretrained.load_pretrained(name, device="cpu")
    assert model.line_stats == LineStats.from_dict(card["line_stats"])
    if stored is not None:
        assert model.line_stats == LineStats.from_dict(stored)
    assert model.line_stats.size == model.image_size and model.line_stats.dark_on_light
    assert 0 < model.line_stats.ink_share < 0.5 and 0 < model.line_stats.stroke_width < 3


def test_card_line_statistics_fill_only_a_config_without_them(tmp_path):
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4)
    path = recipes.save_float16(model, tmp_path / "m.pt")
    assert pretrained.load_shipped(path).line_stats is None  # no card beside it
    from_card = LineStats(32, 0.1, 2.0, 0.0, 0.0, True)
    card = path.with_suffix(".json")
    card.write_text(json.dumps({"line_stats": from_card.to_dict()}))
    assert pretrained.load_shipped(path).line_stats == from_card
    recorded = LineStats(32, 0.2, 1.0, 90.0, 0.0, True)
    model.record_line_stats(recorded)
    path = recipes.save_float16(model, tmp_path / "m.pt")
    assert pretrained.load_shipped(path).line_stats == recorded  # the checkpoint's own win
    bare = recipes.save_float16(build_model("pix2pix", image_size=32, ngf=4, ndf=4), path)
    card.write_text(json.dumps({"line_stats": {"size": 32}}))
    with pytest.raises(ValueError, match="exactly the keys"):
        pretrained.load_shipped(bare)


def test_studio_opens_with_the_classroom_checkpoints():
    from sketchwidgets.widgets import SketchStudio

    classroom = [n.split("/")[0] for n in SHIPPED if n.endswith("/classroom")]
    if not classroom:
        pytest.skip("no classroom checkpoint is shipped")
    studio = SketchStudio()
    assert sorted(studio.compare.models) == sorted(classroom)


# --------------------------------------------------------------------------- names and errors


def test_unknown_name_raises_listing_the_names():
    with pytest.raises(ValueError, match="unknown pretrained model 'pix2pix/moon'") as error:
        sw.load("pretrained:pix2pix/moon")
    for name in pretrained.RECIPES:
        assert name in str(error.value)


def test_recipe_not_trained_yet_says_so(monkeypatch):
    """A recipe in the table without files (as every new one starts) names what is shipped."""
    unshipped = pretrained.Recipe("pix2pix", "later", {"ngf": 8}, steps=1, batch_size=1)
    monkeypatch.setitem(pretrained.RECIPES, unshipped.name, unshipped)
    with pytest.raises(ValueError, match="'pix2pix/later' is not shipped yet") as error:
        pretrained.load_pretrained("pix2pix/later")
    assert f"shipped: {SHIPPED}" in str(error.value)
    assert "recipes not trained yet: ['pix2pix/later']" in str(error.value)


def test_cli_unknown_name_exits_2_naming_the_recipes(capsys):
    assert cli_main(["pretrain", "nope/none", "--steps", "1", "--smoke", "--out", "x"]) == 2
    assert "pix2pix/faces" in capsys.readouterr().err


# --------------------------------------------------------------------------- machinery


def test_float16_round_trip_and_dropped_networks(tmp_path):
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4)
    path = recipes.save_float16(model, tmp_path / "m.pt", drop=("discriminator",))
    state = torch.load(path, weights_only=True)
    assert state["dropped"] == ["discriminator"]
    assert not any(k.startswith("discriminator.") for k in state["state_dict"])
    loaded = pretrained.load_shipped(path)
    for key, value in model.generator.state_dict().items():
        expected = value.half().float() if value.is_floating_point() else value
        assert torch.equal(loaded.generator.state_dict()[key], expected)
    state["dropped"] = []  # now the missing discriminator is an error naming the file
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt: weights do not fit pix2pix"):
        pretrained.load_shipped(tmp_path / "bad.pt")


def test_nearest_neighbour_baseline_finds_the_same_sketch():
    data = EmbeddedDataset(12, size=32, split="all")
    perfect = baselines.nearest_neighbour_metrics(data, torch.utils.data.Subset(data, [3, 7]))
    assert perfect["l1"] == 0.0 and perfect["ssim"] > 0.999
    other = EmbeddedDataset(4, size=32, seed=5, split="all")
    assert baselines.nearest_neighbour_metrics(data, other)["l1"] > 0.02


def test_batch_norm_recalibration_takes_the_mean_of_batch_statistics_dropout_off():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Dropout(0.5), torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2)
    )
    data = [{"sketch": torch.randn(1, 4, 4) * 3 + 1} for _ in range(32)]
    recipes.recalibrate_batch_norm(net, data, batches=4, seed=0, batch_size=8)
    with torch.no_grad():
        features = net[1](torch.stack([d["sketch"] for d in data]))
    assert torch.allclose(net[2].running_mean, features.mean(dim=(0, 2, 3)), atol=1e-5)
    assert not net.training and net[2].momentum == 0.1


def test_smoke_refuses_to_write_into_the_package():
    with pytest.raises(ValueError, match="never go into the package"):
        checkpoint_cards.pretrain("pix2pix/classroom", steps=1, smoke=True)


@pytest.mark.parametrize("name", list(pretrained.RECIPES))
def test_pretrain_runs_every_recipe_in_smoke_mode(name, tmp_path, shared_data, capsys):
    recipe = pretrained.recipe(name)
    if recipe.dataset != "classroom":
        shared_data(pretrained.DATASETS[recipe.dataset]["source"])
    before = sorted(pretrained.PACKAGE_FOLDER.glob("*"))
    args = ["pretrain", name, "--steps", "2", "--smoke", "--out", str(tmp_path)]
    assert cli_main(args) == 0, capsys.readouterr().err
    assert sorted(pretrained.PACKAGE_FOLDER.glob("*")) == before
    card = json.loads(pretrained.card_path(name, tmp_path).read_text())
    assert card["smoke"] and card["steps"] == 2 and card["name"] == name
    assert 0 < card["n_heldout"] <= recipe_data.SMOKE_ITEMS[1]
    for key in ("heldout", "heldout_float32", "nearest_neighbour"):
        assert set(card[key]) == set(pretrained.METRICS)
        assert all(math.isfinite(v) for v in card[key].values())
    model = pretrained.load_shipped(pretrained.checkpoint_path(name, tmp_path))
    assert model.name == recipe.model
    assert card["line_stats"] == card["config"]["line_stats"] == model.line_stats.to_dict()
    assert "heldout" in capsys.readouterr().out
