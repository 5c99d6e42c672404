"""The GPU check: every model and benchmark on CUDA in one command, one JSON report.

    benchmarks/gpu_check.sh                    # on the GPU machine: < 8 minutes
    benchmarks/gpu_check.sh --dry              # anywhere: the plumbing on the CPU, tiny sizes
    benchmarks/gpu_check.sh --out r.json --only model:pix2pix,bench_pix2pix

Writes ``--out`` (default ``$OUT/gpu_check.json`` when ``$OUT`` is set, else
``runs/gpu_check.json``), a text summary beside it (``.txt``) and every case's full output
(``.log``); the summary is printed last. Cases, each in its own child process with its own
time budget, clipped so that the whole run ends within ``--budget`` seconds:

* ``model:<name>`` for every model in ``sketchwidgets.models.MODELS``: build at its own
  defaults at 64 px, 20 training steps with the Trainer (bf16 autocast, channels_last) and its
  standard callbacks, save, load, generate on a batch; losses finite; the precision of every
  step; peak memory per phase (benchmarks/gpu/check_cases.py);
* ``ddp``: torchrun at world size 1, NCCL, every model wrapped in DistributedDataParallel;
* ``bench_<name>`` for every registered model with a speed benchmark
  (``benchmarks/speed.py --model <name>``, from ``benchmarks/model_speed/<name>.py``), run with
  ``--device cuda`` (pix2pix: training vs the plain eager float32 loop at 64 px batch 16 and
  256 px batch 8, inference latency; Contextual GAN: batched latent search vs one at a time);
* ``bench_pix2pix_cudnn_benchmark`` and ``bench_pix2pix_compile``: the pix2pix training cases
  again with cuDNN autotuning, then with ``torch.compile`` (last: compiling takes longest).

Without CUDA (or with ``--dry``) it says so, runs the model and DDP cases on the CPU with the
contract test's tiny configs (tests/models/tiny_configs.py) and 2 steps, trains each model 2
more steps under the CUDA settings emulated on the CPU (bf16 autocast, channels_last, the
torch layers), checks that every benchmark accepts the flags it would be given (``--help``),
marks the CUDA cases skipped, and exits 0 when nothing failed. A failing case is recorded
with its traceback and output; the run goes on. Exit status 1 when a case failed or ran out
of time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SPEED = REPO / "benchmarks" / "speed.py"
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

import torch  # noqa: E402
from check_cases import ddp_case, help_case, model_case, script_case, write_json  # noqa: E402

from sketchwidgets.models import MODELS  # noqa: E402

BUDGET_S = 420  # the whole run: under the 8 minutes asked, room for a short rerun in a lease
TAIL_CHARS = 6000  # of each case's output kept in the JSON (all of it goes to the .log)
# The goals: (case, row of the benchmark's table, lowest ratio ours / reference)
GOALS = (
    ("bench_pix2pix", "train 64px batch 16", 3.0),
    ("bench_pix2pix", "train 256px batch 8", 3.0),
    ("bench_pix2pix_cudnn_benchmark", "train 64px batch 16", 3.0),
    ("bench_pix2pix_cudnn_benchmark", "train 256px batch 8", 3.0),
    ("bench_pix2pix_compile", "train 64px batch 16", 3.0),
    ("bench_pix2pix_compile", "train 256px batch 8", 3.0),
    ("bench_contextual_gan", "batched 64 / one-at-a-time", 10.0),
)
# Extra flags per benchmark (all get --device cuda); a script not listed gets --quick if it has it
BENCH_ARGS = {
    "pix2pix": ["--train-cases", "64x16,256x8"],
    "contextual_gan": [],  # the paper's 1,000 iterations, measured
}
FIGURE = re.compile(
    r"^(?P<case>\S.*?)\s{2,}(?P<reference>[\d.]+)\s+(?P<ours>[\d.]+)\s+(?P<unit>\S+)\s+"
    r"(?P<ratio>[\d.]+)x"
)
RATIO = re.compile(r"^(?P<case>[^:(]+?):\s*(?P<ratio>[\d.]+)x")


@dataclass
class Case:
    """One child process: its name, command, time budget and kind of result."""

    name: str
    command: list[str]
    budget_s: float
    section: str = "cases"  # or "models"
    key: str = ""  # the name in the report's section (default: ``name``)
    env: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- the plan


def plan(args: argparse.Namespace, dry: bool, work: Path) -> list[Case]:
    """Every case in run order: models, DDP, benchmarks, the compiled pix2pix benchmark, and
    the notebooks in fast mode."""
    me = [sys.executable, str(Path(__file__).resolve())]
    flags = ["--dry"] if dry else []
    cases = [
        Case(
            f"model:{name}",
            [*me, "--case", "model", "--name", name, "--result", str(work / f"{name}.json")]
            + flags
            + ["--steps", str(args.steps), "--batch-size", str(args.batch_size)],
            budget_s=90,
            section="models",
            key=name,
        )
        for name in MODELS
    ]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    ddp_result = ["--result", str(work / "ddp.json"), "--batch-size", str(args.batch_size)]
    cases.append(
        Case(
            "ddp",
            [*torchrun, "--nproc_per_node", "1", *me[1:], "--case", "ddp", *ddp_result] + flags,
            budget_s=120,
        )  # fmt: skip
    )
    for name in MODELS:
        script = REPO / "benchmarks" / "model_speed" / f"{name}.py"
        if script.is_file():
            bench = [*speed_command(name), "--device", "cuda", *bench_args(name, script)]
            case = f"bench_{name}"
            cases.append(Case(case, script_command(me, bench, work / case), budget_s=150))
    for option, budget in (("--cudnn-benchmark", 75), ("--compile", 180)):  # the speed-ups to try
        bench = [
            *speed_command("pix2pix"),
            "--device",
            "cuda",
            option,
            "--only",
            "train",
            *BENCH_ARGS["pix2pix"],
        ]
        case = f"bench_pix2pix_{option[2:].replace('-', '_')}"
        cases.append(Case(case, script_command(me, bench, work / case), budget_s=budget))
    notebooks = [sys.executable, str(REPO / "benchmarks" / "gpu" / "notebooks.py")]
    notebooks += ["--result", str(work / "notebooks.json"), *flags]
    cases.append(Case("notebooks", notebooks, budget_s=420))  # every notebook, fast mode
    unknown = sorted(set(args.only or ()) - {c.name for c in cases})
    if unknown:
        raise SystemExit(f"--only: unknown cases {unknown}; known: {[c.name for c in cases]}")
    return [c for c in cases if not args.only or c.name in args.only]


def speed_command(name: str) -> list[str]:
    """The benchmark of model ``name``: ``benchmarks/speed.py --model name``."""
    return [str(SPEED), "--model", name]


def bench_args(name: str, script: Path) -> list[str]:
    if name in BENCH_ARGS:
        return list(BENCH_ARGS[name])
    return ["--quick"] if "--quick" in script.read_text() else []


def script_command(me: list[str], bench: list[str], stem: Path) -> list[str]:
    """The child command that runs benchmark ``bench`` (script, flags), result in ``stem``.json."""
    return [*me, "--case", "script", "--result", f"{stem}.json", "--", *bench]


# --------------------------------------------------------------------------- running


def run_case(case: Case, timeout_s: float, log: Any = None) -> dict:
    """Run one case's command with a timeout; its status, output tail and result file.

    The child runs in its own process group, killed whole on timeout (torchrun's workers too).
    """
    result_file = _result_path(case.command)
    start = time.perf_counter()
    env = child_env(case.env)
    process = subprocess.Popen(
        case.command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace", start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=max(1.0, timeout_s))
        timed_out = False
    except subprocess.TimeoutExpired:
        output, timed_out = _kill(process), True
    record = _read_result(result_file)
    record |= {
        "command": " ".join(case.command),
        "returncode": process.returncode,
        "seconds": round(time.perf_counter() - start, 2),
        "output_tail": output[-TAIL_CHARS:],
    }
    if timed_out:
        record |= {"status": "timeout", "reason": f"stopped after its budget of {timeout_s:.0f} s"}
    elif process.returncode != 0 and record.get("status") != "failed":
        record |= {"status": "failed", "reason": f"exit status {process.returncode}"}
    elif "status" not in record:
        record["status"] = "failed" if process.returncode else "ok"
    peaks = [c.get("peak_memory_bytes") for c in record.get("checks", {}).values()]
    peaks = [p for p in [record.get("peak_memory_bytes"), *peaks] if isinstance(p, int)]
    record["peak_memory_bytes"] = max(peaks) if peaks else None
    figures = parse_figures(output)
    if figures:
        record["figures"] = figures
    if log is not None:
        log.write(f"===== {case.name} ({record['status']}, {record['seconds']} s)\n{output}\n")
        log.flush()
    return record


def _kill(process: subprocess.Popen) -> str:
    """Kill the child's whole process group; what it printed until then."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.communicate(timeout=60)[0] or ""
    except subprocess.TimeoutExpired:  # a grandchild still holds the pipe
        return "(output lost: the killed case did not close its output)"


def _result_path(command: list[str]) -> Path | None:
    if "--result" not in command:
        return None
    return Path(command[command.index("--result") + 1])


def _read_result(path: Path | None) -> dict:
    import json

    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        return {"result_file_error": str(error)}


def parse_figures(output: str) -> list[dict]:
    """Table rows ``case  reference  ours  unit  ratio x`` and ``case: ratio x`` lines."""
    figures = []
    for line in output.splitlines():
        match = FIGURE.match(line.strip()) or RATIO.match(line.strip())
        if match:
            row = {
                k: (v if k in ("case", "unit") else float(v)) for k, v in match.groupdict().items()
            }
            figures.append(row)
    return figures


def bench_helps(cases: list[Case], work: Path) -> dict[str, dict]:
    """Dry mode: every benchmark's ``--help`` text and exit status, from one child process."""
    scripts = sorted({_bench_id(c) for c in cases if c.name.startswith("bench_")})
    if not scripts:
        return {}
    me = [sys.executable, str(Path(__file__).resolve())]
    command = [*me, "--case", "help", "--result", str(work / "help.json"), "--", *scripts]
    record = run_case(Case("help", command, budget_s=180, env=cases[0].env), 180)
    return record.get("scripts") or {s: {"exit": record.get("error", "no result")} for s in scripts}


def dry_bench(case: Case, helps: dict[str, dict]) -> dict:
    """Without CUDA the benchmark is not run; its ``--help`` must list every flag it gets."""
    bench = _bench(case)
    flags = [a for a in bench[1:] if a.startswith("--")]
    record = {"command": " ".join(bench), "flags": flags, "status": "skipped", "reason": "no CUDA"}
    helped = helps.get(_bench_id(case), {"exit": "not run"})
    missing = [f for f in flags if f != "--model" and f not in helped.get("help", "")]
    if helped["exit"] != 0 or missing:
        record["status"] = "failed"
        record["reason"] = f"--help exit status {helped['exit']}; flags missing: {missing}"
    else:
        record["cli_check"] = "ok"
    return record


def _bench(case: Case) -> list[str]:
    """The benchmark command line (script, flags) of a script case."""
    return case.command[case.command.index("--") + 1 :]


def _bench_id(case: Case) -> str:
    """Which benchmark a script case runs: ``"<speed.py> --model <name>"``."""
    return shlex.join(_bench(case)[:3])


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment, the repository first on ``PYTHONPATH``, plus ``extra``."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


# --------------------------------------------------------------------------- the report


def environment(dry: bool, forced: bool) -> dict:
    """Versions and the GPU (read without allocating on it)."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "host": platform.node(),
    }
    if dry:
        why = "--dry given" if forced else "no CUDA device"
        info["note"] = (
            f"no CUDA: dry mode ({why}); model and DDP cases on the CPU, CUDA cases skipped"
        )
    if torch.cuda.is_available():
        try:
            info |= gpu_environment()
        except Exception as error:  # the report must still be written
            info["gpu_error"] = repr(error)
    return info


def gpu_environment() -> dict:
    """The GPU's name, size and the CUDA, cuDNN and NCCL versions; TF32 defaults."""
    props = torch.cuda.get_device_properties(0)
    nccl = torch.cuda.nccl.version()
    return {
        "gpu": props.name,
        "capability": f"{props.major}.{props.minor}",
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "nccl": ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl),
        "tf32_conv": torch.backends.cudnn.allow_tf32,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
    }


