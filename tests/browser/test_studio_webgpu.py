"""The studio's in-page models on WebGPU, in JupyterLab: asked of the kernel, checked, then used.

Chromium here has no GPU; SwiftShader gives it a software WebGPU adapter
(``lab.SOFTWARE_WEBGPU_ARGS``). The fixture notebook ``studio_webgpu.ipynb`` opens
``SketchStudio`` on pix2pix and EdgeGAN with ``webgpu="on"`` (any adapter, whatever its
speed). The page runs both on WebAssembly, asks the kernel for the WebGPU runtime, runs the
parity check again on it, and moves a model there only when its outputs are within 2 grey levels
of the kernel's: on SwiftShader pix2pix is (1 level) and EdgeGAN is not, so both outcomes are
taken. The kernel learns each model's runtime (``studio.in_page.backends``), the footer says it,
and a stroke still redraws both tiles in the page, timed as each image is painted.
"""

from __future__ import annotations

import pytest

from tests.browser import lab
from tests.browser.notebook_page import NotebookPage
from tests.browser.test_studio_in_page import block_the_network

NOTEBOOK = "studio_webgpu.ipynb"
MODELS = ("pix2pix", "edgegan")
WITHIN = 2
CHECKED_TIMEOUT_S = 300.0  # the studio's cell, then its models into the page
_JS_SOURCES = """
(names) => Object.fromEntries(names.map((m) => [m,
  document.querySelector(`img.sketchwidgets-model-${m}.sketchwidgets-output-image`)?.src || null]))
"""


@pytest.fixture(scope="module")
def studio(lab_server, webgpu_chromium):
    context = webgpu_chromium.new_context(viewport=lab.VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    block_the_network(page)
    nb = NotebookPage(page, lab_server)
    nb.open(NOTEBOOK)
    nb.run_all()
    page.wait_for_function(
        "() => window.sketchwidgets && window.sketchwidgets.webgpu",
        timeout=CHECKED_TIMEOUT_S * 1000,
    )
    checks = page.evaluate("async () => await window.sketchwidgets.webgpu()")  # once placed
    yield nb, checks
    nb.shutdown_kernel()
    context.close()


def test_a_model_moves_to_webgpu_only_within_two_grey_levels_of_the_kernel(studio):
    nb, checks = studio
    backends = nb.page.evaluate("async () => await window.sketchwidgets.backends()")
    assert sorted(checks) == sorted(MODELS), checks  # both were tried on WebGPU
    for name, check in checks.items():
        agrees = check["largestDifference"] is not None and check["largestDifference"] <= WITHIN
        assert (backends[name] == "webgpu") == agrees, (name, check)
    assert sorted(set(backends.values())) == ["wasm", "webgpu"], checks
    assert nb.wait_kernel("studio.in_page.backends", backends, timeout=60) == backends
    on_gpu = ", ".join(n for n in MODELS if backends[n] == "webgpu")
    footer = nb.page.locator(".sketchwidgets-in-page").first.inner_text()
    assert f"WebGPU for {on_gpu}, WebAssembly for the others" in footer, footer


def test_a_stroke_redraws_both_tiles_in_the_page(studio):
    nb, _checks = studio
    before = nb.page.evaluate(_JS_SOURCES, list(MODELS))
    nb.page.evaluate("async () => await window.sketchwidgets.drawStroke([[40, 60], [210, 70]])")
    after = nb.page.evaluate(_JS_SOURCES, list(MODELS))
    # the page painted both (the kernel, free here, may have put its own image since)
    assert all(after[m] != before[m] for m in MODELS), (before, after)
    latency = nb.page.evaluate("() => window.sketchwidgets.lastLatencyMs")
    assert sorted(latency) == sorted(MODELS), latency
