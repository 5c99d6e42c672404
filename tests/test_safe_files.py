"""Files the package reads and writes: never run code from a checkpoint, plain-write permissions.

A crafted checkpoint whose unpickling would create a file is given to every way in (``sw.load``,
``load_model``, ``load_checkpoint``, the CLI's ``generate``, ``evaluate`` and ``train --resume``):
nothing may be created and the refusal names the file.
"""

from __future__ import annotations

import builtins
import os
import re
import stat

import pytest
import torch

import sketchwidgets as sw
from sketchwidgets.cli import main
from sketchwidgets.io import UnsafeFileError, atomic_write, load_torch, save_torch
from sketchwidgets.models import MODELS, build_model, load_model
from sketchwidgets.train.checkpoint import load_checkpoint


class _CreatesAFile:
    """Unpickling this calls ``open(marker, "w")``: the file appears if the loader runs code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


@pytest.fixture
def crafted(tmp_path):
    """A checkpoint-looking .pt file with a payload; returns (file, marker the payload makes)."""
    marker = tmp_path / "created-by-unpickling"
    path = tmp_path / "crafted.pt"
    state = build_model("pix2pix", image_size=32, ngf=8, ndf=8).model_state()
    state.update(optimizers={}, step=1, payload=_CreatesAFile(str(marker)))
    torch.save(state, path)
    return path, marker


def test_the_python_loaders_refuse_a_crafted_file_and_run_nothing(crafted):
    path, marker = crafted
    for load in (sw.load, load_model, load_checkpoint, load_torch):
        with pytest.raises(UnsafeFileError, match=re.escape(f"refusing to load {path}")):
            load(path)
        assert not marker.exists(), load
    with pytest.raises(UnsafeFileError, match="could run code"):
        load_model(path)


@pytest.mark.parametrize("command", ["generate", "evaluate", "train --resume"])
def test_the_cli_refuses_a_crafted_file_and_runs_nothing(crafted, tmp_path, capsys, command):
    path, marker = crafted
    args = {
        "generate": ["generate", "--checkpoint", str(path), "--sketch", "s.png", "--out", "o.png"],
        "evaluate": ["evaluate", "--checkpoint", str(path), "--data", "embedded:4"],
        "train --resume": ["train", "pix2pix", "--data", "embedded:8", "--steps", "2"]
        + ["--resume", str(path), "--run-dir", str(tmp_path / "run")],
    }[command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"refusing to load {path}" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_every_registered_model_saves_plain_data_that_loads_safely(tmp_path):
    from tests.models.tiny_configs import TINY_CONFIGS

    for name in MODELS:
        torch.manual_seed(0)
        model = build_model(name, **TINY_CONFIGS[name], class_names=("cat", "dog"))
        path = model.save(tmp_path / f"{name}.pt")
        state = torch.load(path, weights_only=True)  # raises if anything but plain data is in it
        assert isinstance(state["config"], dict)
        loaded = load_model(path)
        assert loaded.config == model.config and loaded.class_names == ("cat", "dog")
        for key, value in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), (name, key)


def test_corrupt_files_are_named_and_not_called_unsafe(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x02 not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint .*corrupt.pt") as info:
        load_model(corrupt)
    assert not isinstance(info.value, UnsafeFileError)


@pytest.fixture
def umask():
    """Set a umask for one test, restored after."""
    old = os.umask(0o022)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_writes_get_the_permissions_a_plain_write_would(tmp_path, umask, mask):
    umask(mask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = atomic_write(tmp_path / "atomic.txt", lambda tmp: tmp.write_text("x"))
    saved = save_torch(tmp_path / "state.pt", {"a": torch.zeros(2)})
    assert _mode(atomic) == _mode(saved) == _mode(plain) == 0o666 & ~mask


def test_replacing_a_file_keeps_its_permissions(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "shared.txt"
    path.write_text("old")
    path.chmod(0o664)
    atomic_write(path, lambda tmp: tmp.write_text("new"))
    assert path.read_text() == "new" and _mode(path) == 0o664
