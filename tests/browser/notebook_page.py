"""A notebook open in JupyterLab in Chromium: run it, probe its kernel, draw on its canvas.

:class:`NotebookPage` wraps a playwright Page. It relies on ``window.jupyterapp`` (the lab is
started with ``expose_app_in_browser``): cells run through the ``notebook:run-all-cells``
command, whose promise resolves when the last cell has finished, and kernel state is read with
``requestExecute`` on the notebook's own kernel, so no cell is added to the notebook. Strokes
are drawn with real mouse events (``page.mouse``: press, moves, release).
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.browser.lab import LabServer

CANVAS_SELECTOR = ".sketchwidgets-canvas"  # LiveInk <canvas> (sketch_canvas.CANVAS_CLASS)
COMPARE_IMAGE_SELECTOR = ".sketchwidgets-compare-image"
# Seconds a notebook may take to run (raise it for a full-mode run, SKETCHWIDGETS_FAST=0).
RUN_TIMEOUT = float(os.environ.get("SKETCHWIDGETS_BROWSER_RUN_TIMEOUT", "300"))

# ----- in-page JavaScript --------------------------------------------------------------------
_JS_CURRENT = """
() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  return !!(panel && panel.sessionContext && panel.sessionContext.session
            && panel.sessionContext.session.kernel && panel.content && panel.content.model);
}
"""
_JS_KERNEL_STATUS = "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus"
_JS_RUN_ALL = """
async (timeoutMs) => {
  const app = window.jupyterapp;
  await app.shell.currentWidget.sessionContext.ready;
  const late = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
  return await Promise.race([app.commands.execute('notebook:run-all-cells'), late]);
}
"""
_JS_CELL_ERRORS = """
() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      const out = cell.outputs.get(j).toJSON();
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }
    if (cell.executionCount === null) errors.push(`cell ${i}: not executed`);
  }
  return errors;
}
"""
_JS_KERNEL_EXECUTE = """
async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let text = '', error = null;
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream') text += msg.content.text;
    else if (t === 'execute_result') text += msg.content.data['text/plain'] + '\\n';
    else if (t === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return {text, error};
}
"""


_JS_IMAGE_PIXELS = """
async (img) => {
  await img.decode();
  const w = img.naturalWidth, h = img.naturalHeight;
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return {src: img.src, png: canvas.toDataURL('image/png')};
}
"""
_JS_SHUTDOWN = "async () => await window.jupyterapp.shell.currentWidget.sessionContext.shutdown()"

# Defined in the kernel by NotebookPage.install_probe(): finds the notebook's widgets (directly
# in its globals or inside a SketchStudio, in definition order) so tests work on any notebook's
# variable names.
KERNEL_PROBE = """
def _sw_widgets(kind):
    import sketchwidgets.widgets as _w
    cls, found = getattr(_w, kind), []
    for value in list(globals().values()):
        parts = [value.canvas, value.compare] if isinstance(value, _w.SketchStudio) else [value]
        found += [p for p in parts if isinstance(p, cls) and all(p is not f for f in found)]
    return found

def _sw_first(kind):
    # the first one the notebook defines: the first on the page (pair canvas and view by order)
    found = _sw_widgets(kind)
    if not found:
        raise LookupError(f"expected a {kind} in the notebook, found none")
    return found[0]

def _sw_canvas_state():
    c = _sw_first("SketchCanvas")
    sx, sy = c.width / c.sketch.width, c.height / c.sketch.height
    last = c.sketch.strokes[-1] if c.sketch.strokes else None
    points = [] if last is None else [[x * sx, y * sy] for x, y in last.points]
    return {"count": c.stroke_count, "strokes": len(c.sketch.strokes), "points": points,
            "tool": None if last is None else last.tool, "pen_width": c.pen_width,
            "width": c.width, "height": c.height}

def _sw_compare_state():
    v = _sw_first("CompareView")
    name = v.shown[0]
    image = v.images.get(name)
    return {"generation": v.generation, "name": name, "status": v.status.value,
            "image": None if image is None else image.tolist()}
