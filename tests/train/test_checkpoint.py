"""Checkpoints: full state, atomic writes, clear errors, loadable as a model."""

from __future__ import annotations

import errno
import random

import numpy as np
import pytest
import torch

from sketchwidgets.models import load_model
from sketchwidgets.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_training_state,
    save_checkpoint,
)


def _trained(model, data, steps=2):
    optimizers = model.configure_optimizers()
    for i in range(steps):
        batch = {
            k: torch.stack([data[j][k] for j in range(4 * i, 4 * i + 4)])
            for k in ("sketch", "photo")
        }
        model.train_step(batch, optimizers)
    return optimizers


def _draws():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_checkpoint_holds_the_full_state_and_loads_as_a_model(tmp_path, pix2pix, tiny_data):
    model = pix2pix()
    data = [
        {"sketch": torch.rand(1, 32, 32) * 2 - 1, "photo": torch.rand(3, 32, 32) * 2 - 1}
        for _ in range(8)
    ]
    optimizers = _trained(model, data)
    path = save_checkpoint(
        tmp_path / "ck" / "last.pt", model=model, optimizers=optimizers, step=2, extra={"note": "x"}
    )
    state = load_checkpoint(path)
    assert state["model_name"] == "pix2pix" and state["config"]["ngf"] == 8
    assert state["step"] == 2 and state["extra"] == {"note": "x"}
    assert state["torch_version"] == torch.__version__ and "version" in state
    assert set(state["optimizers"]) == {"G", "D"}
    assert set(state["rng"]) >= {"python", "numpy", "torch"}
    loaded = load_model(path)  # the models registry reads a training checkpoint too
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert list(tmp_path.joinpath("ck").iterdir()) == [path]  # no temporary file left


def test_restore_gives_equal_weights_optimizer_state_and_random_streams(
    tmp_path, regressor, tiny_data
):
    model = regressor()
    optimizers = _trained(model, tiny_data)
    torch.manual_seed(123)
    path = save_checkpoint(tmp_path / "last.pt", model=model, optimizers=optimizers, step=2)
    expected_draws = _draws()
    fresh = regressor(lr=0.05)
    torch.nn.init.zeros_(fresh.net[0].weight)
    fresh_optimizers = fresh.configure_optimizers()
    assert restore_training_state(load_checkpoint(path), fresh, fresh_optimizers) == 2
    assert _draws() == expected_draws
    assert torch.equal(fresh.net[0].weight, model.net[0].weight)
    saved = optimizers["G"].state_dict()["state"][0]
    restored = fresh_optimizers["G"].state_dict()["state"][0]
    assert torch.equal(saved["exp_avg"], restored["exp_avg"]) and saved["step"] == restored["step"]


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, regressor, monkeypatch):
    model = regressor()
    optimizers = model.configure_optimizers()
    path = save_checkpoint(tmp_path / "last.pt", model=model, optimizers=optimizers, step=1)
    before = path.read_bytes()
    real_save = torch.save

    def broken_save(obj, handle):  # writes half a file, then the disk is full
        real_save(obj, handle)
        handle.truncate(100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, model=model, optimizers=optimizers, step=2)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_missing_corrupt_and_model_only_files_are_named(tmp_path, regressor):
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_checkpoint(tmp_path / "absent.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x02 not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*corrupt.pt"):
        load_checkpoint(corrupt)
    model = regressor()
    weights_only = model.save(tmp_path / "model.pt")
    with pytest.raises(
        CheckpointError,
        match=r"model.pt is not a full training checkpoint.*"
        r"optimizers",
    ):
        load_checkpoint(weights_only)


def test_restoring_into_a_different_model_says_what_differs(tmp_path, pix2pix):
    model = pix2pix()
    path = save_checkpoint(
        tmp_path / "last.pt", model=model, optimizers=model.configure_optimizers(), step=1
    )
    state = load_checkpoint(path)
    other = pix2pix(ngf=16)
    with pytest.raises(CheckpointError, match=r"config differs.*'ngf': \(8, 16\)"):
        restore_training_state(state, other, other.configure_optimizers())
    from tests.train.conftest import Regressor

    regressor = Regressor()
    with pytest.raises(CheckpointError, match="holds a 'pix2pix' model, not 'regressor'"):
        restore_training_state(state, regressor, regressor.configure_optimizers())
    same = pix2pix()
    with pytest.raises(CheckpointError, match=r"optimizers \['D', 'G'\].*\['G'\]"):
        restore_training_state(state, same, {"G": same.configure_optimizers()["G"]})
