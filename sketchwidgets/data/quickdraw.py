"""Quick, Draw! doodles: simplified ``.ndjson`` strokes, rendered to sketch images.

Reads the simplified format of the Quick, Draw! dataset (one JSON drawing a line: ``word``,
``drawing`` = strokes ``[[xs], [ys]]`` in a 0..255 box, ``recognized``, ``key_id``) from a
local file or folder; nothing is downloaded. :func:`load_quickdraw` returns a
:class:`QuickDrawDataset` of the package's item dicts; the doodles have no photos, so
``photo`` is the sketch as RGB.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from sketchwidgets.data.importers import (
    ImportedDataset,
    PairTransform,
    PathLike,
    _labels_for,
    _warn,
)
from sketchwidgets.data.pairs import EmptyDatasetError
from sketchwidgets.data.strokes import Sketch, from_polylines, rasterize
from sketchwidgets.io import to_rgb

QUICKDRAW_BOX = 256.0  # simplified Quick, Draw! coordinates lie in 0..255


class QuickDrawDataset(ImportedDataset):
    """Quick, Draw! doodles rendered at ``size``; unpaired, so ``photo`` is the sketch as RGB.

    ``.drawings`` holds each doodle as a :class:`~sketchwidgets.data.strokes.Sketch` (a
    256x256 box) for the canvas widget to replay; ``.words``, ``.key_ids`` and
    ``.recognized`` are per item. ``path`` is ``"<file>#<line>"`` (1-based line).
    """

    def __init__(
        self,
        drawings: list[Sketch],
        words: list[str],
        key_ids: list[str],
        recognized: list[bool],
        paths: list[str],
        *,
        size: int = 64,
        transform: PairTransform | None = None,
    ) -> None:
        labels, class_names = _labels_for(words)
        super().__init__(paths, labels, class_names, size=size, transform=transform)
        self.drawings = drawings
        self.words = words
        self.key_ids = key_ids
        self.recognized = recognized

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The drawing rendered at ``size``, and the same image as RGB."""
        sketch = rasterize(self.drawings[index], self.size or int(QUICKDRAW_BOX))
        return sketch, to_rgb(sketch)


def _parse_drawing(line: str) -> dict[str, Any]:
    """One ndjson line as a dict; ValueError when it is not a simplified-format drawing."""
    record = json.loads(line)
    strokes = record.get("drawing") if isinstance(record, dict) else None
    if not isinstance(strokes, list) or not isinstance(record.get("word"), str):
        raise ValueError("missing 'word' or 'drawing'")
    for stroke in strokes:
        if len(stroke) < 2 or len(stroke[0]) != len(stroke[1]) or not stroke[0]:
            raise ValueError("a stroke is not [xs, ys] of equal, non-zero length")
    return record


def _to_sketch(strokes: list, *, stroke_width: float, margin: float) -> Sketch:
    """Simplified strokes (0..255) as a 256x256 Sketch, shrunk to leave ``margin`` each side."""
    scale = (QUICKDRAW_BOX - 2 * margin) / (QUICKDRAW_BOX - 1)
    polylines = [
        ([margin + x * scale for x in xs], [margin + y * scale for y in ys])
        for xs, ys, *_ in strokes
    ]
    side = int(QUICKDRAW_BOX)
    return from_polylines(polylines, width=side, height=side, stroke_width=stroke_width)


def _read_ndjson(path: Path, *, recognized_only: bool, limit: int | None) -> list[tuple]:
    """(record, line number) of the usable lines of one file; bad lines warned and skipped."""
    kept, bad = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and len(kept) >= limit:
                break
            if not line.strip():
                continue
            try:
                record = _parse_drawing(line)
            except (ValueError, TypeError, IndexError) as error:
                bad.append((number, error))
                continue
            if record.get("recognized", True) or not recognized_only:
                kept.append((record, number))
    if bad:
        lines = ", ".join(str(n) for n, _ in bad[:10])
        _warn(f"{path}: skipped {len(bad)} malformed line(s) {lines} ({bad[0][1]})")
    return kept


def _ndjson_files(source: Path, classes: Iterable[str] | None) -> list[Path]:
    """The ndjson files of a file or folder (searched recursively), optionally by class."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"Quick, Draw! file or folder not found: {source}")
    files = sorted(source.rglob("*.ndjson"))
    if not files:
        raise FileNotFoundError(f"no .ndjson files in {source} (searched sub-folders too)")
    if classes is not None:
        wanted, known = set(classes), {f.stem for f in files}
        if wanted - known:
            raise KeyError(f"unknown Quick, Draw! class(es) {sorted(wanted - known)}")
        files = [f for f in files if f.stem in wanted]
    return files


def load_quickdraw(
    path_or_folder: PathLike,
    *,
    size: int = 64,
    stroke_width: float = 6.0,
    margin: float = 8.0,
    recognized_only: bool = False,
    limit: int | None = None,
    classes: Iterable[str] | None = None,
    transform: PairTransform | None = None,
) -> QuickDrawDataset:
    """Quick, Draw! simplified ``.ndjson`` drawings, rendered to ``size`` x ``size`` sketches.

    Parameters
    ----------
    path_or_folder
        One ``<class>.ndjson`` file, or a folder searched recursively for them.
    size
        Side of the rendered sketch images.
    stroke_width
        Pen width in the 256x256 drawing box (scaled with ``size``: 6 -> 1.5 px at 64).
    margin
        Blank border, in box units, so strokes touching 0 or 255 are not clipped.
    recognized_only
        Keep only drawings the game recognised (``"recognized": true``).
    limit
        At most this many drawings per file (the first ones).
    classes
        File stems to read (e.g. ``["cat", "alarm clock"]``); default all.

    Labels index the sorted ``word`` values. A malformed line is skipped with a
    :class:`DataWarning` naming the file and line number.
    """
    source = Path(path_or_folder).expanduser()
    drawings, words, key_ids, recognized, paths = [], [], [], [], []
    for file in _ndjson_files(source, classes):
        for record, number in _read_ndjson(file, recognized_only=recognized_only, limit=limit):
            drawings.append(_to_sketch(record["drawing"], stroke_width=stroke_width, margin=margin))
            words.append(record["word"])
            key_ids.append(str(record.get("key_id", "")))
            recognized.append(bool(record.get("recognized", True)))
            paths.append(f"{file}#{number}")
    if not drawings:
        raise EmptyDatasetError(f"no usable drawings in {source}")
    return QuickDrawDataset(
        drawings, words, key_ids, recognized, paths, size=size, transform=transform
    )
