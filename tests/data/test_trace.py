"""Tracing a machine-made sketch into canvas strokes, and redrawing it with another pen."""

from __future__ import annotations

import numpy as np

from sketchwidgets.data.strokes import rasterize
from sketchwidgets.data.trace import trace_sketch, with_pen
from sketchwidgets.drawing.line_stats import line_stats


def test_a_light_grey_edge_map_is_traced_whole_and_redrawn_at_any_width():
    edges = np.full((64, 64), 255, np.uint8)
    edges[20, 8:56] = 191  # light grey one-pixel lines, as the shoes' edge maps
    edges[8:56, 40] = 191
    sketch = trace_sketch(edges, canvas=256)
    assert sketch.width == sketch.height == 256 and sketch.strokes
    points = np.concatenate([np.asarray(s.points) for s in sketch.strokes])
    assert points[:, 0].min() < 40 and points[:, 0].max() > 216  # the whole horizontal line
    assert points[:, 1].min() < 40 and points[:, 1].max() > 216  # and the vertical one
    thick = rasterize(with_pen(sketch, 12), 256)
    assert abs(line_stats(thick, 256).stroke_width - 12) <= 1.5
    assert {s.width for s in with_pen(sketch, 12).strokes} == {12.0}
