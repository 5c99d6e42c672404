"""Faults during a training run, with real processes: a second run into the same folder, kill -9
and resume, a run that diverges, the same seed in two fresh processes.

The processes run the CLI (``python -m sketchwidgets train``, or ``tests/cli_runner.py``, the
same CLI with a pause after a chosen step so that a test acts at a known point, not after a
sleep).  Everything is tiny: 24 embedded pairs at 32 px, 8 filters, a few steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from sketchwidgets.io import load_torch
from sketchwidgets.models import build_model, load_model
from sketchwidgets.train.callbacks import NaNGuard, TrainingDiverged, Validation
from sketchwidgets.train.checkpoint import NonFiniteState, load_checkpoint, save_checkpoint
from sketchwidgets.train.history import History
from sketchwidgets.train.lock import LOCK_NAME, RunFolderBusy, run_folder_lock
from sketchwidgets.train.trainer import Trainer

from .conftest import Regressor, RegressorConfig

RUNNER = Path(__file__).resolve().parents[1] / "cli_runner.py"
TINY = ["--data", "embedded:24", "--batch-size", "4", "--set", "image_size=32"]
TINY += ["--set", "ngf=8", "--set", "ndf=8"]
HOLD = "from sketchwidgets.train.lock import run_folder_lock as hold"


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "SKETCHWIDGETS_TRACEBACK": "", **extra}


def _train(run_dir: Path, *args: str, runner: bool = False, **env: str) -> subprocess.Popen:
    """Start a tiny training process (the CLI, or the pausing runner) writing into run_dir."""
    head = [str(RUNNER)] if runner else ["-m", "sketchwidgets"]
    command = [sys.executable, *head, "train", "pix2pix", *TINY, "--run-dir", str(run_dir), *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env)
    )


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    """Wait until ``path`` exists (the runner paused), failing if the process ends first."""
    deadline = time.monotonic() + 300
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the training process ended early: {process.communicate()[1][-2000:]}")
        assert time.monotonic() < deadline, "the training process never reached its pause"
        time.sleep(0.05)


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-2000:]
    return lines[0]


def _all_finite_files(folder: Path) -> None:
    """Every .pt below ``folder`` holds only finite floating-point values."""
    for path in folder.rglob("*.pt"):
        state = load_torch(path)
        tensors = [*state["state_dict"].values()]
        for optimizer in state.get("optimizers", {}).values():
            for slot in optimizer["state"].values():
                tensors += [v for v in slot.values() if isinstance(v, torch.Tensor)]
        for tensor in tensors:
            assert not tensor.is_floating_point() or tensor.isfinite().all(), path


# -- the run-folder lock ---------------------------------------------------------------------


def test_a_second_run_into_a_busy_folder_stops_at_once_naming_folder_and_holder(tmp_path):
    run, signals = tmp_path / "run", tmp_path / "signals"
    signals.mkdir()
    first = _train(
        run, "--steps", "3", runner=True, SW_TEST_PAUSE_AT="1", SW_TEST_SIGNALS=str(signals)
    )
    _wait_for(signals / "paused", first)

    second = _train(run, "--steps", "3", "--overwrite")  # overwrite: only the lock may stop it
    _, err = second.communicate(timeout=300)
    line = _error_line(err)
    assert second.returncode == 1
    assert str(run.resolve()) in line and f"pid {first.pid}" in line and "in use" in line

    (signals / "go").touch()
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert [r["step"] for r in History.from_jsonl(run / "history.jsonl") if "G/l1" in r] == [
        1,
        2,
        3,
    ]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 3
    load_model(run / "model.pt")


def test_the_lock_nests_in_one_process_and_a_dead_holder_never_blocks(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 2**22 + 1, "host": "gone"}))
    with run_folder_lock(tmp_path), run_folder_lock(tmp_path):  # the dead holder's file is ignored
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid()
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                f"{HOLD}\nwith hold({str(tmp_path)!r}): pass",
            ],
            capture_output=True,
            text=True,
            env=_env(),
        )
        assert "RunFolderBusy" in other.stderr and f"pid {os.getpid()}" in other.stderr
    with run_folder_lock(tmp_path):  # released on leaving the outer block
        pass


def test_a_trainer_refuses_a_folder_another_process_holds(tmp_path, regressor, tiny_data):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"{HOLD}\nwith hold({str(tmp_path)!r}):\n    print('held', flush=True)\n    input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        trainer = Trainer(
            regressor(), tiny_data, steps=2, batch_size=4, run_dir=tmp_path, callbacks=[]
        )
        with pytest.raises(RunFolderBusy, match=f"pid {holder.pid}"):
            trainer.fit()
        assert not (tmp_path / "history.jsonl").exists()
    finally:
        holder.communicate("", timeout=60)


# -- kill -9 and resume ----------------------------------------------------------------------


def test_kill_9_loses_at_most_one_checkpoint_interval_and_resume_cleans_up(tmp_path):
    run, signals = tmp_path / "run", tmp_path / "signals"
    signals.mkdir()
    args = ["--steps", "5", "--checkpoint-every", "2"]
    victim = _train(run, *args, runner=True, SW_TEST_PAUSE_AT="3", SW_TEST_SIGNALS=str(signals))
    _wait_for(signals / "paused", victim)
    # A kill mid-write leaves atomic_write's temporary file; it cannot be timed, so one is planted.
    leftover = run / "checkpoints" / ".last.pt.k9x2ab.tmp"
    leftover.touch()
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    last = run / "checkpoints" / "last.pt"
    assert load_checkpoint(last)["step"] == 2  # killed after step 3: one step lost, < one interval

    # no --set: the checkpoint's own (tiny) config is used, not the paper's
    resumed = subprocess.run(
        [sys.executable, "-m", "sketchwidgets", "train", "pix2pix", "--data", "embedded:24"]
        + ["--batch-size", "4", "--steps", "5", "--resume", str(last)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not leftover.exists() and not list(run.rglob("*.tmp"))
    assert load_checkpoint(last)["step"] == 5
    steps = [r["step"] for r in History.from_jsonl(run / "history.jsonl") if "G/l1" in r]
    assert steps == [1, 2, 3, 4, 5]
    assert load_model(run / "model.pt").config.ngf == 8


def test_resume_with_set_values_that_do_not_fit_says_so_in_one_line(tmp_path, capsys):
    from sketchwidgets.cli import main

    run = tmp_path / "run"
    assert main(["train", "pix2pix", *TINY, "--steps", "1", "--run-dir", str(run)]) == 0
    last = str(run / "checkpoints" / "last.pt")
    capsys.readouterr()
    args = ["train", "pix2pix", *TINY, "--steps", "2", "--resume", last, "--set", "ngf=16"]
    assert main(args) == 2
    err = _error_line(capsys.readouterr().err)
    assert (
        "'ngf': (8, 16)" in err
        and "tensors differ in shape" in err
        and "drop them to resume with the checkpoint's own config" in err
    )
    assert len(err) < 1500  # a summary, not torch's tensor-by-tensor dump


# -- divergence ------------------------------------------------------------------------------


def test_exploding_batch_norm_statistics_stop_the_run_and_nothing_non_finite_is_saved(
    tmp_path, pix2pix, embedded_train
):
    """lr=1e9: the losses stay finite while running variances overflow (the issue's case)."""
    trainer = Trainer(
        pix2pix(lr=1e9), embedded_train, steps=6, batch_size=4, run_dir=tmp_path, checkpoint_every=1
    )
    with pytest.raises(TrainingDiverged, match="non-finite weights or buffers.*running_"):
        trainer.fit()
    _all_finite_files(tmp_path)
    assert not (tmp_path / "model.pt").exists()


class _BadValidation(Regressor):
    def validation_losses(self, batch):
        return {"val/l1": torch.tensor(float("inf"))}


def test_a_non_finite_validation_loss_stops_the_run(tmp_path, tiny_data):
    model = _BadValidation(RegressorConfig())
    callbacks = [NaNGuard(), Validation(tiny_data, every=2, at_start=False)]
    trainer = Trainer(model, tiny_data, steps=6, batch_size=4, callbacks=callbacks)
    with pytest.raises(TrainingDiverged, match="non-finite validation loss at step 2: val/l1=inf"):
        trainer.fit()
    assert trainer.step == 2


def test_non_finite_optimizer_state_or_buffers_are_never_written(tmp_path, regressor):
    model = regressor()
    optimizers = model.configure_optimizers()
    model.train_step(
        {"sketch": torch.zeros(2, 1, 8, 8), "photo": torch.zeros(2, 3, 8, 8)}, optimizers
    )
    next(iter(optimizers["G"].state.values()))["exp_avg_sq"].fill_(float("inf"))
    with pytest.raises(NonFiniteState, match="last.pt.*optimizers/G/state/0/exp_avg_sq"):
        save_checkpoint(tmp_path / "last.pt", model=model, optimizers=optimizers, step=1)
    net = build_model("pix2pix", image_size=32, ngf=8, ndf=8)
    bn = next(m for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    bn.running_var.fill_(float("inf"))
    with pytest.raises(ValueError, match="refusing to save .*model.pt: non-finite.*running_var"):
        net.save(tmp_path / "model.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_cli_reports_a_diverged_run_in_one_line_with_exit_3(tmp_path, capsys):
    from sketchwidgets.cli import main

    run = tmp_path / "run"
    assert (
        main(["train", "pix2pix", *TINY, "--steps", "4", "--run-dir", str(run), "--set", "lr=1e9"])
        == 3
    )
    line = _error_line(capsys.readouterr().err)
    assert line.startswith("error: training diverged: non-finite")
    assert not (run / "model.pt").exists()
    _all_finite_files(run)
    # the aborted run's history blocks a plain rerun, and the refusal says how to go on
    assert main(["train", "pix2pix", *TINY, "--steps", "1", "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint to continue from" in err and "--overwrite" in err
    assert (
        main(["train", "pix2pix", *TINY, "--steps", "1", "--run-dir", str(run), "--overwrite"]) == 0
    )


# -- reproducibility -------------------------------------------------------------------------


def test_the_same_seed_in_two_fresh_processes_gives_the_same_weights_and_losses(tmp_path):
    runs = [tmp_path / "a", tmp_path / "b"]
    processes = [_train(run, "--steps", "3", "--seed", "0") for run in runs]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    a, b = (load_torch(run / "model.pt")["state_dict"] for run in runs)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    histories = [History.from_jsonl(run / "history.jsonl") for run in runs]
    for name in ("G/l1", "D/real", "val/l1"):
        (steps_a, values_a), (steps_b, values_b) = (h.series(name) for h in histories)
        assert len(values_a) >= 2 and steps_a.tolist() == steps_b.tolist()
        assert values_a.tolist() == values_b.tolist()