def summary(report: dict) -> list[str]:
    """The report as short text lines."""
    env = report["environment"]
    where = env.get("gpu", "CPU") + f", torch {env['torch']}"
    took = f"{report['elapsed_s']:.0f} s of {report['budget_s']:.0f} s"
    lines = [f"gpu_check ({report['mode']}): {where}; {took}"]
    if "note" in env:
        lines.append(env["note"])
    lines.append(
        f"models ({report['settings']['steps']} steps, batch {report['settings']['batch_size']}):"
    )
    for name, record in report["models"].items():
        lines.append(f"  {name:<16}{record['status']:<9}" + _model_line(record))
    lines.append("cases:")
    for name, record in report["cases"].items():
        lines.append(f"  {name:<22}{record['status']:<9}" + _case_line(record))
        lines += [f"      {_figure_line(f)}" for f in record.get("figures", [])]
    lines += [f"goal: {g}" for g in goals(report)]
    return lines


def _model_line(record: dict) -> str:
    checks = record.get("checks", {})
    if record["status"] != "ok" or "generate" not in checks:
        done = [k for k, v in checks.items() if v.get("status") == "ok"]
        return _case_line(record | {"seconds": None}) + (f"; passed: {done}" if done else "")
    train, gen = checks["train"], checks["generate"]
    return (
        f"{train['median_step_ms']} ms/step ({train['images_per_s']} img/s), losses finite; "
        f"{train['precision']}; peak train {_gib(train['peak_memory_bytes']) or '-'}, "
        f"generate {gen['batch']} in {gen['seconds']} s, "
        f"peak {_gib(gen['peak_memory_bytes']) or '-'}"
    )


