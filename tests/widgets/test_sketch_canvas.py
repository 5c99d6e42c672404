"""SketchCanvas driven as a user would: gestures' twins, toolbar widgets, real ipycanvas events."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from sketchwidgets.data.strokes import Sketch
from sketchwidgets.widgets import SketchCanvas
from sketchwidgets.widgets._images import from_png


def draw(canvas, points):
    """One stroke through ``points`` (canvas pixels) via the programmatic twins."""
    canvas.begin_stroke(*points[0])
    for point in points[1:]:
        canvas.extend_stroke(*point)
    canvas.end_stroke()


def ink(array):
    """Number of dark pixels in a sketch array."""
    return int((np.asarray(array) < 128).sum())


def frontend_event(canvas, event, **content):
    """Send an event exactly as the browser does: through the MultiCanvas's message handler."""
    canvas.layers._canvases[-1]._handle_frontend_event(None, {"event": event, **content}, [])


@pytest.fixture
def canvas():
    return SketchCanvas(64, 64, pen_width=3)


def test_a_stroke_lands_in_the_sketch_and_the_counters(canvas):
    draw(canvas, [(10, 10), (30, 10), (30, 40)])
    assert canvas.stroke_count == 1 and canvas.version >= 1
    stroke = canvas.sketch.strokes[0]
    assert np.allclose(np.asarray(stroke.points), [(10, 10), (30, 10), (30, 40)])
    assert stroke.tool == "pen" and stroke.width == pytest.approx(3)
    assert canvas.status.value == "1 stroke"


def test_ink_is_a_continuous_line_between_points(canvas):
    draw(canvas, [(8, 32), (56, 32)])
    array = canvas.to_array()
    assert array.shape == (64, 64)
    assert (array[32, 10:55] < 128).all(), "every pixel between the two points is ink"
    assert (array[5, :] == 255).all()


def test_each_move_draws_the_segment_from_the_previous_point(canvas, monkeypatch):
    segments = []
    ink_layer = canvas.layers[1]
    monkeypatch.setattr(ink_layer, "stroke_line", lambda *args: segments.append(args))
    draw(canvas, [(1, 2), (3, 4), (5, 6)])
    assert segments == [(1.0, 2.0, 3.0, 4.0), (3.0, 4.0, 5.0, 6.0)]
    assert ink_layer.line_cap == "round" and ink_layer.line_join == "round"


def test_extend_before_begin_is_a_clear_error(canvas):
    with pytest.raises(RuntimeError, match="begin_stroke"):
        canvas.extend_stroke(1, 1)


def test_undo_redo_clear(canvas):
    draw(canvas, [(5, 5), (20, 20)])
    one = canvas.to_array()
    draw(canvas, [(40, 5), (40, 60)])
    two = canvas.to_array()
    canvas.undo()
    assert canvas.stroke_count == 1 and np.array_equal(canvas.to_array(), one)
    canvas.redo()
    assert canvas.stroke_count == 2 and np.array_equal(canvas.to_array(), two)
    canvas.clear()
    assert canvas.stroke_count == 0 and ink(canvas.to_array()) == 0


def test_toolbar_buttons_are_the_same_actions(canvas):
    draw(canvas, [(5, 5), (20, 20)])
    canvas.undo_button.click()
    assert canvas.stroke_count == 0
    canvas.redo_button.click()
    assert canvas.stroke_count == 1
    canvas.clear_button.click()
    assert canvas.stroke_count == 0


def test_undo_repaints_the_ink_layer_from_the_stroke_list(canvas, monkeypatch):
    draw(canvas, [(5, 5), (20, 20)])
    draw(canvas, [(40, 5), (40, 60)])
    polylines = []
    monkeypatch.setattr(canvas.layers[1], "stroke_lines", lambda pts: polylines.append(pts))
    canvas.undo()
    assert len(polylines) == 1 and np.allclose(polylines[0], [(5, 5), (20, 20)])


def test_eraser_removes_ink(canvas):
    draw(canvas, [(8, 32), (56, 32)])
    canvas.tool_buttons.value = "eraser"  # the toggle button, as a user clicks it
    assert canvas.tool == "eraser"
    canvas.pen_width = 10
    draw(canvas, [(32, 20), (32, 44)])
    array = canvas.to_array()
    assert array[32, 32] == 255 and array[32, 12] < 128
    assert canvas.sketch.strokes[-1].tool == "eraser"
    # on screen the eraser cuts the ink layer, so the underlay stays visible
    assert canvas.layers[1].global_composite_operation == "destination-out"
    with pytest.raises(ValueError, match="unknown tool"):
        canvas.set_tool("marker")


def test_brush_width_slider_changes_stroke_width(canvas):
    canvas.width_slider.value = 2
    draw(canvas, [(8, 20), (56, 20)])
    thin = ink(canvas.to_array())
    canvas.clear()
    canvas.width_slider.value = 10
    assert canvas.pen_width == 10
    draw(canvas, [(8, 20), (56, 20)])
    assert canvas.sketch.strokes[-1].width == pytest.approx(10)
    assert ink(canvas.to_array()) > 3 * thin


def test_mouse_events_go_through_the_twins(canvas):
    frontend_event(canvas, "mouse_move", x=1, y=1)  # hovering draws nothing
    frontend_event(canvas, "mouse_down", x=10, y=30)
    frontend_event(canvas, "mouse_move", x=50, y=30)
    assert canvas.drawing and canvas.stroke_count == 0
    frontend_event(canvas, "mouse_up", x=50, y=30)
    assert not canvas.drawing and canvas.stroke_count == 1
    frontend_event(canvas, "mouse_down", x=10, y=50)
    frontend_event(canvas, "mouse_move", x=20, y=50)
    frontend_event(canvas, "mouse_out", x=70, y=50)  # leaving the canvas ends the stroke
    assert canvas.stroke_count == 2 and (canvas.to_array()[30, 12:48] < 128).all()


