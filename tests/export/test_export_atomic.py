"""An export that fails or is interrupted leaves the previous export as it was.

Each case first exports a small pix2pix (its graph and side file are "the previous export"),
then exports a wider one to the same path under a fault: a real file-size limit
(RLIMIT_FSIZE, so write() fails with EFBIG as on a full disk), a real full disk (a tiny tmpfs
in a private mount namespace, where the sandbox allows one), a stand-in for a full disk
(tests/cli_runner.py), a graph that fails the parity check, an error inside the exporter and
Ctrl-C. Every time the previous files keep their bytes, no temporary is left, and the command
ends in one line with the documented exit status (1 for the system, 2 for a refused export,
130 for Ctrl-C).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sketchwidgets import cli
from sketchwidgets.export.exporter import ExportError, export, side_file_path
from sketchwidgets.export.graph import portable_copy
from sketchwidgets.models import build_model, load_model
from sketchwidgets.models.latent_encoder import SketchEncoder
from tests.cli_process import run_cli
from tests.models.tiny_configs import TINY_CONFIGS

EXPORT_MODULE = importlib.import_module("sketchwidgets.export.exporter")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
FORMATS = sorted(SUFFIX)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """A narrow pix2pix (the previous export) and a wider one (the export that fails)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    narrow = build_model("pix2pix", **TINY_CONFIGS["pix2pix"]).save(folder / "narrow.pt")
    wide = build_model("pix2pix", image_size=32, ngf=16, ndf=4).save(folder / "wide.pt")
    return {"narrow": narrow, "wide": wide}


@pytest.fixture(scope="module")
def previous(checkpoints, tmp_path_factory) -> dict[str, Path]:
    """A finished export of the narrow model per format, to copy beside each test's export."""
    folder = tmp_path_factory.mktemp("previous")
    for format, suffix in SUFFIX.items():
        export(load_model(checkpoints["narrow"]), folder / f"p{suffix}", format=format)
    return {format: folder / f"p{suffix}" for format, suffix in SUFFIX.items()}


def _with_previous(previous: dict[str, Path], format: str, folder: Path) -> Path:
    """The previous export (graph and side file) copied into ``folder``; returns the graph."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = previous[format]
    for path in (graph, side_file_path(graph)):
        shutil.copy2(path, folder / path.name)
    return folder / graph.name


def _contents(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` (hidden temporaries included) and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    return lines[0]


def _export_args(checkpoint: Path, format: str, out: Path) -> list[str]:
    return ["export", "--checkpoint", str(checkpoint), "--format", format, "--out", str(out)]


def _run(args: list[str], *, runner: bool = False, limit_bytes: int | None = None, **env: str):
    """The CLI in a fresh process; ``limit_bytes``: a real RLIMIT_FSIZE, with SIGXFSZ ignored
    so that a write past it fails with EFBIG instead of killing the process."""
    return run_cli(
        *args, runner=runner, limit_bytes=limit_bytes, ignore_file_size_signal=True, **env
    )


# ------------------------------------------------------------------- the disk fails


@pytest.mark.parametrize("format", FORMATS)
def test_a_file_size_limit_keeps_the_previous_export_and_exits_1(
    checkpoints, previous, tmp_path, format
):
    """A real kernel limit: every write past 100 KB fails with EFBIG (the new graph is
    larger). TorchScript's own writer used to abort the process (SIGABRT) on such a write."""
    graph = _with_previous(previous, format, tmp_path / "out")
    before = _contents(graph.parent)
    result = _run(_export_args(checkpoints["wide"], format, graph), limit_bytes=100_000)
    line = _one_error_line(result.stderr)
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"no space left to write {graph} (File too large)" in line
    assert _contents(graph.parent) == before  # same files, same bytes, no temporary left


@pytest.mark.parametrize("format", FORMATS)
def test_a_full_disk_stand_in_keeps_the_previous_export_and_exits_1(
    checkpoints, previous, tmp_path, format
):
    """tests/cli_runner.py: writes fail with ENOSPC once 20 KB went into the new files."""
    graph = _with_previous(previous, format, tmp_path / "out")
    before = _contents(graph.parent)
    args = _export_args(checkpoints["wide"], format, graph)
    result = _run(args, runner=True, SW_TEST_FULL_DISK_AFTER="20000")
    line = _one_error_line(result.stderr)
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"no space left to write {graph} (No space left on device)" in line
    assert _contents(graph.parent) == before


