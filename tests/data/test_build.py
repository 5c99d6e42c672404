"""The dataset builder: formats, bad files, no silent overwrite, parallel == inline."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from sketchwidgets.data import build
from sketchwidgets.data.build import BuildReport, build_dataset
from sketchwidgets.data.datasets import (
    EmptyDatasetError,
    JointImageDataset,
    PairedFolderDataset,
    SideBySideDataset,
)
from sketchwidgets.data.sketchify import sketchify
from sketchwidgets.data.transforms import square_resize
from sketchwidgets.io import read_image, write_image


def _photo(seed: int, height: int = 40, width: int = 48) -> np.ndarray:
    """A plain-background photo with a shaded disc: something for a sketch style to find."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), rng.integers(150, 230, 3), np.uint8)
    colour = tuple(int(c) for c in rng.integers(0, 120, 3))
    centre = (int(rng.integers(15, width - 15)), int(rng.integers(15, height - 15)))
    cv2.circle(image, centre, int(rng.integers(6, 12)), colour, -1)
    return image


def _photo_folder(root, classes=("apple", "mug"), per_class=3):
    for c, name in enumerate(classes):
        for k in range(per_class):
            write_image(root / name / f"{k}.jpg", _photo(10 * c + k))
    return root


def _bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    good = write_image(folder / "truncated.png", _photo(99))
    good.write_bytes(good.read_bytes()[:200])
    (folder / "text.png").write_text("not an image at all")
    (folder / "empty.jpg").write_bytes(b"")
    return {"truncated.png", "text.png", "empty.jpg"}


