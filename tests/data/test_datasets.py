"""torch Datasets over the three paired layouts: items, labels, exclusions, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sketchwidgets.data.datasets import (
    EmptyDatasetError,
    ImageReadError,
    JointImageDataset,
    PairedFolderDataset,
    PairError,
    SideBySideDataset,
    add_exclusion,
    train_val_split,
)
from sketchwidgets.data.pairs import write_joint, write_pair, write_side_by_side
from sketchwidgets.data.transforms import PairedTransform
from sketchwidgets.device import seed_everything
from sketchwidgets.io import image_to_tensor, write_image


def _photo(seed: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _sketch(seed: int, size: int = 16) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random((size, size)) > 0.2, 255, 0).astype(np.uint8)


def _side_by_side_folder(root, classes=(None,), per_class=2):
    for c, name in enumerate(classes):
        for k in range(per_class):
            seed = 10 * c + k
            sub = root / name if name else root
            write_side_by_side(sub / f"{k}_AB.png", _sketch(seed), _photo(seed))
    return root


def _bad_files(folder):
    """A truncated PNG, a text file named .png and a zero-byte .png in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    good = write_image(folder / "truncated.png", _photo(99, 32))
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    (folder / "text.png").write_text("this is not an image")
    (folder / "empty.png").write_bytes(b"")
    return ["truncated.png", "text.png", "empty.png"]


def test_side_by_side_directions(tmp_path):
    root = _side_by_side_folder(tmp_path)
    item = SideBySideDataset(root)[0]
    assert item["sketch"].shape == (1, 16, 16) and item["photo"].shape == (3, 16, 16)
    assert item["sketch"].dtype == torch.float32
    torch.testing.assert_close(item["sketch"], image_to_tensor(_sketch(0)))
    torch.testing.assert_close(item["photo"], image_to_tensor(_photo(0)))
    assert item["label"] == -1 and item["path"] == str(root / "0_AB.png")
    swapped = SideBySideDataset(root, direction="BtoA", grayscale_sketch=False)[0]
    torch.testing.assert_close(swapped["photo"], image_to_tensor(np.dstack([_sketch(0)] * 3)))
    torch.testing.assert_close(swapped["sketch"], image_to_tensor(_photo(0)))
    with pytest.raises(ValueError, match="direction"):
        SideBySideDataset(root, direction="AB")


def test_side_by_side_classes_size_and_transform(tmp_path):
    root = _side_by_side_folder(tmp_path, classes=("shoe", "bag"), per_class=2)
    dataset = SideBySideDataset(root, size=8)
    assert dataset.class_names == ["bag", "shoe"]
    assert dataset.labels == [0, 0, 1, 1]
    assert dataset[3]["sketch"].shape == (1, 8, 8) and dataset[3]["label"] == 1
    augmented = SideBySideDataset(root, transform=PairedTransform(20, 12))
    seed_everything(0)
    first = augmented[0]["photo"]
    seed_everything(0)
    again = augmented[0]["photo"]
    assert first.shape == (3, 12, 12)
    torch.testing.assert_close(first, again)


def test_paired_folders_flat_and_classes(tmp_path):
    write_pair(tmp_path / "flat", "a", _sketch(0), _photo(0))
    write_pair(tmp_path / "flat", "b", _sketch(1), _photo(1), suffix=".jpg")
    flat = PairedFolderDataset(tmp_path / "flat")
    assert len(flat) == 2 and flat.class_names == [] and flat.labels == [-1, -1]
    torch.testing.assert_close(flat[0]["sketch"], image_to_tensor(_sketch(0)))
    assert flat[0]["path"] == str(tmp_path / "flat" / "sketch" / "a.png")
    for c, name in enumerate(["tree", "apple", "mug"]):
        write_pair(tmp_path / "cls", f"x{c}", _sketch(c), _photo(c), class_name=name)
    classes = PairedFolderDataset(tmp_path / "cls")
    assert classes.class_names == ["apple", "mug", "tree"]
    by_name = {p.class_name: classes[i]["label"] for i, p in enumerate(classes.pairs)}
    assert by_name == {"apple": 0, "mug": 1, "tree": 2}


