"""How much does a LossPanel slow a fast training loop down? Goal: under 5 %.

Runs the same cheap training loop with and without a :class:`~sketchwidgets.widgets.LossPanel`
attached, alternating the two, and prints the median time of each and the slowdown. Two loops:

* ``trainer`` (default): the real :class:`~sketchwidgets.train.trainer.Trainer` on a tiny
  pix2pix (32 px, ngf 4, ndf 4) over 8 embedded pairs, so every step is a real (small)
  D-then-G update;
* ``loop``: a tiny linear model's SGD step followed by the callback hooks the Trainer fires,
  i.e. the cheapest step a real loop can have (the worst case for the panel's share).

Times are the process's CPU time (``time.process_time``) with one torch thread: the wall clock
also counts whatever else the machine runs (it is printed too). "Training time" runs
from the first step to the end of the last; the panel's one final redraw in ``on_fit_end``
comes after training is over and is printed separately.

Usage::

    .venv/bin/python benchmarks/bench_loss_panel.py [--mode loop|trainer] [--steps N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace
from typing import Any

import torch


class Stopwatch:
    """CPU and wall seconds since creation (or since :meth:`lap`)."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def elapsed(self) -> tuple[float, float]:
        """``(cpu_s, wall_s)`` so far."""
        return time.process_time() - self.cpu, time.perf_counter() - self.wall


class FinalRedrawTimer:
    """Wraps a panel's ``on_fit_end`` to time the final redraw (it runs after the last step)."""

    def __init__(self, panel: Any) -> None:
        self.panel, self.seconds = panel, (0.0, 0.0)
        self._inner = panel.on_fit_end
        panel.on_fit_end = self

    def __call__(self, trainer: Any) -> None:
        watch = Stopwatch()
        self._inner(trainer)
        self.seconds = watch.elapsed()


def _loop_run(steps: int, callbacks: list[Any]) -> tuple[float, float]:
    """``(cpu_s, wall_s)`` of ``steps`` tiny SGD steps, firing the callback hooks per step."""
    torch.manual_seed(0)
    model = torch.nn.Linear(32, 32)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    x, y = torch.randn(16, 32), torch.randn(16, 32)
    trainer = SimpleNamespace(run_dir=None, stop_training=False)
    watch = Stopwatch()
    for cb in callbacks:
        cb.on_fit_start(trainer)
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        g_loss = torch.nn.functional.mse_loss(model(x), y)
        g_loss.backward()
        optimizer.step()
        losses = {"G/l1": g_loss.item(), "D/real": 0.69, "D/fake": 0.7}
        for cb in callbacks:
            cb.on_step_end(trainer, step, losses)
    elapsed = watch.elapsed()
    for cb in callbacks:
        cb.on_fit_end(trainer)
    return elapsed


def _trainer_run(steps: int, callbacks: list[Any]) -> tuple[float, float]:
    """``(cpu_s, wall_s)`` of ``Trainer.fit()`` on a tiny pix2pix, minus the final redraw."""
    from sketchwidgets.data.builtin import EmbeddedDataset
    from sketchwidgets.models import build_model
    from sketchwidgets.train.trainer import Trainer

    torch.manual_seed(0)
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4)
    data = EmbeddedDataset(8, size=32, seed=0)
    timers = [FinalRedrawTimer(cb) for cb in callbacks]
    trainer = Trainer(model, data, steps=steps, batch_size=4, callbacks=callbacks, seed=0)
    watch = Stopwatch()
    trainer.fit()
    cpu, wall = watch.elapsed()
    for timer in timers:
        cpu, wall = cpu - timer.seconds[0], wall - timer.seconds[1]
    return cpu, wall


def measure(mode: str, steps: int, repeats: int) -> dict[str, Any]:
    """Median (cpu, wall) seconds without and with a panel, and the last panel used."""
    from sketchwidgets.widgets import LossPanel

    run = _trainer_run if mode == "trainer" else _loop_run
    run(min(steps, 50), [])  # warm up imports and allocators
    bare, with_panel, panel = [], [], None
    for _ in range(repeats):
        bare.append(run(steps, []))
        panel = LossPanel(redraw_every_s=1.0)
        with_panel.append(run(steps, [panel]))
    median = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
    return {
        "bare": (median(bare, 0), median(bare, 1)),
        "panel": (median(with_panel, 0), median(with_panel, 1)),
        "last_panel": panel,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("loop", "trainer"), default="trainer")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = args.steps or (400 if args.mode == "trainer" else 20000)
    result = measure(args.mode, steps, args.repeats)
    (bare_cpu, bare_wall), (panel_cpu, panel_wall) = result["bare"], result["panel"]
    panel = result["last_panel"]
    print(f"mode={args.mode} steps={steps} repeats={args.repeats} torch threads={args.threads}")
    print(
        f"without panel: cpu {bare_cpu:.2f} s ({1e3 * bare_cpu / steps:.3f} ms/step), "
        f"wall {bare_wall:.2f} s"
    )
    print(
        f"with panel:    cpu {panel_cpu:.2f} s ({1e3 * panel_cpu / steps:.3f} ms/step), "
        f"wall {panel_wall:.2f} s; {panel.redraw_count} redraws, "
        f"last {1e3 * panel.last_redraw_s:.0f} ms"
    )
    print(f"slowdown (cpu): {100.0 * (panel_cpu - bare_cpu) / bare_cpu:+.1f} % (goal < 5 %)")
    print(f"slowdown (wall): {100.0 * (panel_wall - bare_wall) / bare_wall:+.1f} %")


if __name__ == "__main__":
    main()
