"""Helpers shared by the widgets: PNG encoding, labelled strips, debounce/throttle, static views.

* ``to_png`` / ``from_png``: uint8 arrays <-> PNG bytes for ``ipywidgets.Image``.
* ``caption``, ``labelled_strip``, ``labelled_grid``, ``placeholder``: captioned tiles drawn with
  Pillow (no matplotlib), so they are fast enough to redraw on every stroke.
* :class:`Debounce` (run once after a quiet period) and :class:`Throttle` (at most every N s).
* ``side_by_side``: pictures in a row (the static view of a row of widgets).
* :class:`StaticFallback`: a widget mixin whose ``_repr_mimebundle_`` adds ``image/png`` and a
  deterministic ``text/plain`` to the widget view, so nbconvert, GitHub and nbval show something.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sketchwidgets.io import png_bytes, to_rgb

CAPTION_HEIGHT = 16
_FONT_SIZE = 11


def to_png(image: np.ndarray) -> bytes:
    """Encode a uint8 HxW or HxWx3 array as PNG bytes (for ``ipywidgets.Image.value``)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"to_png expects a uint8 image, got {array.dtype}")
    return png_bytes(array)


def compact_png(image: np.ndarray, colors: int = 256) -> bytes:
    """PNG bytes of a uint8 image reduced to ``colors`` palette entries (small notebook files)."""
    rgb = Image.fromarray(to_rgb(np.asarray(image, dtype=np.uint8)))
    palette = rgb.quantize(
        colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def from_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes (e.g. ``Image.value``) to a uint8 array (HxW, HxWx3 or HxWx4).

    Palette images come back as RGB.
    """
    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "P":
            image = image.convert("RGB")
        return np.asarray(image).copy()


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 image to ``(height, width)``: area filter down, cubic up."""
    array = np.asarray(image)
    h, w = size
    if array.shape[:2] == (h, w):
        return array
    shrinking = h < array.shape[0] or w < array.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(array, (w, h), interpolation=interpolation)


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font (deterministic, no system fonts needed)."""
    return ImageFont.load_default(size=_FONT_SIZE)


def text_tile(
    text: str,
    width: int,
    height: int,
    *,
    color: tuple[int, int, int] = (40, 40, 40),
    background: int = 255,
) -> np.ndarray:
    """An RGB ``height x width`` tile with ``text`` centred (lines split on newline)."""
    canvas = Image.new("RGB", (width, height), (background,) * 3)
    draw = ImageDraw.Draw(canvas)
    draw.multiline_text(
        (width / 2, height / 2), text, fill=color, font=_font(), anchor="mm", align="center"
    )
    return np.asarray(canvas).copy()


def placeholder(text: str, size: int | tuple[int, int] = 128) -> np.ndarray:
    """A light grey square (or ``(h, w)``) tile saying ``text``: no image yet, an error, ..."""
    h, w = (size, size) if isinstance(size, int) else size
    return text_tile(text, w, h, color=(90, 90, 90), background=238)


def caption(image: np.ndarray, text: str, *, height: int = CAPTION_HEIGHT) -> np.ndarray:
    """``image`` (made RGB) with a white caption strip holding ``text`` underneath."""
    rgb = to_rgb(np.asarray(image))
    strip = text_tile(text, rgb.shape[1], height)
    return np.concatenate([rgb, strip], axis=0)


def _tile_size(tile: int | tuple[int, int]) -> tuple[int, int]:
    """``(h, w)`` from a square side or an ``(h, w)`` pair."""
    return (tile, tile) if isinstance(tile, int) else (int(tile[0]), int(tile[1]))


def labelled_strip(
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    tile: int | tuple[int, int] = 128,
    pad: int = 4,
) -> np.ndarray:
    """One RGB row: each image resized to ``tile`` (side or (h, w)), captioned, gaps between."""
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    size = _tile_size(tile)
    if not images:
        return placeholder("nothing to show", size)
    tiles = [
        caption(resize(to_rgb(np.asarray(im)), size), text)
        for im, text in zip(images, labels, strict=True)
    ]
    gap = np.full((tiles[0].shape[0], pad, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for i, t in enumerate(tiles):
        parts.extend([gap, t] if i else [t])
    return np.concatenate(parts, axis=1)


def labelled_grid(
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    ncols: int = 4,
    tile: int | tuple[int, int] = 96,
    pad: int = 4,
) -> np.ndarray:
    """Captioned tiles in rows of ``ncols`` (the last row padded with blank tiles)."""
    size = _tile_size(tile)
    rows = []
    for start in range(0, max(len(images), 1), ncols):
        chunk_images = list(images[start : start + ncols])
        chunk_labels = list(labels[start : start + ncols])
        while rows and len(chunk_images) < ncols:  # keep every row the same width
            chunk_images.append(np.full((*size, 3), 255, np.uint8))
            chunk_labels.append("")
        rows.append(labelled_strip(chunk_images, chunk_labels, tile=size, pad=pad))
    width = max(r.shape[1] for r in rows)
    rows = [
        np.pad(r, ((0, pad), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    return np.concatenate(rows, axis=0)


def format_exception(error: BaseException) -> str:
    """The traceback text of ``error`` (what a widget shows in its Output area)."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


class Debounce:
    """Call ``fn`` once, ``wait`` seconds after the last trigger (later triggers restart the wait).

    In a Jupyter kernel the call is scheduled on the kernel's asyncio loop (``call_later``), so
    it runs on the main thread between messages; without a running loop (plain scripts, pytest)
    a ``threading.Timer`` is used. :meth:`flush` runs a pending call now, synchronously.
    Only the arguments of the latest trigger are used.
    """

    def __init__(self, fn: Callable[..., Any], wait: float = 0.3) -> None:
        if wait < 0:
            raise ValueError(f"wait must be >= 0 seconds, got {wait}")
        self.fn = fn
        self.wait = float(wait)
        self._lock = threading.Lock()
        self._pending: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._handle: asyncio.TimerHandle | threading.Timer | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Trigger: (re)start the quiet period with these arguments."""
        with self._lock:
            self._cancel_handle()
            self._pending = (args, kwargs)
            self._handle = self._schedule()
        if self._handle is None:  # no wait and no event loop: run now, on this thread
            self._fire()

    def _schedule(self) -> asyncio.TimerHandle | threading.Timer | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self.wait <= 0:
                return None
            timer = threading.Timer(self.wait, self._fire)
            timer.daemon = True
            timer.start()
            return timer
        return loop.call_later(self.wait, self._fire)

    def _cancel_handle(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def pending(self) -> bool:
        """True while a call is waiting for its quiet period to end."""
        return self._pending is not None

    def _fire(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
            self._handle = None
        if pending is not None:
            args, kwargs = pending
            self.fn(*args, **kwargs)

    def flush(self) -> bool:
        """Run the pending call now (if any); returns whether something ran."""
        with self._lock:
            self._cancel_handle()
            ran = self._pending is not None
        self._fire()
        return ran

    def cancel(self) -> None:
        """Drop the pending call without running it."""
        with self._lock:
            self._cancel_handle()
            self._pending = None


class Throttle:
    """Admit an event at most once every ``interval`` seconds (time-based, no threads)."""

    def __init__(
        self, interval: float = 1.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = float(interval)
        self.clock = clock
        self._last: float | None = None

    def ready(self) -> bool:
        """True (and the clock restarts) when ``interval`` has passed since the last admit."""
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True

    def reset(self) -> None:
        """Forget the last admit: the next :meth:`ready` is True."""
        self._last = None

    def start(self) -> None:
        """Count as an admit now: the next :meth:`ready` is True only after ``interval``."""
        self._last = self.clock()


def side_by_side(images: Sequence[np.ndarray], *, gap: int = 8) -> np.ndarray:
    """RGB images left to right, top-aligned on white, ``gap`` px apart (a placeholder if none)."""
    if not images:
        return placeholder("nothing to show")
    height = max(image.shape[0] for image in images)
    parts = [
        np.pad(to_rgb(image), ((0, height - image.shape[0]), (0, gap), (0, 0)), constant_values=255)
        for image in images
    ]
    return np.concatenate(parts, axis=1)[:, :-gap] if gap else np.concatenate(parts, axis=1)


class StaticFallback:
    """Mixin for widgets: the display bundle also carries a static PNG and a text summary.

    ipywidgets' ``DOMWidget._repr_mimebundle_`` returns ``text/plain`` (the widget repr) and
    ``application/vnd.jupyter.widget-view+json``. A live front end renders the widget view;
    anywhere else (nbconvert, GitHub, nbval) the next richest type, ``image/png``, is shown, and
    ``text/plain`` becomes :meth:`summary`, which is deterministic so nbval can compare it.
    Subclasses implement :meth:`static_image` and :meth:`summary`.
    """

    def static_image(self) -> np.ndarray:
        """A uint8 picture of the widget's current state."""
        raise NotImplementedError

    def summary(self) -> str:
        """A short deterministic description of the widget's state."""
        raise NotImplementedError

    def static_png(self) -> bytes:
        """:meth:`static_image` as a compact (256-colour palette) PNG."""
        return compact_png(self.static_image())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is None:  # a closed widget has no view
            return None
        bundle = dict(bundle)
        bundle["text/plain"] = self.summary()
        bundle["image/png"] = base64.b64encode(self.static_png()).decode("ascii")
        return bundle
