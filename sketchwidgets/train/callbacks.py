"""Everything the trainer does besides stepping: progress, the record, samples, checkpoints.

The :class:`~sketchwidgets.train.trainer.Trainer` only fires events; a :class:`Callback`
overrides the ones it needs (all are no-ops by default), as in minGPT's trainer:

``on_fit_start(trainer)``, ``on_step_end(trainer, step, losses)``,
``on_validation_end(trainer, step, losses)``, ``on_fit_end(trainer)`` and
``on_teardown(trainer)`` (always last, even after an error: close files and bars).

``step`` counts optimizer steps done (1 after the first update); ``losses`` are Python
floats by name (``"G/gan"``, ``"D/real"``, ``"val/l1"``, ...).  Under ``torchrun`` every rank
runs the callbacks with the same (all-reduced) losses; only rank 0 (``trainer.is_main``)
writes files or shows progress.

Divergence: :class:`NaNGuard` stops the run at the first non-finite loss, validation loss,
weight or buffer and marks it diverged; :class:`Checkpointer` never saves a step whose losses,
weights, buffers or optimizer state are not finite,
whatever the callback order, so the last checkpoint on disk is the last good state and
``fit()`` raises :class:`TrainingDiverged` naming it.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate

from sketchwidgets.device import rng_state, set_rng_state
from sketchwidgets.io import atomic_write, image_grid, tensor_to_image, write_image
from sketchwidgets.train.checkpoint import NonFiniteState
from sketchwidgets.train.history import RunLogWriter

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.train.trainer import Trainer

Losses = dict[str, float]


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN or infinite; the message names the last good checkpoint."""


class Callback:
    """Base class: every hook is a no-op; override the ones you need."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Called once before the first step (after a resume has been restored)."""

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        """Called after each optimizer step with that step's losses."""

    def on_validation_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        """Called when :class:`Validation` has computed held-out losses."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """Called once after the last step (also after a stop)."""

    def on_teardown(self, trainer: Trainer) -> None:
        """Called last, even when training raised: release files and progress bars."""


def every_due(step: int, every: int) -> bool:
    """True when a periodic action with period ``every`` (0 = never) falls on ``step``."""
    return every > 0 and step > 0 and step % every == 0


def all_finite(losses: Losses) -> bool:
    """True when no loss is NaN or infinite."""
    return all(math.isfinite(v) for v in losses.values())


def format_losses(losses: Losses) -> str:
    """``"G/gan=0.693 D/real=0.41"``: compact text for a progress bar."""
    return " ".join(f"{name}={value:.3g}" for name, value in losses.items())


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Restore every RNG afterwards, so sampling or validation never shifts the training stream."""
    state = rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no gradients inside, the previous mode restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