def _tree_bytes(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_paired_build_skips_bad_files_and_finishes(tmp_path):
    src = _photo_folder(tmp_path / "src")
    bad = _bad_files(src / "mug")
    with pytest.warns(UserWarning) as record:
        report = build_dataset(src, tmp_path / "out", workers=1, size=32, progress=False)
    assert isinstance(report, BuildReport)
    assert {p.name for p, _ in report.skipped} == bad
    assert dict((p.name, r) for p, r in report.skipped)["empty.jpg"] == "empty file (0 bytes)"
    warned = " ".join(str(w.message) for w in record)
    assert all(name in warned for name in bad)
    assert len(report.written) == 12  # 6 photos x (sketch, photo)
    dataset = PairedFolderDataset(tmp_path / "out")
    assert len(dataset) == 6 and dataset.class_names == ["apple", "mug"]
    item = dataset[0]
    assert item["sketch"].shape == (1, 32, 32) and item["photo"].shape == (3, 32, 32)
    expected = sketchify(square_resize(read_image(src / "apple" / "0.jpg"), 32), "xdog")
    np.testing.assert_array_equal(read_image(report.written[0], "L"), expected)
    manifest = json.loads((tmp_path / "out" / "build.json").read_text())
    assert manifest["format"] == "paired" and manifest["style"] == "xdog"
    assert manifest["count"] == 6 and manifest["size"] == 32 and manifest["params"] == {}
    assert manifest["source"] == str(src.resolve())


def test_grayscale_and_rgba_photos_are_converted_not_skipped(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(_photo(1)[:, :, 0], "L").save(src / "gray.png")
    rgba = np.dstack([_photo(2), np.full((40, 48), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src / "rgba.png")
    report = build_dataset(
        src, tmp_path / "out", format="side_by_side", size=16, workers=1, progress=False
    )
    assert report.skipped == [] and len(report.written) == 2
    for path in report.written:
        assert read_image(path).shape == (16, 32, 3)
    assert len(SideBySideDataset(tmp_path / "out")) == 2


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    src = _photo_folder(tmp_path / "src", per_class=2)
    out = tmp_path / "out"
    first = build_dataset(src, out, format="joint", workers=1, progress=False)
    assert len(first.written) == 4
    marker = np.zeros((64, 128, 3), np.uint8)
    write_image(first.written[0], marker, overwrite=True)
    with pytest.warns(UserWarning, match="overwrite=True"):
        second = build_dataset(src, out, format="joint", workers=1, progress=False)
    assert second.written == [] and len(second.skipped) == 4
    assert {r for _, r in second.skipped} == {"exists"}
    assert {p for p, _ in second.skipped} == set(first.written)
    np.testing.assert_array_equal(read_image(first.written[0]), marker)  # untouched
    assert json.loads((out / "build.json").read_text())["count"] == 4
    third = build_dataset(src, out, format="joint", workers=1, overwrite=True, progress=False)
    assert len(third.written) == 4
    assert not np.array_equal(read_image(first.written[0]), marker)


def test_other_settings_in_same_folder_need_overwrite(tmp_path):
    src = _photo_folder(tmp_path / "src", per_class=1)
    out = tmp_path / "out"
    build_dataset(src, out, format="joint", workers=1, progress=False)
    with pytest.raises(ValueError, match="canny"):
        build_dataset(src, out, format="joint", style="canny", workers=1, progress=False)
    report = build_dataset(
        src, out, format="joint", style="canny", workers=1, overwrite=True, progress=False
    )
    assert len(report.written) == 2
    assert json.loads((out / "build.json").read_text())["style"] == "canny"


def test_parallel_and_inline_give_identical_outputs(tmp_path, monkeypatch):
    src = _photo_folder(tmp_path / "src", classes=("a", "b", "c"), per_class=3)
    monkeypatch.setattr(build, "CHUNK", 2)  # 9 photos -> 5 chunks over 2 processes
    inline = build_dataset(
        src, tmp_path / "inline", format="side_by_side", size=24, workers=1, progress=False
    )
    parallel = build_dataset(
        src, tmp_path / "parallel", format="side_by_side", size=24, workers=2, progress=False
    )
    assert len(inline.written) == len(parallel.written) == 9
    assert [p.relative_to(tmp_path / "inline") for p in inline.written] == [
        p.relative_to(tmp_path / "parallel") for p in parallel.written
    ]
    assert _tree_bytes(tmp_path / "inline") == _tree_bytes(tmp_path / "parallel")


def test_parallel_run_reports_bad_files_too(tmp_path, monkeypatch):
    src = _photo_folder(tmp_path / "src", per_class=2)
    bad = _bad_files(src)
    monkeypatch.setattr(build, "CHUNK", 2)
    with pytest.warns(UserWarning):
        report = build_dataset(src, tmp_path / "out", format="joint", workers=2, progress=False)
    assert {p.name for p, _ in report.skipped} == bad and len(report.written) == 4
    assert len(JointImageDataset(tmp_path / "out")) == 4


def test_style_params_background_and_name_clash(tmp_path):
    src = tmp_path / "src"
    write_image(src / "x.jpg", _photo(3))
    write_image(src / "x.png", _photo(4))  # same stem -> same output name
    write_image(src / "excluded_one.png", _photo(5))
    (src / "excluded.txt").write_text("excluded_one.png\n")
    with pytest.warns(UserWarning, match="same output name"):
        report = build_dataset(
            src,
            src / "built",
            style="canny",
            style_params={"thickness": 2},
            remove_background=True,
            size=32,
            workers=1,
            progress=False,
        )
    assert [p.name for p in report.written] == ["x.png", "x.png"]
    assert report.skipped == [(src / "x.png", f"same output name as {src / 'x.jpg'}")]
    manifest = json.loads((src / "built" / "build.json").read_text())
    assert manifest["params"] == {"thickness": 2} and manifest["remove_background"] is True
    photo = read_image(src / "built" / "photo" / "x.png")
    assert (photo[0, 0] == 255).all()  # plain background whitened in the written photo
    # building again does not read its own outputs (dst lies inside src)
    with pytest.warns(UserWarning) as record:
        again = build_dataset(
            src,
            src / "built",
            style="canny",
            style_params={"thickness": 2},
            remove_background=True,
            size=32,
            workers=1,
            progress=False,
        )
    assert any("kept 1 existing" in str(w.message) for w in record)
    assert len(again.skipped) == 2


def test_bad_arguments_and_empty_folder(tmp_path):
    src = _photo_folder(tmp_path / "src", per_class=1)
    with pytest.raises(ValueError, match="format"):
        build_dataset(src, tmp_path / "out", format="grid")
    with pytest.raises(KeyError, match="xdog"):
        build_dataset(src, tmp_path / "out", style="watercolour")
    with pytest.raises(TypeError, match="nonsense"):
        build_dataset(src, tmp_path / "out", style_params={"nonsense": 1})
    with pytest.raises(ValueError, match="workers"):
        build_dataset(src, tmp_path / "out", workers=0, progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptyDatasetError, match=str(empty)):
        build_dataset(empty, tmp_path / "out2")
    with pytest.raises(FileNotFoundError, match="missing"):
        build_dataset(tmp_path / "missing", tmp_path / "out3")
    assert not (tmp_path / "out").exists()


def test_broken_pool_finishes_inline(tmp_path, monkeypatch):
    src = _photo_folder(tmp_path / "src", per_class=3)
    monkeypatch.setattr(build, "CHUNK", 2)

    def one_chunk_then_break(chunks, recipe, workers):
        results = build._process_chunk(chunks[1], recipe)
        results[0].written[0].write_bytes(b"half-written")  # a chunk that died mid-write
        results = build._process_chunk(chunks[0], recipe)
        yield 0, results
        raise build.BrokenProcessPool("a worker died")

    monkeypatch.setattr(build, "_run_pool", one_chunk_then_break)
    with pytest.warns(UserWarning, match="finishing inline"):
        report = build_dataset(src, tmp_path / "out", format="joint", workers=2, progress=False)
    assert len(report.written) == 6 and report.skipped == []
    reference = build_dataset(src, tmp_path / "ref", format="joint", workers=1, progress=False)
    assert len(reference.written) == 6
    assert _tree_bytes(tmp_path / "out") == _tree_bytes(tmp_path / "ref")
