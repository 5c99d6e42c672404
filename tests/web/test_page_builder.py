"""The page builder: what goes in the folder, and a failed build leaves the old page as it was."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import sketchwidgets as sw
from sketchwidgets.web import builder, page_models


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def edgegan_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "page"
    builder.build_page(out, ["pretrained:edgegan/classroom"])
    return out


def test_the_folder_holds_the_page_its_runtime_models_and_examples(edgegan_page):
    out = edgegan_page
    manifest = json.loads((out / "page.json").read_text())
    assert manifest["sketchwidgets_page"] == builder.PAGE_FORMAT
    assert manifest["runtime"] == {"package": "onnxruntime-web", "version": "1.31.1"}
    (entry,) = manifest["models"]
    assert entry["name"] == "edgegan" and entry["kind"] == "one_shot"
    assert entry["outputs"] == ["image", "edge"] and entry["needs_label"]
    assert entry["redraw"] is None  # the page's pen draws in edgegan's training style
    assert (out / "models" / entry["file"]).stat().st_size > 100_000
    side = json.loads((out / "models" / entry["side_file"]).read_text())
    assert side["file"] == entry["file"] and side["classes"] == entry["classes"]
    examples = json.loads((out / "examples.json").read_text())
    assert [e["class"] for e in examples] == list(entry["classes"])
    assert all(e["sketch"]["width"] == manifest["canvas"] for e in examples)
    for name in builder.ASSETS:
        assert (out / ("index.html" if name == "index.html" else f"assets/{name}")).is_file()
    assert (out / "runtime" / "ort-wasm-simd-threaded.wasm").stat().st_size > 1_000_000
    assert 'id="sketch"' in (out / "index.html").read_text()


def test_a_failed_build_leaves_the_previous_page_as_it_was(edgegan_page, monkeypatch):
    before = listing(edgegan_page)

    def full_disk(name, source, model, folder):
        (folder / f"{name}.onnx").write_bytes(b"half a graph")
        raise OSError(28, "No space left on device", str(folder / f"{name}.onnx"))

    monkeypatch.setattr(builder, "model_entry", full_disk)
    with pytest.raises(OSError, match="No space left"):
        builder.build_page(edgegan_page, ["pretrained:pix2pix/classroom"])
    assert listing(edgegan_page) == before
    assert sorted(p.name for p in edgegan_page.parent.iterdir()) == ["page"]


def test_a_pen_far_from_the_training_lines_is_redrawn_at_their_width():
    model = sw.load("pretrained:pix2pix/classroom", device="cpu")
    assert page_models.pen_in_style(model)
    thick = dataclasses.replace(model.line_stats, stroke_width=6.0, line_grey=90.0)
    model.record_line_stats(thick)
    assert model.line_stats.stroke_width == 6.0
    assert not page_models.pen_in_style(model)
    assert page_models._redraw(model) == {"width": 6.0, "grey": 90.0, "dark_on_light": True}
