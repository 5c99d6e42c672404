"""The classroom page on WebGPU: a model moves there only when its images agree with WebAssembly's.

Chromium here has no GPU; SwiftShader gives it a software WebGPU adapter
(``lab.SOFTWARE_WEBGPU_ARGS``). By default (``?webgpu=auto``) the page skips a software adapter,
which runs the models far slower than WebAssembly. With ``?webgpu=on`` it tries every model on
WebGPU, whatever its speed: a model whose images on the example sketches are within 2 grey
levels of its WebAssembly images runs there; any other stays on WebAssembly. On SwiftShader
pix2pix agrees (within 1 level) and EdgeGAN does not, so both outcomes are taken; whichever
runtime a model ends on, its images are ``generate()``'s within 2 grey levels.
"""

from __future__ import annotations

import numpy as np
import pytest

import sketchwidgets as sw
from sketchwidgets.data.builtin import example_sketch
from tests.browser.static_site import open_offline, serve
from tests.browser.test_page_parity import WITHIN, in_page, python_outputs

CHECKPOINTS = ("pix2pix/classroom", "edgegan/classroom")
NAMES = tuple(c.split("/")[0] for c in CHECKPOINTS)
_STATE = """() => ({
  backends: window.sketchwidgets.backends, checks: window.sketchwidgets.webgpuCheck,
  status: document.getElementById('status').textContent,
  tiles: Object.fromEntries([...document.querySelectorAll('.tile')].map(
    (t) => [t.dataset.model, t.dataset.backend])) })"""
_STROKE = "async () => await window.sketchwidgets.drawStroke([[40, 60], [210, 70], [120, 220]])"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from sketchwidgets.web import PageRuntimeMissing, build_page

    folder = tmp_path_factory.mktemp("webgpu") / "page"
    try:
        build_page(folder, models=[f"pretrained:{c}" for c in CHECKPOINTS])
    except PageRuntimeMissing as error:
        pytest.skip(str(error))
    with serve(folder) as url:
        yield url


@pytest.fixture(scope="module")
def webgpu_on(webgpu_chromium, site):
    tab = open_offline(webgpu_chromium, site, "index.html?webgpu=on", timeout_s=300)
    yield tab
    tab.close()


def test_a_software_adapter_is_left_alone_by_default(webgpu_chromium, site):
    tab = open_offline(webgpu_chromium, site)
    try:
        state = tab.page.evaluate(_STATE)
    finally:
        tab.close()
    assert state["backends"] == dict.fromkeys(NAMES, "wasm")
    assert state["checks"] == {}  # not even tried
    assert state["tiles"] == dict.fromkeys(NAMES, "wasm")
    assert state["status"].endswith("onnxruntime-web 1.31.1, WebAssembly in 2 workers")


def test_with_webgpu_on_a_model_moves_there_only_within_two_grey_levels(webgpu_on):
    state = webgpu_on.page.evaluate(_STATE)
    assert not webgpu_on.errors and not webgpu_on.blocked
    assert sorted(state["checks"]) == sorted(NAMES)  # every model was tried
    for name, check in state["checks"].items():
        agrees = check["largestDifference"] is not None and check["largestDifference"] <= WITHIN
        assert (state["backends"][name] == "webgpu") == agrees, (name, check)
        assert state["tiles"][name] == state["backends"][name]
    assert sorted(set(state["backends"].values())) == ["wasm", "webgpu"], state["checks"]
    on_gpu = [n for n in NAMES if state["backends"][n] == "webgpu"]
    others = "WebAssembly in a worker for the others"  # one model left on WebAssembly
    assert f"WebGPU for {', '.join(on_gpu)}, {others}" in state["status"], state["status"]


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_each_model_s_images_match_generate_on_its_runtime(webgpu_on, checkpoint):
    model = sw.load(f"pretrained:{checkpoint}", device="cpu")
    for class_name in ("apple", "house"):
        seen = model.model_input(example_sketch(class_name).to_array(256))
        label = class_name if model.needs_label else None
        expected = python_outputs(model, seen, label)
        actual = in_page(webgpu_on, model.name, seen, label)
        for output in expected:
            worst = np.abs(actual[output].astype(int) - expected[output].astype(int)).max()
            assert worst <= WITHIN, f"{checkpoint} {output} on the {class_name}: {worst} levels"


def test_a_stroke_redraws_every_tile_whatever_its_runtime(webgpu_on):
    page = webgpu_on.page
    page.evaluate("window.sketchwidgets.clear()")
    page.evaluate(_STROKE)
    latency = page.evaluate("window.sketchwidgets.lastLatencyMs")
    assert sorted(latency) == sorted(NAMES) and all(ms > 0 for ms in latency.values()), latency
    for name in NAMES:
        image = np.array(page.evaluate(f"window.sketchwidgets.outputs('{name}').image"), np.uint8)
        assert image.std() > 10, f"{name}'s image is flat"
