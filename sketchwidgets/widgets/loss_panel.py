"""LossPanel: live loss curves of a training run, or of finished runs read from disk.

The panel is a view over :class:`~sketchwidgets.train.history.History` records (the record is
kept apart from its views, as livelossplot's logger is from its outputs). It is also a trainer
:class:`~sketchwidgets.train.callbacks.Callback` (``trainer.add_callback(panel)``): when the
trainer keeps a record (its ``HistoryRecorder``, one of the default callbacks) the panel shows
``trainer.history`` itself; otherwise the panel appends each step's losses to its own History.
Either way ``panel.history`` is the live record, and redraws are throttled by time. A finished
or running run is read from its log, ``<run_dir>/history.jsonl`` (:meth:`LossPanel.from_run_dir`,
:meth:`LossPanel.add_run`), so the panel is rebuilt after a kernel restart.

Curves are drawn with matplotlib's Agg canvas straight to PNG bytes shown in an
``ipywidgets.Image`` (no pyplot, no inline backend, so it works the same under nbval):
one axis per group of names (``G/``, ``D/``, ``val/``, then any others), one line per run and
name, EMA smoothing (``smoothing`` = the EMA's alpha) and an optional log scale. Smoothing
applies to the per-step training curves only, with their raw values drawn faintly behind;
validation values (``val/``), measured at a few steps, are drawn as they are: points joined by
lines, so the curve agrees with the printed numbers. Beside the curves: the newest fixed-seed
sample grid ``<run_dir>/samples/*.png``.

Throttling: a redraw happens at most every ``redraw_every_s`` seconds *and* at most once per
50 times the last redraw's own duration, so drawing takes under 2 % of a training loop's time
however slow the machine is; ``on_fit_end`` always redraws.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from ipywidgets import Button, Checkbox, FloatSlider, HBox, Image, Label, Layout, Output, VBox
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator
from traitlets import Bool, CFloat, TraitError, observe, validate

from sketchwidgets.io import read_image
from sketchwidgets.train.callbacks import Callback, HistoryRecorder
from sketchwidgets.train.history import History, RunLogReader, ema, group_of
from sketchwidgets.widgets._images import (
    StaticFallback,
    Throttle,
    format_exception,
    placeholder,
    resize,
    to_png,
)

LIVE_RUN = "live"
HISTORY_FILE = "history.jsonl"
GROUP_ORDER = ("G", "D", "val")
MAX_POINTS = 400  # points drawn per curve (long runs are thinned by striding)
VALIDATION_GROUP = "val"  # measured at a few steps: drawn as points, never smoothed
RAW_ALPHA = 0.25  # opacity of the raw values behind a smoothed training curve
REDRAW_BUDGET = 50.0  # redraw at most once per REDRAW_BUDGET x the last redraw's duration


def group_axes(names: Iterable[str]) -> list[str]:
    """The groups to draw, in panel order: G, D, val, then the others alphabetically."""
    groups = {group_of(n) for n in names}
    return [g for g in GROUP_ORDER if g in groups] + sorted(groups - set(GROUP_ORDER))


def thin(
    steps: np.ndarray, values: np.ndarray, limit: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``limit`` evenly strided points (the last point is always kept)."""
    if len(steps) <= limit:
        return steps, values
    index = np.unique(np.append(np.arange(0, len(steps), len(steps) // limit), len(steps) - 1))
    return steps[index], values[index]


def newest_sample(run_dir: str | os.PathLike) -> Path | None:
    """The most recent ``<run_dir>/samples/*.png`` (by name, then time), or None."""
    folder = Path(run_dir) / "samples"
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return max(files, key=lambda p: (p.stat().st_mtime, p.name)) if files else None


def _records_history(trainer: Any) -> bool:
    """True when ``trainer`` keeps its own History (a HistoryRecorder is among its callbacks)."""
    callbacks = getattr(trainer, "callbacks", ())
    return isinstance(getattr(trainer, "history", None), History) and any(
        isinstance(cb, HistoryRecorder) for cb in callbacks
    )


class _Run:
    """One run shown by the panel: its History and, when read from disk, its log reader."""

    def __init__(self, history: History, run_dir: Path | None = None) -> None:
        self.history = history
        self.run_dir = run_dir
        self.reader = RunLogReader(run_dir / HISTORY_FILE) if run_dir is not None else None

    def poll(self) -> int:
        """Append records added to the run log since the last poll; returns how many."""
        if self.reader is None:
            return 0
        records = self.reader.poll()
        self.history.extend(records)
        return len(records)


class LossPanel(StaticFallback, VBox, Callback):
    """Loss curves (G and D on separate axes), smoothing, log scale, runs overlaid, samples.

    Parameters
    ----------
    run_dirs
        Run folders (each with ``history.jsonl``) to show, overlaid.
    history
        A History to show as the live run (default: a new one filled while training).
    smoothing
        EMA alpha in [0, 1) for the training curves: 0 draws raw values, 0.9 smooths strongly.
    log_scale
        Logarithmic y axes.
    redraw_every_s
        Minimum seconds between redraws while training.
    """

    smoothing = CFloat(
        0.0, help="EMA alpha in [0, 1) for the training curves (validation is never smoothed)."
    ).tag(sync=True)
    log_scale = Bool(False, help="Logarithmic y axes.").tag(sync=True)

    def __init__(
        self,
        run_dirs: Iterable[str | os.PathLike] | None = None,
        *,
        history: History | None = None,
        smoothing: float = 0.0,
        log_scale: bool = False,
        redraw_every_s: float = 1.0,
        figsize: tuple[float, float] = (6.4, 2.8),
        **kwargs: Any,
    ) -> None:
        if isinstance(run_dirs, str | os.PathLike):
            raise TypeError(
                f"run_dirs takes a list of run folders, got the single path "
                f"{os.fspath(run_dirs)!r}: pass [{os.fspath(run_dirs)!r}] or use "
                "LossPanel.from_run_dir(path)"
            )
        self.runs: dict[str, _Run] = {}  # runs read from disk
        self._live: History | None = history
        self._trainer: Any = None  # a trainer whose own History is followed
        self.live_run_dir: Path | None = None
        self.redraw_every_s = float(redraw_every_s)
        self.throttle = Throttle(self.redraw_every_s)
        self.redraw_count = 0
        self.last_redraw_s = 0.0
        self.figsize = figsize
        self._figure: Any = None
        self._ready = False
        self.plot = Image(format="png")
        self.plot.add_class("sketchwidgets-loss-plot")
        self.samples = Image(format="png", layout=Layout(max_width="40%"))
        self.status = Label()
        self.output = Output(layout=Layout(max_height="12em", overflow="auto"))
        controls = self._build_controls()
        super().__init__(
            [controls, HBox([self.plot, self.samples]), self.status, self.output],
            smoothing=smoothing,
            log_scale=log_scale,
            **kwargs,
        )
        self.add_class("sketchwidgets-loss-panel")
        for run_dir in run_dirs or ():
            self.add_run(run_dir, redraw=False)
        self._ready = True
        self.redraw()

    def _build_controls(self) -> HBox:
        self.smoothing_slider = FloatSlider(min=0.0, max=0.99, step=0.01, description="smoothing")
        self.log_checkbox = Checkbox(description="log scale", indent=False)
        self.refresh_button = Button(description="reload runs", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        from traitlets import link

        link((self, "smoothing"), (self.smoothing_slider, "value"))
        link((self, "log_scale"), (self.log_checkbox, "value"))
        return HBox([self.smoothing_slider, self.log_checkbox, self.refresh_button])

    # ----- runs -----------------------------------------------------------------------------
    @classmethod
    def from_run_dir(cls, path: str | os.PathLike, **kwargs: Any) -> LossPanel:
        """A panel showing the run logged in ``path`` (``path/history.jsonl``)."""
        return cls(run_dirs=[path], **kwargs)

    def add_run(
        self, path: str | os.PathLike, *, name: str | None = None, redraw: bool = True
    ) -> History:
        """Overlay the run logged in ``path``; returns its History (re-read from disk)."""
        run_dir = Path(path)
        if not (run_dir / HISTORY_FILE).is_file():
            raise FileNotFoundError(f"no run log {run_dir / HISTORY_FILE}")
        key = name or run_dir.name
        if key in self.runs:
            raise ValueError(f"a run named {key!r} is already shown; pass name=...")
        run = _Run(History(), run_dir)
        run.poll()
        self.runs[key] = run
        if redraw:
            self.redraw()
        return run.history

    @property
    def history(self) -> History:
        """The live record: the followed trainer's History, else the panel's own."""
        if self._trainer is not None:
            return self._trainer.history
        if self._live is None:
            self._live = History()
        return self._live

    def histories(self) -> dict[str, History]:
        """Every shown History by name: ``"live"`` (when there is one), then the disk runs."""
        shown = {}
        if self._trainer is not None or self._live is not None:
            shown[LIVE_RUN] = self.history
        shown.update((name, run.history) for name, run in self.runs.items())
        return shown

    def refresh(self) -> int:
        """Re-read the run logs on disk (runs still training grow) and redraw."""
        added = sum(run.poll() for run in self.runs.values())
        self.redraw()
        return added

    # ----- Callback -------------------------------------------------------------------------
    def on_fit_start(self, trainer: Any) -> None:
        """Follow the trainer's record (or keep one) and its run folder (for the samples)."""
        run_dir = getattr(trainer, "run_dir", None)
        self.live_run_dir = Path(run_dir) if run_dir is not None else None
        self._trainer = trainer if _records_history(trainer) else None
        self.history  # noqa: B018 - make sure a live record exists
        self.throttle.start()  # the first redraw comes after redraw_every_s

    def on_step_end(self, trainer: Any, step: int, losses: dict[str, float]) -> None:
        """Record the step's losses (unless the trainer does); redraw when the throttle allows."""
        if self._trainer is None:
            self.history.append(step, losses)
        self._maybe_redraw()

    def on_validation_end(self, trainer: Any, step: int, losses: dict[str, float]) -> None:
        """Record validation losses (``val/...``) likewise."""
        if self._trainer is None:
            self.history.append(step, losses)
        self._maybe_redraw()

    def on_fit_end(self, trainer: Any) -> None:
        """Final redraw with every step."""
        self.redraw()

    def _maybe_redraw(self) -> None:
        self.throttle.interval = max(self.redraw_every_s, REDRAW_BUDGET * self.last_redraw_s)
        if self.throttle.ready():
            self.redraw()

    # ----- drawing --------------------------------------------------------------------------
    @validate("smoothing")
    def _check_smoothing(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0.0 <= value < 1.0:
            raise TraitError(f"smoothing must be in [0, 1), got {value}")
        return value

    @observe("smoothing", "log_scale")
    def _options_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self.redraw()

    def redraw(self) -> None:
        """Draw the curves and the sample strip now (errors go to the Output area)."""
        start = time.perf_counter()
        try:
            self.plot.value = to_png(self.curves_image())
            sample = self.sample_image()
            self.samples.value = to_png(sample) if sample is not None else b""
            self.samples.layout.display = None if sample is not None else "none"
        except Exception as error:  # a bad log line must not kill a training loop
            self.output.append_stderr(format_exception(error))
        self.last_redraw_s = time.perf_counter() - start
        self.redraw_count += 1
        self.status.value = self._status_text()

    def _status_text(self) -> str:
        parts = [
            f"{name}: step {history.last_step}"
            for name, history in self.histories().items()
            if history.last_step is not None
        ]
        return "; ".join(parts) if parts else "no losses yet"

    def curves_image(self) -> np.ndarray:
        """The loss plot as a uint8 RGB array."""
        names = [n for history in self.histories().values() for n in history.names()]
        groups = group_axes(names)
        if not groups:
            h, w = int(self.figsize[1] * 80), int(self.figsize[0] * 80)
            return placeholder("no losses yet", (h, w))
        figure = self._new_figure(len(groups))
        for axis, group in zip(figure.axes, groups, strict=True):
            self._draw_group(axis, group)
        figure.canvas.draw()
        return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()

    def _new_figure(self, n_axes: int) -> Any:
        if self._figure is None:
            self._figure = Figure(figsize=self.figsize, dpi=80)
            FigureCanvasAgg(self._figure)
        self._figure.clear()
        self._figure.subplots(1, n_axes, squeeze=False)
        # fixed margins: tight_layout would draw the figure once more just to measure it
        self._figure.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.9, wspace=0.25)
        return self._figure

    def _draw_group(self, axis: Any, group: str) -> None:
        """One axis: every run's curves whose name is in ``group``."""
        styles = ("-", "--", ":", "-.")
        shown = self.histories()
        for r, (run_name, history) in enumerate(shown.items()):
            for name in history.groups().get(group, []):
                steps, values = history.series(name)
                label = name if len(shown) == 1 else f"{run_name}: {name}"
                style = styles[r % len(styles)]
                if group == VALIDATION_GROUP:
                    axis.plot(steps, values, style, marker="o", markersize=3, label=label)
                else:
                    self._draw_training_curve(axis, steps, values, style, label)
        self._style_axis(axis, group)

    def _draw_training_curve(
        self, axis: Any, steps: np.ndarray, values: np.ndarray, style: str, label: str
    ) -> None:
        """The smoothed curve, with the raw values faint behind it when smoothing is on."""
        shown = ema(values, self.smoothing) if self.smoothing > 0 else values
        (line,) = axis.plot(*thin(steps, shown), style, label=label, linewidth=1.2)
        if self.smoothing > 0:
            raw = axis.plot(*thin(steps, values), style, color=line.get_color(), linewidth=0.8)
            raw[0].set_alpha(RAW_ALPHA)
            raw[0].set_zorder(line.get_zorder() - 1)

    def _style_axis(self, axis: Any, group: str) -> None:
        """Title, small ticks, log scale with 1-2-5 labels, legend."""
        axis.set_title(group, fontsize=9)
        axis.set_xlabel("step", fontsize=8)
        axis.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        if self.log_scale:
            axis.set_yscale("log")
            label = FuncFormatter(lambda value, _pos: f"{value:.3g}")
            axis.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
            axis.yaxis.set_major_formatter(label)
            axis.yaxis.set_minor_formatter(label)
        axis.tick_params(which="both", labelsize=7)
        if axis.lines:
            axis.legend(fontsize=7, loc="best")

    def sample_image(self) -> np.ndarray | None:
        """The newest fixed-seed sample grid of the live run (or else the first run on disk)."""
        folders = [self.live_run_dir] + [run.run_dir for run in self.runs.values()]
        for folder in folders:
            newest = newest_sample(folder) if folder is not None else None
            if newest is not None:
                image = read_image(newest)
                height = int(self.figsize[1] * 80)
                width = max(1, round(image.shape[1] * height / image.shape[0]))
                return resize(image, (height, width))
        return None

    # ----- static fallback ------------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """Curves with the sample grid beside them."""
        curves = self.curves_image()
        sample = self.sample_image()
        if sample is None:
            return curves
        height = max(curves.shape[0], sample.shape[0])
        pad = [
            np.pad(a, ((0, height - a.shape[0]), (0, 4), (0, 0)), constant_values=255)
            for a in (curves, sample)
        ]
        return np.concatenate(pad, axis=1)

    def summary(self) -> str:
        """E.g. ``LossPanel: 1 run (live: 30 steps, names D/fake D/real G/gan G/l1)``."""
        parts = []
        shown = self.histories()
        for name, history in shown.items():
            steps = len({r["step"] for r in history.records})
            parts.append(f"{name}: {steps} steps, names {' '.join(sorted(history.names()))}")
        if not shown:
            return "LossPanel: no runs yet"
        label = "run" if len(shown) == 1 else "runs"
        return f"LossPanel: {len(shown)} {label} (" + "; ".join(parts) + ")"