def _case_line(record: dict) -> str:
    parts = [f"{record['seconds']} s"] if record.get("seconds") is not None else []
    if _gib(record.get("peak_memory_bytes")):
        parts.append(f"peak {_gib(record['peak_memory_bytes'])}")
    if record.get("reason"):
        parts.append(record["reason"])
    for name, check in record.get("checks", {}).items():
        if check.get("status") == "failed":
            parts.append(f"{name} failed: {_last_line(check.get('error'))}")
    if record.get("error"):
        parts.append(_last_line(record["error"]))
    return "; ".join(parts)


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _figure_line(figure: dict) -> str:
    if "reference" in figure:
        return (
            f"{figure['case']:<26}ref {figure['reference']:>9} ours {figure['ours']:>9} "
            f"{figure['unit']:<6}{figure['ratio']}x"
        )
    return f"{figure['case']}: {figure['ratio']}x"


def _gib(value: Any) -> str:
    return f"{value / 2**30:.2f} GiB" if isinstance(value, int | float) else ""


def goals(report: dict) -> list[str]:
    """Each goal of the issue: met, missed, or not measured."""
    lines = []
    for case, row, target in GOALS:
        figures = report["cases"].get(case, {}).get("figures", [])
        found = [f["ratio"] for f in figures if f["case"].strip() == row]
        verdict = "not measured" if not found else ("met" if found[0] >= target else "MISSED")
        measured = f" {found[0]}x" if found else ""
        lines.append(f"{case} {row} >= {target:g}x:{measured} {verdict}")
    return lines


