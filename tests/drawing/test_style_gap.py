"""In style or far off: a drawing's line statistics against a model's training sketches'."""

from __future__ import annotations

import dataclasses

from sketchwidgets.drawing.line_stats import LineStats
from sketchwidgets.drawing.style_gap import gap_hint, gap_notes, in_style

MODEL = LineStats(64, ink_share=0.08, stroke_width=2.0, line_grey=0.0, shading_share=0.01)


def drawing(**changes) -> LineStats:
    return dataclasses.replace(MODEL, **changes)


def test_the_training_style_itself_is_in_style_and_raises_no_hint():
    assert in_style(MODEL, MODEL) and gap_hint(MODEL, MODEL) is None


def test_in_style_tolerances():
    assert in_style(drawing(stroke_width=2.69, line_grey=48, shading_share=0.1), MODEL)
    assert not in_style(drawing(stroke_width=2.75), MODEL)  # over 35 % wider
    thin = drawing(stroke_width=0.8)
    assert in_style(drawing(stroke_width=1.3), thin)  # half a pixel is always allowed
    assert not in_style(drawing(line_grey=49), MODEL)
    assert not in_style(drawing(shading_share=0.12), MODEL)
    assert not in_style(drawing(dark_on_light=False), MODEL)
    assert in_style(drawing(ink_share=0.5), MODEL)  # more lines, drawn alike


def test_gap_hint_names_each_far_difference_in_one_line():
    far = drawing(ink_share=0.4, stroke_width=8.0, line_grey=130, shading_share=0.3,
                  dark_on_light=False)  # fmt: skip
    hint = gap_hint(far, MODEL)
    assert hint == (
        "unlike its training sketches: 5.0x the ink, 4.0x the line width, grey shading, "
        "grey (pencil) lines, inverted (light lines on dark)"
    )
    assert gap_notes(drawing(ink_share=0.02, stroke_width=0.5), MODEL) == [
        "1/4 of the ink",
        "1/4 of the line width",
    ]
    assert gap_notes(drawing(line_grey=0), drawing(line_grey=192)) == ["darker lines"]


def test_differences_under_the_thresholds_raise_no_hint():
    assert gap_hint(drawing(ink_share=0.23, stroke_width=5.9, line_grey=79), MODEL) is None
