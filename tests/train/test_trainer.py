"""The trainer: deterministic data order, exact resume, files of a run, clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.models import load_model
from sketchwidgets.train.callbacks import Callback, HistoryRecorder, NaNGuard, TrainingDiverged
from sketchwidgets.train.checkpoint import load_checkpoint
from sketchwidgets.train.history import History
from sketchwidgets.train.trainer import StepBatchSampler, Trainer


def _batches(**kwargs):
    return list(StepBatchSampler(10, batch_size=4, seed=0, **kwargs))


def test_sampler_shuffles_each_epoch_and_drops_the_incomplete_batch():
    batches = _batches(start=0, stop=6)
    assert all(len(b) == 4 for b in batches)
    epochs = [sorted(batches[i] + batches[i + 1]) for i in (0, 2, 4)]  # 2 full batches an epoch
    assert all(len(set(e)) == 8 for e in epochs)  # no repeats within an epoch
    assert batches[0:2] != batches[2:4]  # a new order each epoch
    assert _batches(start=0, stop=6) == batches  # a pure function of (seed, step)
    assert list(StepBatchSampler(10, batch_size=4, seed=1, start=0, stop=2)) != batches[:2]


def test_sampler_resumes_mid_run_and_shards_the_global_batch():
    batches = _batches(start=0, stop=6)
    assert _batches(start=3, stop=6) == batches[3:]
    shards = [_batches(start=0, stop=6, rank=r, world_size=2) for r in (0, 1)]
    assert [a + b for a, b in zip(*shards, strict=True)] == batches
    with pytest.raises(ValueError, match="3 items, fewer than one batch"):
        StepBatchSampler(3, batch_size=4, seed=0, start=0, stop=1)


def _flip(sketch, photo, rng):
    """A random augmentation drawn from torch's global generator (via the dataset's rng)."""
    return (sketch[:, ::-1], photo[:, ::-1]) if rng.random() < 0.5 else (sketch, photo)


@pytest.fixture(scope="module")
def flipped():
    return EmbeddedDataset(24, size=32, seed=0, val_fraction=0.25, transform=_flip, workers=1)


def _settings(embedded_val):
    # every callback of the default set runs: record, guard, validation, samples, checkpoints
    return dict(
        batch_size=4, val_data=embedded_val, checkpoint_every=3, sample_every=3, validate_every=3
    )


def _assert_same_losses(a: History, b: History, names):
    for name in names:
        steps_a, values_a = a.series(name)
        steps_b, values_b = b.series(name)
        assert steps_a.tolist() == steps_b.tolist(), name
        np.testing.assert_allclose(values_a, values_b, rtol=1e-6, atol=1e-7, err_msg=name)


def test_resume_continues_exactly(tmp_path, pix2pix, flipped, embedded_val):
    """6 steps straight == 3 steps, save, fresh objects, resume, 3 steps (dropout and BN on)."""
    straight = Trainer(
        pix2pix(seed=0), flipped, steps=6, run_dir=tmp_path / "straight", **_settings(embedded_val)
    ).fit()
    Trainer(
        pix2pix(seed=0), flipped, steps=3, run_dir=tmp_path / "halves", **_settings(embedded_val)
    ).fit()
    checkpoint = tmp_path / "halves" / "checkpoints" / "last.pt"
    half = shutil.copyfile(checkpoint, tmp_path / "half.pt")  # last.pt moves on when resumed
    torch.manual_seed(99)  # the resumed run must not depend on the global RNG before it
    resumed = Trainer.resume(checkpoint, flipped, steps=6, **_settings(embedded_val)).fit()
    names = ["G/gan", "G/l1", "D/real", "D/fake", "val/l1"]
    assert resumed.series("G/l1")[0].tolist() == [1, 2, 3, 4, 5, 6]
    _assert_same_losses(straight, resumed, names)
    _assert_same_losses(straight, History.from_jsonl(tmp_path / "halves" / "history.jsonl"), names)
    # fit(resume_from=...) with a model built by hand, in a fresh run folder
    other = Trainer(
        pix2pix(seed=5), flipped, steps=6, run_dir=tmp_path / "other", **_settings(embedded_val)
    ).fit(resume_from=half)
    assert other.series("G/l1")[0].tolist() == [4, 5, 6]
    _assert_same_losses(History(r for r in straight if r["step"] > 3), other, names)
    final = load_model(tmp_path / "halves" / "checkpoints" / "last.pt")
    reference = load_model(tmp_path / "straight" / "checkpoints" / "last.pt")
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(final.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_a_default_run_writes_log_samples_and_a_loadable_checkpoint(
    tmp_path, pix2pix, embedded_train, embedded_val
):
    trainer = Trainer(
        pix2pix(), embedded_train, steps=4, batch_size=4, val_data=embedded_val, run_dir=tmp_path
    )
    history = trainer.fit()
    assert history is trainer.history
    assert history.series("val/l1")[0].tolist() == [0, 1, 2, 3, 4]  # period: steps // 10 -> 1
    assert {"G", "D", "val"} <= set(history.groups())
    assert (tmp_path / "samples" / "step_000004.png").is_file()
    assert History.from_jsonl(tmp_path / "history.jsonl") == history
    model = load_model(tmp_path / "checkpoints" / "last.pt")
    sketch = np.full((40, 40), 255, np.uint8)
    sketch[20, 5:35] = 0  # a drawn line: an empty sketch is refused
    assert model.generate(sketch).shape == (32, 32, 3)
    assert trainer.device.type == "cpu" and not trainer.stop_training


class _PoisonGenerator(Callback):
    """After step ``step`` has been checkpointed, puts a NaN into the generator's weights."""

    def __init__(self, step):
        self.step, self.before = step, None

    def on_step_end(self, trainer, step, losses):
        if step == self.step:
            self.before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
            with torch.no_grad():
                next(trainer.model.generator.parameters()).fill_(float("nan"))


