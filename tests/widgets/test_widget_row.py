"""WidgetRow: a canvas beside its compare view still shows as a picture in a saved notebook."""

from __future__ import annotations

import base64

from ipywidgets import HBox, Label

from sketchwidgets.widgets import CompareView, SketchCanvas, WidgetRow
from sketchwidgets.widgets._images import from_png


def _drawn_canvas() -> SketchCanvas:
    canvas = SketchCanvas(64, 64, pen_width=3)
    canvas.begin_stroke(8, 32)
    canvas.extend_stroke(56, 32)
    canvas.end_stroke()
    return canvas


def test_the_saved_bundle_holds_a_png_of_the_drawing_and_of_the_generated_image(echo):
    canvas = _drawn_canvas()
    view = CompareView({"echo": echo}, canvas=canvas)
    bundle = WidgetRow([canvas, view])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live view is kept
    png = from_png(base64.b64decode(bundle["image/png"]))
    assert png.shape[0] == max(64, view.static_image().shape[0])
    drawing = png[:64, :64]
    assert drawing[32, 10:54].max() < 60  # the stroke, dark, where it was drawn
    assert drawing[5:20].min() > 200  # and white paper above it
    generated = png[:, 64 + 8 :]  # the compare row, after the gap
    assert generated.shape[1] == view.static_image().shape[1]
    assert (generated < 60).any()  # the echo model's image of the stroke
    assert bundle["text/plain"] == f"{canvas.summary()} | {view.summary()}"


def test_the_picture_follows_the_drawing():
    canvas = SketchCanvas(64, 64)
    row = WidgetRow([canvas, Label("children without a picture are left out")])
    blank = from_png(base64.b64decode(row._repr_mimebundle_()["image/png"]))
    assert blank.shape == (64, 64, 3) and blank.min() == 255
    canvas.begin_stroke(32, 8)
    canvas.extend_stroke(32, 56)
    canvas.end_stroke()
    drawn = from_png(base64.b64decode(row._repr_mimebundle_()["image/png"]))
    assert drawn[10:54, 32].max() < 60


def test_a_plain_hbox_stores_no_picture():  # why WidgetRow exists
    bundle = HBox([_drawn_canvas()])._repr_mimebundle_()
    assert "image/png" not in bundle
