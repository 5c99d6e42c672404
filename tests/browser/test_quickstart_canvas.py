"""Draw on the quickstart's SketchCanvas in headless Chromium with real mouse events.

For each target notebook (the quickstart, and the fixture ``canvas_probe.ipynb``, which has the
same canvas + compare view on a tiny untrained pix2pix) the module fixture runs every cell,
draws one stroke with ``page.mouse`` and records the kernel, the canvas and the compare view
before and after. The tests then check that (a) the kernel's stroke list received the stroke
along the mouse path, (b) the ink is on screen as a continuous line along that path, and (c)
the compare view now shows a new image, the one the kernel generated.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.notebook_page import COMPARE_IMAGE_SELECTOR, NotebookPage

TARGETS = ["00_quickstart.ipynb", "canvas_probe.ipynb"]
USER_FACING = {"00_quickstart.ipynb"}  # screenshots from these go to docs/screenshots
# A wave across a 256 px canvas (scaled to the actual size): 21 points about 10 px apart,
# farther than the pen is wide, so ink drawn as dots at the mouse positions leaves gaps.
WAVE = [(32.0 + 9.6 * i, 150.0 - 3.0 * i + 18.0 * np.sin(i / 2.5)) for i in range(21)]
# A house for the README screenshot: walls, roof, door (256 px canvas).
HOUSE = [
    [(70, 200), (70, 120), (186, 120), (186, 200), (70, 200)],
    [(60, 128), (128, 62), (196, 128)],
    [(114, 200), (114, 160), (142, 160), (142, 200)],
]
DARK = 128  # a screenshot pixel is ink when its grey value is below this
MAX_GAP_PX = 2  # the longest run of path samples with no ink nearby


# ----- geometry and pixels -------------------------------------------------------------------
def resample(path: list[tuple[float, float]], spacing: float = 1.0) -> np.ndarray:
    """Points every ``spacing`` px along the polyline ``path`` (N x 2, x then y)."""
    points = np.asarray(path, dtype=np.float64)
    samples = [points[0]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        count = max(int(np.ceil(np.linalg.norm(b - a) / spacing)), 1)
        samples.extend(a + (b - a) * t for t in np.arange(1, count + 1) / count)
    return np.asarray(samples)


def distance_to_path(points: np.ndarray, path: list[tuple[float, float]]) -> np.ndarray:
    """Distance of each point (N x 2) to the polyline ``path``."""
    vertices = np.asarray(path, dtype=np.float64)
    a, b = vertices[:-1][None], vertices[1:][None]  # (1, S, 2)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)


def grey(png: bytes) -> np.ndarray:
    """A screenshot as float grey values HxW."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.float32)


def longest_gap(dark: np.ndarray, samples: np.ndarray) -> int:
    """Longest run of consecutive samples with no dark pixel in their 3x3 neighbourhood."""
    h, w = dark.shape
    padded = np.pad(dark, 1)
    gap = longest = 0
    for x, y in np.rint(samples).astype(int):
        inked = 0 <= x < w and 0 <= y < h and padded[y : y + 3, x : x + 3].any()
        gap = 0 if inked else gap + 1
        longest = max(longest, gap)
    return longest


# ----- the drawing session -------------------------------------------------------------------
@dataclass
class Drawn:
    """What the module fixture saw around one real-mouse stroke."""

    notebook: str
    nb: NotebookPage
    path: list[tuple[float, float]]
    before: dict[str, Any]
    after: dict[str, Any]
    ink_before: np.ndarray
    ink_after: np.ndarray
    image_before: tuple[str, np.ndarray]
    image_after: tuple[str, np.ndarray]
    compare_after: dict[str, Any]


def compare_image(nb: NotebookPage) -> Any:
    """The first model's <img> in the compare view."""
    image = nb.page.locator(COMPARE_IMAGE_SELECTOR).first
    image.wait_for(state="visible")
    return image


def wait_compare_settled(nb: NotebookPage, generation: int, timeout: float = 30.0) -> tuple:
    """Wait until the compare view has regenerated and shows the kernel's image.

    Returns ``((src, pixels), kernel_state)``.
    """
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = nb.kernel_json("_sw_compare_state()")
        if state["generation"] > generation and state["image"] is not None:
            src, pixels = nb.image_pixels(compare_image(nb))
            kernel = np.asarray(state["image"], dtype=np.int16)
            if pixels.shape[:2] == kernel.shape[:2]:
                if np.abs(pixels[..., :3].astype(np.int16) - kernel).max() <= 2:
                    return (src, pixels), state
        time.sleep(0.2)
    raise AssertionError(f"the compare view did not show a new image in {timeout:.0f} s: {state}")


def scaled(path: list, box: dict[str, float]) -> list[tuple[float, float]]:
    """``path`` drawn for a 256 px canvas, scaled to the canvas box's size."""
    return [(x * box["width"] / 256, y * box["height"] / 256) for x, y in path]


def wait_ink(nb: NotebookPage, path: list, timeout: float = 10.0) -> np.ndarray:
    """Screenshot the canvas until the whole ``path`` is inked (or time runs out)."""
    samples = resample(path)
    deadline = time.monotonic() + timeout
    while True:
        ink = grey(nb.screenshot(nb.canvas()))
        if longest_gap(ink < DARK, samples) <= MAX_GAP_PX or time.monotonic() > deadline:
            return ink
        time.sleep(0.2)


