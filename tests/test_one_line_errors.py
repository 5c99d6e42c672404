"""Values that used to end in a raw traceback (or a misleading message) now give one line:
a typed exception naming the value or file in the API, one ``error:`` line and exit 2 at the
CLI. Widget cases are in tests/widgets/test_bad_values.py."""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sketchwidgets.cli import main
from sketchwidgets.data.build import build_dataset
from sketchwidgets.export.exporter import export, run_exported
from sketchwidgets.export.search import ExportFileError, load_networks, search
from sketchwidgets.io import write_image
from sketchwidgets.models import build_model
from sketchwidgets.train.history import History, RunLogReader
from tests.models.tiny_configs import TINY_CONFIGS

TINY_TRAIN = ["--data", "embedded:24", "--batch-size", "4", "--set", "image_size=32"]
TINY_TRAIN += ["--set", "ngf=8", "--set", "ndf=8"]


def line_sketch(size: int = 32) -> np.ndarray:
    sketch = np.full((size, size), 255, np.uint8)
    sketch[size // 2, 4:-4] = 0
    return sketch


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def sketchygan():
    torch.manual_seed(0)
    return build_model("sketchygan", **TINY_CONFIGS["sketchygan"], class_names=("cat", "dog"))


# --------------------------------------------------------------------- label and seed


@pytest.mark.parametrize("label", [1.5, np.float64(1.5), torch.tensor(1.5)], ids=str)
def test_a_fractional_label_is_refused_by_name(sketchygan, label):
    with pytest.raises(ValueError, match=r"label .*1\.5.*: expected a class name or an integer"):
        sketchygan.generate(line_sketch(), label=label)


@pytest.mark.parametrize("seed", [2**70, -(2**64), 1.5, True], ids=str)
def test_a_seed_out_of_range_or_not_whole_is_refused_naming_the_range(sketchygan, seed):
    with pytest.raises(
        ValueError, match=r"seed=.*expected a whole number from -2\*\*63 to 2\*\*64"
    ):
        sketchygan.generate(line_sketch(), label="cat", seed=seed)
    assert sketchygan.generate(line_sketch(), label="cat", seed=2**64 - 1).shape == (32, 32, 3)


def test_cli_generate_with_a_huge_seed_says_so_in_one_line(sketchygan, tmp_path, capsys):
    sketchygan.save(tmp_path / "model.pt")
    write_image(tmp_path / "s.png", line_sketch())
    cmd = ["generate", "--checkpoint", str(tmp_path / "model.pt"), "--sketch"]
    cmd += [str(tmp_path / "s.png"), "--out", str(tmp_path / "o.png"), "--label", "cat"]
    assert main([*cmd, "--seed", str(2**70)]) == 2
    assert "expected a whole number from -2**63" in _error_line(capsys.readouterr().err)


# --------------------------------------------------------------------- history lines


@pytest.mark.parametrize(
    "line, says",
    [
        ('{"step": 2, "G/l1": "abc"}', "'G/l1' is 'abc', not a number"),
        ('{"step": 2, "G/l1": null}', "'G/l1' is None, not a number"),
        ('{"step": 2, "G/l1": [1]}', "'G/l1' is [1], not a number"),
        ('{"step": 2, "G/l1": true}', "'G/l1' is True, not a number"),
        ('{"step": "two", "G/l1": 1.0}', "step 'two' is not a whole number"),
        ('{"step": 2.5, "G/l1": 1.0}', "step 2.5 is not a whole number"),
    ],
)
def test_a_history_line_holding_a_non_number_names_the_file_and_line(tmp_path, line, says):
    log = tmp_path / "history.jsonl"
    log.write_text(f'{{"step": 1, "time": 0.5, "G/l1": 0.3}}\n{line}\n{{"step": 3, "G/l1": 1}}\n')
    with pytest.raises(ValueError, match=f"{log}: line 2: " + says.replace("[", r"\[")):
        History.from_jsonl(log)
    with pytest.raises(ValueError, match=f"{log}: line 2"):
        RunLogReader(log).poll()


# --------------------------------------------------------------------- exported files


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny pix2pix exported to ONNX and TorchScript (unchecked: these tests break files)."""
    torch.manual_seed(0)
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    folder = tmp_path_factory.mktemp("exports")
    paths = {"onnx": folder / "p2p.onnx", "torchscript": folder / "p2p.pt"}
    for format, path in paths.items():
        export(model, path, format=format, check=False)
    return paths


def _copy(path: Path, folder: Path) -> Path:
    """The graph and its side file copied into ``folder``; returns the graph's copy."""
    folder.mkdir(exist_ok=True)
    for source in (path, path.with_name(path.name + ".json")):
        (folder / source.name).write_bytes(source.read_bytes())
    return folder / path.name


@pytest.mark.parametrize("format", ["onnx", "torchscript"])
def test_a_truncated_graph_file_is_named(exported, tmp_path, format):
    graph = _copy(exported[format], tmp_path)
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    inputs = {"sketch": line_sketch()[None]}  # never reached: the file is refused first
    with pytest.raises(ExportFileError, match=rf"refusing exported graph {graph}: .*truncated"):
        run_exported(graph, inputs)
    graph.unlink()
    with pytest.raises(ExportFileError, match=f"exported graph not found: {graph}"):
        run_exported(graph, inputs)


@pytest.mark.parametrize(
    "content, says",
    [
        (b'{"format": "onnx", "file": "p2p.onnx", "outp', "corrupt or truncated"),
        (b"\xff\xfe\x00 not text", "corrupt or truncated"),
        (b'{"format": "onnx", "file": "p2p.onnx"}', "'outputs' missing or not a list"),
        (b'{"file": "p2p.onnx", "outputs": ["image"]}', "'outputs' must list one or more"),
        (b'{"file": "p2p.onnx", "outputs": []}', "'outputs' must list one or more"),
        (b"[1, 2]", "holds a list, not a JSON object"),
    ],
)
def test_a_corrupt_or_incomplete_side_file_is_named(exported, tmp_path, content, says):
    graph = _copy(exported["onnx"], tmp_path)
    side = graph.with_name(graph.name + ".json")
    side.write_bytes(content)
    with pytest.raises(ExportFileError, match=says) as raised:
        run_exported(graph, {"sketch": line_sketch()[None]})
    assert str(side) in str(raised.value) and "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def cgan_export(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("contextual_gan", **TINY_CONFIGS["contextual_gan"])
    path = tmp_path_factory.mktemp("cgan") / "cgan.pt"
    return export(model, path, format="torchscript", check=False)


def _copy_all(result, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for source in (*result.files, result.side_file):
        (folder / source.name).write_bytes(source.read_bytes())
    return folder / result.files[0].name


@pytest.mark.parametrize(
    "drop, says",
    [
        ("search", "'search' missing or not a dict"),
        ("discriminator", "'discriminator' missing or not a dict"),
        ("search.iterations", r"search setting iterations=None \(missing, or not a whole"),
        ("encoder.file", "'encoder' names no 'file'"),
    ],
)
def test_an_incomplete_search_side_file_is_named(cgan_export, tmp_path, drop, says):
    graph = _copy_all(cgan_export, tmp_path)
    side = graph.with_name(graph.name + ".json")
    spec = json.loads(side.read_text())
    *parents, key = drop.split(".")
    node = spec
    for parent in parents:
        node = node[parent]
    del node[key]
    side.write_text(json.dumps(spec))
    with pytest.raises(ExportFileError, match=rf"side file {side} is incomplete .*: {says}"):
        load_networks(graph)


@pytest.mark.parametrize(
    "key, value, says",
    [
        ("iterations", -5, "iterations=-5 (missing, or not a whole number >= 0)"),
        ("n_init", 2.5, "n_init=2.5 (missing, or not a whole number >= 1)"),
        ("lr", float("nan"), "lr=nan (missing, or not a finite number)"),
        ("contextual", "cosine", "contextual='cosine' (missing, or not one of ['l1', 'kl',"),
        ("init_pool", -1, "init_pool=-1"),
    ],
)
def test_a_search_setting_out_of_range_is_named(cgan_export, tmp_path, key, value, says):
    graph = _copy_all(cgan_export, tmp_path)
    side = graph.with_name(graph.name + ".json")
    spec = json.loads(side.read_text())
    spec["search"][key] = value
    side.write_text(json.dumps(spec))
    with pytest.raises(ExportFileError) as raised:
        search(graph, line_sketch()[None])
    assert f"side file {side} is incomplete or malformed: search setting {says}" in str(
        raised.value
    )


def test_a_truncated_search_graph_is_named(cgan_export, tmp_path):
    graph = _copy_all(cgan_export, tmp_path)
    discriminator = tmp_path / "cgan.discriminator.pt"
    discriminator.write_bytes(discriminator.read_bytes()[:1000])
    with pytest.raises(ExportFileError, match=f"refusing exported graph {discriminator}: "):
        search(graph, line_sketch()[None])


# --------------------------------------------------------------------- build-dataset


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _bomb_header(path: Path, side: int) -> None:
    """A PNG whose header claims side x side 1-bit pixels (no pixel data follows)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b""))


def test_build_skips_decompression_bombs_and_entries_that_are_no_files(tmp_path, capsys):
    src = tmp_path / "photos"
    for i in range(2):
        write_image(src / "fine" / f"{i}.png", np.full((40, 40, 3), 90 + 60 * i, np.uint8))
    _bomb_header(src / "bomb_error.png", 20_000)  # 400 M pixels: Pillow's DecompressionBombError
    warned = src / "bomb_warning.png"  # 100 M pixels, a complete file: Pillow only warns
    Image.new("1", (10_000, 10_000), 1).save(warned)
    (src / "folder.png").mkdir()
    os.symlink("loop.png", src / "loop.png")
    os.symlink("missing.png", src / "broken.png")

    dst = tmp_path / "pairs"
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, whose config makes them errors
        assert main(["build-dataset", str(src), str(dst), "--size", "32", "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    warned = [line for line in err.splitlines() if line.startswith("warning: skipped ")]
    assert len(warned) == 5  # the command line says each skipped file in one warning line
    assert out.startswith(f"wrote 4 files to {dst}; skipped 5")
    expected = {
        "bomb_error.png": "decompression bomb",
        "bomb_warning.png": "decompression bomb",
        "folder.png": "a folder, not an image file",
        "loop.png": "a symbolic link loop",
        "broken.png": "a broken symbolic link (to missing.png)",
    }
    for name, reason in expected.items():
        assert any(
            f"skipped {src / name}: " in line and reason in line for line in out.splitlines()
        )
    with pytest.warns(UserWarning, match="skipped"):
        report = build_dataset(src, tmp_path / "again", size=32, workers=1, progress=False)
    assert sorted(p.name for p, _ in report.skipped) == sorted(expected)
    assert len(report.written) == 4


# --------------------------------------------------------------------- train --resume


def test_resume_with_no_steps_left_says_so_and_changes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "pix2pix", *TINY_TRAIN, "--run-dir", str(run)]
    assert main([*args, "--steps", "3"]) == 0
    files = [run / "model.pt", run / "history.jsonl", run / "checkpoints" / "last.pt"]
    before = {path: path.read_bytes() for path in files}
    capsys.readouterr()
    last = str(run / "checkpoints" / "last.pt")
    for steps in ("2", "3"):
        assert main(["train", "pix2pix", *TINY_TRAIN, "--steps", steps, "--resume", last]) == 2
        captured = capsys.readouterr()
        line = _error_line(captured.err)
        assert f"{last} is already at step 3, and steps={steps}" in line
        assert "nothing to train" in line and "trained" not in captured.out
    assert {path: path.read_bytes() for path in files} == before