def test_paired_mismatch_is_reported(tmp_path):
    write_pair(tmp_path, "ok", _sketch(0), _photo(0))
    sketch, photo = write_pair(tmp_path, "small", _sketch(1), _photo(1))
    write_image(photo, _photo(1, 8), overwrite=True)
    write_image(tmp_path / "sketch" / "alone.png", _sketch(2))
    with pytest.warns(UserWarning, match="alone.png"):
        dataset = PairedFolderDataset(tmp_path)
    assert len(dataset) == 2
    with pytest.raises(PairError) as info:
        dataset[1]
    assert str(sketch) in str(info.value) and str(photo) in str(info.value)
    assert [p for p, _ in dataset.validate()] == [sketch]
    with pytest.warns(UserWarning, match="alone.png"):
        resized = PairedFolderDataset(tmp_path, size=12)
    assert resized[1]["photo"].shape == (3, 12, 12) and resized.validate() == []


def test_joint_dataset(tmp_path):
    write_joint(tmp_path / "a.png", _sketch(0, 64), _photo(0, 64))
    write_joint(tmp_path / "b.png", _sketch(1, 32), _photo(1, 32), size=32)
    dataset = JointImageDataset(tmp_path)
    item = dataset[0]
    torch.testing.assert_close(item["sketch"], image_to_tensor(_sketch(0, 64)))
    torch.testing.assert_close(item["photo"], image_to_tensor(_photo(0, 64)))
    assert dataset[1]["photo"].shape == (3, 64, 64)  # 32 px halves resized to size=64
    assert JointImageDataset(tmp_path, size=None)[1]["photo"].shape == (3, 32, 32)
    write_image(tmp_path / "square.png", _photo(2, 64))
    with pytest.raises(PairError, match="square.png"):
        JointImageDataset(tmp_path)[2]


def test_exclusions_are_honoured_by_every_reader(tmp_path):
    sbs = _side_by_side_folder(tmp_path / "sbs", classes=("a", "b"), per_class=2)
    add_exclusion(sbs, "a/0_AB.png")
    add_exclusion(sbs, sbs / "b")  # a whole class folder
    assert [p.name for p in SideBySideDataset(sbs).files] == ["1_AB.png"]
    paired = tmp_path / "paired"
    for k in range(3):
        write_pair(paired, f"p{k}", _sketch(k), _photo(k))
    add_exclusion(paired, "photo/p1.png")  # either file of a pair drops the pair
    assert [p.sketch.name for p in PairedFolderDataset(paired).pairs] == ["p0.png", "p2.png"]
    joint = tmp_path / "joint"
    for k in range(2):
        write_joint(joint / f"j{k}.png", _sketch(k, 64), _photo(k, 64))
    (joint / "excluded.txt").write_text("# flagged in the browser\nj0.png\n")
    assert [p.name for p in JointImageDataset(joint).files] == ["j1.png"]


@pytest.mark.parametrize("kind", ["side_by_side", "joint"])
def test_bad_files_raise_naming_the_file_and_validate_lists_them(tmp_path, kind):
    if kind == "side_by_side":
        _side_by_side_folder(tmp_path)
        dataset_class = SideBySideDataset
    else:
        write_joint(tmp_path / "good.png", _sketch(0, 64), _photo(0, 64))
        dataset_class = JointImageDataset
    bad = _bad_files(tmp_path)
    dataset = dataset_class(tmp_path)  # construction only lists files
    for name in bad:
        with pytest.raises(ImageReadError, match=name):
            dataset[[p.name for p in dataset.files].index(name)]
    reported = dataset.validate()
    assert sorted(p.name for p, _ in reported) == sorted(bad)
    assert all(reason for _, reason in reported)


