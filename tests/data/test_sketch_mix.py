"""The style mix: shares, a fresh drawing each epoch, seeded per item, the fixed drawn hold-out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.data.sketch_augment import SketchAugment
from sketchwidgets.data.sketch_mix import (
    DRAWN_ONLY,
    HOLDOUT_STREAM,
    STYLES,
    EpochSchedule,
    MixShares,
    SketchStyleMix,
    drawn_holdout,
)
from sketchwidgets.data.sketchify import sketchify
from sketchwidgets.io import image_to_tensor, tensor_to_image
from tests.data.helpers import check_item


@pytest.fixture(scope="module")
def pairs() -> EmbeddedDataset:
    return EmbeddedDataset(16, size=32, split="all", workers=1)


def test_the_default_mix_draws_a_third_of_each_style(pairs):
    mix = SketchStyleMix(pairs, seed=3)
    counts = dict.fromkeys(STYLES, 0)
    for epoch in range(200):
        mix.set_epoch(epoch)
        for index in range(len(pairs)):
            counts[mix.style_of(index)] += 1
    total = sum(counts.values())
    for style in STYLES:
        assert abs(counts[style] / total - 1 / 3) < 0.03, counts


def test_shares_set_the_mix(pairs):
    mix = SketchStyleMix(pairs, shares=MixShares(0.0, 3.0, 1.0))
    styles = []
    for epoch in range(40):
        mix.set_epoch(epoch)
        styles += [mix.style_of(i) for i in range(len(pairs))]
    assert "stored" not in styles
    assert 0.65 < styles.count("drawn") / len(styles) < 0.85
    with pytest.raises(ValueError, match="style shares must be >= 0"):
        MixShares(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="positive sum"):
        MixShares(0.0, 0.0, 0.0)


def test_stored_items_are_the_datasets_own(pairs):
    mix = SketchStyleMix(pairs, shares=MixShares(1.0, 0.0, 0.0))
    item = mix[5]
    assert item["style"] == "stored"
    assert torch.equal(item["sketch"], pairs[5]["sketch"])
    assert torch.equal(item["photo"], pairs[5]["photo"])


def test_items_keep_the_contract_and_the_photo(pairs):
    mix = SketchStyleMix(pairs, seed=1)
    for index in range(len(pairs)):
        item = mix[index]
        check_item(item, (32, 32))
        assert item["style"] in STYLES
        if item["style"] != "augmented":  # only the augmented sketches' warps move the photo
            assert torch.equal(item["photo"], pairs[index]["photo"])
        assert item["label"] == pairs[index]["label"]
    assert mix.class_names == pairs.class_names


def _warps_only(paired: bool) -> SketchAugment:
    return SketchAugment(0.0, dropout_chance=0.0, affine_chance=1.0, elastic_chance=1.0,
                         pencil_chance=0.0, shading_chance=0.0, paired_warps=paired)  # fmt: skip


def test_augmented_warps_move_the_photo_with_the_sketch(pairs):
    """Paired warps: the photo moves as the sketch does (its ink still sits on the photo's
    edges); unpaired, the photo stays as stored and the two drift apart."""
    shares = MixShares(0.0, 0.0, 1.0)
    paired = SketchStyleMix(pairs, shares=shares, augment=_warps_only(True))
    alone = SketchStyleMix(pairs, shares=shares, augment=_warps_only(False))
    misfits = []
    for index in range(8):
        stored = pairs[index]
        moved, kept = paired[index], alone[index]
        assert torch.equal(kept["photo"], stored["photo"])
        assert not torch.equal(moved["photo"], stored["photo"])
        assert torch.equal(moved["sketch"], kept["sketch"])  # the same warps were drawn
        misfits.append((_misfit(moved), _misfit(kept)))
    in_register, adrift = np.mean(misfits, axis=0)
    assert in_register < 0.8 * adrift, misfits


def _misfit(item: dict) -> float:
    """Mean distance of the sketch from the photo sketched anew, inside a 4 px margin."""
    redrawn = image_to_tensor(sketchify(tensor_to_image(item["photo"])))
    return float((item["sketch"] - redrawn)[:, 4:-4, 4:-4].abs().mean())


def test_same_epoch_same_drawing_next_epoch_a_new_one(pairs):
    mix = SketchStyleMix(pairs, seed=0, shares=DRAWN_ONLY)
    first = mix[2]["sketch"]
    torch.manual_seed(123)  # the global generator plays no part
    assert torch.equal(mix[2]["sketch"], first)
    mix.set_epoch(1)
    assert not torch.equal(mix[2]["sketch"], first)
    mix.set_epoch(0)
    assert torch.equal(mix[2]["sketch"], first)


def test_seed_and_stream_change_the_drawing(pairs):
    base = SketchStyleMix(pairs, seed=0, shares=DRAWN_ONLY)[4]["sketch"]
    other_seed = SketchStyleMix(pairs, seed=1, shares=DRAWN_ONLY)[4]["sketch"]
    other_stream = SketchStyleMix(pairs, seed=0, shares=DRAWN_ONLY, stream=HOLDOUT_STREAM)
    assert not torch.equal(base, other_seed)
    assert not torch.equal(base, other_stream[4]["sketch"])


def test_the_drawn_holdout_is_fixed_and_never_a_training_drawing(pairs):
    held = drawn_holdout(pairs, seed=0)
    assert torch.equal(held[1]["sketch"], drawn_holdout(pairs, seed=0)[1]["sketch"])
    assert all(held[i]["style"] == "drawn" for i in range(len(pairs)))
    training = SketchStyleMix(pairs, seed=0, shares=DRAWN_ONLY)
    for epoch in range(5):
        training.set_epoch(epoch)
        assert not torch.equal(training[1]["sketch"], held[1]["sketch"])


def test_augmented_items_stay_ink_on_paper(pairs):
    mix = SketchStyleMix(pairs, shares=MixShares(0.0, 0.0, 1.0))
    for index in range(len(pairs)):
        sketch = mix[index]["sketch"]
        assert float(sketch.median()) > 0.8  # white paper in [-1, 1]
        assert float(sketch.min()) < 0.6  # and ink


def test_epoch_schedule_maps_steps_to_epochs(pairs):
    schedule = EpochSchedule(SketchStyleMix(pairs), batch_size=5)  # 3 batches an epoch
    assert [schedule.epoch_of(k) for k in range(7)] == [0, 0, 0, 1, 1, 1, 2]


def test_a_mixed_photo_is_drawn_from_the_photo(pairs):
    """Drawn sketches of a photo share more ink with the photo's own stored sketch."""
    mix = SketchStyleMix(pairs, shares=DRAWN_ONLY)
    near, far = [], []
    for index in range(8):
        drawn = mix[index]["sketch"][0].numpy() < 0
        own = pairs.sketches[index] < 128
        other = pairs.sketches[(index + 4) % 8] < 128
        near.append((drawn & own).sum() / max(drawn.sum(), 1))
        far.append((drawn & other).sum() / max(drawn.sum(), 1))
    assert np.mean(near) > 2 * np.mean(far)
