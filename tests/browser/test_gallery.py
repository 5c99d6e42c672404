"""The studio, the dataset browser and the loss panel as Chromium renders them.

Runs the fixture notebook ``widget_gallery.ipynb`` (an embedded dataset, 60 real pix2pix
steps, the three widgets) and checks that each widget's view is on the page with its images
decoded; its screenshot goes to docs/screenshots/ when SKETCHWIDGETS_UPDATE_SCREENSHOTS=1 (the
studio's README screenshot, all four models, comes from test_studio_four_models.py instead).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser.notebook_page import NotebookPage

NOTEBOOK = "widget_gallery.ipynb"


@pytest.fixture(scope="module")
def gallery(lab_server, page):
    """The gallery notebook, run to the end."""
    nb = NotebookPage(page, lab_server)
    nb.open(NOTEBOOK)
    nb.run_all()
    yield nb
    nb.shutdown_kernel()


def decoded_images(nb: NotebookPage, selector: str) -> list[np.ndarray]:
    """Pixels of every <img> under ``selector`` that has a source."""
    images = nb.page.locator(f"{selector} img[src]")
    return [nb.image_pixels(images.nth(i))[1] for i in range(images.count())]


def test_dataset_browser_shows_a_page_of_pairs(gallery: NotebookPage, screenshot_dir: Path):
    selector = ".sketchwidgets-dataset-browser"
    pictures = [p for p in decoded_images(gallery, selector) if p.shape[1] == 2 * p.shape[0]]
    assert len(pictures) >= 8, "expected a page of 8 sketch|photo thumbnails"
    assert all(p[..., :3].std() > 10 for p in pictures), "a thumbnail is blank"
    shot = gallery.save_screenshot(
        gallery.page.locator(selector).first, screenshot_dir / "dataset_browser.png"
    )
    assert shot.shape[0] > 200 and shot.shape[1] > 400


def test_loss_panel_shows_curves(gallery: NotebookPage, screenshot_dir: Path):
    selector = ".sketchwidgets-loss-panel"
    plot = gallery.image_pixels(gallery.page.locator(".sketchwidgets-loss-plot").first)[1]
    assert plot.shape[0] > 100 and plot.shape[1] > 300
    colours = np.unique(plot[..., :3].reshape(-1, 3) // 32, axis=0)
    assert len(colours) > 4, "the curves image has no coloured lines"
    gallery.save_screenshot(gallery.page.locator(selector).first, screenshot_dir / "loss_panel.png")


def test_studio_shows_canvas_and_generated_row(gallery: NotebookPage, tmp_path: Path):
    with Image.open(io.BytesIO(gallery.screenshot(gallery.canvas()))) as shot:
        canvas = np.asarray(shot.convert("L"))
    assert (canvas < 128).sum() > 300, "the example sketch's ink is not on the canvas"
    assert ((canvas > 128) & (canvas < 245)).sum() > 1000, "the faint photo underlay is missing"
    generated = decoded_images(gallery, ".sketchwidgets-compare-view")
    assert len(generated) >= 2, "expected the ground truth and the pix2pix image"
    shot = gallery.save_screenshot(
        gallery.page.locator(".sketchwidgets-studio").first, tmp_path / "studio_traced.png"
    )
    assert shot.shape[0] > 250 and shot.shape[1] > 500
