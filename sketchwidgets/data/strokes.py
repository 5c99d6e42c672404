"""The stroke model of a drawing: Stroke / Sketch dataclasses, editing with undo, JSON, rasterize.

A :class:`Sketch` is the source of truth for the canvas widget: mouse handlers only call
:meth:`Sketch.begin_stroke` / :meth:`Sketch.extend_stroke` / :meth:`Sketch.end_stroke`, and
:func:`rasterize` turns it into a *sketch array* (uint8 HxW, black ink on white) that looks like
the browser canvas drawn with ``lineCap = lineJoin = "round"``.

Coordinates are floats in the sketch's own pixel space: x in ``0..width``, y in ``0..height``,
origin at the top-left corner, as in the HTML canvas.  Stroke widths are in the same units and
scale with the raster size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sketchwidgets.io import atomic_write

TOOLS = ("pen", "eraser")
FORMAT_VERSION = 1
_SUPERSAMPLE = 4  # anti-aliasing: draw at 4x, then area-average down
_SHIFT = 4  # OpenCV sub-pixel bits for coordinates


class SketchReadError(ValueError):
    """A sketch file could not be read; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read sketch {self.path}: {reason}")


def _check_tool(tool: str) -> str:
    """Return ``tool`` if it is a known tool, else raise ValueError listing the known ones."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; known tools: {list(TOOLS)}")
    return tool


def _check_width(width: float) -> float:
    """Return a stroke width as float, rejecting non-positive values."""
    width = float(width)
    if not width > 0:
        raise ValueError(f"stroke width must be positive, got {width}")
    return width


@dataclass
class Stroke:
    """One pen or eraser stroke: a polyline of (x, y) points drawn with a round pen."""

    points: list[tuple[float, float]] = field(default_factory=list)
    width: float = 3.0
    tool: str = "pen"

    def __post_init__(self) -> None:
        self.points = [(float(x), float(y)) for x, y in self.points]
        self.width = _check_width(self.width)
        _check_tool(self.tool)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"points": [[x, y], ...], "width": w, "tool": t}``."""
        return {"points": [[x, y] for x, y in self.points], "width": self.width, "tool": self.tool}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stroke:
        """Inverse of :meth:`to_dict`."""
        points = [(p[0], p[1]) for p in data["points"]]
        return cls(points, data.get("width", 3.0), data.get("tool", "pen"))


