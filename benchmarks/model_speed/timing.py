"""Timing helpers the model benchmarks share (imported by the scripts beside this file)."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sketchwidgets.device import autocast_context


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_ms(
    call: Callable[[int], object], device: torch.device, repeats: int, warmup: int = 3
) -> float:
    """Median milliseconds of ``call(i)`` over ``repeats`` runs after ``warmup`` untimed ones."""
    times = []
    for index in range(repeats + warmup):
        sync(device)
        start = time.perf_counter()
        call(index)
        sync(device)
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def train_step_peak_mib(model: Any, batch: dict, device: torch.device) -> float:
    """MiB one training step adds to the peak: allocated memory on CUDA (under the autocast
    the Trainer uses), resident set size on the CPU (peak RSS never falls, so call this in a
    fresh process for a clean figure)."""
    optimizers = model.configure_optimizers()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        with autocast_context(device):
            model.train_step(batch, optimizers)
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    before = peak_rss_kib()
    model.train_step(batch, optimizers)
    return (peak_rss_kib() - before) / 1024


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB: /proc's VmHWM, which starts afresh at
    exec (getrusage's ru_maxrss keeps the forking parent's peak, so a probe in a subprocess
    of a big process would read 0), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