def write_report(report: dict, out: Path) -> None:
    """The JSON report and its text summary (a summary that breaks never stops the run)."""
    import traceback

    write_json(out, report)
    try:
        text = "\n".join(summary(report))
    except Exception:
        text = "the summary failed; the JSON report is complete:\n" + traceback.format_exc()
    out.with_suffix(".txt").write_text(text + "\n")


# --------------------------------------------------------------------------- main


def default_out() -> Path:
    if os.environ.get("OUT"):
        return Path(os.environ["OUT"]) / "gpu_check.json"
    return REPO / "runs" / "gpu_check.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON report path")
    parser.add_argument("--dry", action="store_true", help="plumbing only, on the CPU")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for the whole run")
    parser.add_argument("--steps", type=int, default=None, help="training steps (20; dry: 2)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch (16; dry: 4)")
    parser.add_argument(
        "--only", type=lambda s: set(s.split(",")), default=None, help="case names, comma-separated"
    )
    # the child side (one case per process)
    parser.add_argument(
        "--case", choices=("model", "ddp", "script", "help"), help=argparse.SUPPRESS
    )
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_child(args: argparse.Namespace) -> int:
    """One case in this process; the result goes to ``args.result``."""
    import traceback

    try:
        if args.case == "model":
            result = model_case(args.name, dry=args.dry, steps=args.steps,
                                batch_size=args.batch_size, out=args.result)  # fmt: skip
        elif args.case == "ddp":
            result = ddp_case(dry=args.dry, batch_size=args.batch_size, out=args.result)
        elif args.case == "help":
            result = help_case(_rest(args), args.result)
        else:
            rest = _rest(args)
            result = script_case(rest[0], rest[1:], args.result)
    except Exception:
        result = {"status": "failed", "error": traceback.format_exc()}
        print(result["error"], file=sys.stderr)
    write_json(args.result, result)
    return 0 if result.get("status") in ("ok", "skipped") else 1