def test_a_nan_stops_pix2pix_and_the_last_good_checkpoint_loads(tmp_path, pix2pix, embedded_train):
    poison = _PoisonGenerator(2)
    trainer = Trainer(
        pix2pix(),
        embedded_train,
        steps=8,
        batch_size=4,
        run_dir=tmp_path,
        checkpoint_every=1,
        sample_every=0,
    )
    trainer.add_callback(poison)
    last = tmp_path / "checkpoints" / "last.pt"
    with pytest.raises(
        TrainingDiverged,
        match=rf"non-finite loss at step 3: .*G/l1=nan.*"
        rf"last good checkpoint is {last} \(step 2\)",
    ):
        trainer.fit()
    assert trainer.step == 3 and trainer.diverged and "step 3" in trainer.stop_reason
    model = load_model(last)
    for key, value in poison.before.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert load_checkpoint(last)["step"] == 2


def test_a_used_run_folder_is_not_overwritten_unless_asked(tmp_path, regressor, tiny_data):
    def run(**kwargs):
        return Trainer(
            regressor(),
            tiny_data,
            steps=2,
            batch_size=4,
            run_dir=tmp_path,
            callbacks=[HistoryRecorder()],
            **kwargs,
        ).fit()

    run()
    with pytest.raises(FileExistsError, match=rf"{tmp_path} already holds a run.*overwrite=True"):
        run()
    assert len(run(overwrite=True)) == 2
    assert len(History.from_jsonl(tmp_path / "history.jsonl")) == 2


def test_resuming_with_another_batch_size_warns(tmp_path, regressor, tiny_data):
    from sketchwidgets.train.callbacks import Checkpointer

    Trainer(
        regressor(), tiny_data, steps=2, batch_size=4, run_dir=tmp_path, callbacks=[Checkpointer(2)]
    ).fit()
    trainer = Trainer(regressor(), tiny_data, steps=3, batch_size=8, callbacks=[NaNGuard()])
    with pytest.warns(RuntimeWarning, match=r"'batch_size': \(4, 8\).*data order differs"):
        trainer.fit(resume_from=tmp_path / "checkpoints" / "last.pt")
    assert trainer.start_step == 2 and trainer.step == 3


def test_bad_sizes_are_named(regressor, tiny_data):
    with pytest.raises(ValueError, match="batch_size=0"):
        Trainer(regressor(), tiny_data, steps=1, batch_size=0)
    with pytest.raises(ValueError, match="16 items, fewer than one batch \\(32\\)"):
        Trainer(regressor(), tiny_data, steps=1, batch_size=32, callbacks=[]).fit()


def test_a_callback_can_stop_training(regressor, tiny_data):
    class StopAt(Callback):
        def on_step_end(self, trainer, step, losses):
            if step == 2:
                trainer.stop("enough")

    trainer = Trainer(
        regressor(), tiny_data, steps=10, batch_size=4, callbacks=[HistoryRecorder(), StopAt()]
    )
    history = trainer.fit()
    assert history.last_step == 2 and trainer.stop_reason == "enough" and not trainer.diverged
