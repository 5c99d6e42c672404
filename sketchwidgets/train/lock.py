"""One training run at a time in a run folder: an advisory ``flock`` on ``<run_dir>/run.lock``.

The lock is held by an open file, so the kernel drops it the moment its process ends, however
it ends (``kill -9`` included): a lock file left by a dead process never blocks a later run.
The file also records the holder (pid, host, start time), which the refusal names.  Taking the
lock again in the same process nests (the CLI holds it around ``fit`` and the final save).

``flock`` is POSIX; where ``fcntl`` is missing (Windows) the lock is a no-op.  On network file
systems ``flock`` may be local to one machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "run.lock"
_held: dict[Path, int] = {}  # folder -> nesting depth, in this process


class RunFolderBusy(RuntimeError):
    """Another live process trains in this run folder; the message names the folder and holder."""


@contextlib.contextmanager
def run_folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the run-folder lock inside the block (creates the folder); raises RunFolderBusy."""
    root = Path(folder).resolve()
    if root in _held or fcntl is None:
        _held[root] = _held.get(root, 0) + 1
        try:
            yield root
        finally:
            _release_nested(root)
        return
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        _acquire(handle, root)
        _held[root] = 1
        try:
            yield root
        finally:
            _held.pop(root, None)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def _release_nested(root: Path) -> None:
    _held[root] -= 1
    if _held[root] == 0:
        del _held[root]


def _acquire(handle, root: Path) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RunFolderBusy(
            f"run folder {root} is in use by another training run ({_holder(handle)}); "
            "wait for it to end, or choose another --run-dir / run_dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": started}))
    handle.flush()


def _holder(handle) -> str:
    """'pid 123 on host h since <time>' from the lock file, as far as it can be read."""
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        info = {}
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on host {info.get('host')} since {info.get('since')}"
