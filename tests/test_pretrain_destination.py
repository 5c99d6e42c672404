"""``pretrain`` never writes into the installed package by default: ``--out DIR`` or an
explicit ``--replace-shipped``, checked in a real process against the shipped files' bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from sketchwidgets import pretrained
from sketchwidgets.cli import main as cli_main
from sketchwidgets.train import recipes


def shipped_bytes() -> dict[str, str]:
    """SHA-256 of every file in the package's shipped folder, by name."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(pretrained.PACKAGE_FOLDER.iterdir())
    }


def run_pretrain(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sketchwidgets", "pretrain", "pix2pix/classroom", "--steps", "1"]
        + list(args),
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "SKETCHWIDGETS_TRACEBACK": ""},
        timeout=600,
    )


def test_pretrain_without_out_exits_2_and_leaves_the_shipped_files_alone():
    before = shipped_bytes()
    result = run_pretrain()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: pretrain never writes into the installed package by default: give --out DIR, "
        "or --replace-shipped to replace the shipped checkpoint and its card"
    ]
    assert shipped_bytes() == before


def test_pretrain_with_out_writes_there_only(tmp_path):
    before = shipped_bytes()
    result = run_pretrain("--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads(pretrained.card_path("pix2pix/classroom", tmp_path).read_text())
    written = pretrained.checkpoint_path("pix2pix/classroom", tmp_path)
    assert card["steps"] == 1 and card["sha256"] == hashlib.sha256(written.read_bytes()).hexdigest()
    assert card["command"] == "python -m sketchwidgets pretrain pix2pix/classroom --steps 1"
    assert shipped_bytes() == before


def test_pretrain_set_trains_a_variant_and_says_so_on_its_card(tmp_path):
    before = shipped_bytes()
    result = run_pretrain("--set", "ngf=4", "--set", "lambda_l1=50", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads(pretrained.card_path("pix2pix/classroom", tmp_path).read_text())
    assert card["config"]["ngf"] == 4 and card["config"]["lambda_l1"] == 50.0
    assert card["overrides"]["ngf"] == 4 and card["overrides"]["ndf"] == 16  # the rest: recipe's
    assert card["command"] == (
        "python -m sketchwidgets pretrain pix2pix/classroom --steps 1 "
        "--set ngf=4 --set lambda_l1=50"
    )
    assert shipped_bytes() == before


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--set", "ngf=4", "--replace-shipped"], "--set makes a variant of the recipe"),
        (["--set", "nope=1", "--out", "elsewhere"], "unknown Pix2PixConfig key 'nope'"),
        (["--set", "ngf=wide", "--out", "elsewhere"], "ngf"),
        (["--out", str(pretrained.PACKAGE_FOLDER)], "never writes into the installed package"),
        (["--out", "elsewhere", "--replace-shipped"], "either --out DIR or --replace-shipped"),
        (["--smoke", "--replace-shipped"], "--smoke checkpoints never go into the package"),
    ],
)
def test_pretrain_refuses_before_training(flags, message, capsys):
    before = shipped_bytes()
    assert cli_main(["pretrain", "pix2pix/classroom", "--steps", "1", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert shipped_bytes() == before


def test_only_replace_shipped_names_the_shipped_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "SHIPPED_FOLDER", tmp_path / "copy")
    assert recipes.output_folder(None, replace_shipped=True) == tmp_path / "copy"
    assert recipes.output_folder(tmp_path / "new") == tmp_path / "new"
    for folder in (None, tmp_path / "copy", pretrained.PACKAGE_FOLDER):
        with pytest.raises(ValueError, match="never writes into the installed package"):
            recipes.output_folder(folder)
