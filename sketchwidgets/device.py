"""Device, precision and seeding, decided once: cuda, then mps, then cpu."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def pick_device(preferred: str | None = None) -> torch.device:
    """The best available device (cuda, then mps, then cpu), or ``preferred`` when given."""
    if preferred:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_context(
    device: torch.device, enabled: bool = True
) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA; a no-op context on CPU and MPS (fp32 there)."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


_AUTOCAST_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


@contextlib.contextmanager
def full_precision() -> Iterator[None]:
    """Turn off autocast, whatever the device, for the code inside (restored on exit).

    For losses that must run in float32 under a bf16 trainer, e.g. a gradient penalty:
    ``with full_precision(): penalty = gradient_penalty(net, real.float(), fake.float())``.
    Tensors made before keep their dtype: cast the inputs with ``.float()``.
    """
    with contextlib.ExitStack() as stack:
        for device_type in _AUTOCAST_DEVICE_TYPES:
            if torch.is_autocast_enabled(device_type):
                stack.enter_context(torch.autocast(device_type=device_type, enabled=False))
        yield


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every random number generator's state, for an exact resume."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Temporarily run torch's CPU ops on ``n`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
