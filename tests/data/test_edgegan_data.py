"""EdgeGAN data: SketchyCOCO object files (real examples), test sketches, shoes/handbags."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from sketchwidgets.data.dataset_export import export_pairs
from sketchwidgets.data.edgegan_format import (
    SKETCHYCOCO_CLASSES,
    EdgeGANFormatError,
    EdgeGANJointDataset,
    read_test_sketch,
    shoes_handbags,
    split_edgegan_joint,
)
from sketchwidgets.io import write_image
from tests.data.helpers import blank, check_item


@pytest.fixture
def examples(shared_data):
    return shared_data("edgegan_format_examples")


def test_training_examples_read_as_edge_and_image(examples):
    data = EdgeGANJointDataset(
        examples / "train", class_name="sheep", class_names=SKETCHYCOCO_CLASSES
    )
    assert len(data) == 5 and data.class_names[13] == "sheep"
    for index in range(len(data)):
        item = data[index]
        check_item(item, (64, 64))
        assert item["label"] == 13
        assert float(item["sketch"].mean()) > 0.5  # thin dark edges on a white page
        edge_gray = item["sketch"][0]
        photo_gray = item["photo"].mean(0)
        assert float((edge_gray - photo_gray).abs().mean()) > 0.05  # the halves differ


def test_sketchycoco_index_folders_name_the_class(examples, tmp_path):
    for name in ("60975.png", "60981.png"):
        (tmp_path / "stage1" / "train" / "13").mkdir(parents=True, exist_ok=True)
        shutil.copy(examples / "train" / name, tmp_path / "stage1" / "train" / "13" / name)
    data = EdgeGANJointDataset(tmp_path / "stage1" / "train")
    assert data.class_names == list(SKETCHYCOCO_CLASSES)
    assert [data.class_names[label] for label in data.labels] == ["sheep", "sheep"]


def test_labels_file_gives_the_class(examples, tmp_path):
    shutil.copytree(examples / "train", tmp_path / "train")
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file,class\n" + "".join(f"{p.name},sheep\n" for p in (tmp_path / "train").iterdir())
    )
    data = EdgeGANJointDataset(tmp_path / "train", labels_file=labels)
    assert data.class_names == ["sheep"] and set(data.labels) == {0}


def test_files_outside_class_folders_need_a_class(examples):
    with pytest.raises(ValueError, match="class_name=.*labels_file="):
        EdgeGANJointDataset(examples / "train")


def test_test_inputs_are_the_left_sketch(examples):
    files = sorted((examples / "test").glob("*.png")) + sorted(
        (examples / "test_old_8cf4e5a").glob("*.png")
    )
    assert len(files) == 9
    for path in files:
        sketch = read_test_sketch(path)
        left, right = split_edgegan_joint(path)
        assert sketch.shape == (64, 64) and sketch.dtype == np.uint8
        assert np.abs(left.astype(int) - right.astype(int)).mean() < 8  # [sketch | sketch]
        assert 0.02 < (sketch < 250).mean() < 0.5  # light grey strokes, mostly paper


def test_wrong_shape_file_is_named(examples, tmp_path):
    shutil.copytree(examples / "train", tmp_path / "train")
    bad = write_image(tmp_path / "train" / "square.png", blank(64, 64))
    data = EdgeGANJointDataset(tmp_path / "train", class_name="sheep")
    index = data.paths.index(str(bad))
    with pytest.raises(EdgeGANFormatError, match=r"square\.png.*64x64"):
        data[index]
    with pytest.raises(EdgeGANFormatError, match=r"square\.png"):
        read_test_sketch(bad)


def test_shoes_handbags_read_edge_and_photo(shared_data):
    data = shoes_handbags(shared_data("shoes_handbags_photo_edges"), split="val")
    assert len(data) == 400 and data.class_names == ["handbag", "shoe"]
    first, last = data[0], data[399]  # val/1 is a shoe, val/400 a handbag (index.csv)
    assert (first["label"], last["label"]) == (1, 0)
    for item in (first, last):
        check_item(item, (64, 64))
        assert float(item["sketch"].mean()) > 0.5  # edges (the RIGHT half) on white
        assert float(item["photo"].std()) > 0.1


def test_shoes_handbags_export_to_the_joint_layout(shared_data, tmp_path):
    source = shared_data("shoes_handbags_photo_edges")
    (tmp_path / "src" / "val").mkdir(parents=True)
    rows = ["file,split,category"]
    for name, category in (("1_AB.jpg", "shoe"), ("400_AB.jpg", "handbag")):
        shutil.copy(source / "val" / name, tmp_path / "src" / "val" / name)
        rows.append(f"val/{name},val,{category}")
    (tmp_path / "src" / "index.csv").write_text("\n".join(rows) + "\n")
    data = shoes_handbags(tmp_path / "src", split="val")
    export_pairs(data, tmp_path / "joint", format="joint", progress=False)
    joint = EdgeGANJointDataset(tmp_path / "joint")
    assert joint.class_names == ["handbag", "shoe"]
    assert sorted(joint.class_names[i] for i in joint.labels) == ["handbag", "shoe"]
    again = joint[joint.labels.index(1)]
    original = data[0]
    assert float((again["photo"] - original["photo"]).abs().mean()) < 0.02
    assert float((again["sketch"] - original["sketch"]).abs().mean()) < 0.02
