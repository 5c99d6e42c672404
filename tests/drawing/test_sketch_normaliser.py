"""The sketch normaliser: canvas strokes of any pen width, pencil shading and inverted drawings
come out with the line statistics of a model's training sketches.

The drawings are made by the SketchCanvas's own gestures (the same rasteriser,
``data.strokes.rasterize``) on a 256-px canvas, at pen widths 2 to 12: the built-in example
mug, and for the face model four held-out CelebA faces traced into strokes (their centre
lines; the XDoG faces' ink comes from faces, which a mug does not have). The targets are the
line statistics the shipped cards record for each kind of training sketch: the classroom set's
black 2-px lines, the XDoG faces, the shoes' thin grey edge maps and Sketchy's grey pencil.

The tolerances, at the model's 64 px (``STYLE``, fixed here so that loosening the code's own
:mod:`sketchwidgets.drawing.style_gap` cannot loosen the test):

* polarity: equal;
* stroke width: within 35 % of the training width or half a pixel, whichever is more. The
  training sets' own middle 80 % spans about that (classroom 1.9-2.4 px, Sketchy 0.9-1.4 px);
  half a pixel is the measure's resolution on a one-pixel line;
* line grey: within 48 of 255 levels (the faces' middle 80 % spans 0-43);
* shading: at most 0.1 of the picture more than the training sketches';
* ink share: within 3x either way (the gap hint's threshold). The normaliser sets how lines
  look, not how many there are: a drawing of a mug holds fewer lines than an XDoG face.

Raw (resized only), the same drawings miss these at the wide pens, in pencil and inverted:
each of those cases is checked to be out of style before normalising.
"""

from __future__ import annotations

import numpy as np
import pytest

from sketchwidgets import pretrained
from sketchwidgets.data.builtin import example_sketch
from sketchwidgets.data.strokes import Sketch
from sketchwidgets.data.trace import trace_sketch
from sketchwidgets.drawing.line_stats import LineStats, line_stats
from sketchwidgets.drawing.normaliser import normalise_sketch
from sketchwidgets.io import tensor_to_image
from sketchwidgets.sketch_input import prepare_sketch
from sketchwidgets.train import recipe_data
from sketchwidgets.widgets import SketchCanvas

SIZE = 64
PEN_WIDTHS = (2, 4, 6, 8, 10, 12)
CARDS = {  # one shipped checkpoint per kind of training sketch
    "classroom": "pix2pix/classroom",
    "faces": "pix2pix/faces",
    "shoes": "pix2pix/shoes_handbags",
    "sketchy": "sketchygan/sketchy",
}


def target(kind: str) -> LineStats:
    return LineStats.from_dict(pretrained.read_card(CARDS[kind])["line_stats"])


def misses(measured: LineStats, wanted: LineStats) -> list[str]:
    """Which of the tolerances in the module docstring ``measured`` misses."""
    problems = []
    if measured.dark_on_light != wanted.dark_on_light:
        problems.append("polarity")
    if abs(measured.stroke_width - wanted.stroke_width) > max(0.5, 0.35 * wanted.stroke_width):
        problems.append(f"width {measured.stroke_width:.2f} vs {wanted.stroke_width:.2f}")
    if abs(measured.line_grey - wanted.line_grey) > 48:
        problems.append(f"grey {measured.line_grey:.0f} vs {wanted.line_grey:.0f}")
    if measured.shading_share > wanted.shading_share + 0.1:
        problems.append(f"shading {measured.shading_share:.2f}")
    if not 1 / 3 <= measured.ink_share / wanted.ink_share <= 3:
        problems.append(f"ink {measured.ink_share:.3f} vs {wanted.ink_share:.3f}")
    return problems


def canvas_drawing(pen_width: float, subject: str | Sketch = "mug") -> np.ndarray:
    """The example ``subject`` (or a Sketch) drawn stroke by stroke on a 256-px SketchCanvas."""
    canvas = SketchCanvas(256, 256, live_ink=False)
    canvas.pen_width = pen_width
    strokes = example_sketch(subject).strokes if isinstance(subject, str) else subject.strokes
    for stroke in strokes:
        canvas.begin_stroke(*stroke.points[0])
        for point in stroke.points[1:]:
            canvas.extend_stroke(*point)
        canvas.end_stroke()
    return canvas.to_array()


