"""PNG helpers, captioned strips, Debounce/Throttle and the static-fallback mimebundle."""

from __future__ import annotations

import asyncio
import base64
import threading
import time

import numpy as np
import pytest
from ipywidgets import VBox

from sketchwidgets.widgets._images import (
    Debounce,
    StaticFallback,
    Throttle,
    caption,
    compact_png,
    from_png,
    labelled_grid,
    labelled_strip,
    placeholder,
    to_png,
)


def test_png_round_trip_keeps_pixels():
    image = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    assert np.array_equal(from_png(to_png(image)), image)


def test_compact_png_is_smaller_and_close():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 128, dtype=np.float32)
    image = np.stack([*np.meshgrid(ramp, ramp), np.full((128, 128), 90.0)], axis=2)
    image = (image + rng.normal(0, 3, image.shape)).clip(0, 255).astype(np.uint8)
    small = compact_png(image)
    assert len(small) < len(to_png(image)) / 2
    decoded = from_png(small)
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 8


def test_to_png_rejects_float_arrays():
    with pytest.raises(TypeError, match="uint8"):
        to_png(np.zeros((4, 4), np.float32))


def test_caption_adds_a_strip_with_dark_text_under_the_image():
    out = caption(np.full((20, 30), 255, np.uint8), "hello")
    assert out.shape == (36, 30, 3)
    assert out[:20].min() == 255 and out[20:].min() < 128


def test_labelled_strip_width_is_tiles_plus_gaps():
    images = [np.zeros((10, 10), np.uint8), np.full((40, 20, 3), 200, np.uint8)]
    strip = labelled_strip(images, ["a", "b"], tile=32, pad=4)
    assert strip.shape == (32 + 16, 32 * 2 + 4, 3)
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        labelled_strip(images, ["a"])


def test_labelled_grid_pads_the_last_row():
    tiles = [np.zeros((8, 16, 3), np.uint8)] * 5
    grid = labelled_grid(tiles, [str(i) for i in range(5)], ncols=4, tile=(8, 16), pad=2)
    assert grid.shape == (2 * (8 + 16 + 2), 4 * 16 + 3 * 2, 3)


def test_placeholder_is_grey_with_text():
    tile = placeholder("needs a label", 64)
    assert tile.shape == (64, 64, 3) and tile[0, 0].tolist() == [238, 238, 238]
    assert tile.min() < 150


def test_debounce_runs_once_with_the_latest_arguments_on_flush():
    calls = []
    debounced = Debounce(lambda value: calls.append(value), wait=60)
    for value in range(5):
        debounced(value)
    assert calls == [] and debounced.pending
    assert debounced.flush() is True
    assert calls == [4] and not debounced.pending
    assert debounced.flush() is False and calls == [4]


def test_debounce_fires_by_itself_after_the_wait():
    done = threading.Event()
    debounced = Debounce(done.set, wait=0.01)
    debounced()
    assert done.wait(5.0)
    assert not debounced.pending


def test_debounce_uses_the_running_event_loop_as_in_a_kernel():
    calls = []

    async def main():
        debounced = Debounce(lambda v: calls.append((v, threading.current_thread().name)), 0.01)
        debounced(1)
        debounced(2)
        assert isinstance(debounced._handle, asyncio.TimerHandle)
        await asyncio.sleep(0.2)

    asyncio.run(main())
    assert calls == [(2, threading.current_thread().name)]  # once, on the loop's thread


def test_debounce_without_wait_or_loop_runs_at_once():
    calls = []
    Debounce(lambda v: calls.append(v), wait=0.0)(7)
    assert calls == [7]


def test_debounce_cancel_drops_the_call():
    calls = []
    debounced = Debounce(lambda: calls.append(1), wait=0.05)
    debounced()
    debounced.cancel()
    time.sleep(0.1)
    assert calls == [] and debounced.flush() is False


def test_throttle_admits_once_per_interval():
    now = [0.0]
    throttle = Throttle(1.0, clock=lambda: now[0])
    assert throttle.ready() is True
    now[0] = 0.5
    assert throttle.ready() is False
    now[0] = 1.0
    assert throttle.ready() is True
    throttle.reset()
    assert throttle.ready() is True


class _Demo(StaticFallback, VBox):
    def static_image(self):
        return np.zeros((3, 5, 3), np.uint8)

    def summary(self):
        return "demo: 0 items"


def test_mimebundle_keeps_the_widget_view_and_adds_png_and_text():
    bundle = _Demo()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "demo: 0 items"
    assert from_png(base64.b64decode(bundle["image/png"])).shape == (3, 5, 3)
