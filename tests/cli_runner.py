"""Run ``python -m sketchwidgets`` with a fault or a pause injected, for the fault tests.

Usage: ``python tests/cli_runner.py <cli arguments>``; the environment chooses the injection:

``SW_TEST_PAUSE_AT=<step>`` and ``SW_TEST_SIGNALS=<folder>``
    after that step's callbacks (its checkpoint included) touch ``<folder>/paused`` and wait
    for ``<folder>/go``: the test acts at a known point (a kill -9, a second run) without timing.
``SW_TEST_FULL_DISK_AFTER=<bytes>``
    a stand-in for a disk that fills: the files :func:`sketchwidgets.io.save_torch` and
    :class:`sketchwidgets.io.StagedFiles` write (checkpoints, model.pt, exports) raise
    ``OSError(ENOSPC)`` -- what ``write()`` raises on a full disk -- once that many bytes went
    into them.
"""

from __future__ import annotations

import builtins
import errno
import os
import sys
import time
from pathlib import Path


def _pause_after(step: int, signals: Path) -> None:
    from sketchwidgets.train.callbacks import Checkpointer

    original = Checkpointer.on_step_end

    def on_step_end(self, trainer, at, losses):
        original(self, trainer, at, losses)
        if at == step:
            (signals / "paused").touch()
            deadline = time.monotonic() + 300  # never hang a test run forever
            while not (signals / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    Checkpointer.on_step_end = on_step_end


class _FillingFile:
    """A binary file whose writes fail with ENOSPC once the shared byte budget is spent."""

    budget = 0

    def __init__(self, handle) -> None:
        self._handle = handle

    def write(self, data) -> int:
        if len(data) > _FillingFile.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._handle.name)
        _FillingFile.budget -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()


def _fill_disk_after(limit: int) -> None:
    import sketchwidgets.io as io

    _FillingFile.budget = limit

    def filling_open(file, mode="r", *args, **kwargs):
        handle = builtins.open(file, mode, *args, **kwargs)
        return _FillingFile(handle) if "w" in mode else handle

    io.open = filling_open  # the module's own `open`, used by save_torch and StagedFiles


def main() -> int:
    if "SW_TEST_PAUSE_AT" in os.environ:
        _pause_after(int(os.environ["SW_TEST_PAUSE_AT"]), Path(os.environ["SW_TEST_SIGNALS"]))
    if "SW_TEST_FULL_DISK_AFTER" in os.environ:
        _fill_disk_after(int(os.environ["SW_TEST_FULL_DISK_AFTER"]))
    from sketchwidgets.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
