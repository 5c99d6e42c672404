"""The command line, end to end: build a dataset, train, generate, evaluate; clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sketchwidgets.cli import main
from sketchwidgets.io import read_image, write_image

TINY = ["--set", "image_size=32", "--set", "ngf=8", "--set", "ndf=8"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    dst = tmp_path_factory.mktemp("cli") / "pairs"
    assert main(["build-dataset", "embedded:24", str(dst), "--size", "32", "--workers", "1"]) == 0
    return dst


def test_build_train_generate_evaluate_round_trip(built, tmp_path, capsys):
    assert len(list((built / "sketch").rglob("*.png"))) == 24
    run = tmp_path / "run"
    args = ["train", "pix2pix", "--data", str(built), "--steps", "3", "--batch-size", "4"]
    assert main([*args, "--run-dir", str(run), *TINY]) == 0
    assert (run / "model.pt").is_file() and (run / "history.jsonl").is_file()

    sketch = np.full((50, 70), 255, np.uint8)
    sketch[25, 10:60] = 0
    write_image(tmp_path / "s.png", sketch)
    out = tmp_path / "out.png"
    cmd = ["generate", "--checkpoint", str(run / "model.pt"), "--sketch", str(tmp_path / "s.png")]
    assert main([*cmd, "--out", str(out), "--keep-size"]) == 0
    assert read_image(out).shape == (50, 70, 3)

    report = tmp_path / "eval.json"
    evaluate = ["evaluate", "--checkpoint", str(run / "model.pt"), "--data", str(built)]
    assert main([*evaluate, "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert 0 <= metrics["l1"] <= 1 and -1 <= metrics["ssim"] <= 1
    assert json.loads(report.read_text())["protocol"]["n_images"] == 24


def test_missing_path_unknown_key_and_wrong_format_are_clear(built, tmp_path, capsys):
    assert main(["train", "pix2pix", "--data", str(tmp_path / "nope"), "--steps", "1"]) == 2
    assert "dataset folder not found" in capsys.readouterr().err
    assert main(["train", "pix2pix", "--data", str(built), "--steps", "1", "--set", "lr2=1"]) == 2
    assert "unknown Pix2PixConfig key 'lr2'" in capsys.readouterr().err
    assert main(["train", "nomodel", "--data", str(built), "--steps", "1"]) == 2
    assert "known models" in capsys.readouterr().err
    odd = tmp_path / "odd"
    write_image(odd / "a.png", np.zeros((10, 13, 3), np.uint8))
    assert main(["train", "pix2pix", "--data", str(odd), "--steps", "1"]) == 2
    assert "twice as wide" in capsys.readouterr().err
    missing = str(tmp_path / "c.pt")
    assert main(["generate", "--checkpoint", missing, "--sketch", "x", "--out", "y"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_generate_takes_a_class_name_and_names_the_known_ones(tmp_path, capsys):
    from sketchwidgets.models import build_model

    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4, class_names=("apple", "mug"))
    model.save(tmp_path / "model.pt")
    sketch = np.full((32, 32), 255, np.uint8)
    sketch[16, 4:28] = 0
    write_image(tmp_path / "s.png", sketch)
    cmd = ["generate", "--checkpoint", str(tmp_path / "model.pt"), "--sketch"]
    cmd += [str(tmp_path / "s.png"), "--out", str(tmp_path / "out.png")]
    assert main([*cmd, "--label", "mug"]) == 0 and main([*cmd, "--label", "1"]) == 0
    capsys.readouterr()
    assert main([*cmd, "--label", "zebra"]) == 2
    assert "unknown class 'zebra'" in capsys.readouterr().err
    assert main([*cmd, "--label", "2"]) == 2
    assert "0='apple', 1='mug'" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "sketchwidgets", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "build-dataset" in result.stdout


def test_set_reaches_a_search_setting_by_its_dotted_key(tmp_path, capsys):
    from sketchwidgets.models import load_model

    run = tmp_path / "run"
    args = ["train", "contextual_gan", "--data", "embedded:16", "--steps", "1"]
    args += ["--batch-size", "4", "--run-dir", str(run), "--set", "image_size=32"]
    args += ["--set", "gf_dim=4", "--set", "df_dim=4", "--set", "encoder_width=4"]
    args += ["--preset", "contextual_gan/data_limited"]
    assert main([*args, "--set", "search.iterations=3", "--set", "search.init_pool=8"]) == 0
    search = load_model(run / "model.pt").config.search
    assert (search.iterations, search.init_pool, search.lr) == (3, 8, 1e-5)
    capsys.readouterr()
    assert main([*args, "--set", "search_iters=3"]) == 2
    assert "ContextualGANConfig key 'search_iters' is now 'search.iterations'" in (
        capsys.readouterr().err
    )


def test_preset_sets_the_measured_recipe_and_set_goes_on_top(tmp_path, capsys):
    from sketchwidgets.models import load_model

    args = ["train", "contextual_gan", "--data", "embedded:16", "--steps", "1", "--batch-size"]
    args += ["4", "--set", "image_size=32", "--set", "gf_dim=4", "--set", "df_dim=4"]
    assert main([*args, "--run-dir", str(tmp_path / "paper")]) == 0
    paper = load_model(tmp_path / "paper" / "model.pt").config
    assert (paper.lr, paper.spectral_norm, paper.encoder_width, paper.search.iterations) == (
        2e-4,
        False,
        0,
        1000,
    )
    preset = ["--preset", "contextual_gan/data_limited", "--set", "encoder_width=4"]
    assert main([*args, *preset, "--run-dir", str(tmp_path / "preset")]) == 0
    config = load_model(tmp_path / "preset" / "model.pt").config
    assert (config.lr, config.spectral_norm, config.ema_decay, config.search.truncation) == (
        1e-3,
        True,
        0.99,
        0.5,
    )
    assert config.encoder_width == 4  # --set wins over the preset's 64
    capsys.readouterr()
    assert main([*args, "--preset", "contextual_gan/tiny", "--run-dir", str(tmp_path / "x")]) == 2
    assert "unknown preset 'contextual_gan/tiny' for contextual_gan; known: " in (
        capsys.readouterr().err
    )
    pix2pix = ["train", "pix2pix", "--data", "embedded:16", "--steps", "1"]
    assert main([*pix2pix, "--preset", "contextual_gan/data_limited"]) == 2
    assert "known: none" in capsys.readouterr().err
