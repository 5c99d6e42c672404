"""DatasetBrowser over a small side-by-side folder: paging, filter, styles, enlarge, flag."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from sketchwidgets.data.datasets import SideBySideDataset
from sketchwidgets.io import write_image
from sketchwidgets.widgets import DatasetBrowser
from sketchwidgets.widgets._images import from_png

CLASSES = {"cat": 3, "shoe": 7}


def _pair(seed: int) -> np.ndarray:
    """A 32x64 A|B image: a sketch with a box, a coloured photo with the same box."""
    rng = np.random.default_rng(seed)
    sketch = np.full((32, 32, 3), 255, np.uint8)
    photo = np.zeros((32, 32, 3), np.uint8) + rng.integers(0, 120, 3, dtype=np.uint8)
    top, left = rng.integers(2, 14, 2)
    sketch[top : top + 14, left] = sketch[top : top + 14, left + 14] = 0
    photo[top : top + 14, left : left + 14] = 230
    return np.concatenate([sketch, photo], axis=1)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pairs"
    seed = 0
    for name, count in CLASSES.items():
        for i in range(count):
            write_image(root / name / f"{i:02d}.png", _pair(seed))
            seed += 1
    return root


@pytest.fixture
def browser(folder):
    return DatasetBrowser(SideBySideDataset(folder), page_size=4)


def test_pages_and_counts(browser):
    assert browser.visible == list(range(10))
    assert browser.page_items() == [0, 1, 2, 3]
    assert browser.counts.value == "10 of 10 pairs shown, page 1/3, 0 flagged"
    browser.next_button.click()
    assert browser.page == 1 and browser.page_items() == [4, 5, 6, 7]
    assert browser.selected == 4
    browser.next_page()
    browser.next_page()  # stays on the last page
    assert browser.page == 2 and browser.page_items() == [8, 9]
    assert browser.tiles[2].layout.display == "none"  # unused slots are hidden
    browser.prev_button.click()
    assert browser.page == 1


def test_slider_selects_and_enlarges(browser):
    browser.slider.value = 6
    assert browser.selected == 6 and browser.page == 1
    large = from_png(browser.large.value)
    expected = SideBySideDataset(browser.dataset.root).read_pair(6)[1]
    assert large.shape[1] == 2 * large.shape[0]
    assert browser.info.value.startswith("#6 shoe: ")
    photo_half = large[:, large.shape[1] // 2 :, :3]
    assert abs(float(photo_half.mean()) - float(expected.mean())) < 5
    assert browser.tiles[2].children[1].button_style == "info"


def test_tile_button_enlarges_its_pair(browser):
    browser.tiles[3].children[1].click()
    assert browser.selected == 3
    assert browser.tiles[3].children[1].description == "#3 shoe"


def test_class_filter(browser):
    browser.class_picker.value = "cat"
    assert browser.visible == [0, 1, 2]
    assert browser.counts.value.startswith("3 of 10 pairs shown")
    assert browser.tiles[3].layout.display == "none"
    browser.set_class(None)
    assert len(browser.visible) == 10
    with pytest.raises(ValueError, match="unknown class"):
        browser.set_class("dog")


def test_sketch_style_switch_resketches_the_photo(browser):
    stored = from_png(browser.tiles[0].children[0].value)
    browser.style_picker.value = "canny"
    restyled = from_png(browser.tiles[0].children[0].value)
    assert restyled.shape == stored.shape
    assert not np.array_equal(restyled[:, :64], stored[:, :64])  # sketch half changed
    assert np.array_equal(restyled[:, 64:], stored[:, 64:])  # photo half did not
    with pytest.raises(ValueError, match="unknown style"):
        browser.set_style("watercolour")


def test_flag_bad_pair_writes_the_exclusion_list(browser, folder):
    browser.select(1)
    browser.flag_button.click()
    assert (folder / "excluded.txt").read_text().splitlines() == ["cat/01.png"]
    assert 1 not in browser.visible and browser.counts.value.endswith("1 flagged")
    reopened = SideBySideDataset(folder)
    assert len(reopened) == 9
    assert all("cat/01.png" not in str(path) for path in reopened.files)


def test_flag_on_a_dataset_without_root_is_kept_in_memory():
    class Items:
        class_names = []

        def __len__(self):
            return 3

        def __getitem__(self, i):
            import torch

            return {
                "sketch": torch.ones(1, 8, 8),
                "photo": torch.zeros(3, 8, 8),
                "label": -1,
                "path": f"embedded://x/{i}",
            }

    browser = DatasetBrowser(Items(), page_size=2)
    assert browser.class_picker.disabled
    browser.select(2)
    assert browser.flag_selected() is None
    assert browser.flagged == {2} and browser.visible == [0, 1]


def test_mimebundle(browser):
    bundle = browser._repr_mimebundle_()
    assert bundle["text/plain"] == (
        "DatasetBrowser: 10 pairs, 2 classes, 10 shown, page 1/3, style dataset, 0 flagged"
    )
    grid = from_png(base64.b64decode(bundle["image/png"]))
    assert grid.shape[1] == 4 * 128 + 3 * 4
