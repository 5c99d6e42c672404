"""The studio's tiles keep up while the kernel is busy: generation in the notebook page.

Runs the fixture notebook ``studio_busy_kernel.ipynb`` in JupyterLab in headless Chromium with
every request off 127.0.0.1 refused: ``SketchStudio()``, then a cell that sleeps 30 s. While
that cell runs, the studio's models load into the page, pass the parity check (each tile then
says "in the page") and a house is drawn with real mouse events on the canvas (id ``sketch``):
every tile's image (pix2pix, Contextual GAN, SketchyGAN, EdgeGAN's image and edge map) changes
to a non-blank picture before the sleep ends, so does what each model sees, and
``window.sketchwidgets.lastLatencyMs`` has each model's stroke-end-to-painted time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from sketchwidgets.pretrained import shipped_names
from tests.browser.notebook_page import NotebookPage
from tests.browser.test_quickstart_canvas import HOUSE

NOTEBOOK = "studio_busy_kernel.ipynb"
MODELS = ("pix2pix", "contextual_gan", "sketchygan", "edgegan")
OUTPUTS = [(m, "image") for m in MODELS] + [("edgegan", "edge")]
SLEEP_S = 30.0  # the fixture's busy cell
READY_TIMEOUT_S = 180.0  # the studio's cell, then its models into the page
MISSING = [f"{m}/classroom" for m in MODELS if f"{m}/classroom" not in shipped_names()]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"classroom checkpoints not shipped yet: {', '.join(MISSING)}"
)

_JS_START_ALL = """
() => { window._swRunAll = window.jupyterapp.commands.execute('notebook:run-all-cells'); }
"""
# code cells' execution counts (null: not finished) and the kernel's status
_JS_PROGRESS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells, counts = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code') counts.push(cell.executionCount);
  }
  return {counts, status: panel.sessionContext.kernelDisplayStatus};
}
"""
_JS_SOURCES = """
(names) => Object.fromEntries(names.map(([m, o]) => [m + '/' + o,
  document.querySelector(`img.sketchwidgets-model-${m}.sketchwidgets-output-${o}`)?.src || null]))
"""


def block_the_network(page: Any) -> None:
    """Abort every request that leaves 127.0.0.1 (the lab itself is local)."""

    def route(request_route: Any) -> None:
        url = request_route.request.url
        local = url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
        request_route.continue_() if local else request_route.abort()

    page.route("**/*", route)


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def sleep_started(nb: NotebookPage) -> bool:
    """The studio's cell has finished (so the sleeping one runs) and the kernel is busy."""
    progress = nb.page.evaluate(_JS_PROGRESS)
    studio_done, sleep_done = progress["counts"]
    return studio_done is not None and sleep_done is None and progress["status"] == "busy"


@pytest.fixture(scope="module")
def busy(lab_server, page):
    """The notebook started (studio, then the sleep); ``(nb, when the sleep began)``."""
    block_the_network(page)
    nb = NotebookPage(page, lab_server)
    nb.open(NOTEBOOK)
    nb.page.evaluate(_JS_START_ALL)  # not awaited: the last cell sleeps
    wait_for(lambda: sleep_started(nb), READY_TIMEOUT_S, "the studio's cell did not finish")
    began = time.monotonic()
    yield nb, began
    nb.shutdown_kernel()


def test_every_tile_updates_while_the_kernel_sleeps(busy):
    nb, began = busy
    page = nb.page
    page.wait_for_function("() => window.sketchwidgets && window.sketchwidgets.paths")
    paths = page.evaluate("async () => await window.sketchwidgets.paths()")
    assert paths == dict.fromkeys(MODELS, "page"), paths
    for model in MODELS:
        label = page.locator(f".sketchwidgets-path.sketchwidgets-model-{model}").first
        assert label.inner_text().startswith("in the page"), (model, label.inner_text())
    before = page.evaluate(_JS_SOURCES, OUTPUTS)
    canvas = page.locator("canvas#sketch")
    box = canvas.bounding_box()
    for stroke in HOUSE:
        points = [(box["x"] + x * box["width"] / 256, box["y"] + y * box["height"] / 256)
                  for x, y in stroke]  # fmt: skip
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=6)
        page.mouse.up()
    page.evaluate("async () => await window.sketchwidgets.idle()")
    latency = page.evaluate("() => window.sketchwidgets.lastLatencyMs")
    after = page.evaluate(_JS_SOURCES, OUTPUTS)
    elapsed = time.monotonic() - began
    assert sleep_started(nb) and elapsed < SLEEP_S, f"the kernel was free again ({elapsed:.0f} s)"
    print(f"stroke end to painted, ms: {latency}; {elapsed:.1f} s into the sleep")
    assert sorted(latency) == sorted(MODELS), latency
    for model, output in OUTPUTS:
        key = f"{model}/{output}"
        assert after[key] != before[key] and after[key].startswith("data:image/png"), key
        img = page.locator(f"img.sketchwidgets-model-{model}.sketchwidgets-output-{output}").first
        pixels = nb.image_pixels(img)[1][..., :3]
        assert pixels.std() > 10, f"{key} is flat (std {pixels.std():.1f})"
    assert page.locator('[data-model="pix2pix"]').count() >= 1
    seen = page.locator("img.sketchwidgets-model-input.sketchwidgets-model-pix2pix").first
    assert seen.get_attribute("src").startswith("data:image/png")  # what it sees, from the page


def test_draw_stroke_hook_redraws_every_tile(busy):
    nb, began = busy
    page = nb.page
    page.wait_for_function("() => window.sketchwidgets && window.sketchwidgets.paths")
    before = page.evaluate(_JS_SOURCES, OUTPUTS)
    page.evaluate("async () => await window.sketchwidgets.drawStroke([[40, 40], [220, 60]])")
    after = page.evaluate(_JS_SOURCES, OUTPUTS)
    changed = [key for key in after if after[key] != before[key]]
    assert len(changed) == len(OUTPUTS), changed
    latency = page.evaluate("() => window.sketchwidgets.lastLatencyMs")
    assert all(np.isfinite(latency[m]) and latency[m] > 0 for m in MODELS), latency