@dataclass
class Sketch:
    """A drawing: canvas size, strokes in drawing order, pen settings, undo/redo history.

    Editing methods record history: :meth:`begin_stroke` and :meth:`clear` can be undone, and a
    new stroke empties the redo stack.  History and pen settings are not part of equality or of
    the saved file.
    """

    width: int = 256
    height: int = 256
    strokes: list[Stroke] = field(default_factory=list)
    pen_width: float = field(default=3.0, compare=False)
    tool: str = field(default="pen", compare=False)
    _undo: list[list[Stroke]] = field(default_factory=list, repr=False, compare=False)
    _redo: list[list[Stroke]] = field(default_factory=list, repr=False, compare=False)
    _active: Stroke | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"sketch size must be positive, got {self.width}x{self.height}")
        self.width, self.height = int(self.width), int(self.height)
        self.pen_width = _check_width(self.pen_width)
        _check_tool(self.tool)

    # ----------------------------------------------------------------- editing

    @property
    def drawing(self) -> bool:
        """True while a stroke is in progress (between begin_stroke and end_stroke)."""
        return self._active is not None

    @property
    def is_empty(self) -> bool:
        """True when no pen stroke has any point (eraser strokes alone leave no ink)."""
        return not any(s.tool == "pen" and s.points for s in self.strokes)

    @property
    def can_undo(self) -> bool:
        """True when there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """True when there is an undone edit to redo."""
        return bool(self._redo)

    def _record(self) -> None:
        """Push the current stroke list onto the undo stack and forget redo history."""
        self._undo.append(list(self.strokes))
        self._redo.clear()

    def begin_stroke(
        self, x: float, y: float, *, width: float | None = None, tool: str | None = None
    ) -> Stroke:
        """Start a stroke at (x, y) with the current pen settings unless overridden."""
        self.end_stroke()
        stroke = Stroke(
            [(x, y)],
            width=self.pen_width if width is None else width,
            tool=self.tool if tool is None else tool,
        )
        self._record()
        self.strokes = [*self.strokes, stroke]
        self._active = stroke
        return stroke

    def extend_stroke(self, x: float, y: float) -> bool:
        """Add (x, y) to the stroke in progress; False when none is, or the point repeats."""
        if self._active is None:
            return False
        point = (float(x), float(y))
        if self._active.points and self._active.points[-1] == point:
            return False
        self._active.points.append(point)
        return True

    def end_stroke(self) -> Stroke | None:
        """Finish the stroke in progress and return it (None when no stroke was in progress)."""
        stroke, self._active = self._active, None
        return stroke

    def add_stroke(self, stroke: Stroke) -> None:
        """Append a finished stroke as one undoable edit."""
        self.end_stroke()
        self._record()
        self.strokes = [*self.strokes, stroke]

    def clear(self) -> None:
        """Remove all strokes; undoable.  Clearing an empty sketch records nothing."""
        self.end_stroke()
        if not self.strokes:
            return
        self._record()
        self.strokes = []

    def undo(self) -> bool:
        """Revert the last edit (a stroke or a clear); False when there is nothing to undo."""
        self.end_stroke()
        if not self._undo:
            return False
        self._redo.append(self.strokes)
        self.strokes = self._undo.pop()
        return True

    def redo(self) -> bool:
        """Re-apply the last undone edit; False when there is nothing to redo."""
        self.end_stroke()
        if not self._redo:
            return False
        self._undo.append(self.strokes)
        self.strokes = self._redo.pop()
        return True

    # ----------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the size and strokes (history is not saved)."""
        return {
            "version": FORMAT_VERSION,
            "width": self.width,
            "height": self.height,
            "strokes": [s.to_dict() for s in self.strokes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sketch:
        """Inverse of :meth:`to_dict`; raises ValueError on a malformed dict."""
        try:
            strokes = [Stroke.from_dict(s) for s in data.get("strokes", [])]
            return cls(int(data["width"]), int(data["height"]), strokes)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a sketch dict ({type(error).__name__}: {error})") from error

    def to_json(self) -> str:
        """The sketch as a compact JSON string."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Sketch:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def copy(self) -> Sketch:
        """An independent copy of the strokes and pen settings (without history)."""
        clone = Sketch.from_dict(self.to_dict())
        clone.pen_width, clone.tool = self.pen_width, self.tool
        return clone

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the sketch as JSON atomically; refuses to overwrite unless asked."""
        target = Path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        text = self.to_json()
        return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sketch:
        """Read a sketch written by :meth:`save`; errors raise SketchReadError naming the file."""
        path = Path(path)
        if not path.is_file():
            raise SketchReadError(path, "file not found")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
            raise SketchReadError(path, str(error)) from error

    def to_array(self, size: int | tuple[int, int] | None = None) -> np.ndarray:
        """Rasterize at ``size`` (default: the sketch's own size) -> uint8 HxW sketch array."""
        return rasterize(self, (self.height, self.width) if size is None else size)


# --------------------------------------------------------------------- rasterize


def _raster_size(size: int | Sequence[int]) -> tuple[int, int]:
    """``size`` as (h, w): an int means a square."""
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        h, w = (int(v) for v in size)
    if h <= 0 or w <= 0:
        raise ValueError(f"raster size must be positive, got {size}")
    return h, w


def _draw_stroke(
    canvas: np.ndarray, stroke: Stroke, scale: tuple[float, float, float], line: int
) -> None:
    """Draw one stroke in place; ``scale`` = (x, y, width) scale factors of the canvas."""
    sx, sy, sw = scale
    colour = 0 if stroke.tool == "pen" else 255
    pts = np.asarray(stroke.points, np.float64).reshape(-1, 2)
    # canvas pixel (i, j) covers [i, i+1); OpenCV pixel centres sit at integers
    fixed = np.rint(((pts * (sx, sy)) - 0.5) * (1 << _SHIFT)).astype(np.int32)
    thickness = max(1, round(stroke.width * sw))
    if len(fixed) == 1 or np.all(fixed == fixed[0]):
        radius = max(1, round(stroke.width * sw / 2 * (1 << _SHIFT)))
        cv2.circle(canvas, tuple(int(v) for v in fixed[0]), radius, colour, -1, line, _SHIFT)
    else:
        cv2.polylines(canvas, [fixed], False, colour, thickness, line, _SHIFT)


def rasterize(sketch: Sketch, size: int | tuple[int, int], *, antialias: bool = True) -> np.ndarray:
    """Draw ``sketch`` at ``size`` (int or (h, w)) -> uint8 HxW, black ink on white.

    Strokes are drawn in order with round caps and joins (eraser strokes paint white); widths
    scale with the raster, by the geometric mean of the x and y scales.  With ``antialias`` the
    strokes are drawn at 4x and area-averaged, which also honours fractional widths; without it
    the output holds only 0 and 255.  Single-point strokes become dots of the stroke's width.
    """
    h, w = _raster_size(size)
    ss = _SUPERSAMPLE if antialias else 1
    sx, sy = w / sketch.width * ss, h / sketch.height * ss
    sw = float(np.sqrt(sx * sy))
    canvas = np.full((h * ss, w * ss), 255, np.uint8)
    line = cv2.LINE_AA if antialias else cv2.LINE_8
    for stroke in sketch.strokes:
        if stroke.points:
            _draw_stroke(canvas, stroke, (sx, sy, sw), line)
    if ss > 1:
        canvas = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def from_polylines(
    polylines: Iterable[tuple[Sequence[float], Sequence[float]]],
    *,
    width: int = 256,
    height: int = 256,
    stroke_width: float = 3.0,
) -> Sketch:
    """A Sketch from ``[(xs, ys), ...]`` polylines (the Quick, Draw! stroke format)."""
    strokes = []
    for i, (xs, ys) in enumerate(polylines):
        if len(xs) != len(ys):
            raise ValueError(f"polyline {i} has {len(xs)} x values but {len(ys)} y values")
        strokes.append(Stroke(list(zip(xs, ys, strict=True)), width=stroke_width))
    return Sketch(width, height, strokes)
