"""DatasetBrowser: a paged grid of sketch|photo pairs over any core dataset.

Works on every dataset of the package (anything returning the item dict
``{"sketch", "photo", "label", "path"}``); folder datasets are read through their
``read_pair(i)`` (raw uint8, no tensor round trip) and give labels from ``.labels``.

* class filter (from ``dataset.class_names``), index slider, previous / next page;
* click a tile's button to enlarge it (``ipywidgets.Image`` has no click event, so every tile
  carries a small button; :meth:`DatasetBrowser.select` is the programmatic twin);
* sketch style: ``"dataset"`` shows the stored sketch, ``"xdog"`` / ``"canny"`` / ``"dodge"``
  re-sketch the photo with :func:`sketchwidgets.data.sketchify.sketchify`, to compare the
  training sketches with the other styles;
* "flag bad pair": for a folder dataset (one with ``.root`` and ``.files``) the selected pair's
  file is appended to ``<root>/excluded.txt`` (:func:`~sketchwidgets.data.datasets.add_exclusion`),
  which every dataset reader honours the next time it is opened. Other datasets (embedded,
  ``Subset``) keep an in-memory ``flagged`` set only. Either way the pair leaves the view.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from ipywidgets import Button, Dropdown, GridBox, HBox, Image, IntSlider, Label, Layout, VBox
from traitlets import Int, Unicode, observe

from sketchwidgets.data.datasets import add_exclusion
from sketchwidgets.data.protocol import sketch_dataset
from sketchwidgets.data.sketchify import SKETCH_STYLES, sketchify
from sketchwidgets.io import to_rgb
from sketchwidgets.widgets._images import (
    StaticFallback,
    labelled_grid,
    placeholder,
    resize,
    to_png,
)

ALL_CLASSES = ""
DATASET_STYLE = "dataset"


def pair_image(sketch: np.ndarray, photo: np.ndarray, size: int) -> np.ndarray:
    """Sketch and photo side by side, each ``size`` px square, as one RGB image."""
    return np.concatenate(
        [resize(to_rgb(sketch), (size, size)), resize(to_rgb(photo), (size, size))], axis=1
    )


def _check_dataset(dataset: Any) -> None:
    """``TypeError`` for a path or anything else that is not a dataset of items."""
    if isinstance(dataset, str | os.PathLike):
        raise TypeError(
            f"DatasetBrowser takes a dataset, not the path {os.fspath(dataset)!r}: open it with "
            "sketchwidgets.data.open.open_dataset(path)"
        )
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"DatasetBrowser takes a dataset (len() and items), got {type(dataset).__name__}"
        )


class DatasetBrowser(StaticFallback, VBox):
    """Browse, filter, restyle and flag the pairs of a dataset.

    Parameters
    ----------
    dataset
        Any dataset of item dicts; a :class:`~sketchwidgets.data.protocol.SketchDataset`
        (every dataset of the package) also gives its classes, raw pairs, item names and
        folder (for the exclusion list).
    page_size
        Tiles per page.
    thumb
        Side of each half of a tile, in pixels.
    """

    index = Int(0, help="Position of the selected pair among the visible ones.").tag(sync=True)
    class_filter = Unicode(ALL_CLASSES, help="Class name shown ('' = all).").tag(sync=True)
    style = Unicode(DATASET_STYLE, help="'dataset' or a sketchify style.").tag(sync=True)
    page = Int(0, read_only=True, help="Current page (index // page_size).").tag(sync=True)

    def __init__(self, dataset: Any, *, page_size: int = 8, thumb: int = 64, **kwargs: Any) -> None:
        _check_dataset(dataset)
        if len(dataset) == 0:
            raise ValueError("DatasetBrowser needs a non-empty dataset")
        self.dataset, self.page_size, self.thumb = dataset, int(page_size), int(thumb)
        self._data = sketch_dataset(dataset)
        self.class_names: list[str] = list(self._data.class_names)
        self.flagged: set[int] = set()
        self._labels: list[int] | None = None
        self._visible: list[int] = list(range(len(dataset)))
        self._build_controls()
        self._thumbs: dict[tuple[int, str], np.ndarray] = {}
        self.tiles = [self._make_tile(slot) for slot in range(self.page_size)]
        self.grid = GridBox(
            self.tiles, layout=Layout(grid_template_columns=f"repeat(4, {2 * thumb + 8}px)")
        )
        self.large = Image(format="png")
        self.info = Label()
        self.flag_button = Button(description="flag bad pair", icon="flag", button_style="warning")
        self.flag_button.on_click(lambda _b: self.flag_selected())
        detail = VBox([self.large, self.info, self.flag_button])
        super().__init__([self.controls, self.counts, HBox([self.grid, detail])], **kwargs)
        self.add_class("sketchwidgets-dataset-browser")
        self._refilter()

    def _build_controls(self) -> None:
        classes = [("all classes", ALL_CLASSES)] + [(n, n) for n in self.class_names]
        self.class_picker = Dropdown(
            options=classes, description="class", disabled=not self.class_names
        )
        styles = [DATASET_STYLE, *SKETCH_STYLES]
        self.style_picker = Dropdown(options=styles, description="sketch")
        self.slider = IntSlider(min=0, max=0, description="pair")
        self.prev_button = Button(description="prev page", icon="arrow-left")
        self.next_button = Button(description="next page", icon="arrow-right")
        self.prev_button.on_click(lambda _b: self.prev_page())
        self.next_button.on_click(lambda _b: self.next_page())
        self.counts = Label()
        from traitlets import link

        link((self, "class_filter"), (self.class_picker, "value"))
        link((self, "style"), (self.style_picker, "value"))
        link((self, "index"), (self.slider, "value"))
        self.controls = HBox(
            [self.class_picker, self.style_picker, self.slider, self.prev_button, self.next_button],
            layout=Layout(flex_flow="row wrap"),
        )

    # ----- data access ----------------------------------------------------------------------
    @property
    def labels(self) -> list[int]:
        """Class index of every item (the dataset's ``labels``, read once)."""
        if self._labels is None:
            self._labels = [int(v) for v in self._data.labels]
        return self._labels

    def pair(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """Item ``item``'s uint8 (sketch HxW, photo HxWx3), the sketch in the current style."""
        sketch, photo = self._data.read_pair(item)
        if self.style != DATASET_STYLE:
            sketch = sketchify(photo, style=self.style)
        return np.asarray(sketch), np.asarray(photo)

    def _item_caption(self, item: int) -> str:
        label = self.labels[item] if self.class_names else -1
        name = self.class_names[label] if 0 <= label < len(self.class_names) else ""
        return f"#{item} {name}".strip()

    # ----- state changes (programmatic twins) -----------------------------------------------
    @property
    def visible(self) -> list[int]:
        """Dataset indices shown under the current filter, flagged ones removed."""
        return list(self._visible)

    @property
    def selected(self) -> int | None:
        """Dataset index of the enlarged pair (None when nothing is visible)."""
        return self._visible[self.index] if self._visible else None

    def select(self, position: int) -> None:
        """Enlarge the pair at ``position`` among the visible ones (a tile's button)."""
        self.index = max(0, min(int(position), len(self._visible) - 1))

    def next_page(self) -> None:
        """Show the next page (its first pair is selected)."""
        self.select(min((self.page + 1) * self.page_size, len(self._visible) - 1))

    def prev_page(self) -> None:
        """Show the previous page (its first pair is selected)."""
        self.select(max(self.page - 1, 0) * self.page_size)

    def set_class(self, name: str | None) -> None:
        """Show only class ``name`` (None or '' for all)."""
        if name and name not in self.class_names:
            raise ValueError(f"unknown class {name!r}; known: {self.class_names}")
        self.class_filter = name or ALL_CLASSES

    def set_style(self, style: str) -> None:
        """Show sketches as stored (``"dataset"``) or re-made from the photo in ``style``."""
        if style not in (DATASET_STYLE, *SKETCH_STYLES):
            raise ValueError(f"unknown style {style!r}; known: {[DATASET_STYLE, *SKETCH_STYLES]}")
        self.style = style

    def flag_selected(self) -> str | None:
        """Flag the selected pair as bad; returns the ``excluded.txt`` entry (None if in memory)."""
        item = self.selected
        if item is None:
            return None
        entry = None
        if self._data.root is not None:  # a folder: the item's file goes on its exclusion list
            entry = add_exclusion(self._data.root, Path(self._data.describe(item)))
        self.flagged.add(item)
        self._refilter()
        return entry

    # ----- rendering ------------------------------------------------------------------------
    @observe("class_filter")
    def _on_filter(self, change: dict[str, Any]) -> None:
        self._refilter()

    @observe("style", "index")
    def _on_view_change(self, change: dict[str, Any]) -> None:
        self._render()

    def _refilter(self) -> None:
        wanted = (
            self.class_names.index(self.class_filter) if self.class_filter != ALL_CLASSES else None
        )
        self._visible = [
            i
            for i in range(len(self.dataset))
            if i not in self.flagged and (wanted is None or self.labels[i] == wanted)
        ]
        self.slider.max = max(len(self._visible) - 1, 0)
        target = min(self.index, max(len(self._visible) - 1, 0))
        if target != self.index:
            self.index = target  # the observer renders
        else:
            self._render()

    def page_items(self) -> list[int]:
        """Dataset indices on the current page."""
        start = self.page * self.page_size
        return self._visible[start : start + self.page_size]

    def thumbnail(self, item: int) -> np.ndarray:
        """The sketch|photo tile of ``item`` in the current style (cached)."""
        key = (item, self.style)
        if key not in self._thumbs:
            if len(self._thumbs) > 4 * self.page_size * 16:
                self._thumbs.clear()
            self._thumbs[key] = pair_image(*self.pair(item), self.thumb)
        return self._thumbs[key]

    def _render(self) -> None:
        self.set_trait("page", self.index // self.page_size if self._visible else 0)
        items = self.page_items()
        for slot, tile in enumerate(self.tiles):
            item = items[slot] if slot < len(items) else None
            tile.layout.display = None if item is not None else "none"
            if item is not None:
                tile.children[0].value = to_png(self.thumbnail(item))
                tile.children[1].description = self._item_caption(item)
                tile.children[1].button_style = "info" if item == self.selected else ""
        self._render_detail()
        pages = max(1, -(-len(self._visible) // self.page_size))
        self.counts.value = (
            f"{len(self._visible)} of {len(self.dataset)} pairs shown, "
            f"page {self.page + 1}/{pages}, {len(self.flagged)} flagged"
        )

    def _make_tile(self, slot: int) -> VBox:
        """A grid slot: thumbnail plus the button that enlarges it."""
        button = Button(layout=Layout(width="auto"))
        button.on_click(lambda _b: self.select(self.page * self.page_size + slot))
        return VBox([Image(format="png"), button])

    def _render_detail(self) -> None:
        item = self.selected
        if item is None:
            self.large.value = to_png(placeholder("no pairs to show", (self.thumb, 2 * self.thumb)))
            self.info.value = "no pairs to show"
            return
        sketch, photo = self.pair(item)
        self.large.value = to_png(pair_image(sketch, photo, 2 * self.thumb + 64))
        self.info.value = f"{self._item_caption(item)}: {self._item_path(item)}"

    def _item_path(self, item: int) -> str:
        return self._data.describe(item)

    # ----- static fallback ------------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """The current page as a captioned grid."""
        items = self.page_items()
        return labelled_grid(
            [self.thumbnail(i) for i in items],
            [self._item_caption(i) for i in items],
            ncols=4,
            tile=(self.thumb, 2 * self.thumb),
        )

    def summary(self) -> str:
        """E.g. ``DatasetBrowser: 64 pairs, 8 classes, 64 shown, page 1/8, style dataset``."""
        pages = max(1, -(-len(self._visible) // self.page_size))
        return (
            f"DatasetBrowser: {len(self.dataset)} pairs, {len(self.class_names)} classes, "
            f"{len(self._visible)} shown, page {self.page + 1}/{pages}, style {self.style}, "
            f"{len(self.flagged)} flagged"
        )
