"""Bad input and faults in the data path: full disks, half pairs, 16-bit files, tiny images,
pairs of different shapes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sketchwidgets.cli import main
from sketchwidgets.data.build import build_dataset
from sketchwidgets.data.dataset_export import export_pairs
from sketchwidgets.data.datasets import PairedFolderDataset
from sketchwidgets.data.faces import import_face_pairs
from sketchwidgets.data.pairs import PairError, count_pairs
from sketchwidgets.io import MIN_IMAGE_SIDE, read_image, write_image
from sketchwidgets.models import build_model

PHOTO_LIMIT = 1500  # bytes: a plain 32 px pair fits, the photo of a noisy one does not


def _plain(k: int, height: int = 40, width: int = 48) -> np.ndarray:
    """A flat background with a disc: small PNGs."""
    image = np.full((height, width, 3), 200, np.uint8)
    cv2.circle(image, (width // 2 + k, height // 2), min(height, width) // 5, (40, 60, 90), -1)
    return image


def _noisy(seed: int) -> np.ndarray:
    """Random pixels: a photo whose 32 px PNG is about 3 KB."""
    return np.random.default_rng(seed).integers(0, 256, (40, 48, 3)).astype(np.uint8)


def _photos(root):
    for k in range(3):
        write_image(root / f"a{k}.png", _plain(k))
    write_image(root / "b0.png", _noisy(0))
    return root


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))


def _manifest_count(root):
    return json.loads((root / "build.json").read_text())["count"]


# --- a disk that fills ------------------------------------------------------------------------


def test_a_real_file_size_limit_leaves_no_half_pair_and_a_rerun_finishes(tmp_path):
    """RLIMIT_FSIZE makes the photo write fail with EFBIG, as a full disk fails with ENOSPC."""
    src, out = _photos(tmp_path / "src"), tmp_path / "out"
    script = textwrap.dedent(
        """
        import resource, signal, sys
        from sketchwidgets.data.build import build_dataset
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), hard))
        build_dataset(sys.argv[1], sys.argv[2], size=32, workers=1, progress=False)
        """
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(src), str(out), str(PHOTO_LIMIT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "File too large" in last and "b0.png" in last and "3 complete pairs" in last
    assert _files(out) == [f"{d}/a{k}.png" for d in ("photo", "sketch") for k in range(3)]
    assert _manifest_count(out) == 3 == count_pairs(out, "paired")

    with pytest.warns(UserWarning, match="kept 3 existing"):
        report = build_dataset(src, out, size=32, workers=1, progress=False)
    assert [p.relative_to(out).as_posix() for p in report.written] == [
        "sketch/b0.png",
        "photo/b0.png",
    ]
    assert _manifest_count(out) == 4 == len(_files(out)) // 2


def test_no_space_left_on_device_is_handled_the_same(tmp_path, monkeypatch):
    """Stand-in for a full disk: Pillow's save writes part of the photo, then ENOSPC."""
    src, out = _photos(tmp_path / "src"), tmp_path / "out"
    real_save = Image.Image.save

    def save_until_full(image, fp, *args, **kwargs):
        if "photo" in str(fp) and ".b0.png." in str(fp):
            with open(fp, "wb") as handle:
                handle.write(b"\x89PNG\r\n\x1a\n")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(image, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_until_full)
    with pytest.raises(OSError, match="No space left on device.*3 complete pairs") as info:
        build_dataset(src, out, size=32, workers=1, progress=False)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out / "photo/b0.png")
    assert _files(out) == [f"{d}/a{k}.png" for d in ("photo", "sketch") for k in range(3)]
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert _manifest_count(out) == 3
    monkeypatch.setattr(Image.Image, "save", real_save)  # space freed
    with pytest.warns(UserWarning, match="kept 3 existing"):
        build_dataset(src, out, size=32, workers=1, progress=False)
    assert _manifest_count(out) == 4 == len(_files(out)) // 2


def test_a_manifest_that_cannot_be_rewritten_is_removed_rather_than_left_stale(
    tmp_path, monkeypatch
):
    src, out = _photos(tmp_path / "src"), tmp_path / "out"
    build_dataset(src, out, size=32, workers=1, progress=False)
    assert _manifest_count(out) == 4
    (out / "photo" / "b0.png").unlink()  # a half pair to complete, on a disk now full

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Image.Image, "save", disk_full)
    monkeypatch.setattr(Path, "write_text", disk_full)  # build.json cannot be written either
    with pytest.raises(OSError, match="3 complete pairs .*build.json could not be written"):
        build_dataset(src, out, size=32, workers=1, progress=False)
    assert not (out / "build.json").exists()  # it said 4; only 3 pairs are on disk


