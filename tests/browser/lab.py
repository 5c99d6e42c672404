"""A private JupyterLab and headless Chromium, for the browser tests and bench_browser.py.

* :func:`start_lab` / :meth:`LabServer.stop`: JupyterLab on 127.0.0.1 (random free port,
  random token, its own config/settings/workspace/runtime folders, no news, no update check,
  no announcements, no extension manager, no terminals, no language server) serving a folder
  of notebooks; kernels get ``SKETCHWIDGETS_FAST=1`` and one torch thread.
* :func:`launch_chromium`: Debian's chromium (never a downloaded browser) through playwright.

The lab exposes ``window.jupyterapp`` (``expose_app_in_browser``), which
:class:`~tests.browser.notebook_page.NotebookPage` uses to run cells and reach the kernel.
"""

from __future__ import annotations

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


# Kernel defaults (the environment overrides them): fast mode, one torch thread. On a 2-core
# machine two threads (kernel, Chromium and pytest competing) made a tiny pix2pix step about 80x
# slower than one.
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
    full_env = {**KERNEL_ENV, **os.environ, **_private_home(home), **(env or {})}
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


# A software WebGPU adapter (SwiftShader, on the CPU): the WebGPU path runs with no GPU. Pages
# skip such an adapter unless asked ("on"), as it runs the models far slower than WebAssembly.
SOFTWARE_WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"]


def launch_chromium(playwright: Any, *, software_webgpu: bool = False) -> Any:
    """Headless Debian chromium (a playwright Browser with a fresh temporary profile); with
    ``software_webgpu``, WebGPU on SwiftShader instead of no GPU at all."""
    path = chromium_path()
    if path is None:
        raise FileNotFoundError(f"chromium not found at {CHROMIUM}: apt-get install chromium")
    args = CHROMIUM_ARGS
    if software_webgpu:
        args = [arg for arg in CHROMIUM_ARGS if arg != "--disable-gpu"] + SOFTWARE_WEBGPU_ARGS
    return playwright.chromium.launch(executable_path=path, headless=True, args=args)
