"""SketchStudio: canvas + compare view + model picker + example loader, composed."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
from ipywidgets import AppLayout

from sketchwidgets.widgets import SketchStudio
from sketchwidgets.widgets._images import from_png


class _Photos:
    """A two-item dataset whose photos are flat grey levels."""

    class_names: list[str] = []

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return {
            "sketch": torch.ones(1, 16, 16),
            "photo": torch.full((3, 16, 16), -0.5 * i),
            "label": -1,
            "path": f"embedded://grey/{i}",
        }


def test_studio_composes_canvas_and_compare_view(echo, labelled):
    studio = SketchStudio({"echo": echo, "labelled": labelled}, size=96)
    assert isinstance(studio, AppLayout)
    assert studio.left_sidebar is studio.canvas and studio.right_sidebar is studio.compare
    assert studio.compare.images == {}
    assert studio.status.value.startswith("draw on the canvas")
    studio.canvas.begin_stroke(10, 10)
    studio.canvas.extend_stroke(80, 80)
    studio.canvas.end_stroke()
    studio.canvas.flush()
    assert set(studio.compare.images) == {"echo", "labelled"}  # the first class, "cat"
    assert studio.compare.class_name == "cat"
    assert studio.status.value == "1 stroke drawn"  # the footer follows the drawing
    studio.canvas.clear()
    assert studio.status.value.startswith("draw on the canvas")


def test_example_loader_puts_a_drawing_on_the_canvas(echo):
    studio = SketchStudio({"echo": echo}, size=96)
    studio.example_picker.value = studio.example_picker.options[1]
    studio.example_button.click()
    assert studio.canvas.stroke_count > 0
    assert "echo" in studio.compare.images  # generated at once, no drawing pause to wait for
    assert studio.status.value.startswith("loaded the example")


def test_loading_an_example_picks_its_class_for_the_labelled_models(echo, class_edge):
    studio = SketchStudio({"echo": echo, "class_edge": class_edge}, size=96)
    assert studio.compare.class_names == ["apple", "ball", "mug"]  # from the model
    studio.load_example("mug")
    assert studio.compare.class_name == "mug"
    assert set(studio.compare.outputs["class_edge"]) == {"image", "edge"}
    mug = studio.compare.images["class_edge"]
    studio.compare.class_picker.value = "ball"
    assert not np.array_equal(studio.compare.images["class_edge"], mug)
    studio.load_example("tree")  # a class the model does not know: the pick stays
    assert studio.compare.class_name == "ball"


def test_model_picker_chooses_the_models_shown(echo, labelled):
    studio = SketchStudio({"echo": echo, "labelled": labelled}, size=96)
    studio.model_picker.value = ("labelled",)
    assert studio.compare.shown == ["labelled"]
    studio.show_models(["echo", "labelled"])
    assert list(studio.model_picker.value) == ["echo", "labelled"]
    assert studio.compare.shown == ["echo", "labelled"]


def test_trace_a_dataset_photo(echo):
    studio = SketchStudio({"echo": echo}, size=64, dataset=_Photos())
    assert studio.trace_item() == 0
    assert studio.canvas.underlay is not None
    assert studio.trace_item() == 1 and studio.trace_item() == 0  # wraps around
    studio.trace_button.click()
    assert studio.compare.ground_truth is not None
    without = SketchStudio({"echo": echo}, size=64)
    with pytest.raises(ValueError, match="without a dataset"):
        without.trace_item()


def test_mimebundle(echo):
    studio = SketchStudio({"echo": echo}, size=64)
    bundle = studio._repr_mimebundle_()
    assert bundle["text/plain"] == (
        "SketchStudio: canvas 64x64 with 0 strokes; CompareView: 1 models (echo), seed 0, 0 images"
    )
    image = from_png(base64.b64decode(bundle["image/png"]))
    assert image.shape[1] > 64 and np.asarray(image).dtype == np.uint8
