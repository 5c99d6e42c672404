"""Callbacks: progress, the run log, sample grids, validation, checkpoints and the NaN guard."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchwidgets.io import read_image
from sketchwidgets.train.callbacks import (
    Callback,
    Checkpointer,
    HistoryRecorder,
    NaNGuard,
    ProgressBar,
    SampleGrid,
    TrainingDiverged,
    Validation,
    default_callbacks,
    every_due,
    format_losses,
)
from sketchwidgets.train.checkpoint import load_checkpoint
from sketchwidgets.train.history import History
from sketchwidgets.train.trainer import Trainer


def _fit(model, data, callbacks, **kwargs):
    kwargs.setdefault("steps", 6)
    kwargs.setdefault("batch_size", 4)
    trainer = Trainer(model, data, callbacks=callbacks, **kwargs)
    trainer.fit()
    return trainer


def test_helpers():
    assert [s for s in range(7) if every_due(s, 3)] == [3, 6]
    assert not any(every_due(s, 0) for s in range(5))
    assert format_losses({"G/gan": 0.693147, "D/real": 12.5}) == "G/gan=0.693 D/real=12.5"


def test_default_set_and_order():
    names = [type(c).__name__ for c in default_callbacks("run", val_data=[1], checkpoint_every=5)]
    assert names == [
        "HistoryRecorder",
        "NaNGuard",
        "Validation",
        "SampleGrid",
        "Checkpointer",
        "ProgressBar",
    ]
    names = [type(c).__name__ for c in default_callbacks(None, progress=False)]
    assert names == ["HistoryRecorder", "NaNGuard", "SampleGrid"]


def test_history_recorder_run_log_rereads_as_the_same_history(tmp_path, regressor, tiny_data):
    trainer = _fit(
        regressor(), tiny_data, [HistoryRecorder(), Validation(tiny_data, 3)], run_dir=tmp_path
    )
    history = trainer.history
    assert history.series("G/l1")[0].tolist() == [1, 2, 3, 4, 5, 6]
    assert history.series("val/l1")[0].tolist() == [0, 3, 6]
    assert History.from_jsonl(tmp_path / "history.jsonl") == history
    losses = history.series("G/l1")[1]
    assert losses[-1] < losses[0]


def test_validation_averages_over_the_held_out_set_and_is_weighted_by_batch(regressor, tiny_data):
    model = regressor()
    trainer = _fit(
        model,
        tiny_data,
        [HistoryRecorder(), Validation(tiny_data, 0, batch_size=5, at_start=False)],
    )
    with torch.no_grad():
        expected = (model.net(tiny_data.sketches) - tiny_data.photos).abs().mean().item()
    steps, values = trainer.history.series("val/l1")
    assert steps.tolist() == [6]  # every=0: only at the end
    assert values[0] == pytest.approx(expected, rel=1e-5)


def test_validation_and_sampling_do_not_shift_the_training_randomness(regressor, tiny_data):
    plain = _fit(regressor(dropout=0.5), tiny_data, [HistoryRecorder()])
    busy = _fit(
        regressor(dropout=0.5),
        tiny_data,
        [HistoryRecorder(), Validation(tiny_data, 1), SampleGrid(1, n=2)],
    )
    np.testing.assert_array_equal(plain.history.series("G/l1")[1], busy.history.series("G/l1")[1])


def test_sample_grid_writes_sketch_generated_photo_rows(
    tmp_path, pix2pix, embedded_train, embedded_val
):
    grid = SampleGrid(2, n=3, seed=1)
    trainer = _fit(
        pix2pix(), embedded_train, [grid], steps=2, val_data=embedded_val, run_dir=tmp_path
    )
    files = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert files == ["step_000000.png", "step_000002.png"]
    image = read_image(tmp_path / "samples" / "step_000002.png")
    pad = 2
    assert image.shape == (3 * (32 + pad) + pad, 3 * (32 + pad) + pad, 3)
    np.testing.assert_array_equal(image, grid.latest)
    assert grid.latest_path == tmp_path / "samples" / "step_000002.png" and grid.latest_step == 2
    sketch_tile = image[pad : pad + 32, pad : pad + 32, 0]
    photo_tile = image[2 * (32 + pad) + pad : 3 * (32 + pad), pad : pad + 32]
    first = int(grid.batch["path"][0].rsplit("/", 1)[1])  # the items come from the val split
    assert first >= len(embedded_train)
    item = embedded_val[
        [p for p in range(len(embedded_val)) if embedded_val.path(p) == grid.batch["path"][0]][0]
    ]
    from sketchwidgets.io import tensor_to_image

    np.testing.assert_array_equal(sketch_tile, tensor_to_image(item["sketch"]))
    np.testing.assert_array_equal(photo_tile, tensor_to_image(item["photo"]))
    again = grid.render(trainer, 2)  # same weights, same fixed batch and seed: same picture
    np.testing.assert_array_equal(again, image)


def test_progress_bar_shows_losses_in_a_console(regressor, tiny_data, capsys):
    _fit(regressor(), tiny_data, [ProgressBar()], steps=3)
    err = capsys.readouterr().err
    assert "3/3" in err and "G/l1=" in err


def test_the_trainer_itself_prints_nothing(regressor, tiny_data, capsys):
    _fit(regressor(), tiny_data, [HistoryRecorder(), NaNGuard()])
    assert capsys.readouterr() == ("", "")


class _Snapshot(Callback):
    """Keeps a copy of the weights after each step (to compare with checkpoints)."""

    def __init__(self):
        self.weights = {}

    def on_step_end(self, trainer, step, losses):
        self.weights[step] = {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("guard_first", [True, False])
def test_nan_loss_stops_and_the_last_good_checkpoint_survives(
    tmp_path, regressor, tiny_data, guard_first
):
    snapshot = _Snapshot()
    callbacks = [NaNGuard(), Checkpointer(2), snapshot]
    if not guard_first:  # whatever the order, a non-finite step is never saved
        callbacks = callbacks[1::-1] + [snapshot]
    with pytest.raises(TrainingDiverged) as caught:
        _fit(
            regressor(nan_at=5),
            tiny_data,
            [HistoryRecorder(), *callbacks],
            steps=10,
            run_dir=tmp_path,
        )
    last = tmp_path / "checkpoints" / "last.pt"
    message = str(caught.value)
    assert "non-finite loss at step 5: G/l1=nan" in message
    assert f"last good checkpoint is {last} (step 4)" in message
    state = load_checkpoint(last)
    assert state["step"] == 4
    for key, value in snapshot.weights[4].items():
        assert torch.equal(state["state_dict"][key], value)
    assert max(snapshot.weights) == 5  # stopped right after the bad step
    history = History.from_jsonl(tmp_path / "history.jsonl")
    assert history.last_step == 5 and np.isnan(history.last("G/l1"))


class _CorruptWeights(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, step, losses):
        if step == self.step:
            with torch.no_grad():
                trainer.model.net[0].weight[0, 0, 0, 0] = float("inf")


def test_non_finite_weights_are_never_checkpointed(tmp_path, regressor, tiny_data):
    with pytest.raises(
        TrainingDiverged,
        match=r"non-finite weights or buffers after step 4: \[.net.0.weight.\].*\(step 2\)",
    ):
        _fit(
            regressor(),
            tiny_data,
            [_CorruptWeights(4), Checkpointer(2)],
            steps=10,
            run_dir=tmp_path,
        )
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 2


def test_divergence_before_any_checkpoint_says_so(regressor, tiny_data):
    with pytest.raises(TrainingDiverged, match="no checkpoint was written"):
        _fit(regressor(nan_at=1), tiny_data, [NaNGuard()])


def test_checkpointer_keeps_step_files_and_prunes(tmp_path, regressor, tiny_data):
    trainer = _fit(
        regressor(),
        tiny_data,
        [Checkpointer(2, keep_steps=True, keep_last=2)],
        steps=7,
        run_dir=tmp_path,
    )
    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == [
        "last.pt",
        "step_000006.pt",
        "step_000007.pt",
    ]
    assert load_checkpoint(folder / "last.pt")["step"] == 7  # the end of the run is saved too
    assert trainer.last_checkpoint == (folder / "last.pt", 7)


def test_checkpointer_without_a_folder_is_an_error(regressor, tiny_data):
    with pytest.raises(ValueError, match="run_dir"):
        _fit(regressor(), tiny_data, [Checkpointer(2)])


def test_validation_without_data_is_an_error(regressor, tiny_data):
    with pytest.raises(ValueError, match="val_data"):
        _fit(regressor(), tiny_data, [Validation(every=2)])
