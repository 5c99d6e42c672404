"""Paired formats: A|B split/join, joint images, parallel folders, exclusion list."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sketchwidgets.data.pairs import (
    PairedFiles,
    PairError,
    add_exclusion,
    find_pairs,
    is_excluded,
    join_side_by_side,
    make_joint,
    read_exclusions,
    read_joint,
    read_pair,
    read_side_by_side,
    split_joint,
    split_side_by_side,
    write_joint,
    write_pair,
    write_side_by_side,
)
from sketchwidgets.io import read_image, write_image


def _rgb(seed: int, h: int = 8, w: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _gray(seed: int, h: int = 8, w: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def test_side_by_side_round_trip_and_order():
    a, b = _rgb(0), _rgb(1)
    joined = join_side_by_side(a, b)
    assert joined.shape == (8, 16, 3)
    left, right = split_side_by_side(joined)
    np.testing.assert_array_equal(left, a)
    np.testing.assert_array_equal(right, b)
    first, second = split_side_by_side(joined, order="BA")
    np.testing.assert_array_equal(first, b)
    np.testing.assert_array_equal(second, a)


def test_join_makes_grayscale_and_rgba_halves_rgb():
    gray = _gray(0)
    rgba = np.dstack([_rgb(1), np.full((8, 8), 255, np.uint8)])
    joined = join_side_by_side(gray, rgba)
    assert joined.shape == (8, 16, 3)
    np.testing.assert_array_equal(joined[:, :8, 1], gray)
    np.testing.assert_array_equal(joined[:, 8:], rgba[:, :, :3])


def test_split_rejects_odd_width_and_bad_order():
    with pytest.raises(PairError, match="even width"):
        split_side_by_side(np.zeros((4, 7, 3), np.uint8))
    with pytest.raises(ValueError, match="order"):
        split_side_by_side(np.zeros((4, 8, 3), np.uint8), order="AA")
    with pytest.raises(PairError, match="differ in size"):
        join_side_by_side(_rgb(0, 8, 8), _rgb(1, 6, 8))


def test_joint_round_trip_and_resize():
    sketch = np.where(_gray(0, 64, 64) > 128, 255, 0).astype(np.uint8)
    photo = _rgb(1, 64, 64)
    joint = make_joint(sketch, photo)
    assert joint.shape == (64, 128, 3) and joint.dtype == np.uint8
    back_sketch, back_photo = split_joint(joint)
    np.testing.assert_array_equal(back_sketch, sketch)
    np.testing.assert_array_equal(back_photo, photo)
    big = make_joint(np.full((128, 128), 255, np.uint8), _rgb(2, 128, 128), size=32)
    assert big.shape == (32, 64, 3)
    with pytest.raises(PairError, match="twice as wide"):
        split_joint(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(PairError, match="the sketch is 64x64 but the photo is 128x64"):
        make_joint(sketch, _rgb(3, 64, 128))  # cropping each to a square would misalign them


def test_side_by_side_files(tmp_path):
    a, b = _rgb(0), _rgb(1)
    path = write_side_by_side(tmp_path / "x_AB.png", a, b)
    got_a, got_b = read_side_by_side(path)
    np.testing.assert_array_equal(got_a, a)
    np.testing.assert_array_equal(got_b, b)
    got_b2, _ = read_side_by_side(path, order="BA")
    np.testing.assert_array_equal(got_b2, b)
    with pytest.raises(FileExistsError, match="x_AB.png"):
        write_side_by_side(path, b, a)
    write_side_by_side(path, b, a, overwrite=True)
    np.testing.assert_array_equal(read_side_by_side(path)[0], b)


def test_malformed_side_by_side_file_names_it(tmp_path):
    path = write_image(tmp_path / "odd.png", _rgb(0, 8, 9))
    with pytest.raises(PairError, match="odd.png"):
        read_side_by_side(path)
    with pytest.raises(PairError, match="odd.png"):
        read_joint(path)


def test_joint_files(tmp_path):
    sketch, photo = np.full((64, 64), 255, np.uint8), _rgb(3, 64, 64)
    sketch[10:20, 5:50] = 0
    path = write_joint(tmp_path / "j.png", sketch, photo)
    assert read_image(path).shape == (64, 128, 3)
    got_sketch, got_photo = read_joint(path)
    np.testing.assert_array_equal(got_sketch, sketch)
    np.testing.assert_array_equal(got_photo, photo)


def test_find_pairs_flat_with_different_suffixes(tmp_path):
    write_image(tmp_path / "sketch" / "b.png", _gray(0))
    write_image(tmp_path / "photo" / "b.jpg", _rgb(1))
    write_pair(tmp_path, "a", _gray(2), _rgb(3))
    pairs = find_pairs(tmp_path)
    assert [(p.sketch.name, p.photo.name, p.class_name) for p in pairs] == [
        ("a.png", "a.png", None),
        ("b.png", "b.jpg", None),
    ]


def test_find_pairs_class_subfolders(tmp_path):
    write_pair(tmp_path, "x", _gray(0), _rgb(0), class_name="shoe")
    write_pair(tmp_path, "x", _gray(1), _rgb(1), class_name="bag", suffix=".jpg")
    pairs = find_pairs(tmp_path)
    assert [p.class_name for p in pairs] == ["bag", "shoe"]
    assert pairs[0].photo == tmp_path / "photo" / "bag" / "x.jpg"
    # same stem in another class is a different pair, not a partner
    assert pairs[1].sketch == tmp_path / "sketch" / "shoe" / "x.png"


def test_missing_partner_warns_naming_both(tmp_path):
    write_pair(tmp_path, "ok", _gray(0), _rgb(0))
    write_image(tmp_path / "sketch" / "lonely.png", _gray(1))
    write_image(tmp_path / "photo" / "c" / "orphan.jpg", _rgb(2))
    with pytest.warns(UserWarning) as record:
        pairs = find_pairs(tmp_path)
    messages = " | ".join(str(w.message) for w in record)
    assert "lonely.png" in messages and str(tmp_path / "photo" / "lonely") in messages
    assert "orphan.jpg" in messages and str(tmp_path / "sketch" / "c" / "orphan") in messages
    assert [p.sketch.name for p in pairs] == ["ok.png"]


def test_duplicate_stems_and_missing_folder(tmp_path):
    write_pair(tmp_path, "a", _gray(0), _rgb(0))
    write_image(tmp_path / "photo" / "a.jpg", _rgb(1))
    with pytest.raises(PairError, match=r"a\.png.*a\.jpg|a\.jpg.*a\.png"):
        find_pairs(tmp_path)
    (tmp_path / "other").mkdir()
    with pytest.raises(FileNotFoundError, match="sketch/"):
        find_pairs(tmp_path / "other")


def test_read_pair_size_mismatch_names_both_files(tmp_path):
    sketch, photo = write_pair(tmp_path, "a", _gray(0, 16, 16), _rgb(0, 16, 16))
    write_image(photo, _rgb(1, 8, 8), overwrite=True)
    pair = PairedFiles(sketch, photo, None)
    with pytest.raises(PairError) as info:
        read_pair(pair)
    assert str(sketch) in str(info.value) and str(photo) in str(info.value)
    got_sketch, got_photo = read_pair(pair, same_size=False)
    assert got_sketch.shape == (16, 16) and got_photo.shape == (8, 8, 3)


def test_write_pair_refuses_to_overwrite(tmp_path):
    write_pair(tmp_path, "a", _gray(0), _rgb(0))
    with pytest.raises(FileExistsError, match="a.png"):
        write_pair(tmp_path, "a", _gray(1), _rgb(1))
    sketch, _ = write_pair(tmp_path, "a", _gray(1), _rgb(1), overwrite=True)
    np.testing.assert_array_equal(read_image(sketch, "L"), _gray(1))


def test_exclusion_list(tmp_path):
    (tmp_path / "excluded.txt").write_text("# bad pairs\n\nshoe/1.png\n./bag/\n")
    assert read_exclusions(tmp_path) == ["shoe/1.png", "bag"]
    assert add_exclusion(tmp_path, "shoe/2.png") == "shoe/2.png"
    assert add_exclusion(tmp_path, tmp_path / "shoe" / "2.png") == "shoe/2.png"  # no repeat
    assert add_exclusion(tmp_path, tmp_path / "x.png") == "x.png"
    assert read_exclusions(tmp_path) == ["shoe/1.png", "bag", "shoe/2.png", "x.png"]
    excluded = set(read_exclusions(tmp_path))
    assert is_excluded("bag/anything.png", excluded)
    assert is_excluded("shoe/2.png", excluded)
    assert not is_excluded("shoe/3.png", excluded)
    with pytest.raises(ValueError, match="not inside"):
        add_exclusion(tmp_path, tmp_path.parent / "elsewhere.png")
    with pytest.raises(ValueError, match="not a path inside"):
        add_exclusion(tmp_path, "../x.png")
    assert read_exclusions(tmp_path / "missing") == []


def test_find_pairs_honours_exclusions_without_warning(tmp_path):
    warnings.simplefilter("error")
    write_pair(tmp_path, "a", _gray(0), _rgb(0))
    write_pair(tmp_path, "b", _gray(1), _rgb(1))
    (tmp_path / "photo" / "b.png").unlink()  # b's sketch has no partner, but it is excluded
    pairs = find_pairs(tmp_path, excluded={"sketch/b.png"})
    assert [p.sketch.name for p in pairs] == ["a.png"]
    assert find_pairs(tmp_path, excluded={"photo/a.png", "sketch/b.png"}) == []  # no warning
    write_image(tmp_path / "photo" / "a.jpg", _rgb(2))  # a duplicate, resolved by excluding it
    assert len(find_pairs(tmp_path, excluded={"photo/a.jpg", "sketch/b.png"})) == 1