class ProgressBar(Callback):
    """A ``tqdm.auto`` bar: a widget in Jupyter, text in a console; shows the latest losses."""

    def __init__(self, *, leave: bool = True, disable: bool = False) -> None:
        self.leave = leave
        self.disable = disable
        self.bar: Any = None
        self._val = ""

    def on_fit_start(self, trainer: Trainer) -> None:
        if not trainer.is_main:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=trainer.steps,
            initial=trainer.start_step,
            desc="train",
            unit="step",
            leave=self.leave,
            disable=self.disable,
            dynamic_ncols=True,
        )

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(
                " ".join(filter(None, [format_losses(losses), self._val])), refresh=False
            )
            self.bar.update(1)

    def on_validation_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        self._val = format_losses(losses)

    def on_teardown(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class HistoryRecorder(Callback):
    """Append every step's and validation's losses to ``trainer.history`` and the run log.

    The run log is ``<run_dir>/history.jsonl``, one flushed line per record.  On a resume the
    log is cut back to the checkpoint's step, so re-read it gives exactly the resumed history.
    """

    def __init__(self, filename: str = "history.jsonl") -> None:
        self.filename = filename
        self.writer: RunLogWriter | None = None

    def log_path(self, trainer: Trainer) -> Path | None:
        """Where the run log goes (None without a run folder)."""
        return None if trainer.run_dir is None else Path(trainer.run_dir) / self.filename

    def on_fit_start(self, trainer: Trainer) -> None:
        path = self.log_path(trainer)
        if path is None or not trainer.is_main:
            return
        if trainer.start_step > 0 and path.is_file():
            from sketchwidgets.train.history import History

            trainer.history = History.from_jsonl(path).until(trainer.start_step)
            trainer.history.to_jsonl(path)
        elif trainer.start_step == 0 and path.is_file():
            path.unlink()  # the trainer checked that overwriting was asked for
        self.writer = RunLogWriter(path)

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        self._record(trainer, step, losses)

    def on_validation_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        self._record(trainer, step, losses)

    def _record(self, trainer: Trainer, step: int, losses: Losses) -> None:
        if losses:
            record = trainer.history.append(step, losses)
            if self.writer is not None:
                self.writer.write(record)

    def on_teardown(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class NaNGuard(Callback):
    """Stop at the first non-finite value and mark the run diverged (``fit`` then raises).

    Checked: every step's losses, every validation's losses, and every ``state_every`` steps
    the model's whole state -- parameters *and* buffers (batch-norm running statistics can
    overflow while the losses stay finite, e.g. at ``lr=1e9``).  One device sync per check.
    """

    def __init__(self, state_every: int = 1) -> None:
        self.state_every = state_every

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        self._check_losses(trainer, step, losses, "loss")
        if not trainer.diverged and every_due(step, self.state_every):
            bad = non_finite_state(trainer.model)
            if bad:
                trainer.stop(
                    f"non-finite weights or buffers after step {step}: {bad}", diverged=True
                )

    def on_validation_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        self._check_losses(trainer, step, losses, "validation loss")

    @staticmethod
    def _check_losses(trainer: Trainer, step: int, losses: Losses, what: str) -> None:
        bad = {name: value for name, value in losses.items() if not math.isfinite(value)}
        if bad:
            named = ", ".join(f"{name}={value}" for name, value in bad.items())
            trainer.stop(f"non-finite {what} at step {step}: {named}", diverged=True)


class Checkpointer(Callback):
    """Save ``<run_dir>/checkpoints/last.pt`` every ``every`` steps and at the end, atomically.

    ``keep_steps=True`` also keeps ``step_000123.pt`` copies, the newest ``keep_last`` of them
    (all when None).  A step whose losses or weights are not finite is never saved.
    """

    def __init__(
        self,
        every: int,
        *,
        keep_steps: bool = False,
        keep_last: int | None = None,
        folder: str | os.PathLike | None = None,
    ) -> None:
        self.every = every
        self.keep_steps = keep_steps
        self.keep_last = keep_last
        self.folder = None if folder is None else Path(folder)

    def on_fit_start(self, trainer: Trainer) -> None:
        if self.folder is None:
            if trainer.run_dir is None:
                raise ValueError("Checkpointer needs a folder: pass run_dir= to the Trainer")
            self.folder = Path(trainer.run_dir) / "checkpoints"

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        if every_due(step, self.every) and all_finite(losses):
            self.save(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        done = trainer.last_checkpoint is not None and trainer.last_checkpoint[1] == trainer.step
        if not done and trainer.step > trainer.start_step:
            self.save(trainer)

    def save(self, trainer: Trainer) -> Path | None:
        """Save the trainer's state now (rank 0 writes; every rank must call it)."""
        if trainer.diverged:
            return None
        bad = non_finite_state(trainer.model)
        if bad:
            trainer.stop(
                f"non-finite weights or buffers after step {trainer.step}: {bad}", diverged=True
            )
            return None
        assert self.folder is not None
        try:
            path = trainer.save_checkpoint(self.folder / "last.pt")
        except NonFiniteState as error:  # e.g. an optimizer moment overflowed
            trainer.stop(f"{error} after step {trainer.step}", diverged=True)
            return None
        if path is not None and self.keep_steps:
            step_path = self.folder / f"step_{trainer.step:06d}.pt"
            atomic_write(step_path, lambda tmp: shutil.copyfile(path, tmp))
            self._prune()
        return path

    def _prune(self) -> None:
        assert self.folder is not None
        if self.keep_last is not None:
            for old in sorted(self.folder.glob("step_*.pt"))[: -self.keep_last or None]:
                old.unlink()


def non_finite_state(model: nn.Module, limit: int = 3) -> list[str]:
    """Names of (at most ``limit``) parameters or buffers holding NaN or inf; [] when all finite."""
    named = [
        (name, tensor.detach())
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]
        if tensor.is_floating_point()
    ]
    if not named:
        return []
    finite = torch.stack([tensor.isfinite().all() for _, tensor in named]).cpu().tolist()
    return [name for (name, _), ok in zip(named, finite, strict=True) if not ok][:limit]


class Validation(Callback):
    """Average ``model.validation_losses`` over a held-out loader every ``every`` steps.

    Runs at step 0 (``at_start``), every ``every`` steps and at the end, on rank 0, on at most
    ``batches`` batches (all when None); fires ``on_validation_end`` with ``"val/..."`` names.
    """

    def __init__(
        self,
        val_data: Dataset | None = None,
        every: int = 100,
        *,
        batches: int | None = None,
        batch_size: int | None = None,
        at_start: bool = True,
    ) -> None:
        self.val_data = val_data
        self.every = every
        self.batches = batches
        self.batch_size = batch_size
        self.at_start = at_start
        self.last_step: int | None = None
        self.latest: Losses = {}

    def on_fit_start(self, trainer: Trainer) -> None:
        data = self.val_data if self.val_data is not None else trainer.val_data
        if data is None:
            raise ValueError("Validation needs held-out data: pass val_data= to it or the Trainer")
        self._loader = DataLoader(data, batch_size=self.batch_size or trainer.batch_size)
        if self.at_start and trainer.start_step == 0:
            self.run(trainer, 0)

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        if every_due(step, self.every) and not trainer.diverged:
            self.run(trainer, step)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.last_step != trainer.step and not trainer.diverged:
            self.run(trainer, trainer.step)

    def run(self, trainer: Trainer, step: int) -> Losses:
        """Compute the held-out losses now and fire ``on_validation_end`` (rank 0 only)."""
        if not trainer.is_main:
            return {}
        self.last_step = step
        with trainer.unwrapped(), preserved_rng(), evaluating(trainer.model), trainer.autocast():
            self.latest = self._average(trainer)
        if self.latest:
            trainer.fire("on_validation_end", step, self.latest)
        return self.latest

    def _average(self, trainer: Trainer) -> Losses:
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for i, batch in enumerate(self._loader):
            if self.batches is not None and i >= self.batches:
                break
            batch = trainer.move(batch)
            n = int(batch["sketch"].shape[0])
            for name, value in trainer.model.validation_losses(batch).items():
                sums[name] = sums.get(name, 0.0) + value.detach().float() * n
            count += n
        names = [n if n.startswith("val/") else f"val/{n}" for n in sums]
        values = torch.stack(list(sums.values())).div(count).cpu().tolist() if sums else []
        return dict(zip(names, values, strict=True))


class SampleGrid(Callback):
    """Every ``every`` steps, draw a fixed batch of sketches and save sketch/generated/photo rows.

    The ``n`` items are picked once from the validation set (else the training set) with
    ``seed``, and generated with a generator seeded by ``seed``, so successive grids differ only
    by training.  Files: ``<run_dir>/samples/step_000123.png``; the latest grid is also kept as
    ``latest`` (uint8 HxWx3) with ``latest_path`` and ``latest_step``.
    """

    def __init__(self, every: int, n: int = 8, *, seed: int = 0, at_start: bool = True) -> None:
        self.every = every
        self.n = n
        self.seed = seed
        self.at_start = at_start
        self.batch: dict[str, Any] | None = None
        self.latest: np.ndarray | None = None
        self.latest_path: Path | None = None
        self.latest_step: int | None = None

    def on_fit_start(self, trainer: Trainer) -> None:
        if not trainer.is_main:
            return
        data = trainer.val_data if trainer.val_data is not None else trainer.train_data
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.seed))
        self.batch = default_collate([data[int(i)] for i in order[: self.n].sort().values])
        if self.at_start and trainer.start_step == 0:
            self.render(trainer, 0)

    def on_step_end(self, trainer: Trainer, step: int, losses: Losses) -> None:
        if every_due(step, self.every) and not trainer.diverged:
            self.render(trainer, step)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.latest_step != trainer.step and not trainer.diverged:
            self.render(trainer, trainer.step)

    def render(self, trainer: Trainer, step: int) -> np.ndarray | None:
        """Generate the fixed batch now; save and return the grid (rank 0 only)."""
        if self.batch is None:
            return None
        with trainer.unwrapped(), preserved_rng(), evaluating(trainer.model), trainer.autocast():
            outputs = self._generate(trainer)
        rows = [
            tensor_to_image(self.batch["sketch"]),
            *outputs,
            tensor_to_image(self.batch["photo"]),
        ]
        self.latest = image_grid([tile for row in rows for tile in row], ncols=len(outputs[0]))
        self.latest_step = step
        if trainer.run_dir is not None:
            path = Path(trainer.run_dir) / "samples" / f"step_{step:06d}.png"
            self.latest_path = write_image(path, self.latest, overwrite=True)
        return self.latest

    def _generate(self, trainer: Trainer) -> list[np.ndarray]:
        """One row per model output (the image, then e.g. EdgeGAN's edge), labels as the batch's.

        A generator seeded afresh each time gives the same z (and noise) at every step."""
        model = trainer.model
        assert self.batch is not None
        sketch = self.batch["sketch"].to(trainer.device)
        label = None
        if model.needs_label:
            label = model.label_indices(self.batch["label"], len(sketch)).to(trainer.device)
        rng = torch.Generator().manual_seed(self.seed)
        outputs = model.generate_outputs(sketch, rng=rng, label=label)
        return [tensor_to_image(outputs[name]) for name in model.output_names]


def default_callbacks(
    run_dir: str | os.PathLike | None,
    *,
    val_data: Dataset | None = None,
    checkpoint_every: int = 0,
    sample_every: int = 0,
    validate_every: int = 0,
    progress: bool = True,
) -> list[Callback]:
    """The trainer's standard set: record, NaN guard, validation, samples, checkpoints, bar.

    Periods of 0 mean "only at the end"; checkpoints need a ``run_dir``.
    """
    callbacks: list[Callback] = [HistoryRecorder(), NaNGuard()]
    if val_data is not None:
        callbacks.append(Validation(val_data, validate_every))
    callbacks.append(SampleGrid(sample_every))
    if run_dir is not None:
        callbacks.append(Checkpointer(checkpoint_every))
    if progress:
        callbacks.append(ProgressBar())
    return callbacks
