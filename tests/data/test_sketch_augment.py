"""Sketch augmentation: polarity and range kept, each change does what it says, seeded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.data.sketch_augment import (
    SketchAugment,
    affine_warp,
    augment_pair,
    augment_sketch,
    drop_strokes,
    elastic_warp,
    pencil,
    rewidth,
    shading,
)
from sketchwidgets.sketch_input import is_white_on_black

EVERYTHING = SketchAugment(
    rewidth_chance=1.0,
    dropout_chance=1.0,
    affine_chance=1.0,
    elastic_chance=1.0,
    pencil_chance=1.0,
    shading_chance=1.0,
)
NOTHING = SketchAugment(0.0, dropout_chance=0.0, affine_chance=0.0, elastic_chance=0.0,
                        pencil_chance=0.0, shading_chance=0.0)  # fmt: skip


@pytest.fixture(scope="module")
def pairs() -> EmbeddedDataset:
    return EmbeddedDataset(8, size=64, split="all", workers=1)


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


@pytest.mark.parametrize("settings", [EVERYTHING, SketchAugment()], ids=["all", "default"])
def test_augmented_sketches_stay_dark_ink_on_white_paper(pairs, settings):
    for index in range(len(pairs)):
        sketch, photo = pairs.sketches[index], pairs.photos[index]
        for seed in range(4):
            out = augment_sketch(sketch, photo, np.random.default_rng(seed), settings)
            assert out.shape == sketch.shape and out.dtype == np.uint8
            assert not is_white_on_black(out)
            assert np.median(out) >= 230  # mostly paper
            assert out.max() >= 250 and out.min() < 200  # white paper, visible ink


def test_nothing_drawn_changes_nothing(pairs):
    sketch = pairs.sketches[0]
    out = augment_sketch(sketch, pairs.photos[0], np.random.default_rng(0), NOTHING)
    assert np.abs(out.astype(int) - sketch.astype(int)).max() <= 1  # float round trip


def test_same_generator_same_result(pairs):
    args = (pairs.sketches[2], pairs.photos[2])
    first = augment_sketch(*args, np.random.default_rng(5), EVERYTHING)
    assert np.array_equal(first, augment_sketch(*args, np.random.default_rng(5), EVERYTHING))
    assert not np.array_equal(first, augment_sketch(*args, np.random.default_rng(6), EVERYTHING))


def _ink(sketch: np.ndarray) -> np.ndarray:
    return 1.0 - sketch.astype(np.float32) / 255.0


def test_rewidth_makes_wider_pens_ink_more(pairs):
    ink = _ink(pairs.sketches[1])
    areas = [float(rewidth(ink, width).sum()) for width in (1.0, 2.0, 3.0, 4.0)]
    assert areas == sorted(areas) and areas[-1] > 2.5 * areas[0]


def test_drop_strokes_removes_ink_and_only_ink(pairs):
    ink = _ink(pairs.sketches[3])
    kept = drop_strokes(ink, np.random.default_rng(0), share=0.5, gaps=4, radius=2.0)
    assert kept.sum() < 0.85 * ink.sum()
    assert (kept <= ink + 1e-6).all()  # nothing drawn that was not there
    assert np.array_equal(drop_strokes(ink, np.random.default_rng(0), 0.0, 0, 2.0), ink)


def test_warps_move_the_ink_a_little(pairs):
    ink = _ink(pairs.sketches[4])
    rng = np.random.default_rng(0)
    for moved in (affine_warp(ink, rng, 4.0, 0.05, 2.0), elastic_warp(ink, rng, 1.5)):
        assert not np.allclose(moved, ink)
        assert abs(moved.sum() - ink.sum()) < 0.15 * ink.sum()  # moved, not erased


def test_pencil_is_lighter_and_shading_follows_dark_photo_areas(pairs):
    ink = _ink(pairs.sketches[5])
    grey = pencil(ink, np.random.default_rng(0), darkness=0.5, grain=0.2)
    assert grey.max() <= 0.5 + 1e-6 and grey.sum() > 0.3 * ink.sum()
    photo = np.full((64, 64, 3), 230, np.uint8)
    photo[:, :32] = 40  # dark left half
    tone = shading(photo, np.random.default_rng(0), strength=0.3)
    assert tone[:, :24].mean() > 0.1 and tone[:, 40:].max() < 0.02
    assert tone.max() <= 0.3 + 1e-6


def test_paired_warps_move_the_photo_as_the_sketch(pairs):
    """A photo drawn as its own grey sketch, warped with the sketch, stays equal to it."""
    photo = pairs.photos[6]
    gray = np.rint(photo.astype(np.float32).mean(axis=2)).astype(np.uint8)
    warps = SketchAugment(0.0, dropout_chance=0.0, affine_chance=1.0, elastic_chance=1.0,
                          pencil_chance=0.0, shading_chance=0.0)  # fmt: skip
    sketch, moved = augment_pair(
        gray, np.repeat(gray[..., None], 3, 2), np.random.default_rng(3), warps
    )
    inside = (
        slice(6, -6),
        slice(6, -6),
    )  # the sketch's border fills with paper, the photo's mirrors
    assert np.abs(moved[..., 0][inside].astype(int) - sketch[inside].astype(int)).max() <= 1
    assert np.abs(sketch[inside].astype(int) - gray[inside].astype(int)).mean() > 2  # it moved
    alone = dataclasses.replace(warps, paired_warps=False)
    again, kept = augment_pair(gray, photo, np.random.default_rng(3), alone)
    assert kept is photo and np.array_equal(again, sketch)
    assert augment_pair(gray, None, np.random.default_rng(3), warps)[1] is None
