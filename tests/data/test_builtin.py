"""The embedded procedural dataset: determinism, class identity, sketches, dataset items."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from sketchwidgets.data import builtin
from sketchwidgets.data.sketchify import sketchify
from sketchwidgets.data.strokes import Sketch
from sketchwidgets.io import read_image


def test_eight_classes():
    assert builtin.CLASSES == (
        "apple", "ball", "mug", "house", "tree", "car", "fish", "bottle",
    )  # fmt: skip


@pytest.mark.parametrize("size", [50, 64, 128])
def test_render_photo_format(size):
    photo = builtin.render_photo("car", np.random.default_rng(0), size)
    assert photo.shape == (size, size, 3) and photo.dtype == np.uint8
    assert photo.std() > 20  # an object on a background, not a flat image


def test_render_photo_is_deterministic_by_rng():
    for name in builtin.CLASSES:
        a = builtin.render_photo(name, np.random.default_rng(7), 64)
        b = builtin.render_photo(name, np.random.default_rng(7), 64)
        c = builtin.render_photo(name, np.random.default_rng(8), 64)
        np.testing.assert_array_equal(a, b)
        assert np.abs(a.astype(int) - c).mean() > 5


def test_embedded_pairs_determinism_and_labels():
    a = builtin.embedded_pairs(20, size=32, seed=3, workers=1)
    b = builtin.embedded_pairs(20, size=32, seed=3, workers=1)
    c = builtin.embedded_pairs(20, size=32, seed=4, workers=1)
    np.testing.assert_array_equal(a.photos, b.photos)
    np.testing.assert_array_equal(a.sketches, b.sketches)
    assert np.abs(a.photos.astype(int) - c.photos).mean() > 5
    assert a.photos.shape == (20, 32, 32, 3) and a.sketches.shape == (20, 32, 32)
    assert a.labels.dtype == np.int64 and len(a) == 20
    np.testing.assert_array_equal(a.labels, np.arange(20) % 8)  # balanced round-robin
    assert a.class_names == list(builtin.CLASSES)


def test_a_prefix_of_a_larger_set_is_the_smaller_set():
    small = builtin.embedded_pairs(5, size=32, seed=0, workers=1)
    large = builtin.embedded_pairs(12, size=32, seed=0, workers=1)
    np.testing.assert_array_equal(small.photos, large.photos[:5])


@pytest.mark.timeout(180)  # a deadlocked pool (e.g. fork after threads) fails, not hangs
def test_result_does_not_depend_on_worker_count(monkeypatch):
    monkeypatch.setattr(builtin, "_CHUNK", 4)
    monkeypatch.setattr(builtin, "_POOL_MIN", 8)
    one = builtin.embedded_pairs(12, size=32, seed=1, workers=1)
    two = builtin.embedded_pairs(12, size=32, seed=1, workers=2)
    np.testing.assert_array_equal(one.photos, two.photos)
    np.testing.assert_array_equal(one.sketches, two.sketches)


@pytest.mark.parametrize("style", ["xdog", "canny"])
def test_sketches_come_from_sketchify(style):
    pairs = builtin.embedded_pairs(6, size=64, style=style, workers=1)
    np.testing.assert_array_equal(pairs.sketches, sketchify(pairs.photos, style))
    ink = (pairs.sketches < 128).mean(axis=(1, 2))
    assert (ink > 0.01).all() and (ink < 0.4).all()


def test_style_params_are_passed_on():
    pairs = builtin.embedded_pairs(3, size=32, workers=1, sigma=1.2)
    np.testing.assert_array_equal(pairs.sketches, sketchify(pairs.photos, "xdog", sigma=1.2))


def test_class_subset():
    pairs = builtin.embedded_pairs(4, size=32, classes=["fish", "car"], workers=1)
    assert pairs.class_names == ["fish", "car"]
    np.testing.assert_array_equal(pairs.labels, [0, 1, 0, 1])
    with pytest.raises(KeyError, match="known classes"):
        builtin.embedded_pairs(4, classes=["dog"])
    with pytest.raises(KeyError, match="known classes"):
        builtin.render_photo("dog", np.random.default_rng(0))


def _features(pairs: builtin.EmbeddedPairs) -> np.ndarray:
    """8x8 sketch thumbnails and 4x4 colour thumbnails, flattened."""
    sketches = [cv2.resize(s, (8, 8), interpolation=cv2.INTER_AREA) for s in pairs.sketches]
    photos = [cv2.resize(p, (4, 4), interpolation=cv2.INTER_AREA) for p in pairs.photos]
    n = len(pairs)
    return np.hstack([np.reshape(sketches, (n, -1)), np.reshape(photos, (n, -1))]) / 255.0


def test_classes_are_visually_distinct():
    """A nearest-centroid classifier on tiny thumbnails generalises to a new seed."""
    train = builtin.embedded_pairs(96, size=32, seed=0, workers=1)
    test = builtin.embedded_pairs(48, size=32, seed=1, workers=1)
    train_x, test_x = _features(train), _features(test)
    centroids = np.stack([train_x[train.labels == k].mean(0) for k in range(8)])
    predicted = np.argmin(((test_x[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (predicted == test.labels).mean() > 0.5  # chance is 0.125


def test_dataset_items():
    dataset = builtin.EmbeddedDataset(20, size=32, seed=2, split="all", workers=1)
    assert len(dataset) == 20 and dataset.class_names == list(builtin.CLASSES)
    item = dataset[9]
    assert set(item) == {"sketch", "photo", "label", "path"}
    assert item["sketch"].shape == (1, 32, 32) and item["photo"].shape == (3, 32, 32)
    assert item["sketch"].dtype == torch.float32 and item["photo"].dtype == torch.float32
    for key in ("sketch", "photo"):
        assert item[key].min() >= -1.0 and item[key].max() <= 1.0
    assert item["sketch"].min() == -1.0 and item["sketch"].max() == 1.0  # ink and paper
    assert item["label"] == 1 and item["path"] == "embedded://ball/0009"
    pairs = builtin.embedded_pairs(20, size=32, seed=2, workers=1)
    expected = torch.from_numpy(pairs.photos[9]).permute(2, 0, 1).float() / 127.5 - 1
    torch.testing.assert_close(item["photo"], expected)
    with pytest.raises(IndexError):
        dataset[20]


def test_dataset_splits():
    train = builtin.EmbeddedDataset(20, size=32, split="train", val_fraction=0.2, workers=1)
    val = builtin.EmbeddedDataset(20, size=32, split="val", val_fraction=0.2, workers=1)
    everything = builtin.EmbeddedDataset(20, size=32, split="all", workers=1)
    assert (len(train), len(val)) == (16, 4)
    torch.testing.assert_close(val[0]["photo"], everything[16]["photo"])
    assert val[0]["path"] == everything[16]["path"] == "embedded://apple/0016"
    assert [train[i]["label"] for i in range(8)] == list(range(8))
    with pytest.raises(ValueError, match="split"):
        builtin.EmbeddedDataset(8, split="test")


def test_dataset_transform_gets_uint8_arrays_and_an_rng():
    seen = []

    def flip(sketch, photo, rng):
        seen.append((sketch.dtype, photo.shape, isinstance(rng, np.random.Generator)))
        return sketch[:, ::-1], photo[:, ::-1]

    plain = builtin.EmbeddedDataset(4, size=32, split="all", workers=1)
    flipped = builtin.EmbeddedDataset(4, size=32, split="all", transform=flip, workers=1)
    torch.testing.assert_close(flipped[1]["photo"], plain[1]["photo"].flip(-1))
    assert seen == [(np.uint8, (32, 32, 3), True)]


def test_write_embedded_photos(tmp_path):
    paths = builtin.write_embedded_photos(tmp_path, 10, size=32, seed=5)
    assert len(paths) == 10
    assert sorted(p.name for p in (tmp_path / "apple").iterdir()) == ["0000.png", "0008.png"]
    assert {p.parent.name for p in paths} == set(builtin.CLASSES)
    expected = builtin.render_photo("mug", np.random.default_rng([5, 2]), 32)
    np.testing.assert_array_equal(read_image(tmp_path / "mug" / "0002.png"), expected)
    with pytest.raises(FileExistsError, match="0000.png"):
        builtin.write_embedded_photos(tmp_path, 1, size=32, seed=5)


@pytest.mark.parametrize("name", builtin.CLASSES)
def test_example_sketch_for_every_class(name):
    sketch = builtin.example_sketch(name, size=128)
    assert isinstance(sketch, Sketch) and (sketch.width, sketch.height) == (128, 128)
    assert not sketch.is_empty and len(sketch.strokes) >= 2
    ink = (sketch.to_array(64) < 128).mean()
    assert 0.02 < ink < 0.3
    assert builtin.example_sketch(name, size=128) == sketch  # deterministic
    assert builtin.example_sketch(name, size=128, seed=1) != sketch


def test_example_sketch_round_trips_through_json():
    sketch = builtin.example_sketch("house")
    assert Sketch.from_json(sketch.to_json()) == sketch


def test_example_sketch_is_drawn_with_one_pen_and_a_hands_errors():
    """Every stroke has the example pen (4 px at 256, each stroke within the style's 15 %), and
    the strokes are not the traced outline itself: redrawing with another seed moves them."""
    sketch = builtin.example_sketch("house", size=128)
    widths = np.array([stroke.width for stroke in sketch.strokes])
    assert np.all(np.abs(widths - 2.0) <= 0.15 * 2.0 + 1e-9), widths
    other = builtin.example_sketch("house", size=128, seed=1)
    assert (sketch.to_array(64) != other.to_array(64)).mean() > 0.01
