"""Drawing latency in a real browser: ink and sketch-to-image, median and p95 over many strokes.

Starts the same private JupyterLab and headless Chromium as the browser tests
(``tests/browser/lab.py``), runs a notebook holding a SketchCanvas wired to a CompareView
(by default one written here with pix2pix at 64 px, paper widths, untrained: the latency does
not depend on the weights; or ``--notebook 00_quickstart.ipynb``), then draws ``--strokes``
short strokes with real mouse events (``page.mouse``, one move every ``--interval-ms``, like a
60 Hz pointer) and measures, in the page, with ``performance.now()``:

* **ink latency**: a pointer event's ``timeStamp`` to the first animation frame in which the
  canvas shows ink at the middle of the new segment (``getImageData`` polled every frame).
  The canvas probed is the one receiving the pointer events: SketchCanvas's LiveInk overlay,
  which draws the live stroke client-side (the kernel's ink replaces it after the release);
* **sketch-to-image latency**: the mouse-up event to the compare view's new ``<img>`` having
  decoded (a MutationObserver sees ``src`` change; ``img.decode()`` resolving ends it). It
  includes CompareView's debounce wait (0.05 s by default), ``model.generate`` (also printed,
  as measured in the kernel), PNG encoding and the transfer;
* **kernel round trip floor**: an empty execute request from the page and back, the least any
  kernel-drawn ink can take.

Goals: ink p95 < 30 ms, sketch-to-image p95 < 150 ms, pix2pix at 64 px on this CPU.

Usage::

    .venv/bin/python benchmarks/bench_browser.py [--strokes 60] [--size 64] [--ngf 64]
        [--threads 1] [--notebook 00_quickstart.ipynb]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.browser import lab  # noqa: E402
from tests.browser.notebook_page import NotebookPage  # noqa: E402

ROWS, ROW_GAP, TOP = 30, 8, 12  # stroke rows per page of strokes, 8 px apart
COLUMNS = (16, 136)  # left x of the two columns of strokes
SEGMENT = 12  # px per mouse move (the ink probe sits mid-segment, clear of the last cap)

# Installed in the page: records pointer events, polls the ink each frame, watches the image.
JS_RECORDER = """
(canvas) => {
  const rec = window.__swBench = {ink: [], ups: [], images: [], pending: [], last: null};
  const ctx = canvas.getContext('2d');
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [canvas.width * (e.clientX - r.left) / r.width,
            canvas.height * (e.clientY - r.top) / r.height];
  };
  canvas.addEventListener('mousedown', (e) => { rec.last = at(e); }, true);
  canvas.addEventListener('mousemove', (e) => {
    if (!e.buttons || !rec.last) return;
    const p = at(e), m = [(p[0] + rec.last[0]) / 2, (p[1] + rec.last[1]) / 2];
    rec.pending.push({t0: e.timeStamp, x: Math.round(m[0]), y: Math.round(m[1])});
    rec.last = p;
  }, true);
  canvas.addEventListener('mouseup', (e) => { rec.ups.push(e.timeStamp); rec.last = null; }, true);
  const poll = (now) => {
    rec.pending = rec.pending.filter((p) => {
      const px = ctx.getImageData(p.x, p.y, 1, 1).data;
      if (px[3] > 128 && px[0] < 128) { rec.ink.push(now - p.t0); return false; }
      return true;
    });
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
  const img = document.querySelector('.sketchwidgets-compare-image');
  new MutationObserver(() => {
    const entry = {src: performance.now(), load: null};
    rec.images.push(entry);
    img.decode().then(() => { entry.load = performance.now(); }, () => {});
  }).observe(img, {attributes: true, attributeFilter: ['src']});
  return true;
}
"""
JS_STATE = """() => { const r = window.__swBench;
  return {ink: r.ink.length, pending: r.pending.length, ups: r.ups.slice(),
          images: r.images.map((i) => [i.src, i.load])}; }"""
JS_INK = "() => window.__swBench.ink.slice()"
# The floor of any kernel-drawn ink: an empty execute request's round trip from the page.
JS_ROUND_TRIP = """
async (n) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await kernel.requestExecute({code: 'pass', silent: true, store_history: false}).done;
    out.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 16));
  }
  return out;
}
"""


def bench_notebook(folder: Path, size: int, ngf: int) -> str:
    """Write the benchmark notebook (canvas + compare view on pix2pix) into ``folder``."""
    cells = [
        "import numpy as np\n\n"
        "from sketchwidgets.models import build_model\n"
        "from sketchwidgets.widgets import CompareView, SketchCanvas\n\n"
        f'model = build_model("pix2pix", image_size={size}, ngf={ngf}, ndf={ngf})\n'
        "warm = np.full((256, 256), 255, np.uint8)\n"
        "warm[128, 32:224] = 0  # one line: an empty sketch is refused\n"
        "_ = model.generate(warm, seed=0)  # warm up",
        "canvas = SketchCanvas(256, 256)\ncanvas",
        'view = CompareView({"pix2pix": model}, canvas=canvas)\nview',
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, folder / "bench_browser.ipynb")
    return "bench_browser.ipynb"


def stroke_points(k: int, moves: int) -> list[tuple[float, float]]:
    """The k-th stroke: a horizontal line of ``moves`` segments in its own row and column."""
    slot = k % (ROWS * len(COLUMNS))
    x0, y = COLUMNS[slot // ROWS], TOP + ROW_GAP * (slot % ROWS)
    return [(x0 + SEGMENT * i, y + (i % 2)) for i in range(moves + 1)]


def draw_timed(nb: NotebookPage, points: list, interval: float) -> None:
    """Mouse down at the first point, one move per point ``interval`` s apart, mouse up."""
    box = nb.canvas_box()
    mouse = nb.page.mouse
    mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    mouse.down()
    for x, y in points[1:]:
        time.sleep(interval)
        mouse.move(box["x"] + x, box["y"] + y)
    mouse.up()


def wait_stroke_done(nb: NotebookPage, strokes: int, timeout: float = 20.0) -> dict:
    """Wait until every ink probe resolved and the image after the last mouse-up loaded."""
    deadline = time.monotonic() + timeout
    while True:
        state = nb.page.evaluate(JS_STATE)
        up = state["ups"][-1] if len(state["ups"]) >= strokes else None
        loaded = up is not None and any(s > up and t for s, t in state["images"])
        if (loaded and not state["pending"]) or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def image_latencies(ups: list[float], images: list[list[float | None]]) -> list[float]:
    """For each mouse-up, ms to the first image that loaded after it."""
    out = []
    for up in ups:
        after = [load for src, load in images if src > up and load is not None]
        if after:
            out.append(min(after) - up)
    return out


def clear_canvas(nb: NotebookPage) -> None:
    """Press the canvas's clear button and wait until the kernel has no strokes."""
    nb.page.locator(".sketchwidgets-clear").first.click()
    nb.wait_kernel("_sw_canvas_state()['strokes']", 0)
    time.sleep(0.3)


