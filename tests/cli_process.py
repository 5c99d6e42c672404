"""The command line in a fresh process, optionally under a real file-size limit or through
the fault-injecting stand-in ``tests/cli_runner.py`` (disk-full after N bytes)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parent / "cli_runner.py"


def run_cli(
    *args: str,
    runner: bool = False,
    limit_bytes: int | None = None,
    ignore_file_size_signal: bool = False,
    **env: str,
) -> subprocess.CompletedProcess:
    """``python -m sketchwidgets ARGS`` (or the stand-in); ``limit_bytes`` sets RLIMIT_FSIZE,
    and ``ignore_file_size_signal`` makes a write past it fail with EFBIG instead of killing
    the process with SIGXFSZ."""

    def limit() -> None:
        if ignore_file_size_signal:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    head = [str(RUNNER)] if runner else ["-m", "sketchwidgets"]
    return subprocess.run(
        [sys.executable, *head, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "SKETCHWIDGETS_TRACEBACK": "", **env},
        preexec_fn=limit if limit_bytes is not None else None,
        timeout=300,
    )
