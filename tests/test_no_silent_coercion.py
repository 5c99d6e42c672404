"""No silent coercion: a float sketch outside [-1, 1], a non-finite z, a label for a model
without classes and an output suffix the writer does not know are refused with a message;
float sketches follow one rule in generate() and in the exported search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sketchwidgets import sketch_input
from sketchwidgets.cli import main
from sketchwidgets.export import search as export_search
from sketchwidgets.export.exporter import export
from sketchwidgets.export.search import search
from sketchwidgets.io import read_image, write_image
from sketchwidgets.models import build_model
from tests.models.tiny_configs import TINY_CONFIGS

RANGE = r"must lie in \[-1, 1\]"


def line_sketch(size: int = 32) -> np.ndarray:
    """uint8 dark ink on white: one horizontal and one vertical line."""
    sketch = np.full((size, size), 255, np.uint8)
    sketch[size // 2, 4:-4] = 0
    sketch[4:-4, size // 3] = 0
    return sketch


def as_float(sketch: np.ndarray) -> np.ndarray:
    """The same drawing as float32 in [-1, 1]."""
    return sketch.astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def sketchygan():
    torch.manual_seed(0)
    return build_model("sketchygan", **TINY_CONFIGS["sketchygan"], class_names=("cat", "dog"))


@pytest.fixture(scope="module")
def pix2pix():
    torch.manual_seed(0)
    return build_model("pix2pix", **TINY_CONFIGS["pix2pix"])


def test_a_float_sketch_outside_minus_one_to_one_is_refused_naming_the_range(sketchygan):
    sketch = line_sketch()
    scaled = torch.from_numpy(sketch.astype(np.float32))[None]  # 0..255 as a float tensor
    with pytest.raises(ValueError, match=rf"sketch 0 holds float values from 0 to 255.*{RANGE}"):
        sketchygan.generate(scaled, label="cat")
    with pytest.raises(ValueError, match=RANGE):
        sketchygan.generate(sketch.astype(np.float64), label="cat")
    with pytest.raises(ValueError, match=rf"sketch 1 .*{RANGE}"):
        sketchygan.generate([sketch, as_float(sketch) * 1.5], label="cat")


def test_uint8_and_in_range_floats_give_the_same_image(sketchygan):
    sketch = line_sketch()
    expected = sketchygan.generate(sketch, label="dog", seed=3)
    np.testing.assert_array_equal(
        sketchygan.generate(as_float(sketch), label="dog", seed=3), expected
    )
    as_tensor = torch.from_numpy(as_float(sketch))[None]
    np.testing.assert_array_equal(sketchygan.generate(as_tensor, label="dog", seed=3), expected)
    uint8_tensor = torch.from_numpy(sketch)[None]  # a uint8 tensor keeps its 0..255 meaning
    np.testing.assert_array_equal(sketchygan.generate(uint8_tensor, label="dog", seed=3), expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_z_is_refused(sketchygan, bad):
    z = torch.zeros(1, sketchygan.latent_dim)
    z[0, 2] = bad
    with pytest.raises(ValueError, match=r"z holds 1 NaN or inf"):
        sketchygan.generate(line_sketch(), label="cat", z=z)


def test_a_label_for_a_model_without_classes_is_refused(pix2pix, tmp_path, capsys):
    with pytest.raises(ValueError, match="knows no classes.*takes no label"):
        pix2pix.generate(line_sketch(), label=0)
    with pytest.raises(ValueError, match="knows no classes"):
        pix2pix.generate(line_sketch(), label="cat")
    assert pix2pix.generate(line_sketch()).shape == (32, 32, 3)  # no label: fine

    pix2pix.save(tmp_path / "model.pt")
    write_image(tmp_path / "s.png", line_sketch())
    out = tmp_path / "out.png"
    cmd = ["generate", "--checkpoint", str(tmp_path / "model.pt"), "--sketch"]
    assert main([*cmd, str(tmp_path / "s.png"), "--out", str(out), "--label", "cat"]) == 2
    assert "knows no classes" in capsys.readouterr().err and not out.exists()


def test_generate_out_gif_writes_a_gif_and_an_unknown_suffix_is_refused(pix2pix, tmp_path, capsys):
    pix2pix.save(tmp_path / "model.pt")
    write_image(tmp_path / "s.png", line_sketch(48))
    cmd = ["generate", "--checkpoint", str(tmp_path / "model.pt"), "--sketch"]
    cmd += [str(tmp_path / "s.png"), "--keep-size", "--out"]
    gif = tmp_path / "x.gif"
    assert main([*cmd, str(gif)]) == 0
    assert gif.read_bytes()[:4] == b"GIF8"
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.size == (48, 48)
    assert read_image(gif).shape == (48, 48, 3)

    capsys.readouterr()
    odd = tmp_path / "x.xyz"
    assert main([*cmd, str(odd)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write") and "'.xyz'" in err and ".gif" in err
    assert len(err.splitlines()) == 1 and not odd.exists()


def test_the_exported_search_takes_float_sketches_by_the_same_rule(tmp_path):
    """One check for generate(), the widgets and the exported search; results equal uint8's."""
    assert sketch_input.check_sketch_values is export_search.check_sketch_values
    torch.manual_seed(0)
    model = build_model("contextual_gan", **TINY_CONFIGS["contextual_gan"])
    path = tmp_path / "cgan.pt"
    export(model, path, format="torchscript", check=False)
    sketches = np.stack([line_sketch(), 255 - line_sketch()])
    expected = search(path, sketches, seed=0)["photo"]
    np.testing.assert_array_equal(search(path, as_float(sketches), seed=0)["photo"], expected)
    with pytest.raises(ValueError, match=rf"from 0 to 255.*{RANGE}"):
        search(path, sketches.astype(np.float32), seed=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        search(path, np.full((1, 32, 32), np.nan, np.float32))
    with pytest.raises(TypeError, match="uint8.*int64"):
        search(path, sketches.astype(np.int64), seed=0)
