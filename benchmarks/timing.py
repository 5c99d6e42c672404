"""Timing helpers the model benchmarks share (imported by the scripts beside this file)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


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