@pytest.fixture(scope="module")
def drawings() -> dict[int, np.ndarray]:
    return {width: canvas_drawing(width) for width in PEN_WIDTHS}


def held_out_faces(shared_data, n: int = 4) -> list[Sketch]:
    """The first ``n`` held-out XDoG faces of the face recipe, traced into canvas strokes."""
    shared_data(pretrained.DATASETS["faces"]["source"])
    _, held_out = recipe_data.splits(pretrained.recipe(CARDS["faces"]))
    return [trace_sketch(tensor_to_image(held_out[i]["sketch"])) for i in range(n)]


def check_every_width(kind: str, subjects: list) -> None:
    wanted = target(kind)
    for subject in subjects:
        for width in PEN_WIDTHS:
            normalised = normalise_sketch(canvas_drawing(width, subject), wanted)
            assert normalised.shape == (SIZE, SIZE) and normalised.dtype == np.uint8
            assert misses(line_stats(normalised, SIZE), wanted) == [], (kind, width)


@pytest.mark.parametrize("kind", ["classroom", "shoes", "sketchy"])
def test_canvas_strokes_at_every_pen_width_come_out_in_the_training_style(kind):
    check_every_width(kind, ["mug"])


def test_canvas_faces_at_every_pen_width_come_out_in_the_xdog_style(shared_data):
    check_every_width("faces", held_out_faces(shared_data))


@pytest.mark.parametrize("kind", ["classroom", "shoes", "sketchy"])
def test_the_widest_pen_is_out_of_style_before_normalising(kind, drawings):
    raw = prepare_sketch(drawings[12], SIZE).tensor
    raw_image = ((raw[0, 0].numpy() + 1) * 127.5).round().astype(np.uint8)
    assert any("width" in m for m in misses(line_stats(raw_image, SIZE), target(kind)))


def pencil_drawing() -> np.ndarray:
    """Grey pencil strokes over light, grainy shading on slightly grey paper."""
    rng = np.random.default_rng(0)
    lines = canvas_drawing(3, "apple").astype(np.float32)
    paper = np.full((256, 256), 240.0)
    paper[100:230, 40:200] = 215  # the shaded side
    grain = rng.normal(0, 6, paper.shape)
    pencil = np.where(lines < 128, 125 + (lines / 255) * 100, paper + grain)
    return np.clip(pencil, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", sorted(CARDS))
def test_pencil_shading_is_binarised_and_redrawn(kind):
    drawing, wanted = pencil_drawing(), target(kind)
    assert misses(line_stats(drawing, SIZE), wanted) != []
    assert misses(line_stats(normalise_sketch(drawing, wanted), SIZE), wanted) == []


@pytest.mark.parametrize("kind", sorted(CARDS))
def test_an_inverted_drawing_comes_out_dark_on_light(kind, drawings):
    inverted, wanted = 255 - drawings[8], target(kind)
    assert "polarity" in misses(line_stats(inverted, SIZE), wanted)
    prepared = prepare_sketch(inverted, SIZE, line_stats=wanted).tensor
    seen = ((prepared[0, 0].numpy() + 1) * 127.5).round().astype(np.uint8)
    assert misses(line_stats(seen, SIZE), wanted) == []


def test_a_drawing_already_in_style_is_only_resized():
    wanted = target("classroom")
    drawing = canvas_drawing(7.5)  # about 1.9 px at 64: the classroom width
    assert misses(line_stats(drawing, SIZE), wanted) == []
    raw = prepare_sketch(drawing, SIZE).tensor
    normalised = prepare_sketch(drawing, SIZE, line_stats=wanted).tensor
    assert raw.equal(normalised)


def test_a_model_trained_on_light_lines_gets_light_lines():
    wanted = LineStats(**{**target("classroom").to_dict(), "dark_on_light": False})
    seen = normalise_sketch(canvas_drawing(12), wanted)
    assert line_stats(seen, SIZE).dark_on_light is False
    assert misses(line_stats(seen, SIZE), wanted) == []
