"""The classroom page in Chromium, served by a static server with every other host blocked.

Strokes drawn through ``window.sketchwidgets.drawStroke`` and with real mouse events reach
every model's tile (``data-model``): each paints an image, which changes with the drawing;
undo brings the earlier images back, clear empties the tiles, the class picker changes what
the class-conditional models draw, and the page asks nothing of the network. Each model's
latency is read once the frame that shows its image has been painted. The models run in two
workers that paint their own tiles; without workers, in the page's thread.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.browser.static_site import open_offline, serve

MODELS = ("pix2pix", "contextual_gan", "sketchygan", "edgegan")
# a house, then a door: strokes in the canvas's CSS px
WALLS = [[60, 120], [60, 220], [196, 220], [196, 120], [60, 120]]
ROOF = [[50, 125], [128, 50], [206, 125]]
DOOR = [[110, 220], [110, 170], [146, 170], [146, 220]]


@pytest.fixture(scope="module")
def tab(chromium, classroom_page):
    _folder, url = classroom_page
    tab = open_offline(chromium, url)
    assert tab.page.evaluate("window.sketchwidgets.error") is None
    yield tab
    tab.close()


def tile_images(tab) -> dict[str, dict[str, np.ndarray]]:
    """What each tile's output canvases show on the screen (RGB pixel rows): a screenshot of
    each, as the worker's tiles cannot be read back from the page's thread."""
    images: dict[str, dict[str, np.ndarray]] = {}
    for tile in tab.page.locator("[data-model]").all():
        for canvas in tile.locator("[data-output]").all():
            with Image.open(io.BytesIO(canvas.screenshot())) as shot:
                pixels = np.asarray(shot.convert("RGB")).reshape(-1, 3)
            outputs = images.setdefault(tile.get_attribute("data-model"), {})
            outputs[canvas.get_attribute("data-output")] = pixels
    return images


def draw(tab, points) -> None:
    tab.page.evaluate("(points) => window.sketchwidgets.drawStroke(points)", points)


def test_every_tile_paints_an_image_that_follows_the_drawing(tab):
    tab.page.evaluate("window.sketchwidgets.clear()")
    draw(tab, WALLS)
    draw(tab, ROOF)
    first = tile_images(tab)
    latency = tab.page.evaluate("window.sketchwidgets.lastLatencyMs")
    draw(tab, DOOR)
    second = tile_images(tab)

    assert sorted(first) == sorted(MODELS)
    assert set(first["edgegan"]) == {"image", "edge"}
    for model in MODELS:
        assert latency[model] > 0
        for output, image in first[model].items():
            assert image.std() > 10, f"{model} {output}: a flat image"
            change = np.abs(image.astype(int) - second[model][output].astype(int)).mean()
            assert change > 0.5, f"{model} {output} did not change with the door ({change:.2f})"
    note = tab.page.inner_text("[data-model=contextual_gan] .note")
    assert "G(E(sketch))" in note
    assert tab.blocked == [] and tab.errors == []


def test_undo_brings_the_images_back_and_clear_empties_the_tiles(tab):
    tab.page.evaluate("window.sketchwidgets.clear()")
    draw(tab, WALLS)
    before = tile_images(tab)
    draw(tab, ROOF)
    tab.page.evaluate("window.sketchwidgets.undo()")
    undone = tile_images(tab)
    for model in MODELS:
        for output in before[model]:
            assert np.array_equal(before[model][output], undone[model][output]), (model, output)

    tab.page.evaluate("window.sketchwidgets.clear()")
    assert tab.page.evaluate("window.sketchwidgets.modelInput('pix2pix')") == []
    assert tab.page.evaluate("window.sketchwidgets.lastLatencyMs") == {}
    captions = tab.page.eval_on_selector_all(".tile .caption", "cs => cs.map(c => c.textContent)")
    assert captions == list(MODELS)


def test_the_mouse_draws_and_the_tiles_follow(tab):
    page = tab.page
    page.evaluate("window.sketchwidgets.clear()")
    box = page.locator("#sketch").bounding_box()
    border = page.eval_on_selector("#sketch", "c => c.clientLeft")  # the drawing starts inside
    left, top = box["x"] + border, box["y"] + border
    page.mouse.move(left + 40, top + 40)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(left + 40 + 8 * step, top + 40 + 7 * step)
    page.mouse.up()
    page.evaluate("window.sketchwidgets.idle()")
    strokes = page.evaluate("window.sketchwidgets.strokes()")
    assert len(strokes) == 1 and len(strokes[0]["points"]) == 21
    assert strokes[0]["points"][-1] == pytest.approx([200, 180], abs=1)
    seen = np.array(page.evaluate("window.sketchwidgets.modelInput('pix2pix')"))
    assert seen.size == 64 * 64 and seen.min() < 64  # the diagonal, redrawn
    assert set(page.evaluate("window.sketchwidgets.lastLatencyMs")) == set(MODELS)


def test_the_class_picker_changes_the_class_conditional_images(tab):
    page = tab.page
    page.evaluate("window.sketchwidgets.loadExample('apple')")
    page.evaluate("window.sketchwidgets.idle()")
    assert page.input_value("#class") == page.input_value("#example") == "apple"
    apple = tile_images(tab)
    page.evaluate("window.sketchwidgets.selectClass('car')")
    car = tile_images(tab)
    for model in ("sketchygan", "edgegan"):
        assert not np.array_equal(apple[model]["image"], car[model]["image"]), model
    for model in ("pix2pix", "contextual_gan"):
        assert np.array_equal(apple[model]["image"], car[model]["image"]), model


def test_screenshot_of_the_page_with_an_example(tab, screenshot_dir):
    """docs/screenshots/page.png (with SKETCHWIDGETS_UPDATE_SCREENSHOTS=1): the house example."""
    page = tab.page
    page.evaluate("window.sketchwidgets.loadExample('house')")
    page.evaluate("window.sketchwidgets.idle()")
    assert set(page.evaluate("window.sketchwidgets.lastLatencyMs")) == set(MODELS)
    path = screenshot_dir / "page.png"
    page.locator("main").screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failing_model_says_so_in_its_tile_and_the_others_still_paint(
    chromium, classroom_page, tmp_path
):
    folder, _url = classroom_page
    broken = tmp_path / "page"
    broken.mkdir()
    for item in folder.iterdir():
        if item.name != "page.json":
            (broken / item.name).symlink_to(item)
    manifest = json.loads((folder / "page.json").read_text())
    sketchygan = next(m for m in manifest["models"] if m["name"] == "sketchygan")
    sketchygan["draws"]["z"] = {"shape": [1, 3], "data": [0.0, 0.0, 0.0]}  # the graph wants 64
    (broken / "page.json").write_text(json.dumps(manifest))
    with serve(broken) as url:
        tab = open_offline(chromium, url)
        try:
            draw(tab, WALLS)
            draw(tab, ROOF)
            caption = tab.page.inner_text("[data-model=sketchygan] .caption")
            latency = tab.page.evaluate("window.sketchwidgets.lastLatencyMs")
        finally:
            tab.close()
    assert caption == "sketchygan: error (see the console)"
    assert set(latency) == {"pix2pix", "contextual_gan", "edgegan"}


# Records, in order: each image put on a tile's canvas, each animation frame's callbacks (start
# and end), and each latency the page writes, with whether it was written inside a callback.
TIMELINE = """
(() => {
  const events = (window.__timeline = []);
  let inFrame = 0;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => raf((time) => {
    inFrame += 1;
    events.push({ kind: "frame" });
    try { callback(time); } finally { inFrame -= 1; }
  });
  const put = CanvasRenderingContext2D.prototype.putImageData;
  CanvasRenderingContext2D.prototype.putImageData = function (...args) {
    const tile = this.canvas.closest && this.canvas.closest("[data-model]");
    if (tile && this.canvas.dataset.output) events.push({ kind: "put", model: tile.dataset.model });
    return put.apply(this, args);
  };
  const watch = (target) => new Proxy(target, { set(object, model, value) {
    events.push({ kind: "latency", model, inFrame: inFrame > 0 });
    object[model] = value;
    return true;
  } });
  let api;
  const adopt = (value) => {
    let latency = watch(value.lastLatencyMs || {});
    Object.defineProperty(value, "lastLatencyMs", {
      enumerable: true, get: () => latency, set: (next) => { latency = watch(next); } });
    api = value;
  };
  Object.defineProperty(window, "sketchwidgets", { get: () => api, set: adopt });
})();
"""


def test_each_latency_is_read_after_the_frame_that_shows_its_image(chromium, classroom_page):
    """Every model in the page's thread (``?workers=0``); a worker reads its own latencies
    the same way, after its own next frame (tile_worker.js)."""
    _folder, url = classroom_page
    tab = open_offline(chromium, url, "index.html?workers=0", init_script=TIMELINE)
    try:
        tab.page.evaluate("window.__timeline.length = 0")
        draw(tab, WALLS)
        draw(tab, ROOF)
        events = tab.page.evaluate("window.__timeline")
    finally:
        tab.close()
    latencies = [e for e in events if e["kind"] == "latency"]
    assert sorted(e["model"] for e in latencies) == sorted(MODELS * 2), latencies
    for index, event in enumerate(events):
        if event["kind"] != "latency":
            continue
        assert not event["inFrame"], f"{event['model']}'s latency read in an animation callback"
        before = events[:index]
        last_put = max(i for i, e in enumerate(before) if e.get("model") == event["model"]
                       and e["kind"] == "put")  # fmt: skip
        assert any(e["kind"] == "frame" for e in before[last_put:]), (
            f"{event['model']}'s latency read before a frame showed its image"
        )


def test_the_models_run_in_two_workers_shared_by_their_run_times(tab):
    workers, run_ms = tab.page.evaluate(
        "[window.sketchwidgets.workers, window.sketchwidgets.runMs]"
    )
    assert len(workers) == 2 and sorted(workers[0] + workers[1]) == sorted(MODELS), workers
    work = [sum(run_ms[name] for name in worker) for worker in workers]
    assert abs(work[0] - work[1]) <= max(run_ms.values()), (workers, run_ms)
    status = tab.page.inner_text("#status")
    assert status.endswith("onnxruntime-web 1.31.1, WebAssembly in 2 workers"), status


@pytest.mark.parametrize("missing", ["OffscreenCanvas", "Worker"])
def test_without_a_worker_every_model_paints_in_the_page_s_thread(
    chromium, classroom_page, missing
):
    _folder, url = classroom_page
    tab = open_offline(chromium, url, init_script=f"delete window.{missing};")
    try:
        workers = tab.page.evaluate("window.sketchwidgets.workers")
        draw(tab, WALLS)
        latency = tab.page.evaluate("window.sketchwidgets.lastLatencyMs")
        images = tile_images(tab)
    finally:
        tab.close()
    assert workers == []
    assert sorted(latency) == sorted(MODELS), latency
    assert all(image.std() > 10 for outputs in images.values() for image in outputs.values())


def test_a_model_a_worker_cannot_load_keeps_every_model_in_the_page_s_thread(
    chromium, classroom_page
):
    """The second fetch of SketchyGAN's graph (the worker's: the page's thread loads it first)
    fails; no model moves to a worker, and every tile still paints."""
    from tests.browser.static_site import READY

    _folder, url = classroom_page
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    fetches = []

    def route(request_route) -> None:
        request = request_route.request
        if not request.url.startswith(url):
            request_route.abort()
            return
        if request.url.endswith("/sketchygan.onnx"):
            fetches.append(request.url)
            if len(fetches) > 1:  # the worker's fetch
                request_route.abort()
                return
        request_route.continue_()

    context.route("**/*", route)
    page = context.new_page()
    try:
        page.goto(url + "index.html")
        page.wait_for_function(READY, timeout=180_000)
        started = page.evaluate("[window.sketchwidgets.ready, window.sketchwidgets.error]")
        workers = page.evaluate("window.sketchwidgets.workers")
        page.evaluate("(points) => window.sketchwidgets.drawStroke(points)", WALLS)
        latency = page.evaluate("window.sketchwidgets.lastLatencyMs")
    finally:
        context.close()
    assert started == [True, None], started
    assert len(fetches) == 2, fetches  # the worker did ask for it
    assert workers == []
    assert sorted(latency) == sorted(MODELS), latency
