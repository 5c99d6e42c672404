"""Shipped weights are verified: a changed byte, a broken card and a missing card, each on a
copy of the shipped folder (``pretrained.SHIPPED_FOLDER`` pointed at it)."""

from __future__ import annotations

import hashlib
import os
import shutil

import numpy as np
import pytest

import sketchwidgets as sw
from sketchwidgets import io as sw_io
from sketchwidgets import pretrained
from sketchwidgets.cli import main as cli_main
from sketchwidgets.io import write_image

NAME = "pix2pix/classroom"
CLASSROOM_MODELS = sorted(
    n.split("/")[0] for n in pretrained.shipped_names() if n.endswith("/classroom")
)


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of the shipped folder, which the package now reads as its shipped one."""
    copy = tmp_path / "pretrained"
    shutil.copytree(pretrained.PACKAGE_FOLDER, copy)
    monkeypatch.setattr(pretrained, "SHIPPED_FOLDER", copy)
    return copy


def _flip_a_byte(path) -> None:
    """Change one byte in the middle of the tensor data (the file still unpickles)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_every_shipped_checkpoint_matches_its_card():
    for name in pretrained.shipped_names():
        path = pretrained.verified_checkpoint(name)
        assert path == pretrained.checkpoint_path(name)
        assert sw_io.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_changed_byte_refuses_to_load_naming_the_file_and_the_fix(shipped):
    path = pretrained.checkpoint_path(NAME)
    assert path.parent == shipped
    _flip_a_byte(path)
    with pytest.raises(pretrained.DamagedShippedFile) as error:
        sw.load(f"pretrained:{NAME}", device="cpu")
    message = str(error.value)
    assert message.startswith(f"{path}: refusing to load it, its SHA-256")
    assert "pip install --force-reinstall sketchwidgets" in message
    assert "git checkout -- sketchwidgets/pretrained/" in message and "\n" not in message
    shutil.copy2(pretrained.PACKAGE_FOLDER / path.name, path)  # restored: loads again
    assert sw.load(f"pretrained:{NAME}", device="cpu").name == "pix2pix"


def test_cli_refuses_a_changed_shipped_file_in_one_line(shipped, tmp_path, capsys):
    _flip_a_byte(pretrained.checkpoint_path(NAME))
    drawing = np.full((64, 64), 255, dtype=np.uint8)
    drawing[20:44, 30:34] = 0
    sketch = write_image(tmp_path / "sketch.png", drawing)
    args = ["generate", "--checkpoint", f"pretrained:{NAME}", "--sketch", str(sketch)]
    assert cli_main([*args, "--out", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(pretrained.checkpoint_path(NAME)) in err[0]
    assert "reinstall" in err[0] and not (tmp_path / "out.png").exists()


def test_the_file_is_hashed_once_per_process_until_it_changes(shipped, monkeypatch):
    hashed = []
    real_sha256 = sw_io.hashlib.sha256

    def counting_sha256(*args):
        hashed.append(1)
        return real_sha256(*args)

    monkeypatch.setattr(sw_io.hashlib, "sha256", counting_sha256)
    for _ in range(3):
        pretrained.load_pretrained(NAME, device="cpu")
    assert len(hashed) == 1
    path = pretrained.checkpoint_path(NAME)
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))  # touched: hashed again
    pretrained.load_pretrained(NAME, device="cpu")
    assert len(hashed) == 2


@pytest.mark.parametrize("text", ["{not json", '["a", "list"]', "\udcff"])
def test_a_card_that_does_not_parse_is_reported_with_its_file(shipped, text):
    card = pretrained.card_path(NAME)
    card.write_bytes(text.encode("utf-8", "surrogateescape"))
    for call in (
        lambda: sw.load(f"pretrained:{NAME}"),
        pretrained.available,
        lambda: pretrained.read_card(NAME),
    ):
        with pytest.raises(pretrained.DamagedShippedFile) as error:
            call()
        assert str(error.value).startswith(f"{card}: the card of ")
        assert "reinstall" in str(error.value)


def test_a_card_without_a_hash_refuses_to_load(shipped):
    card = pretrained.card_path(NAME)
    card.write_text(card.read_text().replace('"sha256"', '"sha_256"'))
    with pytest.raises(pretrained.DamagedShippedFile, match="records no sha256"):
        sw.load(f"pretrained:{NAME}")


def test_a_missing_card_means_not_shipped_everywhere(shipped):
    from sketchwidgets.widgets import SketchStudio

    if "sketchygan" not in CLASSROOM_MODELS:
        pytest.skip("sketchygan/classroom is not shipped")
    card = pretrained.card_path("sketchygan/classroom")
    card.unlink()
    assert pretrained.checkpoint_path("sketchygan/classroom").is_file()  # the weights stay
    assert "sketchygan/classroom" not in pretrained.shipped_names()
    assert "sketchygan/classroom" not in pretrained.available()
    assert "sketchygan" not in pretrained.classroom_models()
    assert sorted(SketchStudio().compare.models) == [
        m for m in CLASSROOM_MODELS if m != "sketchygan"
    ]
    for call in (
        lambda: sw.load("pretrained:sketchygan/classroom"),
        lambda: pretrained.load_pretrained("sketchygan/classroom"),
        lambda: pretrained.read_card("sketchygan/classroom"),
    ):
        with pytest.raises(ValueError, match="'sketchygan/classroom' is not shipped") as error:
            call()
        assert f"its card {card} is missing" in str(error.value)
