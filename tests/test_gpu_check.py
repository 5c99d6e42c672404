"""benchmarks/gpu_check.sh in dry mode: the GPU check's plumbing, run for real on the CPU.

The check itself needs a GPU, lent rarely and briefly, and must then work in one call. This
keeps it from rotting in between: without CUDA it must say so, put every registered model
through build, 2 trainer steps, save, load and generate (tiny configs), run DDP through
torchrun, train each model again under the CUDA settings emulated on the CPU (bf16 autocast,
channels_last), check that every benchmark accepts the flags it will be given, and exit 0.
The guard around each case (failure, timeout, spent budget) is tested on its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sketchwidgets.models import MODELS

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
GPU_CHECK = BENCHMARKS / "gpu"
PHASES = ["build", "train", "save", "load", "generate"]


def _module(name: str, folder: Path = GPU_CHECK):
    """A script in a benchmarks/ folder imported as a module (the folders are not packages)."""
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """One dry run of the real entry point, GPUs hidden; (process, report, report path)."""
    out = tmp_path_factory.mktemp("gpu_check") / "report.json"
    env = {k: v for k, v in os.environ.items() if k not in ("OUT", "RANK", "WORLD_SIZE")}
    env |= {"PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    process = subprocess.run(
        ["bash", str(BENCHMARKS / "gpu_check.sh"), "--dry", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-3000:]
    return process, json.loads(out.read_text()), out


@pytest.mark.timeout(600)
def test_dry_run_says_no_cuda_and_writes_the_report(dry_run):
    process, report, out = dry_run
    assert process.stdout.startswith("no CUDA: dry mode")
    assert report["mode"] == "dry" and report["cuda"] is False
    assert report["environment"]["note"].startswith("no CUDA")
    assert report["settings"]["steps"] == 2
    text = out.with_suffix(".txt").read_text()
    assert text.startswith("gpu_check (dry)") and "no CUDA" in text
    assert all(name in text for name in MODELS)
    assert "===== model:pix2pix (ok" in out.with_suffix(".log").read_text()


@pytest.mark.timeout(600)
def test_every_registered_model_trains_saves_loads_and_generates(dry_run):
    _, report, _ = dry_run
    assert list(report["models"]) == list(MODELS)
    for name, record in report["models"].items():
        assert record["status"] == "ok", (name, record)
        checks = record["checks"]
        assert [p for p in PHASES if checks[p]["status"] == "ok"] == PHASES, name
        assert [s["step"] for s in record["steps"]] == [1, 2], name
        for step in record["steps"]:  # the CPU: no autocast, float32 layers and losses
            assert step["finite"] and step["autocast"] == ["off"], (name, step)
            assert set(step["layer_output_dtypes"]) == {"float32"}, (name, step)
            assert set(step["loss_dtypes"].values()) == {"float32"}, (name, step)
        assert {"checkpoints/last.pt", "history.jsonl"} <= set(checks["train"]["run"]["files"])
        assert checks["train"]["validation"], name  # the validation callback ran
        assert checks["load"]["weights_equal"] is True
        size = record["config"]["image_size"]
        generated = checks["generate"]
        assert generated["image_shape"] == [generated["batch"], size, size, 3], name
        assert list(generated["outputs"]) == list(MODELS[name].output_names), name


@pytest.mark.timeout(600)
def test_every_model_trains_under_the_cuda_settings_emulated_on_the_cpu(dry_run):
    _, report, _ = dry_run
    for name, record in report["models"].items():
        assert record["checks"]["emulated_cuda"]["status"] == "ok", (name, record["checks"])
        for step in record["emulated_steps"]:  # bf16 autocast reached the layers, in channels_last
            assert step["finite"] and "bfloat16" in step["autocast"], (name, step)
            assert "bfloat16" in step["layer_output_dtypes"], (name, step)
            done, total = map(int, step["channels_last_inputs"].split("/"))
            assert done > total // 2, (name, step)


@pytest.mark.timeout(600)
def test_ddp_runs_every_model_through_torchrun(dry_run):
    _, report, _ = dry_run
    ddp = report["cases"]["ddp"]
    assert ddp["status"] == "ok", ddp
    assert (ddp["backend"], ddp["world_size"]) == ("gloo", 1)
    for name in MODELS:
        check = ddp["checks"][f"model:{name}"]
        assert check["status"] == "ok", (name, check)
        assert set(check["wrapped"].values()) == {"DistributedDataParallel"}, name
        assert len(check["losses"]) == 3
    assert ddp["checks"]["collectives"]["all_reduce_mean"] == [3.0] * 4


@pytest.mark.timeout(600)
def test_every_benchmark_accepts_its_flags_and_is_skipped(dry_run):
    _, report, _ = dry_run
    speed = BENCHMARKS / "model_speed"
    models = [n for n in MODELS if (speed / f"{n}.py").is_file()]
    assert models == list(MODELS)  # every registered model has its speed benchmark
    runs = {f"bench_{n}": n for n in models}
    runs |= {"bench_pix2pix_cudnn_benchmark": "pix2pix", "bench_pix2pix_compile": "pix2pix"}
    for name, model in runs.items():
        case = report["cases"][name]
        assert (case["status"], case["reason"], case["cli_check"]) == ("skipped", "no CUDA", "ok")
        assert "--device" in case["flags"], name
        script, *flags = case["command"].split()
        assert (Path(script).name, flags[:2]) == ("speed.py", ["--model", model]), name


def test_a_failing_case_is_recorded_with_its_traceback(tmp_path):
    check = _module("check")
    command = [sys.executable, str(GPU_CHECK / "check.py"), "--case", "model", "--dry"]
    command += ["--name", "no_such_model", "--result", str(tmp_path / "r.json")]
    record = check.run_case(check.Case("model:no_such_model", command, budget_s=120), 120)
    assert record["status"] == "failed" and record["returncode"] == 1
    assert "Traceback" in record["error"] and "no_such_model" in record["error"]


def test_a_case_past_its_budget_is_stopped_and_the_run_goes_on(tmp_path):
    check = _module("check")
    slow = check.Case("slow", [sys.executable, "-c", "import time; time.sleep(60)"], budget_s=1)
    record = check.run_case(slow, 1.0)
    assert record["status"] == "timeout" and record["seconds"] < 30
    assert check.execute(slow, dry=False, left_s=3, log=None)["status"] == "skipped"


def test_the_summary_names_what_failed_or_ran_out_of_time(tmp_path):
    check = _module("check")
    report = {
        "mode": "cuda",
        "environment": {"torch": "2.x", "gpu": "NVIDIA H200"},
        "elapsed_s": 400.0,
        "budget_s": 360,
        "settings": {"steps": 20, "batch_size": 16},
        "models": {
            "a": {"status": "timeout", "reason": "stopped after its budget of 90 s",
                  "checks": {"build": {"status": "ok"}}},
            "b": {"status": "failed", "checks": {"build": {"status": "ok"},
                  "train": {"status": "failed", "error": "Traceback\nValueError: bad dtype"}}},
        },
        "cases": {"ddp": {"status": "failed", "error": "Traceback\nRuntimeError: NCCL"}},
    }  # fmt: skip
    check.write_report(report, tmp_path / "r.json")
    text = (tmp_path / "r.txt").read_text()
    assert "a               timeout  stopped after its budget of 90 s; passed: ['build']" in text
    assert "train failed: ValueError: bad dtype" in text and "RuntimeError: NCCL" in text
    assert json.loads((tmp_path / "r.json").read_text())["models"]["b"]["status"] == "failed"


def test_figures_are_read_from_the_benchmarks_own_table_rows():
    check = _module("check")
    bench = _module("pix2pix", BENCHMARKS / "model_speed")
    output = "\n".join(
        [
            bench._fmt_row("train 64px batch 16", 100.0, 350.0, "img/s", True),
            bench._fmt_row("train 256px batch 8", 10.0, 20.0, "img/s", True),
            bench._fmt_row("  peak memory", 300.0, 200.0, "MiB", False),
            "batched 64 / one-at-a-time: 12.5x (meets the 10x goal)",
        ]
    )
    figures = check.parse_figures(output)
    assert [(f["case"], f["ratio"]) for f in figures] == [
        ("train 64px batch 16", 3.5),
        ("train 256px batch 8", 2.0),
        ("peak memory", 1.5),
        ("batched 64 / one-at-a-time", 12.5),
    ]
    report = {"cases": {"bench_pix2pix": {"figures": figures[:3]}}}
    report["cases"]["bench_contextual_gan"] = {"figures": figures[3:]}
    verdicts = check.goals(report)
    assert "bench_pix2pix train 64px batch 16 >= 3x: 3.5x met" in verdicts
    assert "bench_pix2pix train 256px batch 8 >= 3x: 2.0x MISSED" in verdicts
    assert "bench_contextual_gan batched 64 / one-at-a-time >= 10x: 12.5x met" in verdicts
    assert "bench_pix2pix_compile train 64px batch 16 >= 3x: not measured" in verdicts


def _notebook_case():
    import importlib.util as util

    spec = util.spec_from_file_location("gpu_notebooks", GPU_CHECK / "notebooks.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_notebook_case_says_why_it_did_not_run(tmp_path, monkeypatch):
    case = _notebook_case()
    result = tmp_path / "notebooks.json"
    assert case.main(["--result", str(result), "--dry"]) == 0
    assert json.loads(result.read_text()) == {
        "status": "skipped",
        "reason": "dry mode: the notebooks run only on CUDA",
    }
    monkeypatch.setattr(case, "NEEDED", ("nbval", "no_such_module_here"))
    assert case.main(["--result", str(result)]) == 0
    reason = json.loads(result.read_text())["reason"]
    assert reason.startswith("not installed on this machine: no_such_module_here")
