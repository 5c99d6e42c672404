"""SketchStudio: the canvas, the generators and a model picker in one app (the classroom view).

An ``ipywidgets.AppLayout``: the header holds the model picker and the example-sketch loader,
the left pane a :class:`SketchCanvas`, the right pane a :class:`CompareView` wired to the
canvas (the row updates shortly after every stroke), the footer a status line. With a
``dataset`` a "trace a photo" button puts a dataset photo faintly under the canvas and shows it
as the ground truth. Models that need a class share the CompareView's one class picker, whose
names come from the models (``model.class_names``); loading an example of a class the models
know also picks that class.

With ``in_page`` (the default) and the ``page`` extra installed, the models also run in the
browser page (:class:`~sketchwidgets.widgets.in_page.InPageGenerator`, in the footer): each
stroke's end redraws every tile that passed the parity check without a round trip to the
kernel, so the tiles keep up while the kernel is busy. Each tile says which path it takes;
without the extra the footer says why every model runs in the kernel. ``webgpu`` ("auto",
"on" or "off") says when the page tries WebGPU for them (the in-page module's docstring).
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
from sketchwidgets.widgets.in_page import PAGE, InPageGenerator, in_page_generator
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
    in_page
        Also run the models in the browser page (the default), where the ``page`` extra is.
    webgpu
        When the page tries WebGPU: "auto" (a hardware adapter), "on" (any adapter), "off".
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
        in_page: bool = True,
        webgpu: str = "auto",
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
        self.in_page: InPageGenerator | None = None
        reason = "in_page=False: every model runs in the kernel"
        if in_page:
            self.in_page, reason = in_page_generator(self.compare.models, webgpu)
        self.path_status = Label(reason)
        self.path_status.add_class("sketchwidgets-path-status")
        if self.in_page is not None:
            self._connect_in_page(self.in_page)
        super().__init__(
            header=self._build_header(),
            left_sidebar=self.canvas,
            center=None,
            right_sidebar=self.compare,
            footer=HBox([self.status, self.in_page or self.path_status]),
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

    # ----- the in-page generator ------------------------------------------------------------
    def _connect_in_page(self, generator: InPageGenerator) -> None:
        """Keep the page's copy of the drawing, class and seeds current; show each path."""
        generator.canvas_side = self.canvas.width
        self._strokes_ended = self.canvas.strokes_ended
        self.canvas.observe(lambda _c: self._send_sketch(generator), "version")
        self.compare.observe(lambda _c: self._send_choices(generator), "generation")
        generator.observe(lambda c: self._show_paths(generator, c["new"]), "paths")
        generator.on_stroke(self._draw_points)
        self._send_sketch(generator)
        self._send_choices(generator)

    def _send_sketch(self, generator: InPageGenerator) -> None:
        """The kernel's drawing; ``edit`` when the change is no stroke's end (the page has
        those already): an undo, a clear, an example."""
        ended = self.canvas.strokes_ended
        edit, self._strokes_ended = ended == self._strokes_ended, ended
        generator.sketch = {
            "strokes": page_strokes(self.canvas),
            "ended": ended,
            "edit": edit,
            "pen_width": float(self.canvas.pen_width),
            "tool": self.canvas.tool,
        }

    def _send_choices(self, generator: InPageGenerator) -> None:
        models = self.compare.models
        generator.class_name = self.compare.class_name
        generator.seeds = {n: self.compare.seed_for(n) for n, m in models.items() if m.has_noise}

    def _show_paths(self, generator: InPageGenerator, paths: dict[str, str]) -> None:
        kinds = {entry["name"]: entry["kind"] for entry in generator.entries}
        for name, path in paths.items():
            search = path == PAGE and kinds.get(name) == "search_start"
            self.compare.tiles[name].show_path("search" if search else path)

    def _draw_points(self, points: Sequence[Sequence[float]]) -> None:
        """A stroke the page drew (``window.sketchwidgets.drawStroke``), in canvas px."""
        if not points:
            return
        self.canvas.begin_stroke(float(points[0][0]), float(points[0][1]))
        for x, y in points[1:]:
            self.canvas.extend_stroke(float(x), float(y))
        self.canvas.end_stroke()

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


def page_strokes(canvas: SketchCanvas) -> list[dict[str, Any]]:
    """The canvas's strokes in canvas pixels (points and width), as the page draws them."""
    sx, sy = canvas.width / canvas.sketch.width, canvas.height / canvas.sketch.height
    scale = float(np.sqrt(sx * sy))
    return [
        {
            "points": [[float(x) * sx, float(y) * sy] for x, y in stroke.points],
            "width": float(stroke.width) * scale,
            "tool": stroke.tool,
        }
        for stroke in canvas.sketch.strokes
    ]


def _photo_of(dataset: Any, index: int) -> np.ndarray:
    """Item ``index``'s photo as uint8 RGB, as stored (the raw file for folder datasets)."""
    return np.asarray(sketch_dataset(dataset).read_pair(index)[1])
