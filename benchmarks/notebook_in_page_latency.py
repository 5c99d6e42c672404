"""Stroke end to image painted in the notebook page, the studio's models running in the page.

Starts the browser tests' private JupyterLab and headless Chromium (``tests/browser/lab.py``),
runs a notebook of two cells, ``SketchStudio()`` (the four classroom models) and a long
``time.sleep``, and while the kernel sleeps draws the eight example sketches' strokes, one after
another on the same canvas (``#sketch``; a clear would wait for the kernel), with real mouse
events. After each stroke it reads
``window.sketchwidgets.lastLatencyMs`` (the stroke's end to the paint of the frame showing
each in-page model's image) and prints each model's p50 / p95 in ms. The page runs one
model at a time, the fastest first, so a model's figure includes the models before it.

Usage::

    .venv/bin/python benchmarks/notebook_in_page_latency.py [--sleep 240]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sketchwidgets.data.builtin import CLASSES, example_sketch  # noqa: E402
from tests.browser import lab  # noqa: E402
from tests.browser.notebook_page import NotebookPage  # noqa: E402
from tests.browser.test_studio_in_page import _JS_START_ALL, sleep_started, wait_for  # noqa: E402


def notebook(folder: Path, sleep: float) -> str:
    cells = [
        nbformat.v4.new_code_cell(
            "from sketchwidgets.widgets import SketchStudio\n\nSketchStudio()"
        ),
        nbformat.v4.new_code_cell(f"import time\n\ntime.sleep({sleep})"),
    ]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    book = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})
    nbformat.write(book, folder / "in_page_latency.ipynb")
    return "in_page_latency.ipynb"


def draw(page, box: dict, points: list) -> None:
    page_points = [(box["x"] + x * box["width"] / 256, box["y"] + y * box["height"] / 256)
                   for x, y in points]  # fmt: skip
    page.mouse.move(*page_points[0])
    page.mouse.down()
    for point in page_points[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def measure(nb: NotebookPage) -> dict[str, list[float]]:
    page = nb.page
    page.wait_for_function("() => window.sketchwidgets && window.sketchwidgets.paths")
    print("paths:", page.evaluate("async () => await window.sketchwidgets.paths()"))
    box = page.locator("canvas#sketch").bounding_box()
    times: dict[str, list[float]] = {}
    for name in CLASSES:
        for stroke in example_sketch(name, size=256).strokes:
            draw(page, box, [tuple(p) for p in stroke.points])
            page.evaluate("async () => await window.sketchwidgets.idle()")
            for model, ms in page.evaluate("() => window.sketchwidgets.lastLatencyMs").items():
                times.setdefault(model, []).append(ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=240.0, help="the busy cell's seconds")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        name = notebook(Path(folder), args.sleep)
        server = lab.start_lab(Path(folder))
        try:
            with sync_playwright() as playwright:
                browser = lab.launch_chromium(playwright)
                page = browser.new_context(viewport=lab.VIEWPORT).new_page()
                nb = NotebookPage(page, server)
                nb.open(name)
                page.evaluate(_JS_START_ALL)
                wait_for(lambda: sleep_started(nb), 300, "the studio's cell did not finish")
                began = time.monotonic()
                times = measure(nb)
                busy = sleep_started(nb)
                print(f"{time.monotonic() - began:.0f} s into the sleep, kernel still busy: {busy}")
                for model, ms in times.items():
                    p50, p95 = np.percentile(ms, [50, 95])
                    print(f"{model:15s} {len(ms):3d} strokes  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
                nb.shutdown_kernel()
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
