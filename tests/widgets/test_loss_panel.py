"""LossPanel as a trainer callback and as a view of run logs on disk."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import numpy as np
import pytest

from sketchwidgets.io import write_image
from sketchwidgets.train.callbacks import Callback
from sketchwidgets.train.history import History
from sketchwidgets.widgets import LossPanel
from sketchwidgets.widgets._images import from_png


def _losses(step: int) -> dict[str, float]:
    rng = np.random.default_rng(step)
    return {
        "G/gan": 2.0 / (1 + step) + 0.1 * rng.random(),
        "G/l1": 1.0 / (1 + 0.1 * step),
        "D/real": 0.7 + 0.05 * rng.random(),
        "D/fake": 0.6,
    }


def _train(panel: LossPanel, steps: int, run_dir=None) -> SimpleNamespace:
    """Feed the callback hooks the way the Trainer does."""
    trainer = SimpleNamespace(run_dir=run_dir)
    panel.on_fit_start(trainer)
    for step in range(1, steps + 1):
        panel.on_step_end(trainer, step, _losses(step))
    panel.on_validation_end(trainer, steps, {"val/l1": 0.5})
    panel.on_fit_end(trainer)
    return trainer


def _write_run(folder, steps: int, *, samples: bool = False) -> History:
    history = History()
    for step in range(1, steps + 1):
        history.append(step, _losses(step), time=float(step))
    history.to_jsonl(folder / "history.jsonl")
    if samples:
        write_image(folder / "samples" / "step_000001.png", np.zeros((16, 48, 3), np.uint8))
        write_image(folder / "samples" / "step_000009.png", np.full((16, 48, 3), 200, np.uint8))
    return history


def test_is_a_trainer_callback_recording_the_losses():
    panel = LossPanel(redraw_every_s=3600)
    assert isinstance(panel, Callback)
    _train(panel, 30)
    assert len(panel.history) == 31
    assert panel.history.series("G/l1")[0].tolist() == list(range(1, 31))
    assert panel.history.last("val/l1") == 0.5


def test_redraws_are_throttled_by_time_and_by_their_own_cost():
    clock = [0.0]
    panel = LossPanel(redraw_every_s=1.0)
    panel.throttle.clock = lambda: clock[0]
    panel.on_fit_start(None)
    before = panel.redraw_count
    for step in range(1, 11):  # one step per second
        panel.last_redraw_s = 0.1  # a slow machine: 50 x 0.1 s = 5 s between redraws
        clock[0] = float(step)
        panel.on_step_end(None, step, {"G/l1": 1.0})
    assert panel.redraw_count - before == 2  # at 5 s and 10 s, not every second


def test_no_redraw_per_step():
    panel = LossPanel(redraw_every_s=3600)
    start = panel.redraw_count
    _train(panel, 200)
    # only the final redraw at fit end: none per step
    assert panel.redraw_count - start == 1


def test_g_d_and_val_get_separate_axes():
    panel = LossPanel(redraw_every_s=3600)
    _train(panel, 10)
    panel.curves_image()
    titles = [axis.get_title() for axis in panel._figure.axes]
    assert titles == ["G", "D", "val"]
    assert [line.get_label() for line in panel._figure.axes[0].lines] == ["G/gan", "G/l1"]


def test_rebuilt_from_the_run_log_equals_the_live_history(tmp_path):
    written = _write_run(tmp_path, 25)
    panel = LossPanel.from_run_dir(tmp_path)
    assert panel.histories() == {tmp_path.name: written}
    assert from_png(panel.plot.value).shape[2] in (3, 4)
    assert panel.status.value == f"{tmp_path.name}: step 25"


def test_refresh_follows_a_growing_log(tmp_path):
    _write_run(tmp_path, 5)
    panel = LossPanel.from_run_dir(tmp_path)
    with open(tmp_path / "history.jsonl", "a") as log:
        log.write('{"step": 6, "time": 6.0, "G/l1": 0.1}\n')
    assert panel.refresh() == 1
    assert panel.histories()[tmp_path.name].last_step == 6


def test_several_runs_are_overlaid(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write_run(tmp_path / "a", 10)
    _write_run(tmp_path / "b", 20)
    panel = LossPanel([tmp_path / "a"])
    one_run = panel.plot.value
    panel.add_run(tmp_path / "b")
    assert panel.plot.value != one_run
    labels = [line.get_label() for line in panel._figure.axes[0].lines]
    assert labels == ["a: G/gan", "a: G/l1", "b: G/gan", "b: G/l1"]
    with pytest.raises(ValueError, match="already shown"):
        panel.add_run(tmp_path / "b")
    with pytest.raises(FileNotFoundError, match="history.jsonl"):
        panel.add_run(tmp_path / "missing")


def test_smoothing_and_log_scale_change_the_image(tmp_path):
    _write_run(tmp_path, 60)
    panel = LossPanel.from_run_dir(tmp_path)
    raw = panel.plot.value
    panel.smoothing_slider.value = 0.9
    assert panel.smoothing == 0.9
    smooth = panel.plot.value
    assert smooth != raw
    panel.log_checkbox.value = True
    assert panel.plot.value not in (raw, smooth)
    assert panel._figure.axes[0].get_yscale() == "log"
    with pytest.raises(Exception, match="smoothing must be in"):
        panel.smoothing = 1.5


def test_newest_sample_grid_is_shown_beside_the_curves(tmp_path):
    _write_run(tmp_path, 10, samples=True)
    panel = LossPanel.from_run_dir(tmp_path)
    sample = from_png(panel.samples.value)
    assert sample[..., :3].mean() == pytest.approx(200, abs=2)  # the newest grid, step 9
    assert sample.shape[0] == int(panel.figsize[1] * 80)


def test_live_training_shows_the_trainer_samples(tmp_path):
    write_image(tmp_path / "samples" / "step_000002.png", np.full((8, 8, 3), 90, np.uint8))
    panel = LossPanel(redraw_every_s=3600)
    _train(panel, 3, run_dir=tmp_path)
    assert from_png(panel.samples.value)[..., :3].mean() == pytest.approx(90, abs=2)


def test_empty_panel_and_mimebundle(tmp_path):
    panel = LossPanel()
    assert panel.status.value == "no losses yet"
    assert panel.summary() == "LossPanel: no runs yet"
    _write_run(tmp_path, 4)
    panel = LossPanel.from_run_dir(tmp_path)
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == (
        f"LossPanel: 1 run ({tmp_path.name}: 4 steps, names D/fake D/real G/gan G/l1)"
    )
    assert from_png(base64.b64decode(bundle["image/png"])).ndim == 3


def test_follows_a_real_trainer_and_rebuilds_from_its_run_log(tmp_path):
    from sketchwidgets.data.builtin import EmbeddedDataset
    from sketchwidgets.models import build_model
    from sketchwidgets.train.trainer import Trainer

    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4)
    trainer = Trainer(
        model,
        EmbeddedDataset(8, size=32),
        steps=4,
        batch_size=4,
        run_dir=tmp_path / "run",
        sample_every=2,
        checkpoint_every=0,
    )
    panel = LossPanel(redraw_every_s=3600)
    trainer.add_callback(panel)
    history = trainer.fit()
    assert panel.history is history and len(history) == 4  # followed, not recorded twice
    assert {"G", "D"} <= set(history.groups())
    assert panel.samples.layout.display is None  # the trainer's sample grid is shown
    rebuilt = LossPanel.from_run_dir(tmp_path / "run")
    assert rebuilt.histories()["run"] == history


def _lines(panel: LossPanel, title: str) -> list:
    panel.curves_image()
    (axis,) = [a for a in panel._figure.axes if a.get_title() == title]
    return axis.lines


def test_validation_values_are_drawn_as_they_are_however_strong_the_smoothing():
    history = History()
    measured = {10: 0.5, 20: 0.3, 30: 0.45, 40: 0.2}
    for step in range(1, 41):
        history.append(step, _losses(step))
        if step in measured:
            history.append(step, {"val/l1": measured[step]})
    panel = LossPanel(history=history, smoothing=0.9)
    (line,) = _lines(panel, "val")
    assert line.get_xdata().tolist() == list(measured)
    assert np.allclose(line.get_ydata(), list(measured.values()))  # the printed numbers
    assert line.get_marker() == "o" and line.get_linestyle() == "-"  # points joined by lines


def test_smoothed_training_curves_keep_their_raw_values_faint_behind():
    history = History()
    for step in range(1, 41):
        history.append(step, _losses(step))
    raw = history.series("G/gan")[1]
    panel = LossPanel(history=history, smoothing=0.9)
    curves = [line for line in _lines(panel, "G") if np.allclose(line.get_xdata()[:1], 1)]
    labelled = {line.get_label(): line for line in curves if not line.get_label().startswith("_")}
    faint = [line for line in curves if (line.get_alpha() or 1.0) < 0.5]
    assert not np.allclose(labelled["G/gan"].get_ydata(), raw)  # the curve is smoothed
    assert any(np.allclose(line.get_ydata(), raw) for line in faint)  # the raw values behind
    panel.smoothing = 0.0
    assert all(line.get_alpha() is None for line in _lines(panel, "G"))  # no smoothing: raw only