def test_a_rerun_completes_the_half_pair_a_killed_build_left(tmp_path):
    """Stand-in for a kill between the two writes of a pair: the photo file is missing."""
    src, out = _photos(tmp_path / "src"), tmp_path / "out"
    build_dataset(src, out, size=32, workers=1, progress=False)
    reference = read_image(out / "photo" / "a1.png")
    (out / "photo" / "a1.png").unlink()
    (out / "sketch" / "a2.png").unlink()
    assert count_pairs(out, "paired") == 2
    with pytest.warns(UserWarning, match="kept 2 existing"):
        report = build_dataset(src, out, size=32, workers=1, progress=False)
    assert sorted(p.name for p in report.completed) == ["a1.png", "a2.png"]
    assert "completed 2 half pairs" in str(report)
    np.testing.assert_array_equal(read_image(out / "photo" / "a1.png"), reference)
    assert _manifest_count(out) == 4 == count_pairs(out, "paired")


def test_export_writes_pairs_as_a_unit_and_counts_what_is_on_disk(tmp_path):
    root = tmp_path / "faces"
    for k in range(3):
        write_image(root / "photos" / f"f{k}.png", _plain(k))
        write_image(root / "sketches" / f"f{k}.png", _plain(k)[..., 0])
    dataset = import_face_pairs(root, size=32)
    out = tmp_path / "out"
    first = export_pairs(dataset, out, progress=False)
    (first.written[1]).unlink()  # half of the first pair gone
    with pytest.warns(UserWarning, match="completed 1 half pairs"):
        again = export_pairs(dataset, out, progress=False)
    assert again.completed == [first.written[0]] and again.written[:2] == first.written[:2]
    assert _manifest_count(out) == 3 == count_pairs(out, "paired")


# --- tiny images ------------------------------------------------------------------------------


def test_build_skips_and_names_images_below_the_minimum(tmp_path):
    src = tmp_path / "src"
    write_image(src / "good.png", _plain(0))
    write_image(src / "one.png", np.full((1, 1, 3), 90, np.uint8))
    write_image(src / "three.png", _plain(0, 3, 3))
    write_image(src / "thin.png", _plain(0, MIN_IMAGE_SIDE - 1, 64))
    with pytest.warns(UserWarning) as record:
        report = build_dataset(src, tmp_path / "out", size=32, workers=1, progress=False)
    reasons = {p.name: r for p, r in report.skipped}
    assert set(reasons) == {"one.png", "three.png", "thin.png"}
    assert reasons["one.png"].startswith("too small: photo is 1x1 px")
    assert "3x3 px" in reasons["three.png"] and f"{MIN_IMAGE_SIDE} px" in reasons["three.png"]
    warned = " ".join(str(w.message) for w in record)
    assert "one.png" in warned and "three.png" in warned
    assert _files(tmp_path / "out") == ["photo/good.png", "sketch/good.png"]
    assert _manifest_count(tmp_path / "out") == 1


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    build_model("pix2pix", image_size=32, ngf=8, ndf=8).save(path)
    return path


