"""SketchStudio: the canvas, the generators and a model picker in one app (the classroom view).

An ``ipywidgets.AppLayout``: the header holds the model picker and the example-sketch loader,
the left pane a :class:`SketchCanvas`, the right pane a :class:`CompareView` wired to the
canvas (the row updates shortly after every stroke), the footer a status line. With a
``dataset`` a "trace a photo" button puts a dataset photo faintly under the canvas and shows it
as the ground truth. Models that need a class share the CompareView's one class picker, whose
names come from the models (``model.class_names``); loading an example of a class the models
know also picks that class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from ipywidgets import AppLayout, Button, Dropdown, HBox, Label, Layout, SelectMultiple

from sketchwidgets.data.builtin import CLASSES, example_sketch
from sketchwidgets.data.protocol import sketch_dataset
from sketchwidgets.widgets._images import StaticFallback, side_by_side
from sketchwidgets.widgets.compare_view import CompareView
from sketchwidgets.widgets.sketch_canvas import SketchCanvas

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.models.base import SketchModel

EMPTY_STATUS = "draw on the canvas, or load an example"


class SketchStudio(StaticFallback, AppLayout):
    """Draw on the left, see every chosen model's image on the right.

    Parameters
    ----------
    models
        ``{name: SketchModel}`` shown side by side; by default the shipped classroom checkpoint
        of every model that has one (:func:`sketchwidgets.pretrained.classroom_models`).
    dataset
        Optional core dataset whose photos can be traced (and shown as ground truth).
    size
        Canvas side in pixels.
    class_name
        The class picked at first for the models that need one (default: their first class).
    tile
        Side of each generated image in pixels (112: the four classroom models' five images,
        EdgeGAN's edge included, fit in one row beside the canvas in a 1400 px wide browser).
    """

    def __init__(
        self,
        models: Mapping[str, SketchModel] | None = None,
        *,
        dataset: Any = None,
        size: int = 256,
        class_name: str | None = None,
        wait: float = 0.0,
        tile: int = 112,
    ) -> None:
        if models is None:
            from sketchwidgets.pretrained import classroom_models

            models = classroom_models()
        self.dataset = dataset
        self._trace_index = -1
        self.canvas = SketchCanvas(size, size)
        self.compare = CompareView(models, class_name=class_name, tile=tile)
        self.compare.connect(self.canvas, wait=wait)
        self.model_picker = SelectMultiple(
            options=list(models), value=list(models), description="models", rows=min(4, len(models))
        )
        self.model_picker.observe(lambda c: self.show_models(c["new"]), "value")
        self.status = Label(EMPTY_STATUS)
        self.canvas.observe(lambda c: self._show_stroke_count(c["new"]), "stroke_count")
        super().__init__(
            header=self._build_header(),
            left_sidebar=self.canvas,
            center=None,
            right_sidebar=self.compare,
            footer=self.status,
            pane_widths=(f"{size + 24}px", "0fr", "1fr"),
            pane_heights=("1fr", "6fr", "1fr"),
            layout=Layout(grid_gap="8px"),
        )
        self.add_class("sketchwidgets-studio")

    def _build_header(self) -> HBox:
        self.example_picker = Dropdown(options=list(CLASSES), description="example")
        self.example_button = Button(description="load example", icon="pencil")
        self.example_button.on_click(lambda _b: self.load_example(self.example_picker.value))
        parts: list[Any] = [self.model_picker, self.example_picker, self.example_button]
        if self.dataset is not None:
            self.trace_button = Button(description="trace a photo", icon="image")
            self.trace_button.on_click(lambda _b: self.trace_item())
            parts.append(self.trace_button)
        return HBox(parts, layout=Layout(flex_flow="row wrap", align_items="center"))

    def _show_stroke_count(self, count: int) -> None:
        self.status.value = (
            f"{count} stroke{'s' if count != 1 else ''} drawn" if count else EMPTY_STATUS
        )

    # ----- programmatic twins ---------------------------------------------------------------
    def load_example(self, class_name: str) -> None:
        """Put the built-in example sketch of ``class_name`` on the canvas (and pick the class
        for the models that need one, when they know it)."""
        if class_name in self.compare.class_names:
            self.compare.select_class(class_name)
        self.canvas.sketch = example_sketch(class_name)
        self.canvas.flush()  # generate now rather than after the drawing pause
        self.status.value = f"loaded the example {class_name!r}"

    def show_models(self, names: Sequence[str]) -> None:
        """Show only ``names`` (the model picker's twin)."""
        names = list(names)
        if list(self.model_picker.value) != names:
            self.model_picker.value = names  # observer calls back here
            return
        self.compare.shown = names

    def trace_item(self, index: int | None = None) -> int:
        """Show dataset photo ``index`` (default: the next one) faintly under the canvas."""
        if self.dataset is None:
            raise ValueError("SketchStudio was built without a dataset to trace")
        self._trace_index = self._trace_index + 1 if index is None else int(index)
        self._trace_index %= len(self.dataset)
        photo = _photo_of(self.dataset, self._trace_index)
        self.canvas.underlay = photo
        self.compare.set_ground_truth(photo)
        self.status.value = f"tracing dataset item {self._trace_index}"
        return self._trace_index

    # ----- static fallback ------------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """The canvas next to the compare row."""
        return side_by_side([self.canvas.static_image(), self.compare.static_image()])

    def summary(self) -> str:
        """E.g. ``SketchStudio: canvas 256x256 with 3 strokes; CompareView: 2 models (...)``."""
        return (
            f"SketchStudio: canvas {self.canvas.width}x{self.canvas.height} with "
            f"{self.canvas.stroke_count} strokes; {self.compare.summary()}"
        )


def _photo_of(dataset: Any, index: int) -> np.ndarray:
    """Item ``index``'s photo as uint8 RGB, as stored (the raw file for folder datasets)."""
    return np.asarray(sketch_dataset(dataset).read_pair(index)[1])
