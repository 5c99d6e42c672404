"""A page folder served by a plain static HTTP server, opened offline in Chromium.

:func:`serve` serves a folder on 127.0.0.1 from a thread (Python's ``http.server``: no
special headers, as a school's web server or a USB stick's would have none).
:func:`open_offline` opens a URL there in a new browser context that aborts every request
to anywhere else and records it, so a test sees whether the page tried to reach the network.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY = "window.sketchwidgets && (window.sketchwidgets.ready || window.sketchwidgets.error)"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder``; yields its base URL (``http://127.0.0.1:PORT/``)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class OfflineTab:
    """A page in its own context; ``blocked`` lists every request made elsewhere."""

    context: Any
    page: Any
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.context.close()


def open_offline(
    browser: Any,
    base_url: str,
    path: str = "index.html",
    *,
    timeout_s: float = 180.0,
    init_script: str | None = None,
) -> OfflineTab:
    """Open ``base_url + path`` with every other host blocked (``init_script`` run first in
    the page); wait for the page to start."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    if init_script:
        context.add_init_script(init_script)
    tab = OfflineTab(context, context.new_page())

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(base_url):
            request_route.continue_()
        else:
            tab.blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.page.goto(base_url + path)
    tab.page.wait_for_function(READY, timeout=timeout_s * 1000)
    return tab
