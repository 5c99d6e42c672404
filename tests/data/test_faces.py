"""Face importers (CelebA with XDoG sketches, CUFS-style pairs) on real and made-up files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sketchwidgets.data.faces import center_crop, import_celeba, import_face_pairs
from sketchwidgets.data.importers import DataWarning
from sketchwidgets.data.pairs import EmptyDatasetError, read_joint
from sketchwidgets.io import write_image
from tests.data.helpers import blank, check_item

# --------------------------------------------------------------------------- CelebA


def fake_celeba(folder: Path, photos: list[np.ndarray]) -> None:
    """178x218 'aligned CelebA' files whose central 108x108 is the given 64 px face."""
    for i, photo in enumerate(photos):
        canvas = blank(218, 178, 128)
        canvas[55:163, 35:143] = cv2.resize(photo, (108, 108), interpolation=cv2.INTER_CUBIC)
        write_image(folder / f"{i + 1:06d}.png", canvas)


def test_celeba_crop_resize_and_xdog_match_the_contextual_gan_sketches(shared_data, tmp_path):
    files = sorted((shared_data("celeba_xdog_joint64") / "pairs_64x128").glob("*.png"))[:4]
    references = [read_joint(f) for f in files]
    fake_celeba(tmp_path / "img_align_celeba", [photo for _, photo in references])
    dataset = import_celeba(tmp_path)  # finds img_align_celeba/ below the root
    assert len(dataset) == 4 and dataset.class_names == [] and dataset.labels == [-1] * 4
    check_item(dataset[0], (64, 64))
    for i, (ref_sketch, ref_photo) in enumerate(references):
        sketch, photo = dataset.load_arrays(i)
        assert np.abs(photo.astype(int) - ref_photo).mean() < 4  # the crop found the face
        assert ((sketch < 128) == (ref_sketch < 128)).mean() > 0.95  # same XDoG recipe


def test_celeba_cache_limit_and_errors(tmp_path):
    folder = tmp_path / "faces"
    rng = np.random.default_rng(0)
    fake_celeba(folder, [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(3)])
    dataset = import_celeba(folder, limit=2, size=32, cache_dir=tmp_path / "cache")
    assert len(dataset) == 2
    sketch = dataset.load_arrays(1)[0]
    cached = sorted((tmp_path / "cache").rglob("*.png"))
    assert [p.name for p in cached] == ["000002.png"]
    write_image(cached[0], np.full((32, 32), 255, np.uint8), overwrite=True)
    again = import_celeba(folder, limit=2, size=32, cache_dir=tmp_path / "cache")
    assert again.load_arrays(1)[0].min() == 255 and sketch.min() < 255  # read from the cache
    other = import_celeba(folder, size=16, cache_dir=tmp_path / "cache")
    other.load_arrays(0)
    assert len(list((tmp_path / "cache").iterdir())) == 2  # another setting, another folder
    assert center_crop(blank(218, 178), 108).shape == (108, 108, 3)
    assert center_crop(blank(218, 178), None).shape == (178, 178, 3)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(EmptyDatasetError, match=r"img_align_celeba.*\['sub'\]"):
        import_celeba(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="CelebA root not found"):
        import_celeba(tmp_path / "missing")


# --------------------------------------------------------------------------- face pairs


def test_cufs_pairs_from_real_files(shared_data):
    root = shared_data("cufs_train")
    dataset = import_face_pairs(root)
    assert len(dataset) == 188 and dataset.class_names == ["ar", "cuhk_student"]
    assert dataset.labels.count(0) == 100 and dataset.labels.count(1) == 88
    for sketch, photo in zip(dataset.sketch_files, dataset.photo_files, strict=True):
        assert sketch.name == photo.name and sketch.parent.name == "sketches"
        assert photo.parent.name == "photos" and sketch.parent.parent == photo.parent.parent
    cuhk = dataset.labels.index(1)  # a palette-mode sketch
    item = dataset[cuhk]
    check_item(item, (250, 200))
    assert float(item["photo"].std()) > 0.1 and float(item["sketch"].max()) > 0.5
    check_item(import_face_pairs(root, size=64)[0], (64, 64))
    assert len(import_face_pairs(root, split="train")) == 188
    with pytest.raises(EmptyDatasetError, match="test"):
        import_face_pairs(root, split="test")


def test_cufs_subset_folder_without_pairs_csv(shared_data):
    dataset = import_face_pairs(shared_data("cufs_train") / "cuhk_student")
    assert len(dataset) == 88 and dataset.class_names == []  # "train" is a split, not a class
    assert Path(dataset.paths[0]).name == "00.png"


def test_face_pairs_root_level_folders_unmatched_and_errors(tmp_path):
    for name in ("a", "b"):
        write_image(tmp_path / "photos" / f"{name}.jpg", blank(10, 8, 90))
        write_image(tmp_path / "sketches" / f"{name}.png", blank(10, 8, 240))
    write_image(tmp_path / "photos" / "lonely.jpg", blank(10, 8))
    with pytest.warns(DataWarning, match=r"skipped 1 face files.*lonely\.jpg"):
        dataset = import_face_pairs(tmp_path)
    assert len(dataset) == 2 and dataset.labels == [-1, -1]
    (tmp_path / "pairs.csv").write_text("photo,sketch\nphotos/a.jpg,sketches/a.png\n")
    assert len(import_face_pairs(tmp_path)) == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="photos/ \\+ sketches/"):
        import_face_pairs(tmp_path / "empty")