def _rest(args: argparse.Namespace) -> list[str]:
    return args.rest[1:] if args.rest[:1] == ["--"] else args.rest


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dry = args.dry or not torch.cuda.is_available()
    args.steps = args.steps or (2 if dry else 20)
    args.batch_size = args.batch_size or (4 if dry else 16)
    if dry:
        torch.set_num_threads(1)
    if args.case:
        return run_child(args)
    out = (args.out or default_out()).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    report = new_report(args, dry)
    if dry:
        print(report["environment"]["note"], flush=True)
    run_all(report, args, dry, out)
    print(out.with_suffix(".txt").read_text(), end="")
    print(f"report: {out}; summary {out.with_suffix('.txt')}; output {out.with_suffix('.log')}")
    return 1 if failures(report) else 0


def new_report(args: argparse.Namespace, dry: bool) -> dict[str, Any]:
    """The report before any case ran."""
    settings = {"steps": args.steps, "batch_size": args.batch_size}
    settings["trainer"] = "Trainer's own: bf16 autocast + channels_last on CUDA, fp32 on the CPU"
    return {
        "schema": 1,
        "mode": "dry" if dry else "cuda",
        "cuda": not dry,
        "environment": environment(dry, args.dry),
        "budget_s": args.budget,
        "elapsed_s": 0.0,
        "settings": settings,
        "models": {},
        "cases": {},
    }


def run_all(report: dict, args: argparse.Namespace, dry: bool, out: Path) -> None:
    """Every planned case in order, the report rewritten after each (a killed run keeps it)."""
    started = time.perf_counter()
    env = {"OMP_NUM_THREADS": "1"} if dry else {}
    with (
        tempfile.TemporaryDirectory(prefix="gpu_check_") as work,
        open(out.with_suffix(".log"), "w") as log,
    ):
        cases = plan(args, dry, Path(work))
        for case in cases:
            case.env |= env
        helps = bench_helps(cases, Path(work)) if dry else {}
        for case in cases:
            left = args.budget - (time.perf_counter() - started)
            record = execute(case, dry, left, log, helps)
            report[case.section][case.key or case.name] = record
            report["elapsed_s"] = round(time.perf_counter() - started, 1)
            write_report(report, out)
            print(f"[gpu_check] {case.name}: {record['status']} ({record.get('seconds', 0)} s)")


def failures(report: dict) -> list[str]:
    """Names of the cases that failed or ran out of time."""
    return [
        name
        for section in ("models", "cases")
        for name, record in report[section].items()
        if record["status"] in ("failed", "timeout")
    ]


def execute(case: Case, dry: bool, left_s: float, log: Any, helps: dict | None = None) -> dict:
    """Run (or, without CUDA, check) one case within what is left of the budget."""
    if dry and case.name.startswith("bench_"):
        return dry_bench(case, helps or {})
    if left_s < 5:
        return {"status": "skipped", "reason": "the run's time budget was spent"}
    return run_case(case, min(case.budget_s, left_s - 2), log)


if __name__ == "__main__":
    sys.exit(main())
