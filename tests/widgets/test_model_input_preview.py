"""What the model sees: the normalised input beside the drawing, and the studio's gap hint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from sketchwidgets.data.strokes import Stroke
from sketchwidgets.drawing.line_stats import LineStats
from sketchwidgets.models.base import ModelConfig
from sketchwidgets.widgets import CompareView, SketchCanvas, SketchStudio
from sketchwidgets.widgets._images import from_png
from tests.widgets.conftest import Echo

# a classroom checkpoint's training sketches: 8 % ink, black lines 1.9 px wide at 64 px
CLASSROOM = LineStats(64, 0.085, 1.875, 0.0, 0.0002, True)


@dataclass(frozen=True)
class TrainedEchoConfig(ModelConfig):
    image_size: int = 64
    class_names: tuple[str, ...] = ()


class TrainedEcho(Echo):
    """An Echo (output = input) that knows its training sketches' line statistics."""

    name = "trained_echo"
    config_class = TrainedEchoConfig


@pytest.fixture
def trained_echo() -> TrainedEcho:
    return TrainedEcho(TrainedEchoConfig(line_stats=CLASSROOM))


def box(width: float) -> list[Stroke]:
    """A square and a diagonal, drawn with a pen ``width`` canvas pixels wide (256 canvas)."""
    square = [(60, 60), (196, 60), (196, 196), (60, 196), (60, 60)]
    return [Stroke(square, width=width), Stroke([(60, 60), (196, 196)], width=width)]


def shown(image_widget) -> np.ndarray:
    return from_png(image_widget.value)


def test_canvas_previews_the_normalised_input_after_every_change(trained_echo):
    canvas = SketchCanvas(256, 256, model=trained_echo)
    assert canvas.preview.value == b"" and canvas.preview_box.layout.display is None
    canvas.strokes = box(24)  # thick strokes, as a user with a wide pen draws
    first = shown(canvas.preview)
    np.testing.assert_array_equal(first, trained_echo.model_input(canvas.to_array()))
    raw = trained_echo.model_input(canvas.to_array(), normalise=False)
    assert (first < 128).sum() < 0.6 * (raw < 128).sum()  # the lines were thinned
    canvas.strokes = box(24)[:1]  # the diagonal undone
    assert not np.array_equal(shown(canvas.preview), first)
    np.testing.assert_array_equal(
        shown(canvas.preview), trained_echo.model_input(canvas.to_array())
    )


def test_canvas_without_a_model_shows_no_preview():
    canvas = SketchCanvas(64, 64)
    canvas.strokes = box(4)
    assert canvas.preview_box.layout.display == "none" and canvas.preview.value == b""


def test_compare_tile_shows_what_the_model_sees_and_normalise_switches_it(trained_echo):
    canvas = SketchCanvas(256, 256)
    view = CompareView({"echo": trained_echo}, canvas=canvas)
    assert view.tiles["echo"].input_view.value == b""
    canvas.strokes = box(24)
    canvas.flush()
    drawing = canvas.sketch.to_array(256)
    seen = shown(view.tiles["echo"].input_view)
    np.testing.assert_array_equal(seen, trained_echo.model_input(drawing))
    # the echo's image is its input: the model ran on the normalised drawing
    np.testing.assert_array_equal(view.images["echo"][..., 0], seen)
    np.testing.assert_array_equal(view.images["echo"], trained_echo.generate(drawing))
    view.normalise_box.value = False  # the user unticks "normalise"
    raw = shown(view.tiles["echo"].input_view)
    np.testing.assert_array_equal(raw, trained_echo.model_input(drawing, normalise=False))
    assert not np.array_equal(raw, seen)
    np.testing.assert_array_equal(view.images["echo"][..., 0], raw)


def test_studio_tile_shows_the_model_input_and_a_gap_hint(trained_echo):
    studio = SketchStudio({"echo": trained_echo})
    tile = studio.compare.tiles["echo"]
    studio.canvas.strokes = box(40)  # 10 px wide at 64: five times the training width
    studio.canvas.flush()
    np.testing.assert_array_equal(
        shown(tile.input_view), trained_echo.model_input(studio.canvas.sketch.to_array(256))
    )
    assert tile.hint.layout.display is None
    assert tile.hint.value.startswith("unlike its training sketches: ")
    assert "x the line width" in tile.hint.value and "\n" not in tile.hint.value
    studio.canvas.strokes = box(7.5)  # about the training width: nothing to say
    studio.canvas.flush()
    assert tile.hint.value == "" and tile.hint.layout.display == "none"


def test_gap_hint_names_pencil_shading_and_inverted_drawings(trained_echo):
    view = CompareView({"echo": trained_echo})
    shaded = np.full((256, 256), 255, np.uint8)
    shaded[40:220, 40:220] = 225  # light pencil shading over most of the drawing
    shaded[60:62, 40:220] = 120  # and a few grey pencil lines
    shaded[40:220, 120:122] = 120
    view.update(shaded)
    hint = view.tiles["echo"].hint.value
    assert "grey shading" in hint and "grey (pencil) lines" in hint
    inverted = np.zeros((256, 256), np.uint8)
    inverted[60:64, 30:220] = 255  # a white chalk line on black
    inverted[30:220, 120:124] = 255
    view.update(inverted)
    assert "inverted (light lines on dark)" in view.tiles["echo"].hint.value


def test_a_model_without_line_statistics_gets_no_hint(echo):
    view = CompareView({"echo": echo})
    view.update(np.pad(np.zeros((40, 40), np.uint8), 100, constant_values=255))
    assert view.tiles["echo"].hint.value == "" and view.tiles["echo"].input_view.value != b""
