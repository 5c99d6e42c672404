"""Importers on the real files in ../shared/data, and on small files made in each layout.

The face importers (CelebA, CUFS pairs) are tested in test_faces.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sketchwidgets.data.dataset_export import export_pairs
from sketchwidgets.data.datasets import JointImageDataset, PairedFolderDataset, SideBySideDataset
from sketchwidgets.data.importers import (
    DataWarning,
    import_edges2shoes,
    import_sketchy,
    split_halves,
)
from sketchwidgets.data.pairs import EmptyDatasetError
from sketchwidgets.data.quickdraw import load_quickdraw
from sketchwidgets.data.strokes import Sketch, rasterize
from sketchwidgets.data.transforms import PairedTransform
from sketchwidgets.io import read_image, to_gray, write_image
from tests.data.helpers import blank, check_item


def white_and_ink(dataset, indices) -> tuple[float, float, float]:
    """Mean over items: sketch near-white share, sketch dark-ink share, photo near-white share."""
    rows = []
    for i in indices:
        sketch, photo = dataset.load_arrays(i)
        rows.append(((sketch > 200).mean(), (sketch < 100).mean(), (to_gray(photo) > 200).mean()))
    return tuple(np.mean(rows, axis=0))


# --------------------------------------------------------------------------- edges2shoes


def test_edges2shoes_real_files_counts_shapes_and_orientation(shared_data):
    root = shared_data("edges2shoes_subset")
    train = import_edges2shoes(root)
    assert len(train) == 100 and len(import_edges2shoes(root, split="val")) == 20
    assert len(import_edges2shoes(root, split=None)) == 120
    assert train.class_names == [] and set(train.labels) == {-1}
    item = train[0]
    check_item(item, (256, 256))
    assert Path(item["path"]).name.endswith("_AB.jpg")
    sketch_white, sketch_ink, photo_white = white_and_ink(train, range(0, 100, 20))
    assert sketch_white > 0.93 and 0.005 < sketch_ink < 0.1  # thin dark lines on white
    assert photo_white < 0.8
    swapped = import_edges2shoes(root, direction="BtoA")
    assert white_and_ink(swapped, range(0, 100, 20))[0] < 0.8  # the photo is now the "sketch"


def test_edges2shoes_halves_are_the_file_halves(shared_data):
    dataset = import_edges2shoes(shared_data("edges2shoes_subset"), split="val")
    image = read_image(dataset.paths[3])
    sketch, photo = dataset.load_arrays(3)
    np.testing.assert_array_equal(sketch, to_gray(image[:, :256]))
    np.testing.assert_array_equal(photo, image[:, 256:])


def test_shoes_handbags_swapped_with_index_csv_labels(shared_data):
    root = shared_data("shoes_handbags_photo_edges")
    train = import_edges2shoes(root, direction="BtoA", size=64)
    val = import_edges2shoes(root, split="val", direction="BtoA", size=64)
    assert (len(train), len(val)) == (2000, 400)
    assert train.class_names == ["handbag", "shoe"]
    by_name = {Path(p).name: label for p, label in zip(train.paths, train.labels, strict=True)}
    assert by_name["1_AB.jpg"] == 1 and by_name["1000_AB.jpg"] == 1
    assert by_name["1001_AB.jpg"] == 0 and by_name["2000_AB.jpg"] == 0
    assert train.labels.count(0) == 1000 and val.labels.count(1) == 200
    assert Path(train.paths[1]).name == "2_AB.jpg"  # natural sort order
    check_item(train[0], (64, 64))
    picks = range(0, 2000, 250)
    sketch_white, sketch_ink, photo_white = white_and_ink(train, picks)
    assert sketch_white > 0.9 and sketch_ink < 0.1 and photo_white < 0.8
    unswapped = import_edges2shoes(root, size=64)  # edges on the right: default reads it wrong
    assert white_and_ink(unswapped, picks)[0] < 0.8


def test_edgegan_train_examples_read_as_side_by_side(shared_data):
    dataset = import_edges2shoes(shared_data("edgegan_format_examples"), split="train")
    assert len(dataset) == 5
    check_item(dataset[0], (64, 64))
    sketch_white, _, photo_white = white_and_ink(dataset, range(5))
    assert sketch_white > photo_white


def test_portrait_ab_files_split_top_and_bottom(tmp_path):
    top, bottom = blank(32, 32, 255), blank(32, 32, 0)
    top[10, :] = 0
    a, b = split_halves(np.concatenate([top, bottom], axis=0))
    np.testing.assert_array_equal(a, top)
    np.testing.assert_array_equal(b, bottom)
    write_image(tmp_path / "train" / "1_AB.png", np.concatenate([top, bottom], axis=0))
    sketch, photo = import_edges2shoes(tmp_path).load_arrays(0)
    assert sketch.shape == (32, 32) and (sketch[10] == 0).all() and photo.max() == 0


def test_edges2shoes_errors_name_root_and_expected_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        import_edges2shoes(tmp_path / "missing")
    (tmp_path / "val").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no split folder 'train'.*\['val'\]"):
        import_edges2shoes(tmp_path)
    with pytest.raises(EmptyDatasetError, match="val"):
        import_edges2shoes(tmp_path, split="val")
    write_image(tmp_path / "val" / "1_AB.png", blank(8, 16))
    with pytest.raises(ValueError, match="direction"):
        import_edges2shoes(tmp_path, split="val", direction="AB")


def test_edges2shoes_honours_excluded_txt_and_transform(tmp_path):
    for n in (1, 2, 10):
        write_image(tmp_path / "train" / f"{n}_AB.png", blank(16, 32, 10 * n))
    (tmp_path / "excluded.txt").write_text("train/2_AB.png\n")
    dataset = import_edges2shoes(tmp_path, transform=PairedTransform(20, 12, flip=True))
    assert [Path(p).name for p in dataset.paths] == ["1_AB.png", "10_AB.png"]
    check_item(dataset[1], (12, 12))


# --------------------------------------------------------------------------- Sketchy


def test_sketchy_subset_pairs_match_pairs_csv(shared_data):
    root = shared_data("sketchy_subset")
    dataset = import_sketchy(root, size=64)
    assert len(dataset) == 3125 and len(dataset.class_names) == 125
    assert dataset.class_names == sorted(dataset.class_names)
    assert "car_(sedan)" in dataset.class_names and dataset.excluded == []
    with (root / "pairs.csv").open(newline="") as handle:
        expected = {(row["sketch"], row["photo"], row["class"]) for row in csv.DictReader(handle)}
    found = {
        (
            s.relative_to(root).as_posix(),
            p.relative_to(root).as_posix(),
            dataset.class_names[label],
        )
        for s, p, label in zip(
            dataset.sketch_files, dataset.photo_files, dataset.labels, strict=True
        )
    }
    assert found == expected
    item = dataset[0]
    check_item(item, (64, 64))
    assert item["label"] == 0 and "airplane" in item["path"]
    sketch_white, sketch_ink, photo_white = white_and_ink(dataset, range(0, 3125, 625))
    assert sketch_white > 0.85 and sketch_ink < 0.15 and photo_white < 0.5


def test_sketchy_subset_native_sizes_and_explicit_dirs(shared_data):
    root = shared_data("sketchy_subset")
    dataset = import_sketchy(root, classes=["zebra", "cup"])
    assert dataset.class_names == ["cup", "zebra"] and len(dataset) == 50
    check_item(dataset[0], (256, 256))  # the 128 px photo is resized to the sketch's size
    explicit = import_sketchy(
        root, photo_dir="photo_128", sketch_dir="sketch_256", classes=["cup", "zebra"]
    )
    assert explicit.paths == dataset.paths
    with pytest.raises(KeyError, match="unicorn"):
        import_sketchy(root, classes=["unicorn"])
    with pytest.raises(ValueError, match="both"):
        import_sketchy(root, photo_dir="photo_128")


def make_sketchy(base: Path) -> None:
    """A tiny Sketchy database in the original layout (two augmentations, info lists)."""
    for tx in ("tx_000000000000", "tx_000100000000"):
        shade = 40 if tx.endswith("0000000000") and tx[5] == "0" else 200
        for cls, photos in {"cat": ["n1_1", "n1_2"], "dog": ["n2_1"]}.items():
            for pid in photos:
                write_image(base / "photo" / tx / cls / f"{pid}.jpg", blank(16, 16, shade))
        for name in ("cat/n1_1-1", "cat/n1_1-2", "cat/n1_2-1", "cat/n1_9-1", "dog/n2_1-1"):
            write_image(base / "sketch" / tx / f"{name}.png", blank(16, 16, 250))


def test_sketchy_full_layout_invalid_lists_and_augmentations(tmp_path):
    base = tmp_path / "rendered_256x256" / "256x256"
    make_sketchy(base)
    info = tmp_path / "info"
    info.mkdir()
    (info / "invalid-ambiguous.txt").write_text("n1_1-2\n")
    (info / "invalid-pose.txt").write_text("n2_1-1.png\n")
    (info / "invalid-error.txt").write_text("")
    with pytest.warns(DataWarning, match=r"skipped 1 Sketchy sketches.*n1_9-1\.png"):
        dataset = import_sketchy(tmp_path)
    assert [Path(p).stem for p in dataset.paths] == ["n1_1-1", "n1_2-1"]
    assert sorted(dataset.excluded) == ["n1_1-2", "n2_1-1"]
    assert dataset.class_names == ["cat", "dog"] and dataset.labels == [0, 0]
    assert all("tx_000000000000" in str(p) for p in dataset.photo_files)
    assert dataset.load_arrays(0)[1].mean() < 100  # the tx_000000000000 photo
    with pytest.warns(DataWarning):
        everything = import_sketchy(tmp_path, include_invalid=True)
    assert len(everything) == 4 and everything.labels[-1] == 1
    with pytest.warns(DataWarning):
        other = import_sketchy(tmp_path, augmentation="tx_000100000000")
    assert all("tx_000100000000" in str(p) for p in other.photo_files + other.sketch_files)
    with pytest.warns(DataWarning):
        mixed = import_sketchy(base, photo_augmentation="tx_000100000000")
    assert "tx_000000000000" in mixed.paths[0] and mixed.load_arrays(0)[1].mean() > 150
    with pytest.raises(FileNotFoundError, match=r"tx_999.*tx_000000000000"):
        import_sketchy(tmp_path, augmentation="tx_999")


def test_sketchy_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Sketchy root not found"):
        import_sketchy(tmp_path / "nothing")
    (tmp_path / "images").mkdir()
    with pytest.raises(FileNotFoundError, match=r"photo/tx_\*/CLASS.*\['images'\]"):
        import_sketchy(tmp_path)
    write_image(tmp_path / "sketch_x" / "cat" / "a_1-1.png", blank(8, 8))
    (tmp_path / "photo_x" / "cat").mkdir(parents=True)
    with pytest.warns(DataWarning, match="a_1-1"), pytest.raises(EmptyDatasetError):
        import_sketchy(tmp_path)


# --------------------------------------------------------------------------- Quick, Draw!


def test_quickdraw_real_folder_one_per_class(shared_data):
    root = shared_data("quickdraw_strokes")
    dataset = load_quickdraw(root, limit=1)
    assert len(dataset) == 344 and len(dataset.class_names) == 344
    assert {"The Eiffel Tower", "alarm clock", "cat"} <= set(dataset.class_names)
    assert dataset.class_names == sorted(dataset.class_names)
    assert all(p.endswith(".ndjson#1") for p in dataset.paths)
    item = dataset[dataset.words.index("cat")]
    check_item(item, (64, 64))
    assert item["label"] == dataset.class_names.index("cat")
    torch.testing.assert_close(item["photo"], item["sketch"].expand(3, -1, -1))
    assert float(item["sketch"].min()) < -0.5 and float((item["sketch"] > 0.9).float().mean()) > 0.7


def test_quickdraw_one_file_recognized_and_strokes(shared_data):
    path = shared_data("quickdraw_strokes") / "data" / "alarm clock.ndjson"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    dataset = load_quickdraw(path, size=32)
    assert len(dataset) == 25 and dataset.class_names == ["alarm clock"]
    assert dataset.key_ids == [r["key_id"] for r in records]
    recognized = load_quickdraw(path, recognized_only=True)
    assert len(recognized) == sum(r["recognized"] for r in records) and all(recognized.recognized)
    sketch = dataset.drawings[0]
    assert isinstance(sketch, Sketch) and len(sketch.strokes) == len(records[0]["drawing"])
    xs = [x for stroke in sketch.strokes for x, _ in stroke.points]
    assert 8 <= min(xs) and max(xs) <= 248  # the margin keeps ink inside the box
    assert dataset.load_arrays(0)[0].shape == (32, 32)
    thin = (rasterize(sketch, 64) < 128).mean()
    thick = (load_quickdraw(path, stroke_width=16, limit=1).load_arrays(0)[0] < 128).mean()
    assert thick > 1.5 * thin


def test_quickdraw_malformed_lines_are_warned_with_line_numbers(tmp_path):
    good = {"word": "cat", "recognized": False, "key_id": "1", "drawing": [[[0, 255], [0, 255]]]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"word": "cat"}),
        json.dumps({**good, "drawing": [[[0, 1, 2], [0, 1]]]}),
        "",
        json.dumps({**good, "recognized": True}),
    ]
    file = tmp_path / "my cat.ndjson"
    file.write_text("\n".join(lines) + "\n")
    with pytest.warns(DataWarning, match=r"my cat\.ndjson: skipped 3 malformed line\(s\) 2, 3, 4"):
        dataset = load_quickdraw(tmp_path)
    assert dataset.paths == [f"{file}#1", f"{file}#6"]
    with pytest.warns(DataWarning):
        assert len(load_quickdraw(file, recognized_only=True)) == 1
    with pytest.raises(KeyError, match="dog"):
        load_quickdraw(tmp_path, classes=["dog"])
    with pytest.raises(FileNotFoundError, match="not found"):
        load_quickdraw(tmp_path / "nope.ndjson")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .ndjson"):
        load_quickdraw(tmp_path / "empty")


# --------------------------------------------------------------------------- export


def test_export_paired_and_joint_read_back_by_the_package_datasets(shared_data, tmp_path):
    dataset = import_sketchy(shared_data("sketchy_subset"), size=64, classes=["cup", "zebra"])
    report = export_pairs(dataset, tmp_path / "paired", progress=False)
    assert len(report.written) == 100 and report.skipped == []
    paired = PairedFolderDataset(tmp_path / "paired")
    assert len(paired) == 50 and paired.class_names == ["cup", "zebra"]
    np.testing.assert_array_equal(paired.read_pair(0)[0], dataset.load_arrays(0)[0])
    with pytest.warns(DataWarning, match="kept 100 existing"):
        again = export_pairs(dataset, tmp_path / "paired", progress=False)
    assert again.written == []
    export_pairs(dataset, tmp_path / "joint", format="joint", progress=False)
    joint = JointImageDataset(tmp_path / "joint")
    assert len(joint) == 50 and joint[0]["photo"].shape == (3, 64, 64)
    with pytest.raises(ValueError, match="size=64"):
        export_pairs(
            import_sketchy(shared_data("sketchy_subset"), classes=["cup"]),
            tmp_path / "j2",
            format="joint",
            progress=False,
        )


def test_export_side_by_side_round_trip_and_manifest(shared_data, tmp_path):
    dataset = import_edges2shoes(shared_data("edges2shoes_subset"), split="val", size=64)
    export_pairs(dataset, tmp_path, format="side_by_side", progress=False)
    manifest = json.loads((tmp_path / "build.json").read_text())
    assert manifest["format"] == "side_by_side" and manifest["count"] == 20
    back = SideBySideDataset(tmp_path)
    assert len(back) == 20
    sketch, photo = back.read_pair(5)
    np.testing.assert_array_equal(sketch, dataset.load_arrays(5)[0])
    np.testing.assert_array_equal(photo, dataset.load_arrays(5)[1])
    with pytest.raises(ValueError, match="format"):
        export_pairs(dataset, tmp_path, format="paired", progress=False)
