"""``python -m sketchwidgets page`` as a real process: bad input gets one line and exit 2, a
missing runtime one line and exit 1, and nothing in the way is changed or left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli_process import run_cli


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    return lines[0]


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_unknown_model_is_named_and_no_folder_is_made(tmp_path):
    out = tmp_path / "page"
    done = run_cli("page", str(out), "--models", "pretrained:pix2pix/nowhere")
    assert done.returncode == 2
    assert "unknown pretrained model 'pix2pix/nowhere'" in one_error_line(done)
    assert list(tmp_path.iterdir()) == []


def test_two_checkpoints_of_one_model_are_refused(tmp_path):
    out = tmp_path / "page"
    models = ["pretrained:pix2pix/classroom", "pretrained:pix2pix/faces"]
    done = run_cli("page", str(out), "--models", *models)
    assert done.returncode == 2
    assert "both 'pix2pix'" in one_error_line(done)
    assert list(tmp_path.iterdir()) == []


def test_an_out_dir_that_is_a_file_is_refused_and_kept(tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("my lesson notes\n")
    done = run_cli("page", str(out))
    assert done.returncode == 2
    assert f"{out} is a file" in one_error_line(done)
    assert out.read_text() == "my lesson notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_folder_of_other_files_is_refused_and_kept(tmp_path):
    out = tmp_path / "lesson"
    (out / "pictures").mkdir(parents=True)
    (out / "index.html").write_text("<p>my own page</p>")
    (out / "pictures" / "cat.png").write_bytes(b"\x89PNG not really")
    before = listing(out)
    done = run_cli("page", str(out))
    assert done.returncode == 2
    assert f"{out} is not empty and holds no page built before" in one_error_line(done)
    assert listing(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson"]


def test_a_missing_runtime_is_one_line_naming_the_extra(tmp_path):
    out = tmp_path / "page"
    code = (
        "import sys; sys.modules['sketchwidgets_page_runtime'] = None\n"
        "from sketchwidgets.cli import main\n"
        f"raise SystemExit(main(['page', {str(out)!r}]))"
    )
    env = {**os.environ, "SKETCHWIDGETS_TRACEBACK": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 1
    line = one_error_line(done)
    assert "onnxruntime-web" in line and "'page' extra" in line
    assert not out.exists()


def test_a_page_built_before_is_replaced(tmp_path):
    out = tmp_path / "page"
    first = run_cli("page", str(out), "--models", "pretrained:edgegan/classroom")
    assert first.returncode == 0, first.stderr
    (out / "models" / "stale.onnx").write_bytes(b"from an older build")
    second = run_cli("page", str(out), "--models", "pretrained:pix2pix/classroom")
    assert second.returncode == 0, second.stderr
    assert f"wrote {out / 'index.html'}" in second.stdout
    assert sorted(p.name for p in (out / "models").iterdir()) == [
        "pix2pix.onnx",
        "pix2pix.onnx.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page"]  # no staging left behind
