"""``SketchStudio()`` in Chromium: one drawn sketch through the four shipped classroom models.

Runs the fixture notebook ``studio_four_models.ipynb`` (``SketchStudio()`` with no argument),
picks the class "house" in the studio's class picker, draws a house with real mouse events and
checks that every model's tile shows a decoded, non-blank image equal to what the kernel
generated (pix2pix, Contextual GAN, SketchyGAN, and EdgeGAN's image and edge map), that the
Contextual GAN tile's search progress bar is full with its latency in the caption. The
studio's screenshot goes to docs/screenshots/studio.png when SKETCHWIDGETS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sketchwidgets.pretrained import shipped_names
from tests.browser.notebook_page import NotebookPage
from tests.browser.test_quickstart_canvas import HOUSE, scaled

NOTEBOOK = "studio_four_models.ipynb"
MODELS = ("pix2pix", "contextual_gan", "sketchygan", "edgegan")
CLASS = "house"
SETTLE_TIMEOUT = 120.0  # seconds for the last stroke's four generations to reach the page
# Records every width the Contextual GAN tile's progress bar takes on the page.
WATCH_PROGRESS = """
(element) => {
  const bar = element.querySelector('.progress-bar');
  window._swProgress = [];
  new MutationObserver(() => window._swProgress.push(bar.style.width))
    .observe(bar, {attributes: true, attributeFilter: ['style']});
}
"""
MISSING = [f"{m}/classroom" for m in MODELS if f"{m}/classroom" not in shipped_names()]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"classroom checkpoints not shipped yet: {', '.join(MISSING)}"
)

# The row as the kernel holds it (defined in the kernel next to notebook_page.KERNEL_PROBE).
ROW_PROBE = """
def _sw_row_state():
    v, c = _sw_first("CompareView"), _sw_first("SketchCanvas")
    return {
        "generation": v.generation, "strokes": len(c.sketch.strokes), "class": v.class_name,
        "status": v.status.value, "captions": {n: t.caption.value for n, t in v.tiles.items()},
        "outputs": {n: {k: a.tolist() for k, a in o.items()} for n, o in v.outputs.items()},
        "progress": {n: [t.progress.value, t.progress.max]
                     for n, t in v.tiles.items() if t.progress is not None},
    }
"""


def tile_image(nb: NotebookPage, model: str, output: str = "image") -> Any:
    """The <img> of one model's output in the compare row."""
    return nb.page.locator(f"img.sketchwidgets-model-{model}.sketchwidgets-output-{output}").first


def shown_matches_kernel(nb: NotebookPage, state: dict[str, Any]) -> bool:
    """True when every output <img> on the page shows the kernel's current pixels."""
    for model, outputs in state["outputs"].items():
        for output, pixels in outputs.items():
            shown = nb.image_pixels(tile_image(nb, model, output))[1][..., :3].astype(np.int16)
            kernel = np.asarray(pixels, dtype=np.int16)
            if shown.shape != kernel.shape or np.abs(shown - kernel).max() > 2:
                return False
    return True


def wait_row_settled(nb: NotebookPage, strokes: int) -> dict[str, Any]:
    """Poll until all strokes reached the kernel, the row stopped regenerating, every model
    has an output and the page shows the kernel's pixels; returns the kernel's row state."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    previous, state = None, {}
    while time.monotonic() < deadline:
        state = nb.kernel_json("_sw_row_state()")
        settled = (
            state["strokes"] == strokes
            and set(state["outputs"]) == set(MODELS)
            and previous is not None
            and previous["generation"] == state["generation"]
        )
        if settled and shown_matches_kernel(nb, state):
            return state
        previous = state
        time.sleep(0.5)
    summary = {k: state.get(k) for k in ("strokes", "generation", "status", "captions")}
    raise AssertionError(f"the row did not settle in {SETTLE_TIMEOUT:.0f} s: {summary}")


@pytest.fixture(scope="module")
def drawn(lab_server, page):
    """The fixture notebook run, the class picked and a house drawn; the settled row state."""
    nb = NotebookPage(page, lab_server)
    nb.open(NOTEBOOK)
    nb.run_all()
    nb.install_probe()
    nb.kernel_eval(ROW_PROBE)
    nb.page.locator(".sketchwidgets-class-picker select").first.select_option(CLASS)
    nb.wait_kernel("_sw_row_state()['class']", CLASS)
    # every search step reaches the page (the tile's default sends at most one per 0.1 s)
    nb.kernel_eval("_sw_first('CompareView').tiles['contextual_gan'].throttle.interval = 0")
    nb.page.locator(".sketchwidgets-search-progress").first.evaluate(WATCH_PROGRESS)
    house = [scaled(stroke, nb.canvas_box()) for stroke in HOUSE]
    for stroke in house:
        nb.draw_stroke(stroke, steps=12)
    yield nb, wait_row_settled(nb, strokes=len(house))
    nb.shutdown_kernel()


def test_every_model_shows_an_image_of_the_drawn_sketch(drawn):
    nb, state = drawn
    assert state["status"].startswith("4 of 4 generated"), state["status"]
    for model in MODELS:
        pixels = nb.image_pixels(tile_image(nb, model))[1][..., :3]
        assert pixels.std() > 10, f"{model}'s image is flat (std {pixels.std():.1f})"
        assert state["captions"][model].endswith(" ms"), state["captions"][model]
    images = [np.asarray(state["outputs"][m]["image"], dtype=np.int16) for m in MODELS]
    shapes = {image.shape for image in images}
    if len(shapes) == 1:  # four different models: four different pictures
        assert all(np.abs(a - b).mean() > 1 for i, a in enumerate(images) for b in images[i + 1 :])


def test_edgegan_shows_its_edge_map_beside_its_image(drawn):
    nb, state = drawn
    assert set(state["outputs"]["edgegan"]) == {"image", "edge"}
    edge = nb.image_pixels(tile_image(nb, "edgegan", "edge"))[1][..., :3]
    assert edge.std() > 10, "EdgeGAN's edge map is flat"
    image_box = tile_image(nb, "edgegan").bounding_box()
    edge_box = tile_image(nb, "edgegan", "edge").bounding_box()
    assert edge_box["x"] >= image_box["x"] + image_box["width"] - 1, "the edge is not beside"


def test_contextual_gan_search_progress_is_full(drawn):
    nb, state = drawn
    value, total = state["progress"]["contextual_gan"]
    assert total > 1 and value == total
    bar = nb.page.locator(".sketchwidgets-search-progress").first
    width = bar.evaluate("e => e.querySelector('.progress-bar').style.width")
    assert width == "100%", f"the progress bar on the page is at {width}"
    widths = [float(w.rstrip("%")) for w in nb.page.evaluate("() => window._swProgress")]
    assert any(0 < w < 100 for w in widths), f"the page never showed the search midway: {widths}"
    assert widths[-1] == 100


def test_studio_screenshot(drawn, screenshot_dir: Path):
    nb, state = drawn
    assert state["class"] == CLASS
    shot = nb.save_screenshot(
        nb.page.locator(".sketchwidgets-studio").first, screenshot_dir / "studio.png"
    )
    assert shot.shape[0] > 250 and shot.shape[1] > 800
