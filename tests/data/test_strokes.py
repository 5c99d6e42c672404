"""Stroke model: editing with undo/redo, JSON round trips, files, rasterization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sketchwidgets.data.strokes import (
    Sketch,
    SketchReadError,
    Stroke,
    from_polylines,
    rasterize,
)


def two_point_sketch(width: float = 4.0) -> Sketch:
    sketch = Sketch(100, 100)
    sketch.begin_stroke(10, 50, width=width)
    sketch.extend_stroke(90, 50)
    sketch.end_stroke()
    return sketch


def test_begin_extend_end_builds_a_stroke():
    sketch = Sketch(64, 64, pen_width=5.0)
    assert sketch.is_empty and not sketch.drawing
    sketch.begin_stroke(1, 2)
    assert sketch.drawing
    assert sketch.extend_stroke(3, 4)
    assert not sketch.extend_stroke(3, 4)  # identical point skipped
    assert sketch.extend_stroke(5, 6)
    stroke = sketch.end_stroke()
    assert stroke == Stroke([(1, 2), (3, 4), (5, 6)], width=5.0, tool="pen")
    assert sketch.strokes == [stroke] and not sketch.is_empty
    assert not sketch.extend_stroke(7, 8)  # no stroke in progress
    assert sketch.end_stroke() is None


def test_pen_settings_and_per_stroke_overrides():
    sketch = Sketch()
    sketch.pen_width, sketch.tool = 7.0, "eraser"
    assert sketch.begin_stroke(0, 0).width == 7.0
    assert sketch.strokes[-1].tool == "eraser"
    assert sketch.is_empty  # eraser strokes leave no ink
    pen = sketch.begin_stroke(1, 1, width=2.0, tool="pen")
    assert (pen.width, pen.tool) == (2.0, "pen") and not sketch.is_empty
    with pytest.raises(ValueError, match="known tools"):
        sketch.begin_stroke(0, 0, tool="brush")
    with pytest.raises(ValueError, match="positive"):
        Stroke([(0, 0)], width=0)


def test_undo_redo_and_new_stroke_clears_redo():
    sketch = Sketch()
    assert not sketch.undo() and not sketch.redo()
    sketch.begin_stroke(0, 0)
    sketch.extend_stroke(1, 1)
    sketch.begin_stroke(5, 5)  # ends the first stroke
    sketch.end_stroke()
    assert len(sketch.strokes) == 2
    assert sketch.undo() and len(sketch.strokes) == 1
    assert sketch.undo() and sketch.strokes == []
    assert sketch.redo() and sketch.strokes[0].points == [(0, 0), (1, 1)]
    assert sketch.can_redo
    sketch.begin_stroke(9, 9)
    sketch.end_stroke()
    assert not sketch.can_redo and not sketch.redo()
    assert [s.points[0] for s in sketch.strokes] == [(0, 0), (9, 9)]


def test_clear_is_undoable():
    sketch = two_point_sketch()
    before = list(sketch.strokes)
    sketch.clear()
    assert sketch.strokes == [] and sketch.is_empty
    sketch.clear()  # clearing an empty sketch records nothing
    assert sketch.undo()
    assert sketch.strokes == before
    assert sketch.redo() and sketch.strokes == []


def test_undo_during_a_stroke_removes_it():
    sketch = Sketch()
    sketch.begin_stroke(0, 0)
    sketch.extend_stroke(3, 3)
    assert sketch.undo()
    assert sketch.strokes == [] and not sketch.drawing


def test_json_round_trip():
    sketch = two_point_sketch()
    sketch.begin_stroke(20, 20, width=9.5, tool="eraser")
    sketch.end_stroke()
    text = sketch.to_json()
    assert json.loads(text)["strokes"][1] == {
        "points": [[20.0, 20.0]],
        "width": 9.5,
        "tool": "eraser",
    }
    again = Sketch.from_json(text)
    assert again == sketch and again is not sketch
    assert Sketch.from_dict(sketch.to_dict()).to_dict() == sketch.to_dict()
    with pytest.raises(ValueError, match="not a sketch dict"):
        Sketch.from_dict({"strokes": []})


def test_save_load_and_errors_name_the_file(tmp_path):
    sketch = two_point_sketch()
    path = sketch.save(tmp_path / "drawing.json")
    assert Sketch.load(path) == sketch
    with pytest.raises(FileExistsError, match="drawing.json"):
        sketch.save(path)
    Sketch(10, 10).save(path, overwrite=True)
    assert Sketch.load(path).width == 10
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SketchReadError, match="bad.json"):
        Sketch.load(tmp_path / "bad.json")
    with pytest.raises(SketchReadError, match="missing.json.*not found"):
        Sketch.load(tmp_path / "missing.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "drawing.json"]


def test_empty_sketch_is_all_white():
    image = rasterize(Sketch(), 64)
    assert image.shape == (64, 64) and image.dtype == np.uint8 and (image == 255).all()


@pytest.mark.parametrize("antialias", [True, False])
def test_segment_is_a_continuous_line(antialias):
    image = rasterize(two_point_sketch(), 100, antialias=antialias)
    inked_columns = (image < 128).any(axis=0)
    assert inked_columns[10:90].all()
    assert not inked_columns[:6].any() and not inked_columns[95:].any()
    rows = np.nonzero((image < 128).any(axis=1))[0]
    assert rows.min() >= 47 and rows.max() <= 52
    if not antialias:
        assert set(np.unique(image)) == {0, 255}


def test_width_scales_with_size():
    sketch = two_point_sketch(width=6.0)
    small = (rasterize(sketch, 100) < 128)[:, 50].sum()
    large = (rasterize(sketch, 300) < 128)[:, 150].sum()
    assert 5 <= small <= 7
    assert 16 <= large <= 20
    assert rasterize(sketch, (50, 200)).shape == (50, 200)
    assert sketch.to_array().shape == (100, 100)


def test_round_caps_and_dots():
    sketch = Sketch(100, 100)
    sketch.begin_stroke(50, 50, width=10)
    sketch.end_stroke()
    image = rasterize(sketch, 100)
    ink = image < 128
    assert 60 < ink.sum() < 100  # area of a disc of diameter 10 is about 79
    assert ink[50, 50] and not ink[44, 44]  # round, not square


def test_eraser_paints_white_in_drawing_order():
    sketch = two_point_sketch(width=6.0)
    sketch.begin_stroke(50, 10, width=10, tool="eraser")
    sketch.extend_stroke(50, 90)
    sketch.end_stroke()
    image = rasterize(sketch, 100)
    assert (image[:, 47:54] > 200).all()  # erased gap
    assert (image[50, 20:40] < 128).all()  # ink elsewhere remains
    sketch.begin_stroke(50, 40, width=4)
    sketch.extend_stroke(50, 60)
    assert (rasterize(sketch, 100)[45:56, 50] < 128).all()  # pen after eraser draws again


def test_from_polylines():
    sketch = from_polylines(
        [([0, 50, 100], [10, 10, 10]), ([5], [5])], width=255, height=255, stroke_width=2.0
    )
    assert len(sketch.strokes) == 2 and sketch.strokes[0].width == 2.0
    assert sketch.strokes[0].points[1] == (50.0, 10.0)
    with pytest.raises(ValueError, match="polyline 0"):
        from_polylines([([0, 1], [0])])
