"""The CLI under bad values and a failing system: one readable line and the documented exit code.

Exit codes (sketchwidgets/cli.py): 0 done, 1 the system failed (full disk, read-only folder,
busy run folder, anything unexpected), 2 bad input, 3 diverged (tests/train/test_run_faults.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sketchwidgets.cli import main
from sketchwidgets.train.trainer import Trainer
from tests.cli_process import run_cli

TINY = ["--data", "embedded:24", "--batch-size", "4", "--set", "image_size=32"]
TINY += ["--set", "ngf=8", "--set", "ndf=8"]


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-2000:]
    return lines[0]


@pytest.mark.parametrize(
    "values, option",
    [
        (["--steps", "0"], "--steps"),
        (["--steps", "-1"], "--steps"),
        (["--steps", "x"], "--steps"),
        (["--steps", "2", "--batch-size", "0"], "--batch-size"),
        (["--steps", "2", "--checkpoint-every", "-1"], "--checkpoint-every"),
    ],
)
def test_a_run_of_no_steps_or_an_empty_batch_is_a_usage_error(tmp_path, capsys, values, option):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "pix2pix", "--data", "embedded:8", "--run-dir", str(tmp_path), *values])
    assert exit_.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no model.pt, nothing at all


def test_the_trainer_itself_refuses_zero_steps(tmp_path):
    from tests.train.conftest import Regressor, TinyPairs

    with pytest.raises(ValueError, match="steps=0: a run needs at least 1 step"):
        Trainer(Regressor(), TinyPairs(), steps=0, batch_size=4, run_dir=tmp_path)


def test_a_file_size_limit_mid_run_ends_in_one_line_saying_no_space_left(tmp_path):
    """A real limit: RLIMIT_FSIZE makes write() fail (EFBIG) once a file passes 40 KB, as a
    full disk makes it fail with ENOSPC; the checkpoint (~1 MB) cannot be written."""
    run = tmp_path / "run"
    result = run_cli(
        "train", "pix2pix", *TINY, "--steps", "2", "--run-dir", str(run), limit_bytes=40_000
    )
    line = _one_error_line(result.stderr)
    assert result.returncode == 1
    assert "no space left" in line and "last.pt" in line
    assert not (run / "model.pt").exists() and not list(run.rglob("*.tmp"))


def test_a_full_disk_ends_in_one_line_saying_no_space_left(tmp_path):
    """Stand-in for a full disk (tests/cli_runner.py): once 100 KB went into the files that
    io.save_torch writes, write() raises OSError(ENOSPC), as on a full disk."""
    run = tmp_path / "run"
    args = ["train", "pix2pix", *TINY, "--steps", "2", "--run-dir", str(run)]
    result = run_cli(*args, runner=True, SW_TEST_FULL_DISK_AFTER="100000")
    line = _one_error_line(result.stderr)
    assert result.returncode == 1
    assert "no space left" in line and "No space left on device" in line and "last.pt" in line
    assert not list(run.rglob("*.pt")) and not list(run.rglob("*.tmp"))


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A real unwritable folder: a 0555 folder for a normal user; as root (whom chmod does not
    stop) /sys, where the kernel lets no one create a folder."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_a_folder_that_cannot_be_written_ends_in_one_line(unwritable, capsys):
    run = unwritable / "sketchwidgets-run"
    assert main(["train", "pix2pix", *TINY, "--steps", "1", "--run-dir", str(run)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(run) in line and not run.exists()


def test_an_unexpected_error_is_one_line_with_exit_1(monkeypatch, capsys):
    from sketchwidgets import cli

    def broken(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setitem(cli.COMMANDS, "train", broken)
    assert main(["train", "pix2pix", "--data", "embedded:8", "--steps", "1"]) == 1
    assert _one_error_line(capsys.readouterr().err) == (
        "error: RuntimeError: something broke (SKETCHWIDGETS_TRACEBACK=1 shows where)"
    )


def test_a_used_run_folder_says_how_to_continue_and_overwrite_starts_over(tmp_path, capsys):
    run = tmp_path / "run"
    base = ["train", "pix2pix", *TINY, "--run-dir", str(run)]
    assert main([*base, "--steps", "1"]) == 0
    capsys.readouterr()
    assert main([*base, "--steps", "2"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"--resume {run / 'checkpoints' / 'last.pt'}" in line and "--overwrite" in line
    assert main([*base, "--steps", "2", "--overwrite", "--checkpoint-every", "1"]) == 0
    from sketchwidgets.train.history import History

    steps = [r["step"] for r in History.from_jsonl(run / "history.jsonl") if "G/l1" in r]
    assert steps == [1, 2]  # the old run's record was replaced, not appended to


def test_generate_into_a_folder_that_cannot_be_written_is_one_line_with_exit_1(
    tmp_path, unwritable, capsys
):
    import numpy as np

    from sketchwidgets.io import write_image
    from sketchwidgets.models import build_model

    model = build_model("pix2pix", image_size=32, ngf=8, ndf=8).save(tmp_path / "model.pt")
    sketch = np.full((32, 32), 255, np.uint8)
    sketch[16, 4:28] = 0
    write_image(tmp_path / "s.png", sketch)
    out = unwritable / "sketchwidgets-out" / "photo.png"
    args = ["generate", "--checkpoint", str(model), "--sketch", str(tmp_path / "s.png")]
    assert main([*args, "--out", str(out)]) == 1
    assert str(out.parent) in _one_error_line(capsys.readouterr().err)


def test_ctrl_c_is_one_line_with_exit_130(monkeypatch, capsys):
    from sketchwidgets import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "generate", interrupted)
    assert main(["generate", "--checkpoint", "m.pt", "--sketch", "s.png", "--out", "o.png"]) == 130
    assert _one_error_line(capsys.readouterr().err) == "error: interrupted"


def test_evaluate_refuses_an_empty_batch(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--checkpoint", "m.pt", "--data", "embedded:4", "--batch-size", "0"])
    assert exit_.value.code == 2 and "argument --batch-size" in capsys.readouterr().err
