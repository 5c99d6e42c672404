"""The Trainer and the style mix: each batch drawn in the epoch the Trainer is in; resumes."""

from __future__ import annotations

from typing import Any

import torch

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.data.sketch_mix import DRAWN_ONLY, EpochSchedule, SketchStyleMix
from sketchwidgets.train.trainer import StepBatchSampler, Trainer


class RecordingMix(SketchStyleMix):
    """A mix that notes the (epoch, index) of every item it serves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.served: list[tuple[int, int]] = []

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.served.append((self.epoch, index))
        return super().__getitem__(index)


def _fit(model, mix: RecordingMix, steps: int, **kwargs: Any) -> Trainer:
    trainer = Trainer(model, mix, steps=steps, batch_size=4, callbacks=[], device="cpu", **kwargs)
    trainer.add_callback(EpochSchedule(mix, 4))
    trainer.fit()
    return trainer


def test_every_batch_is_drawn_in_the_epoch_of_its_step(regressor):
    data = EmbeddedDataset(10, size=32, split="all", workers=1)  # 2 batches an epoch
    mix = RecordingMix(data, shares=DRAWN_ONLY)
    _fit(regressor(image_size=32), mix, steps=7)
    sampler = StepBatchSampler(10, batch_size=4, seed=0, start=0, stop=7)
    expected = [(k // 2, i) for k, batch in enumerate(sampler) for i in batch]
    assert mix.served == expected
    assert mix.epoch == 3  # set for the batch after the last step


def test_a_resumed_run_sees_the_drawings_of_the_uninterrupted_run(regressor, tmp_path):
    data = EmbeddedDataset(10, size=32, split="all", workers=1)
    whole = RecordingMix(data)
    _fit(regressor(image_size=32), whole, steps=6)
    first = RecordingMix(data)
    trainer = _fit(regressor(image_size=32), first, steps=3, run_dir=tmp_path / "run")
    trainer.save_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    rest = RecordingMix(data)
    resumed = Trainer.resume(
        tmp_path / "run" / "checkpoints" / "last.pt",
        rest,
        model=regressor(image_size=32),
        steps=6,
        batch_size=4,
        callbacks=[],
        device="cpu",
    )
    resumed.add_callback(EpochSchedule(rest, 4))
    resumed.fit()
    assert first.served + rest.served == whole.served
    epoch, index = rest.served[0]
    rest.set_epoch(epoch)
    whole.set_epoch(epoch)
    assert torch.equal(rest[index]["sketch"], whole[index]["sketch"])
