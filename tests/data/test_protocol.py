"""Every dataset family meets the SketchDataset protocol, with the values its files hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.data.class_match import RelabelledDataset, dataset_class_names, describe
from sketchwidgets.data.datasets import (
    JointImageDataset,
    PairedFolderDataset,
    SideBySideDataset,
    train_val_split,
)
from sketchwidgets.data.edgegan_format import EdgeGANJointDataset
from sketchwidgets.data.faces import import_celeba, import_face_pairs
from sketchwidgets.data.importers import import_edges2shoes
from sketchwidgets.data.protocol import ItemsView, SketchDataset, SketchSubset, sketch_dataset
from sketchwidgets.data.quickdraw import load_quickdraw
from sketchwidgets.data.sketchy import EdgeSketchBlend, import_sketchy_pairs, split_by_photo
from sketchwidgets.io import write_image
from tests.data.helpers import blank

SIDE = 16


def pair_image(shade: int) -> tuple[np.ndarray, np.ndarray]:
    """A dark bar on white (the sketch) and a flat photo of grey ``shade``."""
    sketch = np.full((SIDE, SIDE), 255, np.uint8)
    sketch[4:12, 8] = 0
    return sketch, blank(SIDE, SIDE, shade)


def joint(shade: int) -> np.ndarray:
    sketch, photo = pair_image(shade)
    return np.concatenate([np.repeat(sketch[..., None], 3, axis=2), photo], axis=1)


def paired_folder(root: Path) -> PairedFolderDataset:
    for cls, stem, shade in (("cat", "a", 40), ("cat", "b", 80), ("dog", "c", 120)):
        sketch, photo = pair_image(shade)
        write_image(root / "sketch" / cls / f"{stem}.png", sketch)
        write_image(root / "photo" / cls / f"{stem}.png", photo)
    return PairedFolderDataset(root)


def side_by_side(root: Path) -> SideBySideDataset:
    for cls, stem, shade in (("cat", "a", 40), ("dog", "b", 80)):
        write_image(root / cls / f"{stem}.png", joint(shade))
    return SideBySideDataset(root)


def joint_images(root: Path) -> JointImageDataset:
    for stem, shade in (("a", 40), ("b", 80)):
        write_image(root / f"{stem}.png", joint(shade))
    return JointImageDataset(root, size=SIDE)


def edges2shoes(root: Path):
    for stem, shade in (("1", 40), ("2", 80)):
        write_image(root / "train" / f"{stem}_AB.png", joint(shade))
    (root / "index.csv").write_text("file,category\ntrain/1_AB.png,shoe\ntrain/2_AB.png,bag\n")
    return import_edges2shoes(root, size=SIDE)


def face_pairs(root: Path):
    for stem, shade in (("a", 40), ("b", 80)):
        sketch, photo = pair_image(shade)
        write_image(root / "sketches" / f"{stem}.png", sketch)
        write_image(root / "photos" / f"{stem}.png", photo)
    return import_face_pairs(root)


def celeba(root: Path):
    rng = np.random.default_rng(0)
    for stem in ("000001", "000002"):
        write_image(root / f"{stem}.jpg", rng.integers(0, 255, (24, 20, 3), dtype=np.uint8))
    return import_celeba(root, size=SIDE, crop=None)


def sketchy(root: Path):
    for name, stem in (("cat", "n1_1"), ("dog", "n2_7")):
        write_image(root / "photo_64" / name / f"{stem}.jpg", blank(SIDE, SIDE, 90))
        for n in (1, 2):
            write_image(root / "sketch_64" / name / f"{stem}-{n}.png", pair_image(0)[0])
    return import_sketchy_pairs(root, size=SIDE)


def quickdraw(root: Path):
    line = {"word": "cat", "recognized": True, "key_id": "1", "drawing": [[[0, 255], [0, 255]]]}
    root.mkdir(parents=True)
    (root / "cat.ndjson").write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    return load_quickdraw(root, size=SIDE)


def edgegan_joint(root: Path):
    for stem, shade in (("a", 40), ("b", 80)):
        write_image(root / "sheep" / f"{stem}.png", joint(shade))
    return EdgeGANJointDataset(root, size=SIDE)


FOLDERS = {  # family -> (maker, whether items are files of a dataset folder)
    "paired folder": (paired_folder, True),
    "side by side": (side_by_side, True),
    "joint images": (joint_images, True),
    "edges2shoes import": (edges2shoes, False),
    "face pairs import": (face_pairs, False),
    "celeba import": (celeba, False),
    "sketchy import": (sketchy, False),
    "quick draw": (quickdraw, False),
    "edgegan joint files": (edgegan_joint, False),
}


def check_protocol(data: SketchDataset, expected_root: Path | None) -> None:
    """The protocol's members, each against what the items themselves say."""
    assert isinstance(data, SketchDataset)
    assert len(data) > 0 and len(data.labels) == len(data)
    assert data.root == expected_root
    names = list(data.class_names)
    assert all(isinstance(n, str) for n in names)
    for index in range(len(data)):
        item = data[index]
        assert int(data.labels[index]) == item["label"]
        if names:  # labels index the class names (-1: none)
            assert -1 <= item["label"] < len(names)
        sketch, photo = data.read_pair(index)
        assert sketch.dtype == np.uint8 and sketch.ndim == 2
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        text = data.describe(index)
        assert isinstance(text, str) and text
    if data.size is not None:
        assert tuple(data[0]["photo"].shape[-2:]) == (data.size, data.size)