def test_touch_events_draw_too(canvas):
    frontend_event(canvas, "touch_start", touches=[{"x": 5, "y": 5}])
    frontend_event(canvas, "touch_move", touches=[{"x": 40, "y": 40}])
    frontend_event(canvas, "touch_end", touches=[{"x": 40, "y": 40}])
    assert canvas.stroke_count == 1
    assert np.allclose(np.asarray(canvas.sketch.strokes[0].points), [(5, 5), (40, 40)])


def test_underlay_shows_faintly_in_the_static_image(canvas):
    photo = np.zeros((32, 32, 3), np.uint8)  # black photo -> light grey underlay
    canvas.underlay = photo
    static = canvas.static_image()
    assert static.shape == (64, 64, 3)
    assert 150 < static[0, 0, 0] < 200  # 255 - 0.3 * 255
    draw(canvas, [(8, 32), (56, 32)])
    assert canvas.static_image()[32, 30].max() < 60  # ink drawn over the underlay
    canvas.underlay = None
    assert canvas.static_image()[0, 0].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match="uint8"):
        canvas.underlay = np.zeros((4, 4), np.float32)


def test_json_round_trip(canvas, tmp_path):
    draw(canvas, [(5, 5), (30, 40), (60, 10)])
    path = canvas.save_strokes(tmp_path / "drawing.json")
    with pytest.raises(FileExistsError):
        canvas.save_strokes(path)
    other = SketchCanvas(64, 64)
    other.load_strokes(path)
    assert other.stroke_count == 1
    assert np.array_equal(other.to_array(), canvas.to_array())


def test_assigning_a_sketch_of_another_size_is_shown_scaled():
    canvas = SketchCanvas(128, 128)
    small = Sketch(width=32, height=32)
    small.begin_stroke(4, 16, width=1.0)
    small.extend_stroke(28, 16)
    small.end_stroke()
    canvas.sketch = small
    assert canvas.stroke_count == 1
    assert canvas.to_array().shape == (128, 128)
    assert (canvas.to_array()[64, 20:108] < 128).all()
    canvas.begin_stroke(64, 10)  # canvas pixels -> sketch units
    canvas.extend_stroke(64, 120)
    canvas.end_stroke()
    assert np.allclose(np.asarray(small.strokes[-1].points), [(16, 2.5), (16, 30)])


def test_change_hook_is_debounced_and_fires_once_after_flush(canvas):
    seen = []
    canvas.on_change(lambda c: seen.append(c.stroke_count), wait=60)
    draw(canvas, [(5, 5), (20, 20)])
    draw(canvas, [(30, 5), (30, 20)])
    canvas.undo()
    assert seen == []
    assert canvas.flush() == 1
    assert seen == [1]
    assert canvas.flush() == 0 and seen == [1]


def test_a_raising_callback_shows_in_the_output_and_the_canvas_keeps_working(canvas):
    def broken(_canvas):
        raise ZeroDivisionError("user bug")

    seen = []
    canvas.on_change(broken, wait=60)
    canvas.on_change(lambda c: seen.append(c.stroke_count), wait=60)
    draw(canvas, [(5, 5), (20, 20)])
    canvas.flush()
    text = "".join(o["text"] for o in canvas.output.outputs)
    assert "ZeroDivisionError: user bug" in text
    assert seen == [1]
    draw(canvas, [(30, 5), (30, 20)])
    canvas.flush()
    assert canvas.stroke_count == 2 and seen == [1, 2]
    canvas.on_change(broken, remove=True)
    draw(canvas, [(40, 5), (40, 20)])
    canvas.flush()
    assert len(canvas.output.outputs) == 2


def test_mimebundle_has_png_and_a_deterministic_summary(canvas):
    draw(canvas, [(8, 32), (56, 32)])
    bundle = canvas._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "SketchCanvas 64x64: 1 strokes, tool=pen, pen_width=3"
    png = from_png(base64.b64decode(bundle["image/png"]))
    assert png.shape == (64, 64, 3) and png[32, 30].max() < 60


def test_live_ink_overlay_events_reach_the_gesture_twins(canvas):
    sent = []
    canvas.live.send = lambda content, buffers=None: sent.append(content)
    canvas.live.handle_events([["down", 10, 10, 0.5], ["move", 30, 10, 0.5], ["up", 7]])
    assert canvas.stroke_count == 1 and not canvas.drawing
    assert np.allclose(np.asarray(canvas.sketch.strokes[0].points), [(10, 10), (30, 10)])
    assert sent == [{"type": "drawn", "id": 7}]


def test_live_ink_overlay_follows_tool_and_width(canvas):
    canvas.set_tool("eraser")
    canvas.pen_width = 9
    assert canvas.live.tool == "eraser" and canvas.live.pen_width == 9
    assert canvas.live.canvas_class == "sketchwidgets-canvas"
    assert "sketchwidgets-canvas" not in canvas.layers._dom_classes


def test_without_live_ink_the_ipycanvas_element_takes_the_events_class():
    plain = SketchCanvas(32, 32, live_ink=False)
    assert plain.live is None and "sketchwidgets-canvas" in plain.layers._dom_classes
