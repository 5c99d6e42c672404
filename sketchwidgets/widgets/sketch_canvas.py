"""SketchCanvas: freehand drawing in a notebook cell, backed by a core :class:`Sketch`.

The stroke list in ``canvas.sketch`` (:class:`sketchwidgets.data.strokes.Sketch`) is the source
of truth. The browser only shows it: pixels are never read back from the front end;
:meth:`SketchCanvas.to_array` rasterises the strokes in Python (``data.strokes.rasterize``), so
tests and nbval can "draw" by calling the programmatic twins of the gestures:

=====================  =========================================
gesture                programmatic twin
=====================  =========================================
press / touch start    ``begin_stroke(x, y)``
drag / touch move      ``extend_stroke(x, y)``
release / leave        ``end_stroke()``
undo, redo, clear      ``undo()``, ``redo()``, ``clear()``
pen / eraser toggle    ``set_tool("pen" | "eraser")``
brush width slider     ``canvas.pen_width = 6``
=====================  =========================================

The mouse and touch handlers call exactly these methods.

Give the canvas a model (``SketchCanvas(model=m)`` or ``canvas.model = m``) and it shows,
beside the drawing, "what the model sees": the drawing as ``m.model_input`` prepares it
(redrawn in the training sketches' style, :mod:`sketchwidgets.drawing.normaliser`), updated
after every change.

Live ink is drawn client-side: a transparent :class:`LiveInk` overlay (anywidget, stacked on the
ipycanvas element, carrying the ``sketchwidgets-canvas`` DOM class) receives the pointer events
(mouse, touch, pen), strokes each segment in the browser at once and sends the points to the
kernel, where the same handlers run. The kernel's ink then replaces the overlay's preview.
Without anywidget (or with ``live_ink=False``) the ipycanvas mouse/touch events are used.

Ink is drawn on the top layer of an ``ipycanvas.MultiCanvas`` as continuous lines: each move
strokes the segment from the previous point (round caps and joins) inside ``hold_canvas()``, so
one message carries it. The eraser cuts the ink layer (``destination-out``), leaving the faint
underlay (bottom layer) visible; the Python rasteriser paints the eraser white, which looks the
same on the white background. Undo, redo and clear redraw the ink layer from the stroke list.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ipycanvas import MultiCanvas, hold_canvas
from ipywidgets import (
    Button,
    FloatSlider,
    GridBox,
    HBox,
    Image,
    Label,
    Layout,
    Output,
    ToggleButtons,
    VBox,
)
from traitlets import CFloat, Enum, Int

from sketchwidgets.data.strokes import Sketch, Stroke
from sketchwidgets.io import to_rgb
from sketchwidgets.widgets._images import (
    Debounce,
    StaticFallback,
    format_exception,
    resize,
    to_png,
)

try:
    from sketchwidgets.widgets.live_ink import LiveInk
except ImportError:  # anywidget missing: ink is drawn by the kernel only
    LiveInk = None

TOOLS = ("pen", "eraser")
CANVAS_CLASS = "sketchwidgets-canvas"  # DOM class of the <canvas> element (browser tests)
ChangeCallback = Callable[["SketchCanvas"], Any]


def faint(image: np.ndarray, size: tuple[int, int], alpha: float) -> np.ndarray:
    """``image`` resized to ``size`` (h, w) as RGB and blended over white with ``alpha``."""
    rgb = resize(to_rgb(np.asarray(image, dtype=np.uint8)), size).astype(np.float32)
    return np.round(255.0 - alpha * (255.0 - rgb)).astype(np.uint8)


class SketchCanvas(StaticFallback, VBox):
    """A drawing canvas with pen, eraser, brush width, undo/redo/clear and a faint underlay.

    Parameters
    ----------
    width, height
        Canvas size in screen pixels.
    pen_width
        Brush width in canvas pixels (the slider's value).
    sketch
        A :class:`Sketch` to start from (its own size may differ; it is shown scaled).
    underlay
        A uint8 image (photo or sketch) shown faintly under the ink, to trace over.
    underlay_alpha
        Opacity of the underlay over white.
    live_ink
        Draw the live stroke in the browser (:class:`LiveInk` overlay; needs anywidget).
    model
        A SketchModel whose input ("what the model sees") is shown beside the drawing.
    """

    tool = Enum(TOOLS, default_value="pen", help="Active tool: 'pen' or 'eraser'.").tag(sync=True)
    pen_width = CFloat(4.0, help="Brush width in canvas pixels.").tag(sync=True)
    stroke_count = Int(0, read_only=True, help="Number of strokes in the sketch.").tag(sync=True)
    version = Int(0, read_only=True, help="Bumped on every finished change.").tag(sync=True)

    def __init__(
        self,
        width: int = 256,
        height: int = 256,
        *,
        pen_width: float = 4.0,
        sketch: Sketch | None = None,
        underlay: np.ndarray | None = None,
        underlay_alpha: float = 0.3,
        live_ink: bool = True,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        self.layers = MultiCanvas(2, width=width, height=height, layout=self._cell(width, height))
        self.live: LiveInk | None = None
        if live_ink and LiveInk is not None:
            self.live = LiveInk(
                width=width,
                height=height,
                canvas_class=CANVAS_CLASS,
                layout=self._cell(width, height),
            )
        else:
            self.layers.add_class(CANVAS_CLASS)
        self.output = Output(layout=Layout(max_height="12em", overflow="auto"))
        self.status = Label()
        self._hooks: list[tuple[ChangeCallback, Debounce]] = []
        self.strokes_ended = 0  # strokes finished by end_stroke() (the in-page generator's count)
        self._ink_style: tuple[Any, ...] | None = None
        self._underlay: np.ndarray | None = None
        self.underlay_alpha = float(underlay_alpha)
        self.toolbar = self._build_toolbar()
        self._model: Any = None
        self.preview = Image(format="png", width=min(width, 128), height=min(height, 128))
        self.preview.add_class("sketchwidgets-model-input")
        self.preview_box = HBox(
            [Label("the model sees"), self.preview], layout=Layout(display="none")
        )
        drawing = HBox([self._stack(width, height), self.preview_box])
        super().__init__(
            children=[self.toolbar, drawing, self.status, self.output],
            pen_width=pen_width,
            **kwargs,
        )
        self.add_class("sketchwidgets-sketch-canvas")
        self.sketch = sketch if sketch is not None else Sketch(width=width, height=height)
        self.underlay = underlay
        self.model = model
        self._connect_events()

    # ----- layout ---------------------------------------------------------------------------
    @staticmethod
    def _cell(width: int, height: int) -> Layout:
        """Layout of one stacked layer: exact size, all in the same grid cell."""
        return Layout(width=f"{width}px", height=f"{height}px", margin="0", grid_area="1 / 1")

    def _stack(self, width: int, height: int) -> GridBox | MultiCanvas:
        """The ipycanvas layers, with the live ink overlay on top when there is one."""
        if self.live is None:
            return self.layers
        return GridBox(
            [self.layers, self.live],
            layout=Layout(
                grid_template_columns=f"{width}px",
                grid_template_rows=f"{height}px",
                width=f"{width}px",
                height=f"{height}px",
            ),
        )

    def _build_toolbar(self) -> HBox:
        self.tool_buttons = ToggleButtons(
            options=[("pen", "pen"), ("eraser", "eraser")],
            icons=["pencil", "eraser"],
            tooltips=["Draw", "Erase"],
            style={"button_width": "6.5em"},
        )
        self.width_slider = FloatSlider(
            value=4.0,
            min=1.0,
            max=40.0,
            step=1.0,
            description="width",
            readout_format=".0f",
            style={"description_width": "3em"},
            layout=Layout(width="16em"),
        )
        self.undo_button = self._button("undo", "undo", self.undo)
        self.redo_button = self._button("redo", "repeat", self.redo)
        self.clear_button = self._button("clear", "trash", self.clear)
        return HBox(
            [
                self.tool_buttons,
                self.width_slider,
                self.undo_button,
                self.redo_button,
                self.clear_button,
            ],
            layout=Layout(flex_flow="row wrap"),
        )

    @staticmethod
    def _button(name: str, icon: str, action: Callable[[], None]) -> Button:
        button = Button(description=name, icon=icon, layout=Layout(width="5.5em"))
        button.add_class(f"sketchwidgets-{name}")
        button.on_click(lambda _button: action())
        return button

    def _connect_events(self) -> None:
        from traitlets import link

        link((self, "tool"), (self.tool_buttons, "value"))
        link((self, "pen_width"), (self.width_slider, "value"))
        self.layers.on_mouse_down(self._on_mouse_down)
        self.layers.on_mouse_move(self._on_mouse_move)
        self.layers.on_mouse_up(self._on_mouse_up)
        self.layers.on_mouse_out(self._on_mouse_up)
        self.layers.on_touch_start(self._on_touch_start)
        self.layers.on_touch_move(self._on_touch_move)
        self.layers.on_touch_end(self._on_touch_end)
        self.layers.on_touch_cancel(self._on_touch_end)
        self.layers.on_client_ready(self.redraw)
        if self.live is not None:
            link((self, "tool"), (self.live, "tool"))
            link((self, "pen_width"), (self.live, "pen_width"))
            self.live.on_stroke(self._on_mouse_down, self._on_mouse_move, self._on_mouse_up)

    # ----- geometry -------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """Canvas width in pixels."""
        return int(self.layers.width)

    @property
    def height(self) -> int:
        """Canvas height in pixels."""
        return int(self.layers.height)

    @property
    def _scale(self) -> tuple[float, float]:
        """Canvas pixels per sketch unit along x and y."""
        return self.width / self.sketch.width, self.height / self.sketch.height

    @property
    def _width_scale(self) -> float:
        """Canvas pixels per sketch unit for stroke widths (geometric mean, as rasterize)."""
        sx, sy = self._scale
        return float(np.sqrt(sx * sy))

    def _to_sketch(self, x: float, y: float) -> tuple[float, float]:
        sx, sy = self._scale
        return float(x) / sx, float(y) / sy

    # ----- gestures (the mouse/touch handlers call these) ------------------------------------
    @property
    def drawing(self) -> bool:
        """True between ``begin_stroke`` and ``end_stroke``."""
        return self.sketch.drawing

    def begin_stroke(self, x: float, y: float) -> None:
        """Start a stroke at canvas pixel ``(x, y)`` with the current tool and width."""
        if self.drawing:
            self.end_stroke()
        width = self.pen_width / self._width_scale
        self.sketch.begin_stroke(*self._to_sketch(x, y), width=width, tool=self.tool)
        with hold_canvas():
            self._set_ink_style(self.tool, self.pen_width)
            self.layers[1].fill_circle(float(x), float(y), self.pen_width / 2)
        self._last_point = (float(x), float(y))

    def extend_stroke(self, x: float, y: float) -> None:
        """Continue the stroke to ``(x, y)``: draws the segment from the previous point."""
        if not self.drawing:
            raise RuntimeError("extend_stroke() called before begin_stroke()")
        self.sketch.extend_stroke(*self._to_sketch(x, y))
        x0, y0 = self._last_point
        with hold_canvas():
            self._set_ink_style(self.tool, self.pen_width)
            self.layers[1].stroke_line(x0, y0, float(x), float(y))
        self._last_point = (float(x), float(y))

    def end_stroke(self) -> None:
        """Finish the current stroke (no-op when none is in progress) and notify listeners."""
        if self.sketch.end_stroke() is not None:
            self.strokes_ended += 1
            self._changed()

    def undo(self) -> bool:
        """Revert the last edit (a stroke or a clear); False when there is nothing to undo."""
        done = self.sketch.undo()
        self._changed(redraw=True)
        return done

    def redo(self) -> bool:
        """Re-apply the last undone edit; False when there is nothing to redo."""
        done = self.sketch.redo()
        self._changed(redraw=True)
        return done

    def clear(self) -> None:
        """Remove every stroke (undo brings them back)."""
        self.sketch.clear()
        self._changed(redraw=True)

    def set_tool(self, tool: str) -> None:
        """Choose ``"pen"`` or ``"eraser"`` (the toggle buttons follow)."""
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; expected one of {TOOLS}")
        self.tool = tool

    # ----- event handlers: only call the twins above -----------------------------------------
    def _on_mouse_down(self, x: float, y: float) -> None:
        self.begin_stroke(x, y)

    def _on_mouse_move(self, x: float, y: float) -> None:
        if self.drawing:
            self.extend_stroke(x, y)

    def _on_mouse_up(self, x: float, y: float) -> None:
        self.end_stroke()

    def _on_touch_start(self, touches: Sequence[tuple[float, float]]) -> None:
        if touches:
            self.begin_stroke(*touches[0])

    def _on_touch_move(self, touches: Sequence[tuple[float, float]]) -> None:
        if touches and self.drawing:
            self.extend_stroke(*touches[0])

    def _on_touch_end(self, touches: Sequence[tuple[float, float]]) -> None:
        self.end_stroke()

    # ----- drawing ---------------------------------------------------------------------------
    def _set_ink_style(self, tool: str, width: float) -> None:
        """Set the ink layer's pen state, sending only what changed since the last call."""
        style = (tool, float(width))
        if style == self._ink_style:
            return
        ink = self.layers[1]
        ink.line_width = float(width)
        ink.global_composite_operation = "destination-out" if tool == "eraser" else "source-over"
        if self._ink_style is None:
            ink.line_cap, ink.line_join = "round", "round"
            ink.stroke_style = ink.fill_style = "black"
        self._ink_style = style

    def _draw_stroke(self, stroke: Stroke) -> None:
        sx, sy = self._scale
        width = float(stroke.width) * self._width_scale
        self._set_ink_style(stroke.tool, width)
        points = np.asarray(stroke.points, dtype=np.float64).reshape(-1, 2) * (sx, sy)
        if len(points) == 0:
            return
        self.layers[1].fill_circle(float(points[0, 0]), float(points[0, 1]), width / 2)
        if len(points) > 1:
            self.layers[1].stroke_lines(points.tolist())

    def redraw(self) -> None:
        """Repaint both layers from the underlay and the stroke list."""
        self._ink_style = None
        with hold_canvas():
            self._paint_underlay()
            self.layers[1].clear()
            for stroke in self.sketch.strokes:
                self._draw_stroke(stroke)

    def _paint_underlay(self) -> None:
        base = self.layers[0]
        base.clear()
        if self._underlay is None:
            base.fill_style = "white"
            base.fill_rect(0, 0, self.width, self.height)
        else:
            base.put_image_data(self._underlay, 0, 0)

    # ----- state -----------------------------------------------------------------------------
    @property
    def sketch(self) -> Sketch:
        """The stroke list (a core :class:`Sketch`): the source of truth; assign to replace."""
        return self._sketch

    @sketch.setter
    def sketch(self, sketch: Sketch) -> None:
        if not isinstance(sketch, Sketch):
            raise TypeError(f"expected a sketchwidgets Sketch, got {type(sketch).__name__}")
        self._sketch = sketch
        self._changed(redraw=True)

    @property
    def strokes(self) -> list[Stroke]:
        """The sketch's strokes; assign a list to replace them all."""
        return list(self.sketch.strokes)

    @strokes.setter
    def strokes(self, strokes: Sequence[Stroke]) -> None:
        self.sketch = Sketch(
            width=self.sketch.width, height=self.sketch.height, strokes=list(strokes)
        )

    @property
    def underlay(self) -> np.ndarray | None:
        """The faint RGB underlay as shown (canvas size), or None; assign an image or None."""
        return self._underlay

    @underlay.setter
    def underlay(self, image: np.ndarray | None) -> None:
        if image is None:
            self._underlay = None
        else:
            array = np.asarray(image)
            if array.dtype != np.uint8 or array.ndim not in (2, 3):
                raise ValueError(
                    f"underlay must be a uint8 HxW or HxWx3 image, got "
                    f"{array.dtype} with shape {array.shape}"
                )
            self._underlay = faint(array, (self.height, self.width), self.underlay_alpha)
        with hold_canvas():
            self._paint_underlay()

    @property
    def model(self) -> Any:
        """The model whose input is previewed beside the drawing (None: no preview)."""
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model = model
        self.preview_box.layout.display = None if model is not None else "none"
        self.update_preview()

    def update_preview(self) -> None:
        """Show what the model sees of the drawing now (blank while nothing is drawn)."""
        if self._model is None or self.sketch.is_empty:
            self.preview.value = b""
            return
        try:
            self.preview.value = to_png(self._model.model_input(self.to_array()))
        except ValueError:  # every stroke erased: an empty sketch, nothing to see
            self.preview.value = b""

    def _changed(self, *, redraw: bool = False) -> None:
        """After a finished change: repaint if asked, update counters, schedule the hooks."""
        if redraw:
            self.redraw()
        if getattr(self, "_model", None) is not None:
            self.update_preview()
        count = len(self.sketch.strokes)
        self.undo_button.disabled = not self.sketch.can_undo
        self.redo_button.disabled = not self.sketch.can_redo
        self.set_trait("stroke_count", count)
        self.set_trait("version", self.version + 1)
        self.status.value = f"{count} stroke{'s' if count != 1 else ''}"
        for _callback, debounced in self._hooks:
            debounced()

    # ----- change hooks ----------------------------------------------------------------------
    def on_change(
        self, callback: ChangeCallback, *, wait: float = 0.3, remove: bool = False
    ) -> None:
        """Call ``callback(canvas)`` once drawing pauses for ``wait`` s after a change.

        A change is a finished stroke, undo, redo, clear or a new sketch. An exception raised
        by ``callback`` is shown in the canvas's Output area; the canvas keeps working.
        """
        if remove:
            for entry in [e for e in self._hooks if e[0] is callback]:
                entry[1].cancel()
                self._hooks.remove(entry)
            return
        self._hooks.append((callback, Debounce(lambda: self._run_hook(callback), wait)))

    def _run_hook(self, callback: ChangeCallback) -> None:
        try:
            callback(self)
        except Exception as error:  # a user's callback must not break the canvas
            self.show_error(error)

    def show_error(self, error: BaseException) -> None:
        """Append ``error``'s traceback to the Output area under the canvas."""
        self.output.append_stderr(format_exception(error))

    def clear_errors(self) -> None:
        """Empty the Output area."""
        self.output.outputs = ()

    def flush(self) -> int:
        """Run pending debounced change hooks now; returns how many ran (for tests)."""
        return sum(debounced.flush() for _callback, debounced in self._hooks)

    # ----- export ----------------------------------------------------------------------------
    def to_array(self, size: int | None = None) -> np.ndarray:
        """The sketch rasterised in Python: uint8 HxW, black ink on white (``size`` px square).

        ``size=None`` gives the canvas size.
        """
        if size is None:
            return self.sketch.to_array((self.height, self.width))
        return self.sketch.to_array(size)

    def save_strokes(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the strokes as JSON (refuses to replace a file unless ``overwrite=True``)."""
        return self.sketch.save(path, overwrite=overwrite)

    def load_strokes(self, path: str | os.PathLike) -> None:
        """Replace the sketch with one saved by :meth:`save_strokes`."""
        self.sketch = Sketch.load(path)

    # ----- static fallback -------------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """Underlay plus ink as the browser shows it, rasterised in Python (HxWx3)."""
        ink = to_rgb(self.to_array())
        base = self._underlay if self._underlay is not None else np.full_like(ink, 255)
        return np.minimum(base, ink)

    def summary(self) -> str:
        """E.g. ``SketchCanvas 256x256: 3 strokes, tool=pen, pen_width=4``."""
        extra = ", underlay" if self._underlay is not None else ""
        return (
            f"SketchCanvas {self.width}x{self.height}: {self.stroke_count} strokes, "
            f"tool={self.tool}, pen_width={self.pen_width:g}{extra}"
        )
