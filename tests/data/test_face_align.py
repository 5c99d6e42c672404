"""CUFS faces in the CelebA framing: the similarity fit, and eyes and mouth where CelebA's are."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from sketchwidgets.data.cufs import CUFS_HELD_OUT, AlignedFacePairs, cufs_splits
from sketchwidgets.data.face_align import (
    CELEBA_BOXES,
    CELEBA_LAYOUT,
    CUFS_BOXES,
    CUFS_LAYOUT,
    FaceLayout,
    align,
    find_layout,
    similarity,
)
from sketchwidgets.data.pairs import read_joint
from sketchwidgets.io import to_gray
from tests.data.helpers import check_item

EYE_TOLERANCE = 1.5  # pixels at 64 px
MOUTH_TOLERANCE = 2.0


def _moved(layout: FaceLayout, matrix: np.ndarray, width: int, height: int) -> FaceLayout:
    points = layout.points() @ matrix[:, :2].T + matrix[:, 2]
    return FaceLayout(*(tuple(p) for p in points.tolist()), width, height)


def test_similarity_recovers_a_known_turn_scale_and_shift():
    angle, scale = np.deg2rad(7.0), 0.6
    known = np.array(
        [
            [scale * np.cos(angle), -scale * np.sin(angle), 5.0],
            [scale * np.sin(angle), scale * np.cos(angle), -3.0],
        ]
    )
    target = _moved(CUFS_LAYOUT, known, 64, 64)
    assert np.allclose(similarity(CUFS_LAYOUT, target), known)


def test_find_layout_finds_drawn_eyes_and_mouth():
    face = np.full((250, 200), 200, np.uint8)
    for x in (74, 125):
        cv2.circle(face, (x, 125), 6, 40, -1)
    cv2.line(face, (85, 180), (115, 180), 40, 5)
    layout = find_layout(face.astype(np.float32), CUFS_BOXES)
    assert np.allclose(layout.points(), CUFS_LAYOUT.points(), atol=1.0)


def _mean_gray(images) -> np.ndarray:
    return np.mean([to_gray(image).astype(np.float32) for image in images], axis=0)


@pytest.fixture(scope="module")
def celeba_mean() -> np.ndarray:
    from tests.conftest import shared_folder

    files = sorted((shared_folder("celeba_xdog_joint64") / "pairs_64x128").glob("*.png"))
    return _mean_gray(read_joint(f)[1] for f in files)


@pytest.fixture(scope="module")
def aligned_cufs() -> AlignedFacePairs:
    from tests.conftest import shared_folder

    return AlignedFacePairs(shared_folder("cufs_train"))


def test_the_constants_are_what_the_mean_faces_measure(celeba_mean, aligned_cufs):
    assert find_layout(celeba_mean, CELEBA_BOXES) == CELEBA_LAYOUT
    photos = [aligned_cufs.pairs.read_pair(i)[1] for i in range(len(aligned_cufs))]
    assert find_layout(_mean_gray(photos), CUFS_BOXES) == CUFS_LAYOUT


def test_aligned_cufs_faces_have_celebas_eyes_and_mouth(celeba_mean, aligned_cufs):
    target = find_layout(celeba_mean, CELEBA_BOXES)
    photos = [aligned_cufs.arrays(i)[1] for i in range(len(aligned_cufs))]
    found = find_layout(_mean_gray(photos), CELEBA_BOXES)
    for eye, celeba_eye in ((found.left_eye, target.left_eye), (found.right_eye, target.right_eye)):
        assert abs(eye[1] - celeba_eye[1]) <= EYE_TOLERANCE, (eye, celeba_eye)
        assert abs(eye[0] - celeba_eye[0]) <= EYE_TOLERANCE, (eye, celeba_eye)
    assert abs(found.mouth[1] - target.mouth[1]) <= MOUTH_TOLERANCE


def test_unaligned_cufs_faces_would_miss_by_far(celeba_mean, aligned_cufs):
    """The check above can fail: a plain centre crop puts the eyes elsewhere."""
    target = find_layout(celeba_mean, CELEBA_BOXES)
    photos = [aligned_cufs.pairs.read_pair(i)[1] for i in range(len(aligned_cufs))]
    cropped = [cv2.resize(p[25:225], (64, 64), interpolation=cv2.INTER_AREA) for p in photos]
    found = find_layout(_mean_gray(cropped), CELEBA_BOXES)
    assert abs(found.left_eye[1] - target.left_eye[1]) > 3 * EYE_TOLERANCE


def test_sketch_and_photo_are_warped_alike(aligned_cufs):
    sketch, photo = aligned_cufs.pairs.read_pair(0)
    assert np.array_equal(aligned_cufs.arrays(0)[0], align(sketch, CUFS_LAYOUT, CELEBA_LAYOUT))
    assert np.array_equal(aligned_cufs.arrays(0)[1], align(photo, CUFS_LAYOUT, CELEBA_LAYOUT))
    sketches = [aligned_cufs.arrays(i)[0] for i in range(0, len(aligned_cufs), 4)]
    found = find_layout(_mean_gray(sketches), CELEBA_BOXES)  # the drawn eyes are there too
    assert abs(found.left_eye[1] - CELEBA_LAYOUT.left_eye[1]) <= 2 * EYE_TOLERANCE


def test_items_and_the_people_split(aligned_cufs):
    check_item(aligned_cufs[0], (64, 64))
    assert aligned_cufs[0]["label"] == -1
    train, held_out = cufs_splits(aligned_cufs.root)
    people_train = {train.dataset.pairs.paths[i] for i in train.indices}
    people_held = {held_out.dataset.pairs.paths[i] for i in held_out.indices}
    assert not people_train & people_held
    assert len(people_held) == round(CUFS_HELD_OUT * len(aligned_cufs))
    assert len(people_train) + len(people_held) == len(aligned_cufs)
    again = cufs_splits(aligned_cufs.root)[1]
    assert again.indices == held_out.indices
    assert torch.equal(held_out[0]["sketch"], again[0]["sketch"])
