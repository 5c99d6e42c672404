"""The process pool the data builders share: forkserver (else spawn), single-threaded OpenCV.

Forking a parent that already runs threads (torch and OpenCV pools, tqdm's monitor, a pool's
own feeder) can deadlock the children, as seen in the test suite. The fork server is
single-threaded and imports the calling module once, so its children start in milliseconds.
A plain script that uses the pool must call it under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import cv2


def _init_worker() -> None:
    """Keep OpenCV single-threaded inside pool workers (the pool is the parallelism)."""
    cv2.setNumThreads(1)


def process_pool(workers: int, *, preload: str) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes whose fork server has imported module ``preload``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([preload])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)
