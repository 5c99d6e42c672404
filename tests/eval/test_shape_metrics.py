"""Shape similarity between a sketch and an edge map on known cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from sketchwidgets.eval.shape_metrics import (
    chamfer_distance,
    dilated_iou,
    same_class_shuffle,
    shape_similarity,
    sketch_dependence,
    spread_ratio,
)
from sketchwidgets.io import image_to_tensor


def square(shift: int = 0, size: int = 64) -> np.ndarray:
    """A 2 px black square outline on white, moved ``shift`` px right."""
    page = np.full((size, size), 255, np.uint8)
    cv2.rectangle(page, (16 + shift, 16), (47 + shift, 47), 0, 2)
    return page


BLANK = np.full((64, 64), 255, np.uint8)


def test_identical_drawings_score_best():
    assert dilated_iou(square(), square()) == 1.0
    assert chamfer_distance(square(), square()) == 0.0


def test_a_shift_scores_worse_and_more_so_when_larger():
    ious = [dilated_iou(square(), square(s)) for s in (0, 2, 5, 10)]
    chamfers = [chamfer_distance(square(), square(s)) for s in (0, 2, 5, 10)]
    assert ious == sorted(ious, reverse=True) and len(set(ious)) == 4
    assert chamfers == sorted(chamfers) and len(set(chamfers)) == 4
    assert dilated_iou(square(), square(1)) > 0.8  # a pixel off is within the tolerance


def test_blank_scores_worst():
    assert dilated_iou(square(), BLANK) == 0.0 == dilated_iou(BLANK, square())
    assert chamfer_distance(square(), BLANK) == 1.0
    far = square(14)
    assert dilated_iou(square(), BLANK) <= dilated_iou(square(), far)
    assert chamfer_distance(square(), far) < 1.0


def test_batch_score_reads_model_tensors():
    sketches = torch.stack([image_to_tensor(square()), image_to_tensor(square())])
    edges = torch.stack(
        [image_to_tensor(square()).expand(3, -1, -1), image_to_tensor(BLANK).expand(3, -1, -1)]
    )
    assert shape_similarity(sketches, edges) == pytest.approx(0.5)


def test_sizes_must_match():
    with pytest.raises(ValueError, match="differ in size"):
        dilated_iou(square(), square(size=32))


def test_light_grey_strokes_of_a_resized_drawing_count_as_ink():
    thin = np.full((256, 256), 255, np.uint8)
    cv2.rectangle(thin, (64, 64), (191, 191), 0, 1)
    small = cv2.resize(thin, (64, 64), interpolation=cv2.INTER_AREA)  # 1 px lines turn grey
    assert small.min() > 128
    assert dilated_iou(small, square()) > 0.5


def test_same_class_shuffle_keeps_the_class_and_moves_everyone():
    labels = torch.tensor([0, 1, 0, 1, 0, 2])
    order = same_class_shuffle(labels, seed=3)
    assert torch.equal(labels[order], labels)
    assert (order[:5] != torch.arange(5)).all() and order[5] == 5  # a class of one stays
    assert sorted(order.tolist()) == list(range(6))


def test_sketch_dependence_tells_a_follower_from_a_copier_of_one_drawing():
    sketches = torch.stack([image_to_tensor(square(s)) for s in (0, 6, 12, 18)])
    labels = torch.zeros(4, dtype=torch.long)
    follows = sketch_dependence(sketches, sketches, labels)
    assert follows["matched"] == 1.0 and follows["shuffled"] < 0.5
    ignores = sketch_dependence(sketches, sketches[:1].expand(4, -1, -1, -1), labels)
    assert ignores["matched"] < 1.0 and ignores["matched"] == pytest.approx(ignores["shuffled"])


def test_spread_ratio():
    real = torch.stack([image_to_tensor(square(s)) for s in (0, 6, 12, 18)])
    labels = torch.tensor([0, 0, 1, 1])
    assert spread_ratio(real, real, labels) == 1.0
    assert spread_ratio(real[:1].expand(4, -1, -1, -1), real, labels) == 0.0
    with pytest.raises(ValueError, match="at least two"):
        spread_ratio(real[:2], real[:2], torch.tensor([0, 1]))
