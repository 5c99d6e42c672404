"""Drive JupyterLab in headless Chromium: used by the browser tests and benchmarks/bench_browser.py.

* :func:`start_lab` / :meth:`LabServer.stop`: a private JupyterLab on 127.0.0.1 (random free
  port, random token, its own config/settings/workspace/runtime folders, no news, no update
  check, no announcements, no extension manager, no terminals) serving a folder of notebooks.
* :func:`launch_chromium`: Debian's chromium (never a downloaded browser) through playwright.
* :class:`NotebookPage`: open a notebook, run all cells, evaluate code in its kernel, find a
  widget's elements, draw a stroke with real mouse events.

JupyterLab is started with ``--LabApp.expose_app_in_browser=True`` so the page exposes
``window.jupyterapp``: cells are run with the ``notebook:run-all-cells`` command (whose promise
resolves when the last cell has finished) and kernel state is read with a silent
``requestExecute`` on the notebook's own kernel (no cell is added to the notebook).
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

CHROMIUM = os.environ.get("SKETCHWIDGETS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
CANVAS_SELECTOR = ".sketchwidgets-canvas"  # SketchCanvas's MultiCanvas (sketch_canvas.CANVAS_CLASS)
COMPARE_IMAGE_SELECTOR = ".sketchwidgets-compare-image"
DISABLED_PLUGINS = [
    "@jupyterlab/apputils-extension:announcements",
    "@jupyterlab/extensionmanager-extension:plugin",
    "@jupyterlab/lsp-extension",
]
SERVER_CONFIG = {
    "ServerApp": {
        "terminals_enabled": False,
        "jpserver_extensions": {"jupyter_lsp": False, "jupyter_server_terminals": False},
    },
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
        "expose_app_in_browser": True,
    },
}


# Kernels run in fast mode with one torch thread: on a shared 2-core runner, two threads each
# (kernel, Chromium, pytest competing) made a tiny pix2pix step ~80x slower than one.
KERNEL_ENV = {"SKETCHWIDGETS_FAST": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str | None:
    """The Chromium executable to use, or None when it is not installed."""
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    return path if path and os.access(path, os.X_OK) else None


def copy_notebooks(sources: Sequence[Path], folder: Path) -> Path:
    """Copy each notebook in ``sources`` into ``folder`` (tests never touch committed files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copy2(source, folder / Path(source).name)
    return folder


@dataclass
class LabServer:
    """A running JupyterLab: its URL, token, notebook folder, process and log file."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log_path: Path
    home: Path
    _log: Any = field(default=None, repr=False)

    def notebook_url(self, name: str) -> str:
        """URL opening notebook ``name`` (relative to the root) in a fresh workspace."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill it if it does not exit within ``timeout`` s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.home, ignore_errors=True)


def _private_home(base: Path) -> dict[str, str]:
    """Config, data-free settings, workspaces and runtime folders under ``base`` (as env vars)."""
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    disabled = {name: True for name in DISABLED_PLUGINS}
    page_config = {"disabledExtensions": disabled}
    (config / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
    return {
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "MPLCONFIGDIR": str(base / "matplotlib"),
    }


def start_lab(root: Path, *, env: dict[str, str] | None = None, timeout: float = 90.0) -> LabServer:
    """Start JupyterLab serving ``root`` and wait until ``/api/status`` answers."""
    port, token = free_port(), secrets.token_hex(16)
    home = Path(tempfile.mkdtemp(prefix="sketchwidgets-lab-"))
    full_env = {**os.environ, **_private_home(home), **KERNEL_ENV, **(env or {})}
    full_env.pop("JUPYTER_TOKEN", None)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI runners
        command.append("--allow-root")
    log_path = home / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        command, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=root
    )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log_path, home, log)
    try:
        _wait_for_status(server, timeout)
    except BaseException:
        tail = server.log_tail()
        server.stop()
        raise RuntimeError(f"JupyterLab did not start; its log ends with:\n{tail}") from None
    return server


def _wait_for_status(server: LabServer, timeout: float) -> None:
    """Poll ``/api/status`` until it answers 200 (raise if the process dies or time runs out)."""
    deadline = time.monotonic() + timeout
    url = f"{server.url}/api/status?token={server.token}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {server.process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"JupyterLab did not answer {server.url}/api/status in {timeout:.0f} s")


def launch_chromium(playwright: Any, user_data_dir: Path | None = None) -> Any:
    """Headless Debian chromium (a playwright Browser) with networking extras switched off."""
    path = chromium_path()
    if path is None:
        raise FileNotFoundError(f"chromium not found at {CHROMIUM}: apt-get install chromium")
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)


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
# in its globals or inside a SketchStudio) so tests work on any notebook's variable names.
KERNEL_PROBE = """
def _sw_widgets(kind):
    import sketchwidgets.widgets as _w
    cls, found = getattr(_w, kind), []
    for value in list(globals().values()):
        parts = [value.canvas, value.compare] if isinstance(value, _w.SketchStudio) else [value]
        found += [p for p in parts if isinstance(p, cls) and all(p is not f for f in found)]
    return found

def _sw_one(kind):
    found = _sw_widgets(kind)
    if len(found) != 1:
        raise LookupError(f"expected one {kind} in the notebook, found {len(found)}")
    return found[0]

def _sw_canvas_state():
    c = _sw_one("SketchCanvas")
    sx, sy = c.width / c.sketch.width, c.height / c.sketch.height
    last = c.sketch.strokes[-1] if c.sketch.strokes else None
    points = [] if last is None else [[x * sx, y * sy] for x, y in last.points]
    return {"count": c.stroke_count, "strokes": len(c.sketch.strokes), "points": points,
            "tool": None if last is None else last.tool, "pen_width": c.pen_width,
            "width": c.width, "height": c.height}

def _sw_compare_state():
    v = _sw_one("CompareView")
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

    def run_all(self, *, timeout: float = 300.0) -> None:
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
