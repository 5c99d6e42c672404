import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from sketchwidgets.io import (
    ImageReadError,
    atomic_write,
    image_grid,
    image_to_tensor,
    read_image,
    tensor_to_image,
    to_gray,
    write_image,
)


def test_read_converts_grayscale_and_rgba(tmp_path):
    Image.fromarray(np.full((4, 5), 100, np.uint8)).save(tmp_path / "g.png")
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent -> white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    gray = read_image(tmp_path / "g.png")
    assert gray.shape == (4, 5, 3) and (gray == 100).all()
    assert (read_image(tmp_path / "a.png") == 255).all()


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_bad_files_raise_naming_the_file(tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(ImageReadError, match="bad.png"):
        read_image(bad)


def test_truncated_png_is_reported(tmp_path):
    path = tmp_path / "t.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageReadError, match="t.png"):
        read_image(path)


def test_write_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "x.png"
    write_image(path, np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(FileExistsError, match="x.png"):
        write_image(path, np.ones((2, 2, 3), np.uint8))
    write_image(path, np.ones((2, 2, 3), np.uint8), overwrite=True)
    assert (read_image(path) == 1).all()


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("old")

    def failing(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, failing)
    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]


def test_tensor_round_trip_and_range():
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5
    tensor = image_to_tensor(image)
    assert tensor.shape == (3, 4, 4) and tensor.min() >= -1 and tensor.max() <= 1
    assert np.array_equal(tensor_to_image(tensor), image)
    assert tensor_to_image(torch.zeros(1, 2, 2)).shape == (2, 2)


def test_gray_and_grid():
    assert to_gray(np.full((2, 2, 3), 200, np.uint8)).tolist() == [[200, 200], [200, 200]]
    grid = image_grid([np.zeros((4, 4), np.uint8)] * 3, ncols=2, pad=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1, 3)
    assert grid[1, 1].tolist() == [0, 0, 0] and grid[0, 0].tolist() == [255, 255, 255]


def _ramp16(height: int = 24, width: int = 40) -> np.ndarray:
    """A uint16 gradient over the whole 16-bit range."""
    return np.linspace(0, 65535, height * width).reshape(height, width).astype(np.uint16)


@pytest.mark.parametrize("writer", ["opencv", "pillow"])
def test_16_bit_grayscale_png_is_scaled_not_clipped(tmp_path, writer):
    ramp = _ramp16()
    path = tmp_path / "g16.png"
    if writer == "opencv":
        cv2.imwrite(str(path), ramp)
    else:
        Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")  # really a 16-bit file
    expected = np.round(ramp / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(read_image(path, "L"), expected)
    np.testing.assert_array_equal(read_image(path), np.dstack([expected] * 3))


def test_16_bit_rgb_png_keeps_its_colours(tmp_path):
    ramp = _ramp16()
    rgb = np.dstack([ramp, 65535 - ramp, np.full_like(ramp, 20000)])
    path = tmp_path / "rgb16.png"
    cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    got = read_image(path).astype(int)
    assert np.abs(got - np.round(rgb / 257.0)).max() <= 1  # Pillow keeps the high byte
