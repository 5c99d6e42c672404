"""The studio's in-page generator, Python side: what it sends, how the parity check decides each
tile's path, what it follows, and the kernel path without the ``page`` extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sketchwidgets.widgets import SketchStudio
from sketchwidgets.widgets.in_page import KERNEL, PAGE, TOLERANCE, path_for

pytest.importorskip("onnxruntime")
runtime = pytest.importorskip("sketchwidgets_page_runtime", reason="the page extra")


def draw(canvas, *points):
    canvas.begin_stroke(*points[0])
    for point in points[1:]:
        canvas.extend_stroke(*point)
    canvas.end_stroke()


@pytest.mark.parametrize(
    ("diff", "path"), [(0, PAGE), (TOLERANCE, PAGE), (TOLERANCE + 1, KERNEL), (None, KERNEL)]
)
def test_a_model_runs_in_the_page_only_within_two_grey_levels_of_the_kernel(diff, path):
    assert TOLERANCE == 2
    assert path_for(diff) == path


def test_the_runtime_models_and_kernel_outputs_are_sent_with_the_widget(tiny_pix2pix):
    import onnxruntime

    studio = SketchStudio(tiny_pix2pix, size=128)
    sent = studio.in_page
    assert sent is not None and sent.names == ["pix2pix_a", "pix2pix_b"]
    assert (
        sent.runtime["wasm"] == (runtime.directory() / "ort-wasm-simd-threaded.wasm").read_bytes()
    )
    assert sent.runtime["module"] == (runtime.directory() / "ort.wasm.min.mjs").read_bytes()
    assert "export class PageModel" in sent._esm and "function render(" in sent._esm
    assert 'from "./' not in sent._esm  # the page's modules are inlined, nothing to import
    for entry in sent.entries:  # the ONNX bytes give the kernel's generate() on the fixed inputs
        model = tiny_pix2pix[entry["name"]]
        session = onnxruntime.InferenceSession(sent.files[entry["file"]])
        reference = sent.parity[entry["name"]]
        for raw, expected in zip(reference["inputs"], reference["expected"], strict=True):
            seen = np.frombuffer(raw, np.uint8).reshape(32, 32)
            kernel = model.generate(seen, seed=0, normalise=False)
            assert expected["image"] == kernel.tobytes()
            draws = {k: np.asarray(v["data"], np.float32).reshape(v["shape"])
                     for k, v in entry["draws"].items()}  # fmt: skip
            (image,) = session.run(None, {"sketch": seen[None], **draws})
            assert np.abs(image[0].astype(int) - kernel.astype(int)).max() <= TOLERANCE


def test_the_page_s_parity_result_sets_each_tile_s_path(tiny_pix2pix):
    studio = SketchStudio(tiny_pix2pix, size=128)
    tiles = studio.compare.tiles
    assert {n: t.path_label.value for n, t in tiles.items()} == dict.fromkeys(tiny_pix2pix, KERNEL)
    studio.in_page.parity_diffs = {"pix2pix_a": 1, "pix2pix_b": 7}  # as the page reports it
    assert studio.in_page.paths == {"pix2pix_a": PAGE, "pix2pix_b": KERNEL}
    assert tiles["pix2pix_a"].path_label.value == "in the page"
    assert tiles["pix2pix_b"].path_label.value == "kernel"
    studio.in_page.parity_diffs = {"pix2pix_a": None, "pix2pix_b": 7}  # could not run in the page
    assert tiles["pix2pix_a"].path_label.value == "kernel"


def test_the_page_gets_the_kernel_s_drawing_class_and_seeds(tiny_pix2pix, class_edge):
    studio = SketchStudio({**tiny_pix2pix, "class_edge": class_edge}, size=128)
    sent = studio.in_page
    draw(studio.canvas, (10, 20), (60, 20))
    assert sent.sketch["ended"] == 1 and sent.sketch["edit"] is False  # the page drew it already
    (stroke,) = sent.sketch["strokes"]
    assert stroke["points"] == [[10.0, 20.0], [60.0, 20.0]] and stroke["width"] == 4.0
    studio.canvas.undo()
    assert sent.sketch["strokes"] == [] and sent.sketch["edit"] is True  # the page redraws
    studio.compare.select_class("mug")
    assert sent.class_name == "mug"
    assert sent.seeds["class_edge"] == 0
    studio.compare.reroll("class_edge")  # another seed than the page's draws: the kernel's
    assert sent.seeds["class_edge"] == 1


def test_a_stroke_drawn_by_the_page_reaches_the_kernel_s_canvas(tiny_pix2pix):
    studio = SketchStudio(tiny_pix2pix, size=128)
    studio.in_page._on_message(None, {"type": "stroke", "points": [[8, 8], [100, 40]]}, [])
    studio.canvas.flush()
    assert studio.canvas.stroke_count == 1
    assert studio.canvas.strokes[0].points[-1] == pytest.approx((100.0, 40.0))
    assert set(studio.compare.images) == set(tiny_pix2pix)  # the kernel generated too


def test_a_model_that_cannot_export_stays_in_the_kernel(tiny_pix2pix, broken):
    studio = SketchStudio({**tiny_pix2pix, "broken": broken}, size=128)
    assert "broken" not in studio.in_page.names and "broken" in studio.in_page.skipped
    assert studio.in_page.paths["broken"] == KERNEL


def test_without_the_page_extra_every_model_runs_in_the_kernel_and_says_so(
    tiny_pix2pix, monkeypatch
):
    monkeypatch.setitem(sys.modules, "sketchwidgets_page_runtime", None)  # not installed
    studio = SketchStudio(tiny_pix2pix, size=128)
    assert studio.in_page is None
    assert studio.path_status.value.startswith("every model runs in the kernel")
    assert "'page' extra" in studio.path_status.value
    assert studio.footer.children[-1] is studio.path_status
    assert {t.path_label.value for t in studio.compare.tiles.values()} == {KERNEL}
    draw(studio.canvas, (10, 20), (90, 90))
    studio.canvas.flush()
    assert set(studio.compare.images) == set(tiny_pix2pix)


def test_in_page_false_keeps_the_kernel_path(tiny_pix2pix):
    studio = SketchStudio(tiny_pix2pix, size=128, in_page=False)
    assert studio.in_page is None and "in_page=False" in studio.path_status.value


def test_when_no_model_exports_every_model_runs_in_the_kernel_and_says_why(broken):
    studio = SketchStudio({"broken": broken}, size=128)
    assert studio.in_page is None
    assert studio.path_status.value.startswith("every model runs in the kernel: none exports")
    assert "broken: " in studio.path_status.value


def test_a_second_studio_of_the_same_weights_reuses_the_export(tiny_pix2pix, monkeypatch):
    import torch

    from sketchwidgets.widgets import _in_page_bundle

    first = SketchStudio(tiny_pix2pix, size=128).in_page
    monkeypatch.setattr(_in_page_bundle, "exported_model", _no_export)
    second = SketchStudio(tiny_pix2pix, size=128).in_page  # no export needed
    assert second.names == first.names and second.files == first.files
    with torch.no_grad():
        next(tiny_pix2pix["pix2pix_b"].parameters()).add_(0.5)  # other weights: exported again
    third = SketchStudio(tiny_pix2pix, size=128).in_page
    assert third.names == ["pix2pix_a"] and "pix2pix_b" in third.skipped


def _no_export(name, model):
    raise RuntimeError(f"{name} exported again")


def sent_messages(generator, monkeypatch) -> list:
    """What the kernel sends the page, as ``(content, buffers)``."""
    sent = []

    def send(content, buffers=None):
        sent.append((content, buffers))

    monkeypatch.setattr(generator, "send", send)
    return sent


def test_the_webgpu_runtime_goes_to_the_page_only_when_it_asks(tiny_pix2pix, monkeypatch):
    generator = SketchStudio(tiny_pix2pix, size=128, webgpu="on").in_page
    assert generator.webgpu == "on"
    webgpu_files = ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                    "ort-wasm-simd-threaded.asyncify.wasm")  # fmt: skip
    with_widget = {bytes(v) for v in generator.runtime.values()}
    assert not with_widget & {(runtime.directory() / f).read_bytes() for f in webgpu_files}
    sent = sent_messages(generator, monkeypatch)
    generator._on_message(None, {"type": "webgpu_runtime"}, [])
    ((content, buffers),) = sent
    assert content == {"type": "webgpu_runtime", "roles": ["module", "glue", "wasm"]}
    assert buffers == [(runtime.directory() / f).read_bytes() for f in webgpu_files]


def test_without_the_webgpu_files_the_page_is_told_why(tiny_pix2pix, monkeypatch):
    from sketchwidgets.web.runtime import PageRuntimeMissing
    from sketchwidgets.widgets import _in_page_bundle

    generator = SketchStudio(tiny_pix2pix, size=128).in_page
    assert generator.webgpu == "auto"

    def missing(roles):
        raise PageRuntimeMissing(f"the page runtime lacks {roles['module']}")

    monkeypatch.setattr(_in_page_bundle, "runtime_bytes", missing)
    sent = sent_messages(generator, monkeypatch)
    generator._on_message(None, {"type": "webgpu_runtime"}, [])
    why = "the page runtime lacks ort.webgpu.min.mjs"
    assert sent == [({"type": "webgpu_runtime", "error": why}, None)]


def test_an_unknown_webgpu_mode_is_refused_by_its_value(tiny_pix2pix):
    from traitlets import TraitError

    with pytest.raises(TraitError, match="'sometimes'"):
        SketchStudio(tiny_pix2pix, size=128, webgpu="sometimes")
