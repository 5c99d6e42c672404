"""A model-agnostic training loop: fetch a batch, ``model.train_step``, fire callbacks.

The trainer knows nothing about GANs (minGPT's ``trainer.py`` L1-4): the model owns its
networks, losses, optimizers' construction and update order (see
:mod:`sketchwidgets.models.base`); progress, the loss record, samples, checkpoints, the NaN
guard and validation are callbacks (:mod:`sketchwidgets.train.callbacks`).  The trainer never
prints.

What it does decide, once:

* the device (cuda, then mps, then cpu); on CUDA, bfloat16 autocast and channels_last;
* the data order: the batch of step ``k`` is a pure function of ``(seed, k)`` -- a seeded
  permutation per epoch, cut into ``batch_size`` chunks, incomplete last chunk dropped -- so a
  resumed run draws exactly the batches the uninterrupted run would have drawn;
* the random streams: seeded from ``seed`` at the start, restored from the checkpoint on a
  resume (validation and sampling preserve them), so resuming continues *exactly*;
* what the model records of its data: a model whose config has no ``line_stats`` yet gets
  those of the sketches of its first :data:`LINE_STATS_BATCHES` batches (the line statistics
  its generate() later normalises drawings to, :mod:`sketchwidgets.drawing.line_stats`);
* the run folder: locked for the whole run (:mod:`sketchwidgets.train.lock`; a second run
  there stops at once), and the ``.*.tmp`` files a killed run left are deleted at the start;
* several processes under ``torchrun``: each rank takes its slice of the global batch and the
  networks are wrapped in DDP (:mod:`sketchwidgets.train.distributed`); logged losses are
  averaged over ranks, so they equal a one-process run with the same global batch.

Example::

    trainer = Trainer(model, EmbeddedDataset(64, size=32), steps=500, batch_size=8,
                      run_dir="runs/quick")
    history = trainer.fit()                      # -> History
    Trainer.resume("runs/quick/checkpoints/last.pt", data, steps=1000).fit()
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from sketchwidgets.data.class_match import matched_to_model
from sketchwidgets.device import autocast_context, pick_device, seed_everything, set_rng_state
from sketchwidgets.device import rng_state as current_rng_state
from sketchwidgets.drawing.line_stats import LineStats, tensor_line_stats
from sketchwidgets.io import remove_stale_temporaries
from sketchwidgets.train import distributed
from sketchwidgets.train.callbacks import Callback, TrainingDiverged, default_callbacks
from sketchwidgets.train.checkpoint import (
    load_checkpoint,
    plain_rng_state,
    restore_training_state,
    save_checkpoint,
    torch_rng_state,
)
from sketchwidgets.train.history import History
from sketchwidgets.train.lock import run_folder_lock

LINE_STATS_BATCHES = 8  # the first batches whose sketches give a model its config.line_stats


def first_batches_line_stats(
    data: Dataset, size: int, *, batch_size: int, seed: int, steps: int
) -> LineStats | None:
    """The line statistics of the sketches of the first :data:`LINE_STATS_BATCHES` batches a
    Trainer with these settings draws (None when it draws none)."""
    stop = min(steps, LINE_STATS_BATCHES)
    sampler = StepBatchSampler(len(data), batch_size=batch_size, seed=seed, start=0, stop=stop)
    sketches = [data[i]["sketch"] for batch in sampler for i in batch]
    return tensor_line_stats(sketches, size) if sketches else None


class StepBatchSampler(Sampler[list[int]]):
    """Yields the dataset indices of steps ``start+1 .. stop`` for one rank.

    Global batch ``k`` (0-based) is chunk ``k % per_epoch`` of a permutation seeded by
    ``(seed, k // per_epoch)``; rank ``r`` of ``world_size`` takes the ``r``-th equal slice.
    """

    def __init__(
        self,
        size: int,
        *,
        batch_size: int,
        seed: int,
        start: int,
        stop: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if size < batch_size:
            raise ValueError(f"the dataset has {size} items, fewer than one batch ({batch_size})")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start, self.stop = start, stop
        self.rank, self.world_size = rank, world_size
        self.per_epoch = size // batch_size

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        local = self.batch_size // self.world_size
        for k in range(self.start, self.stop):
            if k // self.per_epoch != epoch:
                epoch = k // self.per_epoch
                order = self.permutation(epoch)
            first = (k % self.per_epoch) * self.batch_size + self.rank * local
            yield order[first : first + local].tolist()

    def permutation(self, epoch: int) -> torch.Tensor:
        """The shuffled dataset order of one epoch."""
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.size, generator=rng)


class Trainer:
    """Train a :class:`~sketchwidgets.models.base.SketchModel` with callbacks.

    Parameters
    ----------
    model : SketchModel
        Only ``configure_optimizers`` and ``train_step`` are called (callbacks may call more).
    train_data : Dataset
        A map-style dataset of item dicts (``"sketch"``, ``"photo"``, ``"label"``, ...). For a
        model that needs a class, labels are mapped to the model's classes by name
        (``dataset.class_names``); data with classes the model does not know is refused.
    steps : int
        Total optimizer steps of the run (at least 1); a resumed run continues up to it.
    batch_size : int
        The *global* batch; under torchrun each rank takes ``batch_size // world_size``.
    val_data : Dataset, optional
        Held-out data for :class:`Validation` and the sample grid.
    run_dir : path, optional
        Folder for ``history.jsonl``, ``samples/`` and ``checkpoints/``; None writes nothing.
    callbacks : list of Callback, optional
        None: :func:`default_callbacks`; a list replaces them (or see :meth:`add_callback`).
    device : str, optional
        "cuda", "mps", "cpu" (default: the best available).
    seed : int
        Seeds the data order and the random streams.
    num_workers : int
        DataLoader worker processes (resume is exact for random augmentations only with 0).
    checkpoint_every, sample_every, validate_every : int, optional
        Periods in steps; None: about ten times a run; 0: only at the end.
    amp : bool
        bfloat16 autocast on CUDA (``train_step``, forward and backward, runs inside it).
    overwrite : bool
        Allow a fresh run in a ``run_dir`` that already holds one.
    """

    def __init__(
        self,
        model: Any,
        train_data: Dataset,
        *,
        steps: int,
        batch_size: int = 16,
        val_data: Dataset | None = None,
        run_dir: str | os.PathLike | None = None,
        callbacks: Sequence[Callback] | None = None,
        device: str | None = None,
        seed: int = 0,
        num_workers: int = 0,
        checkpoint_every: int | None = None,
        sample_every: int | None = None,
        validate_every: int | None = None,
        amp: bool = True,
        overwrite: bool = False,
    ) -> None:
        # labels index the model's classes: mapped by name, or refused (class_match.py)
        train_data, val_data = (
            matched_to_model(model, train_data),
            matched_to_model(model, val_data),
        )
        self.model, self.train_data, self.val_data = model, train_data, val_data
        self.steps, self.batch_size, self.seed = int(steps), int(batch_size), int(seed)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.num_workers, self.amp, self.overwrite = num_workers, amp, overwrite
        self.dist = distributed.from_env()
        self._check_sizes()
        self.device = pick_device(device)
        self.history = History()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.step = self.start_step = 0
        self.resume_from: Path | None = None
        self.last_checkpoint: tuple[Path, int] | None = None
        self._reset_flags()
        if callbacks is None:
            period = max(1, self.steps // 10)
            callbacks = default_callbacks(
                self.run_dir,
                val_data=val_data,
                checkpoint_every=period if checkpoint_every is None else checkpoint_every,
                sample_every=period if sample_every is None else sample_every,
                validate_every=period if validate_every is None else validate_every,
            )
        self.callbacks: list[Callback] = list(callbacks)

    @classmethod
    def resume(
        cls,
        checkpoint: str | os.PathLike,
        train_data: Dataset,
        *,
        model: Any = None,
        run_dir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> Trainer:
        """A trainer that continues ``checkpoint`` (model rebuilt from it unless given).

        ``run_dir`` defaults to the run the checkpoint belongs to (``<run_dir>/checkpoints/``).
        """
        path = Path(checkpoint)
        if model is None:
            from sketchwidgets.models import model_from_state

            model = model_from_state(load_checkpoint(path), source=str(path))
        if run_dir is None and path.parent.name == "checkpoints":
            run_dir = path.parent.parent
        trainer = cls(model, train_data, run_dir=run_dir, **kwargs)
        trainer.resume_from = path
        return trainer

    # -- public state for callbacks ---------------------------------------------------------

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0; always without torchrun)."""
        return self.dist.is_main

    def add_callback(self, callback: Callback) -> None:
        """Append a callback (e.g. a notebook ``LossPanel``) to the current set."""
        self.callbacks.append(callback)

    def fire(self, event: str, *args: Any) -> None:
        """Call ``event`` (``"on_step_end"``, ...) on every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    def stop(self, reason: str, *, diverged: bool = False) -> None:
        """Ask the loop to stop after the current step; ``diverged`` makes ``fit`` raise."""
        self.stop_training = True
        self.stop_reason = reason
        self.diverged = self.diverged or diverged

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast on CUDA when ``amp``; a no-op elsewhere."""
        return autocast_context(self.device, self.amp)

    def unwrapped(self) -> contextlib.AbstractContextManager:
        """The model with plain (not DDP-wrapped) networks, for sampling and validation."""
        return distributed.unwrapped(self.model)

    def move(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Batch tensors on the training device (channels_last images on CUDA)."""
        cuda = self.device.type == "cuda"
        moved = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, non_blocking=True)
                if cuda and value.ndim == 4 and value.is_floating_point():
                    value = value.contiguous(memory_format=torch.channels_last)
            moved[key] = value
        return moved

    def save_checkpoint(self, path: str | os.PathLike) -> Path | None:
        """Save the full state now; every rank must call it, rank 0 writes (returns the path)."""
        states = distributed.all_gather_objects(plain_rng_state(current_rng_state()))
        if not self.is_main:
            return None
        extra = {"trainer": self._run_settings()}
        if self.dist.enabled:
            extra["rng_per_rank"] = states
        written = save_checkpoint(
            path, model=self.model, optimizers=self.optimizers, step=self.step, extra=extra
        )
        self.last_checkpoint = (written, self.step)
        return written

    # -- the loop ---------------------------------------------------------------------------

    def fit(self, resume_from: str | os.PathLike | None = None) -> History:
        """Train up to ``steps`` (continuing ``resume_from`` when given); returns the history.

        Raises :class:`TrainingDiverged` when a loss or weight became non-finite; the message
        names the last good checkpoint.
        """
        if resume_from is not None:
            self.resume_from = Path(resume_from)
        self._reset_flags()
        with self._run_folder_lock():
            try:
                self._setup()
                self.fire("on_fit_start")
                self._loop()
                self.fire("on_fit_end")
            finally:
                self.fire("on_teardown")
                distributed.unwrap_networks(self.model)
                distributed.teardown(self._owns_group)
        if self.diverged:
            raise TrainingDiverged(self._diverged_message())
        return self.history

    def _loop(self) -> None:
        if self.stop_training:
            return
        for batch in self._loader:
            losses = self._train_step(batch)
            self.step += 1
            self.fire("on_step_end", self.step, losses)
            if self.stop_training:
                break

    def _train_step(self, batch: dict[str, Any]) -> dict[str, float]:
        batch = self.move(batch)
        with self.autocast():
            losses = self.model.train_step(batch, self.optimizers)
        if not losses:
            return {}
        values = torch.stack(
            [
                torch.as_tensor(v).detach().float().reshape(()).to(self.device)
                for v in losses.values()
            ]
        )
        return dict(zip(losses, distributed.all_reduce_mean(values).cpu().tolist(), strict=True))

    # -- setup ------------------------------------------------------------------------------

    def _setup(self) -> None:
        """Join torchrun, place the model, build optimizers, restore a resume, seed, load data."""
        self.dist, self.device, self._owns_group = distributed.setup(self.device)
        if self.resume_from is None:
            self._check_run_dir()
        self._remove_stale_temporaries()
        self.model.to(self.device)
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self.optimizers = self.model.configure_optimizers()
        self.start_step, self.last_checkpoint = 0, None
        state = self._restore() if self.resume_from is not None else None
        self.step = self.start_step
        if self.dist.enabled:
            distributed.wrap_networks(self.model, self.device)
        self.model.train()
        self._record_line_stats()  # before seeding: reading items may draw random numbers
        self._seed(state)
        self._loader = self._make_loader()

    def _record_line_stats(self) -> None:
        """Give a model whose config has ``line_stats = None`` those of its first batches'
        sketches (a config without the field is left alone)."""
        if getattr(getattr(self.model, "config", None), "line_stats", True) is not None:
            return
        stats = first_batches_line_stats(
            self.train_data, self.model.image_size, batch_size=self.batch_size, seed=self.seed,
            steps=self.steps,
        )  # fmt: skip
        if stats is not None:
            self.model.record_line_stats(stats)

    def _restore(self) -> dict[str, Any]:
        assert self.resume_from is not None
        state = load_checkpoint(self.resume_from)
        self._check_steps_left(int(state["step"]))
        self.start_step = restore_training_state(
            state, self.model, self.optimizers, restore_rng=False
        )
        self.last_checkpoint = (self.resume_from, self.start_step)
        self.history = self.history.until(self.start_step)
        self._warn_changed_settings(state.get("extra", {}).get("trainer", {}))
        return state

    def _check_steps_left(self, done: int) -> None:
        """A resume must have steps left: ``steps`` is the run's total, not a count to add."""
        if done >= self.steps:
            raise ValueError(
                f"{self.resume_from} is already at step {done}, and steps={self.steps} (the "
                f"run's total, --steps) leaves nothing to train: ask for more than {done} "
                "steps to continue; nothing was changed"
            )

    def _seed(self, state: dict[str, Any] | None) -> None:
        """Fresh run: seed from ``seed`` (+ rank).  Resume: this rank's saved RNG states."""
        rank, world = self.dist.rank, self.dist.world_size
        per_rank = (state or {}).get("extra", {}).get("rng_per_rank")
        if state is None:
            seed_everything(self.seed + rank)
        elif per_rank is not None and len(per_rank) == world:
            set_rng_state(torch_rng_state(per_rank[rank]))
        elif rank == 0:
            set_rng_state(torch_rng_state(state["rng"]))
        else:  # a different number of processes than when saved: fresh streams per rank
            seed_everything(self.seed + rank + 1_000_003 * self.start_step)

    def _make_loader(self) -> DataLoader:
        sampler = StepBatchSampler(
            len(self.train_data),
            batch_size=self.batch_size,
            seed=self.seed,
            start=self.start_step,
            stop=self.steps,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        # An own generator keeps the loader from drawing on the global RNG (exact resume).
        rng = torch.Generator().manual_seed(self.seed + self.start_step)
        return DataLoader(
            self.train_data,
            batch_sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            generator=rng,
        )

    def _run_folder_lock(self) -> contextlib.AbstractContextManager:
        """The run-folder lock for the whole run (rank 0 with a run folder; else a no-op)."""
        if self.run_dir is None or not self.is_main:
            return contextlib.nullcontext()
        return run_folder_lock(self.run_dir)

    def _remove_stale_temporaries(self) -> None:
        """Delete the half-written ``.*.tmp`` files a killed run left (we hold the lock)."""
        self.removed_temporaries: list[Path] = []
        if self.run_dir is None or not self.is_main:
            return
        for folder in (self.run_dir, self.run_dir / "checkpoints", self.run_dir / "samples"):
            self.removed_temporaries += remove_stale_temporaries(folder)

    def _check_sizes(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps={self.steps}: a run needs at least 1 step")
        if self.batch_size < 1 or self.batch_size % self.dist.world_size:
            raise ValueError(
                f"batch_size={self.batch_size} must be a positive multiple of the "
                f"number of processes ({self.dist.world_size})"
            )
        if not hasattr(self.train_data, "__len__"):
            raise TypeError("train_data must be a map-style dataset with a length")

    def _check_run_dir(self) -> None:
        if self.run_dir is None or self.overwrite or not self.is_main:
            return
        used = [p for p in ("history.jsonl", "checkpoints") if (self.run_dir / p).exists()]
        if used:
            last = self.run_dir / "checkpoints" / "last.pt"
            resume = (
                f"continue it with --resume {last} (resume_from=...), or "
                if last.is_file()
                else "it has no checkpoint to continue from; "
            )
            raise FileExistsError(
                f"run folder {self.run_dir} already holds a run ({', '.join(used)}): {resume}"
                "start over with --overwrite (overwrite=True)"
            )

    def _run_settings(self) -> dict[str, int]:
        return {
            "seed": self.seed,
            "batch_size": self.batch_size,
            "dataset_size": len(self.train_data),
            "world_size": self.dist.world_size,
        }

    def _warn_changed_settings(self, saved: dict[str, int]) -> None:
        now = self._run_settings()
        changed = {
            k: (saved[k], now[k])
            for k in ("seed", "batch_size", "dataset_size")
            if k in saved and saved[k] != now[k]
        }
        if changed:
            warnings.warn(
                f"resuming {self.resume_from} with changed settings (was, now) "
                f"{changed}: the data order differs from the original run",
                RuntimeWarning,
                stacklevel=4,
            )

    def _reset_flags(self) -> None:
        self._owns_group = False
        self.stop_training = False
        self.stop_reason: str | None = None
        self.diverged = False

    def _diverged_message(self) -> str:
        if self.last_checkpoint is None:
            where = "no checkpoint was written before it"
        else:
            path, step = self.last_checkpoint
            where = f"the last good checkpoint is {path} (step {step})"
        return f"training diverged: {self.stop_reason}; {where}"
