"""The Trainer records the line statistics of its first batches' sketches in the config."""

from __future__ import annotations

import dataclasses

import torch

from sketchwidgets.drawing.line_stats import LineStats, tensor_line_stats
from sketchwidgets.models import build_model
from sketchwidgets.train.trainer import LINE_STATS_BATCHES, StepBatchSampler, Trainer
from tests.train.conftest import Regressor, TinyPairs


class NoisyPairs(TinyPairs):
    """Items that draw from torch's global random stream, as EdgeSketchBlend's do."""

    def __getitem__(self, i: int) -> dict:
        item = dict(super().__getitem__(i))
        item["sketch"] = (item["sketch"] + 0.1 * torch.randn(item["sketch"].shape)).clamp(-1, 1)
        return item


def pix2pix():
    torch.manual_seed(0)
    return build_model("pix2pix", image_size=32, ngf=4, ndf=4, n_layers_D=1)


def fit(model, data, steps: int = 3):
    trainer = Trainer(model, data, steps=steps, batch_size=2, device="cpu", seed=5, callbacks=[])
    return trainer.fit()


def test_a_fresh_model_gets_the_statistics_of_its_first_batches():
    data = TinyPairs(24, size=32)
    model = pix2pix()
    assert model.line_stats is None
    fit(model, data, steps=20)
    sampler = StepBatchSampler(24, batch_size=2, seed=5, start=0, stop=LINE_STATS_BATCHES)
    first = [data[i]["sketch"] for batch in sampler for i in batch]
    assert len(first) == 2 * LINE_STATS_BATCHES
    assert model.line_stats == tensor_line_stats(first, 32)
    assert model.line_stats != tensor_line_stats(list(data.sketches), 32)  # not all items


def test_recording_does_not_change_training_and_known_statistics_stay():
    data = NoisyPairs(16, size=32)  # reading items for the statistics draws random numbers
    fresh, known = pix2pix(), pix2pix()
    given = LineStats(32, 0.5, 1.0, 0.0, 0.0, True)
    known.record_line_stats(given)
    fresh_history, known_history = fit(fresh, data), fit(known, data)
    assert known.line_stats == given  # not measured again
    assert fresh_history.records == known_history.records
    for a, b in zip(fresh.parameters(), known.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_config_without_the_field_is_left_alone():
    model = Regressor()
    fit(model, TinyPairs(8, size=8), steps=2)
    assert not hasattr(model.config, "line_stats")
    assert "line_stats" not in {f.name for f in dataclasses.fields(model.config)}
