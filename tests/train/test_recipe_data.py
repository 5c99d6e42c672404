"""Training sketches per recipe and the hold-outs: no held-out photo in training, the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from torch.utils.data import DataLoader, Dataset

from sketchwidgets import pretrained
from sketchwidgets.cli import main as cli_main
from sketchwidgets.data.sketch_mix import HOLDOUT_STREAM, SketchStyleMix
from sketchwidgets.eval import checkpoint_cards
from sketchwidgets.train import recipe_data
from sketchwidgets.train.recipe_data import (
    CUFS_REPEAT,
    TRAINING_SHARES,
    check_source,
    holdout_sets,
    recipe_shares,
    training_data,
)


def _photos(dataset: Dataset) -> set[str]:
    """Hashes of every photo of a dataset (a mix's photos are those of what it wraps)."""
    if isinstance(dataset, SketchStyleMix):
        dataset = dataset.pairs
    hashes = set()
    for batch in DataLoader(dataset, batch_size=64, shuffle=False):
        for photo in batch["photo"]:
            hashes.add(hashlib.sha1(photo.numpy().tobytes()).hexdigest())
    return hashes


def _check_no_shared_photos(name: str, smoke: bool) -> dict:
    spec = pretrained.recipe(name)
    train, held_out = recipe_data.splits(spec, smoke=smoke)
    trained = _photos(training_data(spec.dataset, train, sketches="mix", seed=0, smoke=smoke))
    sets = holdout_sets(spec.dataset, train, held_out, seed=0, smoke=smoke)
    for hold_out, (_, held) in sets.items():
        assert held is not None and len(held) > 0
        assert not trained & _photos(held), hold_out
    return sets


def test_classroom_holdouts_share_no_photo_with_training():
    sets = _check_no_shared_photos("pix2pix/classroom", smoke=True)
    assert set(sets) == {"machine", "drawn"}
    drawn = sets["drawn"][1]
    assert isinstance(drawn, SketchStyleMix) and drawn.stream == HOLDOUT_STREAM


def test_face_holdouts_share_no_photo_with_training(shared_data):
    shared_data("celeba_xdog_joint64")
    shared_data("cufs_train")
    sets = _check_no_shared_photos("pix2pix/faces", smoke=False)
    assert set(sets) == {"machine", "drawn", "cufs"}
    assert len(sets["cufs"][1]) == 38 and len(sets["cufs"][0]) == 150


def test_faces_mix_adds_the_cufs_training_people(shared_data):
    shared_data("celeba_xdog_joint64")
    shared_data("cufs_train")
    train, _ = recipe_data.splits(pretrained.recipe("pix2pix/faces"))
    assert training_data("faces", train, sketches="machine", seed=0) is train
    mix = training_data("faces", train, sketches="mix", seed=0)
    assert isinstance(mix, SketchStyleMix) and mix.shares == TRAINING_SHARES
    assert len(mix) == len(train) + CUFS_REPEAT * 150
    shares = recipe_shares(pretrained.recipe("pix2pix/faces"))
    assert training_data("faces", train, sketches="mix", seed=0, shares=shares).shares == shares


def test_unknown_training_sketches_are_named():
    with pytest.raises(ValueError, match="unknown training sketches 'pencil'"):
        check_source("pencil")


def test_pretrain_with_the_mix_records_it_and_scores_every_holdout(tmp_path, capsys):
    assert pretrained.recipe("pix2pix/classroom").sketches == "mix"  # the recipe's own choice
    args = ["pretrain", "pix2pix/classroom", "--steps", "2", "--smoke", "--out", str(tmp_path)]
    assert cli_main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "drawn      model" in out and "mean_photo" in out
    card = json.loads(pretrained.card_path("pix2pix/classroom", tmp_path).read_text())
    assert card["sketches"] == "mix"
    assert card["mix"]["shares"] == dataclasses.asdict(TRAINING_SHARES)
    assert card["mix"]["augment"]["paired_warps"] is True
    assert card["n_training_items"] == card["n_train"]  # no human sketches added here
    assert card["command"].endswith("pix2pix/classroom --steps 2 --smoke")
    assert set(card["domain_gap"]) == {"machine", "drawn"}
    for rows in card["domain_gap"].values():
        assert set(rows) == {"model", "nearest_neighbour", "mean_photo"}
    assert card["domain_gap"]["machine"]["model"] == card["heldout"]


def test_pretrain_on_machine_edges_only_says_so_in_the_card(tmp_path, capsys):
    args = ["pretrain", "pix2pix/classroom", "--steps", "2", "--smoke", "--out", str(tmp_path)]
    assert cli_main([*args, "--sketches", "machine"]) == 0, capsys.readouterr().err
    card = json.loads(pretrained.card_path("pix2pix/classroom", tmp_path).read_text())
    assert card["sketches"] == "machine" and card["mix"] is None
    assert card["command"].endswith("--steps 2 --sketches machine --smoke")


def test_pretrain_refuses_unknown_training_sketches(tmp_path, capsys):
    args = ["pretrain", "pix2pix/classroom", "--smoke", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as stop:
        cli_main([*args, "--sketches", "pencil"])
    assert stop.value.code == 2
    assert "invalid choice: 'pencil' (choose from 'machine', 'mix')" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown training sketches 'pencil'"):
        checkpoint_cards.pretrain("pix2pix/classroom", smoke=True, out=tmp_path, sketches="pencil")
