"""Multi-process training through ``torchrun`` and DistributedDataParallel (DDP).

``torchrun --nproc_per_node N script.py`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``;
the :class:`~sketchwidgets.train.trainer.Trainer` reads them through :func:`setup`, so the
same script runs on one process or many.  What this module does:

* starts the process group (NCCL on CUDA, gloo on CPU) and picks ``cuda:LOCAL_RANK``;
* wraps each network named in ``model.network_names`` in DDP *in place* (``setattr``), so the
  model's own ``train_step`` calls the wrapped networks without knowing it;
* unwraps them again (:func:`unwrapped`) for saving, sampling and validation.

GAN notes.  A GAN step calls the discriminator two or three times (fake, real, then fake
again for the generator) around separate ``backward()`` calls, and toggles
``requires_grad``.  DDP allows several forwards before one backward: a parameter used twice
still gets one summed gradient, so its all-reduce hook fires once.

Buffers are broadcast from rank 0 once, when wrapping, and not before every forward
(``broadcast_buffers=False``; ``forward_sync_buffers=False`` in newer torch).  A broadcast
before each forward costs a collective per call and overwrites buffers in place between the
forwards of one step; spectral norm's ``u``/``v`` buffers are saved for backward, so autograd
would fail with "modified by an inplace operation".  Hence BatchNorm statistics are per rank
(rank 0's are saved), and a DDP run equals a one-process run with the same global batch
only for models without batch statistics (e.g. pix2pix with ``norm="instance"``) and without
random layers (dropout draws different masks on each rank).

A model that leaves part of a network out of some steps (an auxiliary head used only now
and then) sets the class attribute ``ddp_find_unused_parameters = True``; plain DDP would
fail at the next step.  The search costs a graph traversal per forward, so it is off by
default.  Checked with a two-process gloo run of the pix2pix update order, with and without
freezing D during the G step: the losses equal a one-process run's to 1e-6;
``tests/train/test_ddp.py`` runs the real pix2pix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

if TYPE_CHECKING:
    from sketchwidgets.models.base import SketchModel

# Buffers are broadcast once at wrap time, not before every forward (torch >= 2.13 renamed the
# switch; its old name now warns).
_NO_FORWARD_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    else {"broadcast_buffers": False}
)


@dataclasses.dataclass(frozen=True)
class DistInfo:
    """Where this process sits: rank, number of processes, GPU index on this node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only process that writes files and shows progress."""
        return self.rank == 0


def from_env() -> DistInfo:
    """The torchrun environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); 1 process without."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def setup(device: torch.device) -> tuple[DistInfo, torch.device, bool]:
    """Join the process group when launched by torchrun.

    Returns the rank info, the device this rank uses (``cuda:LOCAL_RANK`` on CUDA) and
    whether this call created the group (and so should destroy it).
    """
    info = from_env()
    if not info.enabled:
        return info, device, False
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if dist.is_initialized():
        return info, device, False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return info, device, True


def teardown(created: bool) -> None:
    """Destroy the process group if :func:`setup` created it, once every rank has got here: a
    rank that destroys gloo's group while another still talks to it can abort at exit
    ("terminate called without an active exception", seen in CI)."""
    if created and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap_networks(model: SketchModel, device: torch.device) -> None:
    """Replace each ``model.<name>`` of ``model.network_names`` and of the optional networks
    the config builds by a DDP wrapper, in place."""
    ids = [device.index] if device.type == "cuda" else None
    for name in _trained_networks(model):
        network = getattr(model, name)
        if network is None or isinstance(network, DistributedDataParallel):
            continue  # a network the config leaves out, or wrapped already
        unused = model.ddp_find_unused_parameters
        wrapped = DistributedDataParallel(
            network, device_ids=ids, find_unused_parameters=unused, **_NO_FORWARD_BUFFER_SYNC
        )
        setattr(model, name, wrapped)


def _trained_networks(model: SketchModel) -> tuple[str, ...]:
    """``network_names``, then the optional networks (None where the config has none)."""
    return (*model.network_names, *model.optional_networks)


def unwrap_networks(model: SketchModel) -> None:
    """Undo :func:`wrap_networks` (no-op for plain networks)."""
    for name in _trained_networks(model):
        network = getattr(model, name)
        if isinstance(network, DistributedDataParallel):
            setattr(model, name, network.module)


@contextlib.contextmanager
def unwrapped(model: SketchModel) -> Iterator[SketchModel]:
    """Temporarily show the plain networks (for state dicts, sampling, validation)."""
    wrappers = {
        name: getattr(model, name)
        for name in _trained_networks(model)
        if isinstance(getattr(model, name), DistributedDataParallel)
    }
    unwrap_networks(model)
    try:
        yield model
    finally:
        for name, wrapper in wrappers.items():
            setattr(model, name, wrapper)


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over all processes (the tensor itself without a group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor / dist.get_world_size()


def all_gather_objects(value: object) -> list[object]:
    """``[value of rank 0, value of rank 1, ...]`` (``[value]`` without a group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    gathered: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def barrier() -> None:
    """Wait for every process (no-op without a group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
