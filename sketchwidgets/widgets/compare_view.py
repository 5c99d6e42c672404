"""CompareView: N sketch-to-image generators side by side on the same sketch.

Each model's image sits over its latency (ms); the ground truth, when given, comes first. The
view can follow a :class:`~sketchwidgets.widgets.sketch_canvas.SketchCanvas`
(:meth:`CompareView.connect`: the row updates, debounced, whenever a stroke ends) or be driven
directly with :meth:`CompareView.update`. A stochastic model gets a new image from the re-roll
button (the seed goes up by one, so results stay reproducible).

Bad input is reported, never raised: an empty sketch generates nothing and says so in the
status line; a model that needs a class label (``model.needs_label``) gets a class dropdown
and, without a choice, a tile asking for one; a model that raises shows its traceback in the
Output area while the other models still render.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ipywidgets import Button, Dropdown, HBox, Image, Label, Layout, Output, VBox
from traitlets import Int, List, Unicode, observe

from sketchwidgets.data.strokes import Sketch
from sketchwidgets.inference import sketch_to_image
from sketchwidgets.io import to_gray, write_image
from sketchwidgets.widgets._images import (
    StaticFallback,
    format_exception,
    labelled_strip,
    placeholder,
    to_png,
)

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.models.base import SketchModel

EMPTY_MESSAGE = "empty sketch: draw something to generate"
NEEDS_LABEL = "needs a class label"


def slug(name: str) -> str:
    """A CSS-class-safe version of a model name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "model"


def _class_options(model: SketchModel, class_names: Sequence[str] | None) -> list[tuple[str, Any]]:
    """Dropdown options ``[("choose a class", None), (name, index), ...]`` for a model."""
    names = list(class_names or getattr(model, "class_names", None) or [])
    if not names:
        count = int(getattr(model.config, "num_classes", 0) or 0)
        names = [str(i) for i in range(count)]
    return [("choose a class", None)] + [(n, i) for i, n in enumerate(names)]


class _ModelTile(VBox):
    """One model's image, its latency line and (for labelled models) a class dropdown."""

    def __init__(
        self, name: str, model: SketchModel, tile: int, class_names: Sequence[str] | None
    ) -> None:
        self.name = name
        self.image = Image(format="png", width=tile, height=tile)
        self.image.add_class("sketchwidgets-compare-image")
        self.image.add_class(f"sketchwidgets-model-{slug(name)}")
        self.caption = Label(name)
        children: list[Any] = [self.image, self.caption]
        self.label_picker: Dropdown | None = None
        if model.needs_label:
            self.label_picker = Dropdown(
                options=_class_options(model, class_names), layout=Layout(width=f"{tile}px")
            )
            children.append(self.label_picker)
        super().__init__(children, layout=Layout(margin="0 6px 0 0"))