def run(args: argparse.Namespace, playwright: Any, folder: Path) -> dict[str, Any]:
    """Draw the strokes and return the raw timings."""
    name = args.notebook or bench_notebook(folder, args.size, args.ngf)
    if args.notebook:
        lab.copy_notebooks([REPO_ROOT / "notebooks" / args.notebook], folder)
    server = lab.start_lab(folder, env={"OMP_NUM_THREADS": str(args.threads)})
    browser = lab.launch_chromium(playwright)
    try:
        page = browser.new_page(viewport=lab.VIEWPORT, device_scale_factor=1)
        nb = NotebookPage(page, server)
        nb.open(name)
        nb.run_all()
        nb.install_probe()
        if nb.kernel_json("_sw_canvas_state()['strokes']"):
            clear_canvas(nb)
        nb.page.evaluate(JS_RECORDER, nb.canvas().element_handle())
        generate_ms = []
        for k in range(args.strokes):
            if k and k % (ROWS * len(COLUMNS)) == 0:
                clear_canvas(nb)
            draw_timed(nb, stroke_points(k, args.moves), args.interval_ms / 1000)
            wait_stroke_done(nb, k + 1)
            generate_ms.append(nb.kernel_json("_sw_one('CompareView').last_latency_ms"))
        state = nb.page.evaluate(JS_STATE)
        return {
            "round_trip": nb.page.evaluate(JS_ROUND_TRIP, 50),
            "ink": nb.page.evaluate(JS_INK),
            "image": image_latencies(state["ups"], state["images"]),
            "generate": [v for d in generate_ms for v in d.values()],
            "unresolved_ink": state["pending"],
        }
    finally:
        browser.close()
        server.stop()


def describe(label: str, values: list[float], goal: float | None = None) -> str:
    """``label: n=.., median .. ms, p95 .. ms (goal ..)``."""
    if not values:
        return f"{label}: no samples"
    data = np.asarray(values)
    median, p95 = float(np.median(data)), float(np.percentile(data, 95))
    verdict = (
        "" if goal is None else f"  goal p95 < {goal:.0f} ms: {'met' if p95 < goal else 'MISSED'}"
    )
    return f"{label}: n={len(data)}, median {median:.1f} ms, p95 {p95:.1f} ms{verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=60)
    parser.add_argument("--moves", type=int, default=8, help="mouse moves per stroke")
    parser.add_argument("--interval-ms", type=float, default=16.0, help="between mouse moves")
    parser.add_argument("--size", type=int, default=64, help="pix2pix image size")
    parser.add_argument("--ngf", type=int, default=64, help="pix2pix ngf = ndf")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the kernel")
    parser.add_argument("--notebook", help="a notebook in notebooks/ to use instead")
    args = parser.parse_args()
    if lab.chromium_path() is None:
        sys.exit(f"chromium not found at {lab.CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp, sync_playwright() as pw:
        result = run(args, pw, Path(tmp))
    model = args.notebook or f"pix2pix {args.size} px, ngf {args.ngf}, {args.threads} thread(s)"
    print(f"bench_browser: {args.strokes} strokes x {args.moves} moves, {model}")
    print(describe("ink latency (pointer event -> ink in a frame)", result["ink"], 30))
    print(describe("sketch-to-image (mouse up -> new image decoded)", result["image"], 150))
    print(describe("  of which model.generate in the kernel", result["generate"]))
    print(describe("kernel round trip floor (empty execute request)", result["round_trip"]))
    if result["unresolved_ink"]:
        print(f"warning: {result['unresolved_ink']} ink probes never saw ink")


if __name__ == "__main__":
    main()