@pytest.mark.parametrize("family", list(FOLDERS))
def test_every_file_family_meets_the_protocol(family, tmp_path):
    make, is_folder = FOLDERS[family]
    data = make(tmp_path / "data")
    check_protocol(data, data.root if is_folder else None)
    if is_folder:
        assert data.root == tmp_path / "data"
        assert data.describe(0) == data[0]["path"]  # the item's own file
        assert Path(data.describe(0)).is_file()
    else:  # an importer names the source file the item came from
        assert data.describe(0) == data[0]["path"]


def test_folder_families_name_their_classes_and_raw_pairs(tmp_path):
    paired = paired_folder(tmp_path / "paired")
    assert list(paired.class_names) == ["cat", "dog"] and list(paired.labels) == [0, 0, 1]
    sketch, photo = paired.read_pair(2)
    np.testing.assert_array_equal(sketch, pair_image(120)[0])
    assert photo[0, 0].tolist() == [120, 120, 120]
    shoes = edges2shoes(tmp_path / "shoes")
    assert list(shoes.class_names) == ["bag", "shoe"] and list(shoes.labels) == [1, 0]
    assert shoes.size == SIDE and shoes.describe(1).endswith("2_AB.png")


def test_the_embedded_set_meets_the_protocol():
    data = EmbeddedDataset(6, size=SIDE, split="all", workers=1)
    check_protocol(data, None)
    assert data.describe(4) == data[4]["path"] == "embedded://tree/0004"
    sketch, photo = data.read_pair(4)
    np.testing.assert_array_equal(sketch, data.sketches[4])
    np.testing.assert_array_equal(photo, data.photos[4])
    with pytest.raises(IndexError, match="index 6 out of range"):
        data.read_pair(6)


def test_splits_return_subsets_that_meet_the_protocol(tmp_path):
    paired = paired_folder(tmp_path / "paired")
    train, val = train_val_split(paired, val_fraction=0.34, seed=0)
    for part in (train, val):
        assert isinstance(part, SketchSubset) and isinstance(part, Subset)
        check_protocol(part, paired.root)
        assert part.class_names == paired.class_names
        assert part.labels == [paired.labels[i] for i in part.indices]
        assert part.describe(0) == paired.describe(part.indices[0])
    photos = sketchy(tmp_path / "sketchy")
    held = split_by_photo(photos, 0.5, seed=0)
    assert all(isinstance(p, SketchSubset) for p in held)
    assert dataset_class_names(held[0]) == ("cat", "dog")


def test_the_blend_and_the_relabelled_view_meet_the_protocol(tmp_path):
    paired = paired_folder(tmp_path / "paired")
    blend = EdgeSketchBlend(train_val_split(paired, 0.34, seed=0)[0], total_steps=4)
    check_protocol(blend, paired.root)
    np.testing.assert_array_equal(blend.read_pair(0)[0], blend.pairs.read_pair(0)[0])
    relabelled = RelabelledDataset(paired, torch.tensor([2, 0]), ["dog", "x", "cat"])
    check_protocol(relabelled, paired.root)
    assert relabelled.labels == [2, 2, 0] and list(relabelled.class_names) == ["dog", "x", "cat"]


class PlainItems(Dataset):
    """A user's dataset of item dicts and nothing more."""

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> dict:
        return {
            "sketch": torch.full((1, 4, 4), 1.0),
            "photo": torch.full((3, 4, 4), -1.0),
            "label": index % 2,
            "path": f"mine://{index}",
        }


def test_any_other_dataset_gets_the_face_by_reading_its_items(tmp_path):
    plain = PlainItems()
    assert not isinstance(plain, SketchDataset)
    view = sketch_dataset(plain)
    assert isinstance(view, ItemsView)
    check_protocol(view, None)
    assert view.labels == [0, 1, 0] and view.class_names == () and view.describe(2) == "item 2"
    sketch, photo = view.read_pair(0)
    assert sketch.max() == 255 and photo.max() == 0
    assert dataset_class_names(plain) is None and describe(plain) == "the data"
    assert isinstance(sketch_dataset(Subset(plain, [2])), ItemsView)
    paired = paired_folder(tmp_path / "paired")
    through = sketch_dataset(DataLoader(Subset(paired, [2, 0])))
    assert isinstance(through, SketchSubset) and through.labels == [1, 0]
    assert describe(Subset(paired, [0])) == f"the data at {paired.root}"
