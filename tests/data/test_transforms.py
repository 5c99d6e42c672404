"""Paired augmentation (same crop/flip for sketch and photo) and colour jitter."""

from __future__ import annotations

import numpy as np
import pytest

from sketchwidgets.data.transforms import (
    ColorJitter,
    PairedTransform,
    apply_params,
    center_crop_square,
    get_params,
    resize,
    square_resize,
)


def _photo(seed: int = 0, size: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_resize_and_square_resize_shapes():
    image = _photo(0, 40)
    assert resize(image, 20).shape == (20, 20, 3)
    assert resize(image, (30, 50)).shape == (30, 50, 3)
    assert resize(image[:, :, 0], 64).shape == (64, 64)
    assert resize(image, 40) is image
    wide = np.zeros((10, 30), np.uint8)
    wide[:, 10:20] = 255  # the centre third
    np.testing.assert_array_equal(center_crop_square(wide), np.full((10, 10), 255, np.uint8))
    assert square_resize(np.zeros((30, 50, 3), np.uint8), 16).shape == (16, 16, 3)


def test_get_params_covers_the_pix2pix_range():
    rng = np.random.default_rng(0)
    draws = [
        get_params(256, 256, load_size=286, crop_size=256, flip=True, rng=rng) for _ in range(400)
    ]
    xs = {d.crop_pos[0] for d in draws}
    assert min(xs) == 0 and max(xs) == 30  # pix2pix: randint(0, load - crop), both ends
    assert 120 < sum(d.flip for d in draws) < 280
    fixed = get_params(256, 256, load_size=256, crop_size=256, flip=False, rng=rng)
    assert fixed.crop_pos == (0, 0) and not fixed.flip


def test_apply_params_resizes_crops_and_flips():
    image = _photo(1, 64)
    params = get_params(
        64, 64, load_size=None, crop_size=32, flip=False, rng=np.random.default_rng(3)
    )
    x, y = params.crop_pos
    out = apply_params(image, params, load_size=None, crop_size=32)
    np.testing.assert_array_equal(out, image[y : y + 32, x : x + 32])
    flipped = apply_params(image, type(params)((0, 0), True), load_size=None, crop_size=None)
    np.testing.assert_array_equal(flipped, image[:, ::-1])
    big = get_params(64, 64, load_size=80, crop_size=70, flip=True, rng=np.random.default_rng(4))
    assert apply_params(image, big, load_size=80, crop_size=70).shape == (70, 70, 3)


def test_paired_transform_keeps_sketch_and_photo_aligned():
    photo = _photo(2, 64)
    sketch = photo[:, :, 1].copy()  # a sketch derived from the photo, pixel-aligned with it
    transform = PairedTransform(load_size=80, crop_size=48, flip=True)
    outputs, flips = set(), set()
    for seed in range(12):
        out_sketch, out_photo = transform(sketch, photo, np.random.default_rng(seed))
        assert out_sketch.shape == (48, 48) and out_photo.shape == (48, 48, 3)
        np.testing.assert_array_equal(out_sketch, out_photo[:, :, 1])
        outputs.add(out_sketch.tobytes())
        params = get_params(
            64, 64, load_size=80, crop_size=48, flip=True, rng=np.random.default_rng(seed)
        )
        flips.add(params.flip)
    assert len(outputs) == 12 and flips == {True, False}  # crops and flips really vary


def test_paired_transform_is_deterministic_by_seed():
    photo, sketch = _photo(3, 64), _photo(4, 64)[:, :, 0]
    first = PairedTransform(72, 64, seed=7)(sketch, photo)
    second = PairedTransform(72, 64, seed=7)(sketch, photo)
    other = PairedTransform(72, 64, seed=8)(sketch, photo)
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[1], other[1])


def test_paired_transform_eval_mode_is_identity_and_checks_sizes():
    photo, sketch = _photo(5, 32), _photo(6, 32)[:, :, 0]
    out_sketch, out_photo = PairedTransform(32, 32, flip=False)(sketch, photo)
    np.testing.assert_array_equal(out_sketch, sketch)
    np.testing.assert_array_equal(out_photo, photo)
    with pytest.raises(ValueError, match="resize both"):
        PairedTransform(32, 32)(sketch[:16], photo)
    with pytest.raises(ValueError, match="larger than load_size"):
        PairedTransform(32, 40)


def test_color_jitter_changes_photo_not_sketch():
    photo, sketch = _photo(7, 32), _photo(8, 32)[:, :, 0]
    plain = PairedTransform(40, 32)
    jittered = PairedTransform(40, 32, jitter=ColorJitter(0.4, 0.4, 0.4, 0.1))
    sketch_a, photo_a = plain(sketch, photo, np.random.default_rng(1))
    sketch_b, photo_b = jittered(sketch, photo, np.random.default_rng(1))
    np.testing.assert_array_equal(sketch_a, sketch_b)  # same geometry, sketch untouched
    assert np.abs(photo_a.astype(int) - photo_b.astype(int)).mean() > 2


def test_color_jitter_factors():
    gray_50 = np.full((4, 4, 3), 50, np.uint8)
    np.testing.assert_array_equal(ColorJitter(brightness=(2, 2))(gray_50), gray_50 * 2)
    np.testing.assert_array_equal(ColorJitter()(gray_50), gray_50)
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    green = ColorJitter(hue=(1 / 3, 1 / 3))(red)
    np.testing.assert_allclose(green[0, 0], [0, 255, 0], atol=1)
    colourful = _photo(9, 16)
    desaturated = ColorJitter(saturation=(0, 0))(colourful)
    assert np.abs(desaturated[..., 0].astype(int) - desaturated[..., 2]).max() <= 1
    flat = ColorJitter(contrast=(0, 0))(colourful)
    assert flat.std() < 1


def test_color_jitter_seeded_and_checked():
    photo = _photo(10, 16)
    a = ColorJitter(0.5, 0.5, 0.5, 0.2, seed=1)(photo)
    b = ColorJitter(0.5, 0.5, 0.5, 0.2, seed=1)(photo)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="brightness"):
        ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="hue"):
        ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="HxWx3"):
        ColorJitter(0.5)(photo[:, :, 0])