class CompareView(StaticFallback, VBox):
    """Generators side by side on one sketch, with latency, re-roll and PNG export.

    Parameters
    ----------
    models
        ``{name: SketchModel}``; each runs through ``inference.sketch_to_image``.
    canvas
        A SketchCanvas to follow (same as calling :meth:`connect`).
    ground_truth
        A uint8 image shown first, as "ground truth".
    seed
        Seed passed to every model (the re-roll button adds one).
    class_names
        Names for the class dropdown of models that need a label.
    tile
        Displayed image size in pixels.
    """

    seed = Int(0, help="Seed passed to every model's generate().").tag(sync=True)
    shown = List(Unicode(), help="Names of the models shown, in order.").tag(sync=True)
    generation = Int(0, read_only=True, help="Bumped after every update.").tag(sync=True)

    def __init__(
        self,
        models: Mapping[str, SketchModel],
        *,
        canvas: Any = None,
        ground_truth: np.ndarray | None = None,
        seed: int = 0,
        class_names: Sequence[str] | None = None,
        tile: int = 160,
        **kwargs: Any,
    ) -> None:
        if not models:
            raise ValueError("CompareView needs at least one model: {name: SketchModel}")
        self.models = dict(models)
        self.tile = int(tile)
        self.tiles = {n: _ModelTile(n, m, tile, class_names) for n, m in self.models.items()}
        self._images: dict[str, np.ndarray] = {}
        self._latency: dict[str, float] = {}
        self._sketch: np.ndarray | None = None
        self.ground_truth = None if ground_truth is None else np.asarray(ground_truth)
        self.status = Label(EMPTY_MESSAGE)
        self.status.add_class("sketchwidgets-compare-status")
        self.output = Output(layout=Layout(max_height="12em", overflow="auto"))
        self.reroll_button = Button(
            description="re-roll", icon="dice", tooltip="New seed for stochastic models"
        )
        self.reroll_button.on_click(lambda _b: self.reroll())
        self.row = HBox(layout=Layout(flex_flow="row wrap"))
        controls = HBox([self.reroll_button, self.status])
        super().__init__([self.row, controls, self.output], seed=seed, **kwargs)
        self.add_class("sketchwidgets-compare-view")
        self.shown = list(self.models)
        for tile_widget in self.tiles.values():
            if tile_widget.label_picker is not None:
                tile_widget.label_picker.observe(lambda _c: self.refresh(), "value")
        if canvas is not None:
            self.connect(canvas)

    # ----- layout ---------------------------------------------------------------------------
    @observe("shown")
    def _shown_changed(self, change: dict[str, Any]) -> None:
        self._layout_row()

    def set_ground_truth(self, image: np.ndarray | None) -> None:
        """Show ``image`` (uint8) first in the row as the ground truth (None hides it)."""
        self.ground_truth = None if image is None else np.asarray(image)
        self._layout_row()

    def _layout_row(self) -> None:
        unknown = [n for n in self.shown if n not in self.models]
        if unknown:
            raise KeyError(f"unknown model(s) {unknown}; known: {list(self.models)}")
        children: list[Any] = []
        if self.ground_truth is not None:
            truth = Image(
                value=to_png(self.ground_truth), format="png", width=self.tile, height=self.tile
            )
            children.append(VBox([truth, Label("ground truth")]))
        children.extend(self.tiles[n] for n in self.shown)
        self.row.children = children
        self.refresh()

    # ----- inputs ---------------------------------------------------------------------------
    def connect(self, canvas: Any, *, wait: float = 0.0) -> None:
        """Follow ``canvas``: regenerate after each finished change (next loop tick; ``wait`` s
        later when given, so rapid edits coalesce); update now."""
        canvas.on_change(self.update, wait=wait)
        self.update(canvas)

    def set_label(self, name: str, label: int | None) -> None:
        """Choose the class index for model ``name`` (the dropdown's programmatic twin)."""
        picker = self.tiles[name].label_picker
        if picker is None:
            raise ValueError(f"model {name!r} takes no class label")
        picker.value = label

    def reroll(self) -> None:
        """Use the next seed and regenerate (the re-roll button)."""
        self.seed += 1

    @observe("seed")
    def _seed_changed(self, change: dict[str, Any]) -> None:
        self.refresh()

    def update(self, sketch: Any) -> None:
        """Generate every shown model's image from ``sketch``.

        ``sketch``: a :class:`Sketch`, a SketchCanvas (anything with ``.sketch``) or a uint8
        sketch array (black ink on white).
        """
        self._sketch = self._as_array(sketch)
        self.refresh()

    @staticmethod
    def _as_array(sketch: Any) -> np.ndarray | None:
        """A uint8 HxW sketch array, or None when there is no ink at all."""
        if hasattr(sketch, "sketch") and isinstance(sketch.sketch, Sketch):
            sketch = sketch.sketch
        if isinstance(sketch, Sketch):
            return None if sketch.is_empty else sketch.to_array(256)
        array = to_gray(np.asarray(sketch, dtype=np.uint8))
        return None if int(array.min()) >= 250 else array

    # ----- generation -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Regenerate from the last sketch (after a seed, label or model-list change)."""
        self._images.clear()
        self._latency.clear()
        if self._sketch is None:
            self._show_empty()
        else:
            notes = [self._generate(name) for name in self.shown]
            done = sum(note is None for note in notes)
            problems = "; ".join(n for n in notes if n)
            self.status.value = f"{done} of {len(self.shown)} generated, seed {self.seed}" + (
                f" ({problems})" if problems else ""
            )
        self.set_trait("generation", self.generation + 1)

    def _show_empty(self) -> None:
        for name in self.shown:
            self._set_tile(name, placeholder("no sketch", self.tile), "")
        self.status.value = EMPTY_MESSAGE

    def _generate(self, name: str) -> str | None:
        """Run one model; returns None on success or a short note on why not."""
        tile, model = self.tiles[name], self.models[name]
        label = tile.label_picker.value if tile.label_picker is not None else None
        if model.needs_label and label is None:
            self._set_tile(name, placeholder(NEEDS_LABEL, self.tile), f"{name}: {NEEDS_LABEL}")
            return f"{name} {NEEDS_LABEL}"
        start = time.perf_counter()
        try:
            image = sketch_to_image(model, self._sketch, seed=self.seed, label=label)
        except Exception as error:  # one failing model must not hide the others
            self.output.append_stderr(f"model {name!r} failed:\n{format_exception(error)}")
            self._set_tile(name, placeholder("error (see below)", self.tile), f"{name}: error")
            return f"{name} failed"
        latency = (time.perf_counter() - start) * 1000.0
        self._images[name], self._latency[name] = image, latency
        self._set_tile(name, image, f"{name}: {latency:.0f} ms")
        return None

    def _set_tile(self, name: str, image: np.ndarray, caption: str) -> None:
        self.tiles[name].image.value = to_png(image)
        self.tiles[name].caption.value = caption

    # ----- results --------------------------------------------------------------------------
    @property
    def images(self) -> dict[str, np.ndarray]:
        """The last generated images by model name (uint8 HxWx3); failed models are absent."""
        return dict(self._images)

    @property
    def last_latency_ms(self) -> dict[str, float]:
        """Milliseconds each model took in the last update."""
        return dict(self._latency)

    def row_image(self, *, tile: int | None = None) -> np.ndarray:
        """The row as one RGB image: input sketch, ground truth, then each model, captioned."""
        size = tile or self.tile
        images: list[np.ndarray] = []
        labels: list[str] = []
        if self._sketch is not None:
            images.append(self._sketch)
            labels.append("sketch")
        if self.ground_truth is not None:
            images.append(self.ground_truth)
            labels.append("ground truth")
        for name in self.shown:
            if name in self._images:
                images.append(self._images[name])
                labels.append(f"{name} ({self._latency[name]:.0f} ms)")
            else:
                images.append(placeholder("no image", size))
                labels.append(name)
        return labelled_strip(images, labels, tile=size)

    def export_png(
        self, path: str | os.PathLike, *, tile: int | None = None, overwrite: bool = False
    ) -> Path:
        """Write :meth:`row_image` as a PNG; refuses to replace a file unless asked."""
        return write_image(path, self.row_image(tile=tile), overwrite=overwrite)

    # ----- static fallback ------------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """The row as exported, at 96 px tiles."""
        return self.row_image(tile=96)

    def summary(self) -> str:
        """E.g. ``CompareView: 2 models (a, b), seed 0, 2 images``."""
        names = ", ".join(self.shown)
        return (
            f"CompareView: {len(self.shown)} models ({names}), seed {self.seed}, "
            f"{len(self._images)} images"
        )
