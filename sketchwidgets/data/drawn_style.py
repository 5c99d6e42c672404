"""Drawn-style sketches: any photo redrawn as a hand would draw it on the SketchCanvas.

:func:`drawn_sketch` finds the photo's lines at canvas size
(:func:`~sketchwidgets.data.photo_lines.photo_lines`, Canny or XDoG centre lines), traces them
into strokes (:func:`~sketchwidgets.data.stroke_tracing.trace_polylines`, Douglas-Peucker
simplified), and makes each stroke look drawn: short strokes are left out and a few more
dropped, the stroke is shifted and turned a little as a whole, its points wobble and are
rounded off (Chaikin's corner cutting), its ends overshoot or stop short, long strokes are
broken by a gap, and one pen width is drawn for the sketch. The result is a
:class:`~sketchwidgets.data.strokes.Sketch` on a 256 px canvas, and :func:`render_drawn`
rasterises it with :func:`~sketchwidgets.data.strokes.rasterize`, the rasteriser of the canvas
widget, so a training sketch and a canvas drawing are the same kind of image.

Every random choice comes from the generator handed in: the same seed gives the same sketch.
:class:`HandStyle` holds the ranges (in canvas pixels; a 256 px canvas drawn at 64 px makes
a 4 px pen a 1 px line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sketchwidgets.data.photo_lines import LINE_SOURCES, photo_lines
from sketchwidgets.data.stroke_tracing import polyline_length, trace_polylines
from sketchwidgets.data.strokes import Sketch, Stroke, rasterize

Seed = int | np.random.Generator


@dataclass(frozen=True)
class HandStyle:
    """The ranges a drawn-style sketch is drawn from (lengths in canvas pixels)."""

    canvas: int = 256
    pen_width: tuple[float, float] = (2.0, 10.0)  # one per sketch, log-uniform
    width_spread: float = 0.15  # each stroke's width varies by up to this share
    simplify: tuple[float, float] = (1.0, 3.0)  # Douglas-Peucker tolerance
    min_length: tuple[float, float] = (6.0, 18.0)  # shorter strokes are left out
    dropout: tuple[float, float] = (0.0, 0.15)  # share of the remaining strokes dropped
    shift: float = 2.0  # standard deviation of a stroke's shift as a whole
    turn: float = 2.0  # standard deviation of a stroke's turn about its centre, degrees
    wobble: float = 0.8  # standard deviation of each point's own offset
    overshoot: tuple[float, float] = (-3.0, 6.0)  # each end: stops short (<0) or overshoots
    gap_chance: float = 0.3  # a stroke longer than 4 gaps is broken once
    gap: tuple[float, float] = (3.0, 10.0)
    rounding: int = 2  # passes of Chaikin's corner cutting
    sources: tuple[str, ...] = LINE_SOURCES  # where the lines come from, drawn per sketch


DEFAULT_STYLE = HandStyle()


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def chaikin(points: np.ndarray, passes: int) -> np.ndarray:
    """Chaikin's corner cutting of an open polyline (its two ends stay where they are)."""
    for _ in range(passes):
        if len(points) < 3:
            return points
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2], cut[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut[1:-1], points[-1:]])
    return points


def _extend(points: np.ndarray, first: float, last: float) -> np.ndarray:
    """Move both ends along the stroke's end directions (negative: pull the end back)."""
    out = points.copy()
    for end, inner, amount in ((0, 1, first), (-1, -2, last)):
        direction = out[end] - out[inner]
        norm = float(np.linalg.norm(direction))
        if norm > 1e-6:
            out[end] = out[end] + direction / norm * max(amount, 0.5 - norm)
    return out


def _move_whole(points: np.ndarray, rng: np.random.Generator, style: HandStyle) -> np.ndarray:
    """Shift and turn a stroke as a whole, about its centre."""
    angle = np.deg2rad(rng.normal(0.0, style.turn))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = points.mean(axis=0)
    return (points - centre) @ rotation.T + centre + rng.normal(0.0, style.shift, 2)


def _break(points: np.ndarray, rng: np.random.Generator, style: HandStyle) -> list[np.ndarray]:
    """The stroke, or its two pieces either side of one gap."""
    gap = float(rng.uniform(*style.gap))
    length = polyline_length(points)
    if rng.random() >= style.gap_chance or length < 4 * gap:
        return [points]
    steps = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))]
    middle = float(rng.uniform(0.3, 0.7)) * length
    pieces = []
    for keep in (steps <= middle - gap / 2, steps >= middle + gap / 2):
        if keep.sum() >= 2:
            pieces.append(points[keep])
    return pieces


def hand_strokes(
    polylines: list[np.ndarray], rng: np.random.Generator, style: HandStyle = DEFAULT_STYLE
) -> list[Stroke]:
    """Turn traced polylines into pen strokes with a hand's errors (see the module notes)."""
    min_length = float(rng.uniform(*style.min_length))
    dropout = float(rng.uniform(*style.dropout))
    low, high = np.log(style.pen_width)
    width = float(np.exp(rng.uniform(low, high)))
    strokes = []
    for points in polylines:
        if polyline_length(points) < min_length or rng.random() < dropout:
            continue
        moved = _move_whole(points, rng, style)
        moved = moved + rng.normal(0.0, style.wobble, moved.shape)
        moved = _extend(moved, *rng.uniform(*style.overshoot, 2))
        own = width * (1.0 + float(rng.uniform(-style.width_spread, style.width_spread)))
        for piece in _break(moved, rng, style):
            smooth = chaikin(piece, style.rounding)
            strokes.append(Stroke([tuple(p) for p in smooth.tolist()], width=own))
    return strokes


def drawn_sketch(photo: np.ndarray, seed: Seed = 0, style: HandStyle = DEFAULT_STYLE) -> Sketch:
    """A :class:`Sketch` of ``photo`` (uint8 gray or RGB, any size) drawn in the hand style."""
    rng = _rng(seed)
    source = style.sources[int(rng.integers(len(style.sources)))]
    lines = photo_lines(photo, source, rng, canvas=style.canvas)
    polylines = trace_polylines(lines, epsilon=float(rng.uniform(*style.simplify)))
    return Sketch(style.canvas, style.canvas, hand_strokes(polylines, rng, style))


def render_drawn(
    photo: np.ndarray,
    seed: Seed = 0,
    *,
    size: int | None = None,
    style: HandStyle = DEFAULT_STYLE,
) -> np.ndarray:
    """``photo`` drawn in the hand style -> uint8 sketch array (black on white) at ``size``
    (default: the photo's height and width), rasterised as the SketchCanvas rasterises."""
    height, width = (size, size) if size is not None else photo.shape[:2]
    return rasterize(drawn_sketch(photo, seed, style), (height, width))