@pytest.mark.parametrize("side", [1, 3])
def test_generate_names_the_size_of_a_tiny_sketch(tmp_path, checkpoint, side):
    sketch = np.full((side, side), 255, np.uint8)
    sketch[side // 2, :] = 0
    write_image(tmp_path / "tiny.png", sketch)
    result = subprocess.run(
        [sys.executable, "-m", "sketchwidgets", "generate", "--checkpoint", str(checkpoint)]
        + ["--sketch", str(tmp_path / "tiny.png"), "--out", str(tmp_path / "out.png")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and not (tmp_path / "out.png").exists()
    assert f"is {side}x{side} px" in result.stderr
    assert f"smallest side accepted is {MIN_IMAGE_SIDE} px" in result.stderr
    assert "dimension" not in result.stderr and "HxW or HxWxC" not in result.stderr


# --- 16-bit files -----------------------------------------------------------------------------


def _save_16_bit(path, image8: np.ndarray) -> None:
    """Write an 8-bit image as a 16-bit PNG holding the same values (v * 257)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wide = image8.astype(np.uint16) * 257
    cv2.imwrite(str(path), wide if wide.ndim == 2 else wide[..., ::-1])
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_build_reads_16_bit_gray_and_rgb_photos_as_their_8_bit_twins(tmp_path):
    photo = _plain(0)
    for name, image in (("gray", photo[..., 1]), ("rgb", photo)):
        write_image(tmp_path / "src8" / f"{name}.png", image)
        _save_16_bit(tmp_path / "src16" / f"{name}.png", image)
    build_dataset(tmp_path / "src8", tmp_path / "out8", size=32, workers=1, progress=False)
    build_dataset(tmp_path / "src16", tmp_path / "out16", size=32, workers=1, progress=False)
    for relative in _files(tmp_path / "out8"):
        eight, sixteen = (read_image(tmp_path / o / relative) for o in ("out8", "out16"))
        np.testing.assert_allclose(sixteen, eight, atol=1)  # Pillow keeps RGB's high byte
        assert sixteen.std() > 10  # not the flat white of a clipped 16-bit file


@pytest.mark.parametrize("channels", [1, 3], ids=["gray", "rgb"])
def test_generate_reads_a_16_bit_sketch_as_its_8_bit_twin(tmp_path, checkpoint, channels):
    sketch = np.full((40, 40), 240, np.uint8)  # greys: a clipped 16-bit read is all white
    sketch[8:32, 20] = sketch[20, 8:32] = 60
    sketch = sketch if channels == 1 else np.dstack([sketch, sketch - 20, sketch])
    write_image(tmp_path / "s8.png", sketch)
    _save_16_bit(tmp_path / "s16.png", sketch)
    for name in ("s8", "s16"):
        sketch_file, out = tmp_path / f"{name}.png", tmp_path / f"{name}_out.png"
        args = ["--checkpoint", str(checkpoint), "--sketch", str(sketch_file), "--out", str(out)]
        assert main(["generate", *args]) == 0
    eight, sixteen = (read_image(tmp_path / f"{n}_out.png") for n in ("s8", "s16"))
    np.testing.assert_array_equal(sixteen, eight)


def test_importers_read_16_bit_gray_sketches_and_rgb_photos(tmp_path):
    photo, sketch = _plain(1), np.full((40, 48), 240, np.uint8)
    sketch[20, 5:40] = 60
    write_image(tmp_path / "eight" / "photos" / "x.png", photo)
    write_image(tmp_path / "eight" / "sketches" / "x.png", sketch)
    _save_16_bit(tmp_path / "sixteen" / "photos" / "x.png", photo)
    _save_16_bit(tmp_path / "sixteen" / "sketches" / "x.png", sketch)
    eight = import_face_pairs(tmp_path / "eight").load_arrays(0)
    sixteen = import_face_pairs(tmp_path / "sixteen").load_arrays(0)
    np.testing.assert_array_equal(sixteen[0], eight[0])
    np.testing.assert_allclose(sixteen[1], eight[1], atol=1)


# --- pairs of different shapes ----------------------------------------------------------------


def _paired_root(root):
    """Pair "wide": a square sketch with a 2:1 photo; pair "big": same shape, twice the size."""
    write_image(root / "sketch" / "wide.png", _plain(0, 40, 40)[..., 0])
    write_image(root / "photo" / "wide.png", _plain(0, 40, 80))
    write_image(root / "sketch" / "big.png", _plain(0, 40, 40)[..., 0])
    write_image(root / "photo" / "big.png", _plain(0, 80, 81))  # one pixel of rounding
    return root


def test_a_pair_of_different_shapes_is_refused_naming_both_files(tmp_path):
    root = _paired_root(tmp_path / "pairs")
    dataset = PairedFolderDataset(root, size=32)
    names = [p.sketch.name for p in dataset.pairs]
    assert dataset[names.index("big.png")]["photo"].shape == (3, 32, 32)
    wide = names.index("wide.png")
    sketch, photo = root / "sketch" / "wide.png", root / "photo" / "wide.png"
    with pytest.raises(PairError, match="40x40") as info:
        dataset[wide]
    assert str(sketch) in str(info.value) and str(photo) in str(info.value)
    problems = dataset.validate()
    assert [p for p, _ in problems] == [sketch]
    assert str(photo) in problems[0][1] and "80x40" in problems[0][1]


def test_importers_refuse_and_validate_a_pair_of_different_shapes(tmp_path):
    root = tmp_path / "faces"
    write_image(root / "photos" / "ok.png", _plain(0, 40, 40))
    write_image(root / "sketches" / "ok.png", _plain(0, 20, 20)[..., 0])
    write_image(root / "photos" / "wide.png", _plain(0, 40, 80))
    write_image(root / "sketches" / "wide.png", _plain(0, 40, 40)[..., 0])
    for size in (None, 32):
        dataset = import_face_pairs(root, size=size)
        names = [os.path.basename(p) for p in dataset.paths]
        assert dataset.load_arrays(names.index("ok.png"))[1].shape[:2] == (size or 20, size or 20)
        with pytest.raises(PairError, match=r"wide\.png.*wide\.png"):
            dataset[names.index("wide.png")]
        assert [p.name for p, _ in dataset.validate()] == ["wide.png"]
    with pytest.warns(UserWarning, match="first bad file .*sketches/wide.png"):
        report = export_pairs(import_face_pairs(root, size=32), tmp_path / "out", progress=False)
    assert [p.name for p, r in report.skipped if "different shapes" in r] == ["wide.png"]
    assert count_pairs(tmp_path / "out", "paired") == 1 == _manifest_count(tmp_path / "out")
