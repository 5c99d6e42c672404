"""The GPU check's notebook case: every notebook in fast mode under nbval, on this machine.

    python benchmarks/gpu/notebooks.py --result PATH [--dry]

Runs what CI runs (``pytest notebooks --nbval-lax`` with the sanitizer), in fast mode, so that a
notebook that hands a model a tensor on the wrong device stops here and not in a classroom.
``--dry`` (no CUDA) and a machine without Jupyter or nbval write ``"status": "skipped"`` with
the reason; the result goes to ``PATH`` as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NEEDED = ("nbval", "jupyter_client", "ipykernel", "ipywidgets", "ipycanvas")


def missing_modules() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def run_notebooks() -> dict:
    command = [
        sys.executable, "-m", "pytest", "-q", "notebooks", "--nbval-lax", "--nbval-current-env",
        "--nbval-cell-timeout=600", "--nbval-sanitize-with", ".ci/nbval_sanitize.cfg",
        "-p", "no:cacheprovider",
    ]  # fmt: skip
    env = os.environ | {"SKETCHWIDGETS_FAST": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    return {
        "status": "ok" if done.returncode == 0 else "failed",
        "reason": summary,
        "error": None if done.returncode == 0 else done.stdout[-4000:] + done.stderr[-2000:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--dry", action="store_true")
    args = parser.parse_args(argv)
    missing = missing_modules()
    if args.dry:
        record = {"status": "skipped", "reason": "dry mode: the notebooks run only on CUDA"}
    elif missing:
        reason = f"not installed on this machine: {', '.join(missing)} (the notebooks need them)"
        record = {"status": "skipped", "reason": reason}
    else:
        record = run_notebooks()
    args.result.write_text(json.dumps(record, indent=1))
    print(f"notebooks: {record['status']} ({record['reason']})")
    return 0 if record["status"] != "failed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