"""


class NotebookPage:
    """A playwright Page showing one notebook of a :class:`LabServer`."""

    def __init__(self, page: Any, server: LabServer) -> None:
        self.page = page
        self.server = server

    def open(self, name: str, *, timeout: float = 60.0) -> None:
        """Load notebook ``name`` and wait until its kernel is started and idle."""
        self.page.goto(self.server.notebook_url(name), wait_until="domcontentloaded")
        self.page.wait_for_function(_JS_CURRENT, timeout=timeout * 1000)
        self.wait_idle(timeout)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until the kernel reports idle."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.page.evaluate(_JS_KERNEL_STATUS)
            if status == "idle":
                return
            time.sleep(0.1)
        raise TimeoutError(f"kernel still {status!r} after {timeout:.0f} s")

    def run_all(self, *, timeout: float = RUN_TIMEOUT) -> None:
        """Run every cell; raise with the cell's error if one failed or did not run."""
        if self.page.evaluate(_JS_RUN_ALL, timeout * 1000) == "timeout":
            raise TimeoutError(f"the notebook's cells ran for more than {timeout:.0f} s")
        self.wait_idle(timeout)
        errors = self.page.evaluate(_JS_CELL_ERRORS)
        if errors:
            raise AssertionError("notebook cells failed:\n" + "\n".join(errors))

    def kernel_eval(self, code: str) -> str:
        """Run ``code`` in the notebook's kernel (outside any cell); returns its printed text."""
        result = self.page.evaluate(_JS_KERNEL_EXECUTE, code)
        if result["error"]:
            raise AssertionError(f"kernel raised {result['error']} running:\n{code}")
        return result["text"]

    def install_probe(self) -> None:
        """Define the ``_sw_*`` helper functions (:data:`KERNEL_PROBE`) in the kernel."""
        self.kernel_eval(KERNEL_PROBE)

    def shutdown_kernel(self) -> None:
        """Shut the notebook's kernel down (frees the CPU for the next notebook)."""
        self.page.evaluate(_JS_SHUTDOWN)

    def kernel_json(self, expression: str) -> Any:
        """Evaluate a Python expression in the kernel and return it decoded from JSON."""
        text = self.kernel_eval(f"import json as _j; print(_j.dumps({expression}))")
        return json.loads(text.strip().splitlines()[-1])

    # ----- widgets ---------------------------------------------------------------------------
    def canvas(self, index: int = 0, *, timeout: float = 30.0) -> Any:
        """The top <canvas> (the one receiving pointer events) of the index-th SketchCanvas."""
        element = self.page.locator(CANVAS_SELECTOR).nth(index)
        element.wait_for(state="visible", timeout=timeout * 1000)
        if element.evaluate("e => e.tagName") == "CANVAS":  # ipycanvas >= 0.13: one <canvas>
            return element
        top = element.locator("canvas").last  # older ipycanvas: stacked layers in a <div>
        top.wait_for(state="visible", timeout=timeout * 1000)
        return top

    def canvas_box(self, index: int = 0) -> dict[str, float]:
        """The bounding box (page pixels) of the index-th SketchCanvas's drawing area."""
        canvas = self.canvas(index)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        if box is None:
            raise AssertionError("the SketchCanvas has no bounding box (not rendered?)")
        return box

    def screenshot(self, locator: Any, path: Path | None = None) -> bytes:
        """PNG of an element, taken without the focus ring (the canvas takes focus on press)."""
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        return locator.screenshot(path=path, animations="disabled")

    def save_screenshot(self, locator: Any, path: Path, *, margin: int = 8) -> np.ndarray:
        """Write an element's screenshot to ``path``, white space right and below trimmed.

        Widgets stretch to the notebook's width; the README shows only their content.
        """
        with Image.open(io.BytesIO(self.screenshot(locator))) as shot:
            rgb = np.asarray(shot.convert("RGB"))
        ink = np.nonzero((rgb < 245).any(axis=2))
        if len(ink[0]):
            rgb = rgb[: ink[0].max() + 1 + margin, : ink[1].max() + 1 + margin]
        Image.fromarray(rgb).save(path)
        return rgb

    def draw_stroke(
        self, points: Sequence[tuple[float, float]], *, index: int = 0, steps: int = 1
    ) -> list[tuple[float, float]]:
        """Press, drag through ``points`` (canvas pixels), release: real mouse events.

        Returns the page coordinates visited. ``steps`` interpolated moves go between points.
        """
        box = self.canvas_box(index)
        page_points = [(box["x"] + x, box["y"] + y) for x, y in points]
        mouse = self.page.mouse
        mouse.move(*page_points[0])
        mouse.down()
        for point in page_points[1:]:
            mouse.move(*point, steps=steps)
        mouse.up()
        return page_points

    def image_pixels(self, locator: Any) -> tuple[str, np.ndarray]:
        """An <img> element's ``src`` and its decoded pixels at natural size (uint8 HxWx4)."""
        data = locator.evaluate(_JS_IMAGE_PIXELS)
        png = base64.b64decode(data["png"].split(",", 1)[1])
        with Image.open(io.BytesIO(png)) as image:
            return data["src"], np.asarray(image.convert("RGBA"))

    def wait_kernel(self, expression: str, expected: Any, *, timeout: float = 20.0) -> Any:
        """Poll a kernel expression (JSON-able) until it equals ``expected``; returns the last."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.kernel_json(expression)
            if value == expected:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{expression} = {value!r} after {timeout:.0f} s, want {expected!r}")