FULL_TMPFS = """
set -u
mount -t tmpfs -o size=1m tmpfs "$DISK" || exit 77
cp -p "$PREVIOUS/$GRAPH" "$PREVIOUS/$GRAPH.json" "$DISK"/
dd if=/dev/zero of="$DISK/filler" bs=4096 2>/dev/null
"$PYTHON" -m sketchwidgets export --checkpoint "$CHECKPOINT" --format "$FORMAT" \
    --out "$DISK/$GRAPH" 2> "$RESULT/stderr"
echo $? > "$RESULT/status"
rm "$DISK/filler"
cp -p "$DISK"/.[!.]* "$DISK"/* "$RESULT/after/" 2>/dev/null
exit 0
"""


def _private_mount_namespace() -> list[str]:
    """``unshare`` arguments for a mount namespace of one's own (the mount dies with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare command: a real full disk cannot be made here")
    return ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-rm"]


@pytest.mark.parametrize("format", FORMATS)
def test_a_real_full_disk_keeps_the_previous_export_and_exits_1(
    checkpoints, previous, tmp_path, format
):
    """A 1 MB tmpfs holding the previous export and a filler to the last byte: the export
    meets ENOSPC from the kernel. Skipped where no private tmpfs can be mounted."""
    graph = previous[format]
    result = tmp_path / "result"
    (result / "after").mkdir(parents=True)
    (tmp_path / "disk").mkdir()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "DISK": str(tmp_path / "disk"),
        "PREVIOUS": str(graph.parent),
        "PYTHON": sys.executable,
        "CHECKPOINT": str(checkpoints["wide"]),
        "FORMAT": format,
        "GRAPH": graph.name,
        "RESULT": str(result),
    }
    command = [*_private_mount_namespace(), "sh", "-c", FULL_TMPFS]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode == 77:
        pytest.skip(f"no tmpfs can be mounted here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    stderr = (result / "stderr").read_text()
    line = _one_error_line(stderr)
    assert int((result / "status").read_text()) == 1, stderr[-3000:]
    assert f"no space left to write {tmp_path / 'disk' / graph.name}" in line
    assert "No space left on device" in line
    expected = {p.name: p.read_bytes() for p in (graph, side_file_path(graph))}
    assert _contents(result / "after") == expected  # the previous export, nothing else


# ------------------------------------------------------- the export itself fails


def _shifted_copy(net: torch.nn.Module) -> torch.nn.Module:
    """A portable copy whose last layer is off: a graph that fails the parity check."""
    copy = portable_copy(net)
    last = [m for m in copy.modules() if isinstance(m, torch.nn.ConvTranspose2d)][-1]
    last.weight.data += 0.5
    return copy


@pytest.mark.parametrize("format", FORMATS)
def test_a_failed_parity_check_keeps_the_previous_export(
    checkpoints, previous, tmp_path, monkeypatch, capsys, format
):
    graph = _with_previous(previous, format, tmp_path / "out")
    before = _contents(graph.parent)
    monkeypatch.setattr(EXPORT_MODULE, "portable_copy", _shifted_copy)
    assert cli.main(_export_args(checkpoints["wide"], format, graph)) == cli.EXIT_BAD_INPUT
    line = _one_error_line(capsys.readouterr().err)
    assert f"the exported {format} graph of 'pix2pix' does not reproduce generate()" in line
    assert _contents(graph.parent) == before


def test_an_error_inside_the_exporter_keeps_the_previous_export(
    checkpoints, previous, tmp_path, monkeypatch, capsys
):
    graph = _with_previous(previous, "onnx", tmp_path / "out")
    before = _contents(graph.parent)

    def broken_exporter(*args, **kwargs):
        raise RuntimeError("the exporter broke\nwith a long dump after it")

    monkeypatch.setattr(torch.onnx, "export", broken_exporter)
    assert cli.main(_export_args(checkpoints["wide"], "onnx", graph)) == cli.EXIT_BAD_INPUT
    assert _one_error_line(capsys.readouterr().err) == (
        "error: cannot export model 'pix2pix' to onnx: RuntimeError: the exporter broke"
    )
    assert _contents(graph.parent) == before


def test_an_error_while_checking_the_written_graph_keeps_the_previous_export(
    checkpoints, previous, tmp_path, monkeypatch, capsys
):
    """The new graph is written (to a temporary) when its check breaks: it is removed."""
    graph = _with_previous(previous, "torchscript", tmp_path / "out")
    before = _contents(graph.parent)

    def broken_run(path, *args, **kwargs):
        assert Path(path).parent == graph.parent and Path(path).stat().st_size > 0
        raise RuntimeError("the runtime crashed")

    monkeypatch.setattr(EXPORT_MODULE, "run_exported", broken_run)
    assert cli.main(_export_args(checkpoints["wide"], "torchscript", graph)) == cli.EXIT_ERROR
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: RuntimeError: the runtime crashed")
    assert _contents(graph.parent) == before


def test_ctrl_c_during_an_export_keeps_the_previous_export(
    checkpoints, previous, tmp_path, monkeypatch, capsys
):
    graph = _with_previous(previous, "onnx", tmp_path / "out")
    before = _contents(graph.parent)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(EXPORT_MODULE, "check_export", interrupted)
    assert cli.main(_export_args(checkpoints["wide"], "onnx", graph)) == cli.EXIT_INTERRUPTED
    assert _one_error_line(capsys.readouterr().err) == "error: interrupted"
    assert _contents(graph.parent) == before


def test_a_good_export_replaces_the_previous_one_with_the_files_it_checked(
    checkpoints, previous, tmp_path, capsys
):
    graph = _with_previous(previous, "torchscript", tmp_path / "out")
    before = _contents(graph.parent)
    assert cli.main(_export_args(checkpoints["wide"], "torchscript", graph)) == cli.EXIT_OK
    after = _contents(graph.parent)
    assert sorted(after) == sorted(before)  # the graph and its side file, no temporary
    assert after[graph.name] != before[graph.name]
    assert oct(graph.stat().st_mode & 0o777) == oct(previous["torchscript"].stat().st_mode & 0o777)


def test_a_failed_contextual_gan_export_keeps_all_its_previous_files(tmp_path, monkeypatch):
    """G, D, E and the side file: the encoder fails its check after G and D were written."""
    torch.manual_seed(0)
    model = build_model("contextual_gan", **TINY_CONFIGS["contextual_gan"]).eval()
    export(model, tmp_path / "cgan.pt", format="torchscript")
    before = _contents(tmp_path)
    assert len(before) == 4

    def shifted_encoder(net: torch.nn.Module) -> torch.nn.Module:
        copy = portable_copy(net)
        if isinstance(net, SketchEncoder):
            copy.head.bias.data += 0.5
        return copy

    torch.manual_seed(1)
    other = build_model("contextual_gan", **TINY_CONFIGS["contextual_gan"]).eval()
    monkeypatch.setattr(EXPORT_MODULE, "portable_copy", shifted_encoder)
    with pytest.raises(ExportError, match="exported E of contextual_gan differs"):
        export(other, tmp_path / "cgan.pt", format="torchscript")
    assert _contents(tmp_path) == before


def test_a_side_file_path_taken_by_a_folder_keeps_the_previous_graph(
    checkpoints, previous, tmp_path, capsys
):
    """The side file cannot go into place: found before the graph is replaced."""
    graph = _with_previous(previous, "torchscript", tmp_path / "out")
    side_file_path(graph).unlink()
    side_file_path(graph).mkdir()
    before = graph.read_bytes()
    assert cli.main(_export_args(checkpoints["wide"], "torchscript", graph)) == cli.EXIT_ERROR
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: Is a directory: {side_file_path(graph)}"
    )
    assert graph.read_bytes() == before
    assert sorted(p.name for p in graph.parent.iterdir()) == [graph.name, f"{graph.name}.json"]
