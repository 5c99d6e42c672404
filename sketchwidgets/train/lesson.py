"""The first lines every notebook prints: the device, the mode, and the data it found.

``lesson_setup("edges2shoes_subset")`` prints, for instance::

    device: cpu (2 threads) | mode: fast (SKETCHWIDGETS_FAST=1) | data: edges2shoes_subset

and returns the data folder, or None when it is absent (the notebook then says what it
falls back to). ``docs/data.md`` says where each public dataset comes from.
"""

from __future__ import annotations

from pathlib import Path

import torch

from sketchwidgets.config import FAST_ENV, fast_mode_enabled
from sketchwidgets.data.shared import find_shared_data
from sketchwidgets.device import pick_device


def device_description(device: torch.device | None = None) -> str:
    """``"cuda (NVIDIA H100 80GB HBM3)"``, ``"cpu (2 threads)"``: where the work will run."""
    device = device or pick_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def mode_description() -> str:
    """``"fast (SKETCHWIDGETS_FAST=1)"`` or ``"full"``."""
    return f"fast ({FAST_ENV}=1)" if fast_mode_enabled() else "full"


def lesson_setup(*data: str) -> Path | None:
    """Print the device, the mode and which of the ``data`` folders were found; return the
    first found, or None (the notebook's fallback data then stands in)."""
    found = {name: find_shared_data(name) for name in data}
    present = [name for name, folder in found.items() if folder is not None]
    if not data:
        what = "embedded set (made by the package)"
    elif present:
        what = ", ".join(present)
    else:
        what = f"{', '.join(data)} not found, so the embedded set stands in (docs/data.md)"
    print(f"device: {device_description()} | mode: {mode_description()} | data: {what}")
    return next((folder for folder in found.values() if folder is not None), None)