@pytest.fixture(scope="module", params=TARGETS)
def drawn(request: pytest.FixtureRequest, lab_server, page):
    """Open a target notebook, run it, draw the wave with the mouse; record before/after."""
    notebook = request.param
    if not (lab_server.root / notebook).exists():
        pytest.skip(f"notebooks/{notebook} is not written yet")
    nb = NotebookPage(page, lab_server)
    nb.open(notebook)
    nb.run_all()
    nb.install_probe()
    before = nb.kernel_json("_sw_canvas_state()")
    box = nb.canvas_box()
    assert (box["width"], box["height"]) == (before["width"], before["height"]), "canvas scaled"
    path = scaled(WAVE, box)
    generation = nb.kernel_json("_sw_compare_state()")["generation"]
    ink_before = grey(nb.screenshot(nb.canvas()))
    image_before = nb.image_pixels(compare_image(nb))
    nb.draw_stroke(path)
    nb.wait_kernel("_sw_canvas_state()['count']", before["count"] + 1)
    after = nb.kernel_json("_sw_canvas_state()")
    ink_after = wait_ink(nb, path)
    image_after, compare_after = wait_compare_settled(nb, generation)
    yield Drawn(notebook, nb, path, before, after, ink_before, ink_after, image_before,
                image_after, compare_after)  # fmt: skip
    nb.shutdown_kernel()


# ----- (a) the kernel received the stroke ----------------------------------------------------
def test_kernel_stroke_list_received_the_stroke(drawn: Drawn):
    assert drawn.after["count"] == drawn.before["count"] + 1
    assert drawn.after["strokes"] == drawn.before["strokes"] + 1
    assert drawn.after["tool"] == "pen"
    points = np.asarray(drawn.after["points"])
    assert len(points) >= 0.8 * len(drawn.path), "most mouse moves should reach the kernel"
    assert np.linalg.norm(points[0] - drawn.path[0]) <= 1.5, "stroke starts where the mouse did"
    assert np.linalg.norm(points[-1] - drawn.path[-1]) <= 1.5, "stroke ends where the mouse did"
    off_path = distance_to_path(points, drawn.path)
    assert off_path.max() <= 1.5, f"kernel points up to {off_path.max():.1f} px off the path"
    missed = distance_to_path(np.asarray(drawn.path), points.tolist())
    assert missed.max() <= 1.5, f"a mouse position is {missed.max():.1f} px from every point"


# ----- (b) the ink is on screen as a continuous line ----------------------------------------
def test_ink_is_a_continuous_line_along_the_path(drawn: Drawn):
    samples = resample(drawn.path)
    gap = longest_gap(drawn.ink_after < DARK, samples)
    assert gap <= MAX_GAP_PX, f"the on-screen ink has a {gap} px gap along the mouse path"


def test_new_ink_lies_on_the_path(drawn: Drawn):
    ys, xs = np.nonzero(drawn.ink_before - drawn.ink_after > 64)  # pixels that got darker
    new_ink = np.stack([xs, ys], axis=1)
    assert len(new_ink) >= 2 * len(resample(drawn.path)), "too little new ink on screen"
    reach = drawn.after["pen_width"] / 2 + 2.5
    far = distance_to_path(new_ink, drawn.path)
    assert far.max() <= reach, f"new ink {far.max():.1f} px from the mouse path (> {reach})"


# ----- (c) the compare view shows a newly generated image -----------------------------------
def test_compare_view_shows_a_new_generated_image(drawn: Drawn):
    src_before, pixels_before = drawn.image_before
    src_after, pixels_after = drawn.image_after
    assert src_after != src_before
    changed = pixels_before.shape != pixels_after.shape or not np.array_equal(
        pixels_before, pixels_after
    )
    assert changed, "the compare view's image is the same as before the stroke"
    kernel = np.asarray(drawn.compare_after["image"], dtype=np.int16)
    assert np.abs(pixels_after[..., :3].astype(np.int16) - kernel).max() <= 2
    assert "generated" in drawn.compare_after["status"]


def test_clear_button_then_house_for_screenshots(drawn: Drawn, screenshot_dir: Path, tmp_path):
    nb = drawn.nb
    generation = nb.kernel_json("_sw_compare_state()")["generation"]
    nb.page.locator(".sketchwidgets-clear").first.click()
    nb.wait_kernel("_sw_canvas_state()['strokes']", 0)
    house = [scaled(stroke, nb.canvas_box()) for stroke in HOUSE]
    for count, stroke in enumerate(house, start=1):
        nb.draw_stroke(stroke, steps=12)
        nb.wait_kernel("_sw_canvas_state()['strokes']", count)
    ink = wait_ink(nb, house[0])
    assert (ink < DARK).sum() > 500, "the house is not on screen"
    wait_compare_settled(nb, generation)
    folder = screenshot_dir if drawn.notebook in USER_FACING else tmp_path
    for name in ("sketch-canvas", "compare-view"):
        widget = nb.page.locator(f".sketchwidgets-{name}").first
        shot = nb.save_screenshot(widget, folder / f"{name.replace('-', '_')}.png")
        assert shot.shape[0] > 100 and shot.shape[1] > 100