def test_grayscale_and_rgba_photos_are_converted(tmp_path):
    sketch_dir, photo_dir = tmp_path / "sketch", tmp_path / "photo"
    sketch_dir.mkdir()
    photo_dir.mkdir()
    Image.fromarray(_photo(0)[:, :, 0], "L").save(photo_dir / "gray.png")
    rgba = np.dstack([_photo(1), np.full((16, 16), 255, np.uint8)])
    rgba[:4, :4, 3] = 0  # transparent corner -> white
    Image.fromarray(rgba, "RGBA").save(photo_dir / "rgba.png")
    Image.fromarray(np.dstack([_sketch(0)] * 3)).save(sketch_dir / "gray.png")
    Image.fromarray(np.dstack([_sketch(1)] * 3)).save(sketch_dir / "rgba.png")
    dataset = PairedFolderDataset(tmp_path)
    assert dataset.validate() == []
    gray, rgba_item = dataset[0]["photo"], dataset[1]["photo"]
    assert gray.shape == (3, 16, 16) and torch.equal(gray[0], gray[2])
    assert rgba_item.shape == (3, 16, 16) and bool((rgba_item[:, :4, :4] == 1).all())


def test_empty_and_missing_folders_name_the_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    for dataset_class in (SideBySideDataset, JointImageDataset):
        with pytest.raises(EmptyDatasetError, match=str(empty)):
            dataset_class(empty)
    with pytest.raises(FileNotFoundError, match="missing"):
        SideBySideDataset(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="photo/"):
        (empty / "sketch").mkdir()
        PairedFolderDataset(empty)
    (empty / "photo").mkdir()
    with pytest.raises(EmptyDatasetError, match=str(empty)):
        PairedFolderDataset(empty)
    with pytest.raises(ValueError, match="PairedFolderDataset"):
        SideBySideDataset(empty)  # empty/ now holds sketch/ and photo/
    all_excluded = _side_by_side_folder(tmp_path / "gone", per_class=1)
    add_exclusion(all_excluded, "0_AB.png")
    with pytest.raises(EmptyDatasetError, match="excluded"):
        SideBySideDataset(all_excluded)


def test_train_val_split_is_deterministic(tmp_path):
    dataset = SideBySideDataset(_side_by_side_folder(tmp_path, classes=("a", "b"), per_class=5))
    train, val = train_val_split(dataset, 0.2, seed=0)
    again_train, again_val = train_val_split(dataset, 0.2, seed=0)
    assert len(train) == 8 and len(val) == 2
    assert list(val.indices) == list(again_val.indices)
    assert sorted([*train.indices, *val.indices]) == list(range(10))
    others = {tuple(train_val_split(dataset, 0.2, seed=s)[1].indices) for s in range(6)}
    assert len(others) > 1
    assert len(train_val_split(dataset, 0.01, seed=0)[1]) == 1  # never empty
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(dataset, 1.0, seed=0)


def test_real_edges2shoes_side_by_side(shared_data):
    dataset = SideBySideDataset(shared_data("edges2shoes_subset") / "train")
    assert len(dataset) == 100 and dataset.class_names == []
    for index in (0, 57, 99):
        item = dataset[index]
        assert item["sketch"].shape == (1, 256, 256) and item["photo"].shape == (3, 256, 256)
        assert item["path"].endswith("_AB.jpg")
        assert item["sketch"].mean() > 0.5  # A = edge map: mostly white paper
        assert item["sketch"].min() < -0.5  # with dark lines


def test_real_celeba_joint_images(shared_data):
    dataset = JointImageDataset(shared_data("celeba_xdog_joint64") / "pairs_64x128")
    assert len(dataset) == 832
    item = dataset[831]
    assert item["sketch"].shape == (1, 64, 64) and item["photo"].shape == (3, 64, 64)
    assert item["sketch"].mean() > item["photo"].mean() + 0.2  # sketch left: mostly white
    assert (item["sketch"] > 0.8).float().mean() > 0.5
    assert dataset.files[0].name == "gt00_00.png" and dataset.labels[0] == -1
