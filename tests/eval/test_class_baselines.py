"""Class-aware baselines: the class's mean photo, the nearest sketch of the same class."""

from __future__ import annotations

import pytest
import torch

from sketchwidgets.eval.class_baselines import (
    class_baseline_metrics,
    class_mean_photos,
    class_nearest_neighbour_photos,
)


def pairs(labels: list[int], shade: list[float], ink: list[float]) -> list[dict]:
    """Items whose photo is a flat ``shade`` and whose sketch is a flat ``ink``."""
    return [
        {"sketch": torch.full((1, 16, 16), k), "photo": torch.full((3, 16, 16), s), "label": c}
        for c, s, k in zip(labels, shade, ink, strict=True)
    ]


def test_the_class_mean_photo_averages_that_class_only() -> None:
    train = pairs([0, 0, 1], [-1.0, 0.0, 1.0], [0.0, 0.0, 0.0])
    held = pairs([1, 0], [0.5, 0.5], [0.0, 0.0])
    guesses, photos = class_mean_photos(train, held)
    assert guesses[0].unique().tolist() == [1.0] and guesses[1].unique().tolist() == [-0.5]
    assert photos[0].unique().tolist() == [0.5]


def test_the_nearest_neighbour_never_crosses_classes() -> None:
    train = pairs([0, 1, 1], [-1.0, 0.2, 0.8], [0.5, -0.9, 0.4])
    held = pairs([1], [0.0], [0.5])  # class 0's sketch is nearest, but it is the wrong class
    retrieved, _ = class_nearest_neighbour_photos(train, held)
    assert retrieved.unique().tolist() == [pytest.approx(0.8)]


def test_both_are_scored_and_unlabelled_data_is_refused() -> None:
    train = pairs([0, 1], [-1.0, 1.0], [0.0, 0.0])
    scores = class_baseline_metrics(train, pairs([0, 1], [-1.0, 1.0], [0.0, 0.0]))
    assert scores["class mean photo"]["l1"] == 0.0 and scores["class mean photo"]["ssim"] > 0.99
    unlabelled = [{"sketch": torch.zeros(1, 16, 16), "photo": torch.zeros(3, 16, 16)}]
    with pytest.raises(ValueError, match="without a class label"):
        class_mean_photos(unlabelled, unlabelled)
