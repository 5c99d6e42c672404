"""CompareView: models side by side, wired to a canvas, labels, errors, export."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from sketchwidgets.io import read_image
from sketchwidgets.widgets import CompareView, SketchCanvas
from sketchwidgets.widgets._images import from_png


def draw(canvas, points):
    canvas.begin_stroke(*points[0])
    for point in points[1:]:
        canvas.extend_stroke(*point)
    canvas.end_stroke()


def shown_pixels(view, name):
    """The image currently displayed for model ``name`` (decoded from the Image widget)."""
    return from_png(view.tiles[name].image.value)


def test_two_tiny_pix2pix_models_follow_the_canvas(tiny_pix2pix):
    canvas = SketchCanvas(64, 64)
    view = CompareView(tiny_pix2pix, canvas=canvas)
    assert view.images == {} and "empty" in view.status.value
    draw(canvas, [(10, 10), (50, 50)])
    canvas.flush()  # with no event loop a zero wait has already run the update
    first = view.images
    assert set(first) == {"pix2pix_a", "pix2pix_b"}
    assert first["pix2pix_a"].shape == (32, 32, 3) and first["pix2pix_a"].dtype == np.uint8
    assert not np.array_equal(first["pix2pix_a"], first["pix2pix_b"])
    assert all(ms > 0 for ms in view.last_latency_ms.values())
    assert view.tiles["pix2pix_a"].caption.value.endswith(" ms")
    draw(canvas, [(50, 10), (10, 50)])
    canvas.flush()
    assert not np.array_equal(view.images["pix2pix_a"], first["pix2pix_a"])
    assert np.array_equal(shown_pixels(view, "pix2pix_a")[..., :3], view.images["pix2pix_a"])


def test_displayed_image_follows_the_sketch(echo):
    view = CompareView({"echo": echo})
    sketch = np.full((64, 64), 255, np.uint8)
    sketch[:, 30:34] = 0
    view.update(sketch)
    shown = shown_pixels(view, "echo")
    assert shown[16, 5].min() > 200 and shown[16, 26].min() > 200
    assert shown[:, 15:17].max() < 100  # the vertical line, at 32 px
    assert view.generation >= 1


def test_empty_canvas_generates_nothing_and_says_so(echo):
    canvas = SketchCanvas(64, 64)
    view = CompareView({"echo": echo})
    view.update(canvas)
    assert view.images == {}
    assert view.status.value == "empty sketch: draw something to generate"
    view.update(np.full((16, 16), 255, np.uint8))
    assert view.images == {} and "empty" in view.status.value
    view.update(np.zeros((16, 16), np.uint8))  # all black: the same empty-sketch rule
    assert view.images == {} and view.status.value == "empty sketch: draw something to generate"


def test_one_class_picker_takes_its_classes_from_the_models(echo, labelled, class_edge):
    view = CompareView({"echo": echo, "labelled": labelled, "class_edge": class_edge})
    assert view.class_names == ["cat", "dog", "shoe", "apple", "ball", "mug"]  # one picker
    assert view.class_name == "cat"  # the first class, so every model draws at once
    sketch = np.pad(np.zeros((8, 8), np.uint8), 12, constant_values=255)
    view.update(sketch)
    assert set(view.images) == {"echo", "labelled"}  # class_edge does not know "cat"
    assert "class_edge does not know class 'cat'" in view.status.value
    view.class_picker.value = "shoe"  # the user picks a class: labelled's image changes
    assert shown_pixels(view, "labelled")[0, 0, 0] == view.images["labelled"][0, 0, 0]
    shoe = view.images["labelled"].copy()
    view.select_class("dog")
    assert not np.array_equal(view.images["labelled"], shoe)
    view.class_picker.value = "mug"
    mug = shown_pixels(view, "class_edge")
    view.class_picker.value = "apple"
    assert not np.array_equal(shown_pixels(view, "class_edge"), mug)
    assert set(view.images) == {"echo", "class_edge"}  # now labelled does not know the class
    with pytest.raises(ValueError, match="choose one of"):
        view.select_class("zebra")
    assert CompareView({"echo": echo}).class_picker is None


def test_extra_outputs_show_next_to_the_image(class_edge):
    view = CompareView({"class_edge": class_edge}, class_name="ball")
    tile = view.tiles["class_edge"]
    assert list(tile.images) == ["image", "edge"]
    view.update(np.pad(np.zeros((8, 8), np.uint8), 12, constant_values=255))
    image, edge = from_png(tile.images["image"].value), from_png(tile.images["edge"].value)
    assert image.shape == edge.shape == (32, 32, 3)
    assert image[16, 16, 2] < 50 and edge[16, 16, 2] > 200  # black ink; white line on the edge
    assert image[1, 1, 2] > 200 and edge[1, 1, 2] < 50
    assert set(view.outputs["class_edge"]) == {"image", "edge"}
    np.testing.assert_array_equal(view.outputs["class_edge"]["edge"], edge)


def test_a_failing_model_shows_its_error_and_the_others_still_render(echo, broken):
    view = CompareView({"broken": broken, "echo": echo})
    view.update(np.pad(np.zeros((8, 8), np.uint8), 12, constant_values=255))
    assert set(view.images) == {"echo"}
    text = "".join(o["text"] for o in view.output.outputs)
    assert "model 'broken' failed" in text and "generator exploded" in text
    assert "1 of 2 generated" in view.status.value


def test_reroll_is_offered_for_models_with_noise_and_changes_their_image(
    echo, class_edge, tiny_pix2pix
):
    models = {"echo": echo, "class_edge": class_edge, "pix2pix": tiny_pix2pix["pix2pix_a"]}
    view = CompareView(models, seed=5, class_name="mug")
    assert view.tiles["echo"].reroll_button is None
    assert view.tiles["pix2pix"].reroll_button is None  # eval-mode pix2pix: no noise
    view.update(np.pad(np.zeros((8, 8), np.uint8), 12, constant_values=255))
    first = {name: shown_pixels(view, name) for name in models}
    view.tiles["class_edge"].reroll_button.click()  # the user re-rolls one tile: a new z
    assert view.seed == 5 and view.seed_for("class_edge") == 6
    assert not np.array_equal(shown_pixels(view, "class_edge"), first["class_edge"])
    assert np.array_equal(shown_pixels(view, "pix2pix"), first["pix2pix"])
    assert view.reroll_button.layout.display is None  # re-roll all: shown, a model has noise
    before = view.generation
    view.reroll_button.click()
    assert view.seed == 6 and view.generation == before + 1
    with pytest.raises(ValueError, match="has no noise"):
        view.reroll("echo")
    view.shown = ["echo", "pix2pix"]
    assert view.reroll_button.layout.display == "none"  # no model with noise left


def test_export_png_writes_the_row(tmp_path, echo, class_edge):
    truth = np.zeros((40, 40, 3), np.uint8)
    view = CompareView({"echo": echo, "class_edge": class_edge}, ground_truth=truth)
    view.update(np.pad(np.zeros((8, 8), np.uint8), 12, constant_values=255))
    path = view.export_png(tmp_path / "row.png", tile=64)
    row = read_image(path)
    tiles = 5  # sketch, ground truth, echo, class_edge's image and edge
    assert row.shape[1] == tiles * 64 + (tiles - 1) * 4
    with pytest.raises(FileExistsError):
        view.export_png(path)


def test_shown_models_can_be_chosen(echo, labelled):
    view = CompareView({"echo": echo, "labelled": labelled})
    view.shown = ["echo"]
    assert view.row.children == (view.tiles["echo"],)
    with pytest.raises(KeyError, match="unknown model"):
        view.shown = ["nope"]


def test_mimebundle_summary_is_deterministic(echo):
    view = CompareView({"echo": echo})
    view.update(np.pad(np.zeros((8, 8), np.uint8), 12, constant_values=255))
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == "CompareView: 1 models (echo), seed 0, 1 images"
    assert from_png(base64.b64decode(bundle["image/png"])).shape[1] == 2 * 96 + 4
