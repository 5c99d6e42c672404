"""The training record: a pure store of ``(step, {name: value})``, with a JSON-lines run log.

:class:`History` holds numbers only; it draws nothing and imports neither matplotlib nor
IPython (views such as the console progress bar and the notebook ``LossPanel`` read it, as
livelossplot's ``MainLogger`` is read by its outputs).

The run log ``<run_dir>/history.jsonl`` has one JSON object per line::

    {"step": 12, "time": 1718000000.5, "G/gan": 0.71, "G/l1": 0.33, "D/real": 0.69}

Names are grouped by the prefix before the first ``/`` (``"G"``, ``"D"``, ``"val"``); names
without one fall in ``"other"``.  :class:`RunLogWriter` appends one line at a time and flushes
it, so the file can be re-read after a kernel restart (:meth:`History.from_jsonl`) or followed
while a run is going on (:class:`RunLogReader`).  A run killed mid-write leaves a truncated
last line, which readers skip with a warning.
"""

from __future__ import annotations

import json
import math
import os
import time as _time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

OTHER_GROUP = "other"
Record = dict[str, Any]  # {"step": int, "time": float, "<name>": float, ...}


class History:
    """Losses and metrics by step; append-only, JSON-serialisable, no drawing."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self.records: list[Record] = []
        for record in records:
            self._add(record)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and _same_records(self.records, other.records)

    def __repr__(self) -> str:
        last = self.records[-1]["step"] if self.records else None
        return f"History({len(self.records)} records, names={self.names()}, last step={last})"

    def append(self, step: int, values: dict[str, float], time: float | None = None) -> Record:
        """Record ``values`` (name -> number) at ``step``; returns the stored record."""
        record: Record = {"step": int(step), "time": _time.time() if time is None else time}
        for name, value in values.items():
            if name in ("step", "time"):
                raise ValueError(f"{name!r} is reserved in a History; rename the value")
            record[name] = float(value)
        return self._add(record)

    def extend(self, records: Iterable[Record]) -> None:
        """Add records read from a run log (dicts with ``step``, ``time`` and values)."""
        for record in records:
            self._add(record)

    def _add(self, record: Record) -> Record:
        if "step" not in record:
            raise ValueError(f"a history record needs a 'step': {record!r}")
        stored = {"step": int(record["step"]), "time": float(record.get("time", 0.0))}
        stored.update({k: float(v) for k, v in record.items() if k not in ("step", "time")})
        self.records.append(stored)
        return stored

    def names(self) -> list[str]:
        """Every value name, in order of first appearance."""
        seen: dict[str, None] = {}
        for record in self.records:
            seen.update(dict.fromkeys(k for k in record if k not in ("step", "time")))
        return list(seen)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one name as int64 / float64 arrays (empty when unknown)."""
        pairs = [(r["step"], r[name]) for r in self.records if name in r]
        steps = np.array([p[0] for p in pairs], dtype=np.int64)
        values = np.array([p[1] for p in pairs], dtype=np.float64)
        return steps, values

    def last(self, name: str) -> float:
        """The latest value of ``name``; KeyError naming the known names when absent."""
        for record in reversed(self.records):
            if name in record:
                return record[name]
        raise KeyError(f"no value named {name!r} in this history; known: {self.names()}")

    @property
    def last_step(self) -> int | None:
        """The step of the latest record, or None when empty."""
        return self.records[-1]["step"] if self.records else None

    def groups(self) -> dict[str, list[str]]:
        """Names grouped by prefix: ``{"G": ["G/gan", "G/l1"], "D": [...], "val": [...]}``."""
        grouped: dict[str, list[str]] = {}
        for name in self.names():
            grouped.setdefault(group_of(name), []).append(name)
        return grouped

    def until(self, step: int) -> History:
        """A copy holding only the records with ``record["step"] <= step`` (for a resume)."""
        return History(r for r in self.records if r["step"] <= step)

    def to_jsonl(self, path: str | os.PathLike) -> Path:
        """Write the whole history as a JSON-lines run log (atomically; replaces the file)."""
        from sketchwidgets.io import atomic_write

        text = "".join(_dump(r) for r in self.records)
        return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike) -> History:
        """Read a run log; a truncated last line (a killed run) is skipped with a warning."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"run log not found: {path}")
        return cls(_parse_lines(path, path.read_text(encoding="utf-8"), final=True))


def group_of(name: str) -> str:
    """The group of a value name: the text before the first ``/``, else ``"other"``."""
    head, sep, _ = name.partition("/")
    return head if sep and head else OTHER_GROUP


def ema(values: Iterable[float], alpha: float = 0.9) -> np.ndarray:
    """Exponential moving average ``s[t] = alpha * s[t-1] + (1 - alpha) * v[t]``, ``s[0] = v[0]``.

    ``alpha`` in [0, 1): 0 returns the values unchanged, values near 1 smooth more (the
    TensorBoard "smoothing" slider).  Non-finite values do not enter the average: their
    output is the running average so far (NaN before the first finite value).
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"ema alpha must be in [0, 1), got {alpha}")
    array = np.asarray(list(values), dtype=np.float64)
    out = np.empty_like(array)
    running = math.nan
    for i, value in enumerate(array):
        if math.isfinite(value):
            running = value if math.isnan(running) else alpha * running + (1 - alpha) * value
        out[i] = running
    return out


class RunLogWriter:
    """Append records to a JSON-lines run log, one flushed line per :meth:`write`.

    An existing file is continued; a truncated last line left by a killed run is cut off first
    so that the new lines stay parseable.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_partial_last_line(self.path)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: Record) -> None:
        """Append one record and flush it to the operating system."""
        self._file.write(_dump(record))
        self._file.flush()

    def close(self) -> None:
        """Close the file (further writes raise)."""
        self._file.close()

    def __enter__(self) -> RunLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RunLogReader:
    """Follow a run log while it grows: :meth:`poll` returns the records added since last time.

    Only complete lines are returned; a line still being written is kept for the next poll.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.offset = 0
        self._line_number = 0

    def poll(self) -> list[Record]:
        """New complete records (an empty list while the file is absent or unchanged)."""
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        text = complete.decode("utf-8")
        records = list(_parse_lines(self.path, text, final=False, first_line=self._line_number + 1))
        self._line_number += text.count("\n")
        return records


def _drop_partial_last_line(path: Path) -> None:
    """Cut a file back to its last newline (no-op when absent or already complete)."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as file:
            file.truncate(data.rfind(b"\n") + 1)


def _dump(record: Record) -> str:
    return json.dumps(record, separators=(", ", ": ")) + "\n"


def _parse_lines(path: Path, text: str, *, final: bool, first_line: int = 1) -> Iterator[Record]:
    """Records of a run log's text; only a bad *last* line of a finished file is forgiven."""
    lines = text.split("\n")
    unterminated = lines.pop()  # "" when the text ends with a newline
    for offset, line in enumerate(lines):
        if line.strip():
            yield _parse(path, line, first_line + offset)
    if unterminated.strip() and final:
        try:
            yield _parse(path, unterminated, first_line + len(lines))
        except ValueError:
            warnings.warn(
                f"{path}: skipped a truncated last line {first_line + len(lines)} "
                "(the run was probably interrupted while writing)",
                RuntimeWarning,
                stacklevel=3,
            )


def _parse(path: Path, line: str, number: int) -> Record:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: line {number} is not valid JSON ({error})") from error
    if not isinstance(record, dict) or "step" not in record:
        raise ValueError(f"{path}: line {number} is not a history record (needs a 'step')")
    step = record["step"]
    whole = isinstance(step, int) or (isinstance(step, float) and step.is_integer())
    if isinstance(step, bool) or not whole:
        raise ValueError(f"{path}: line {number}: step {step!r} is not a whole number")
    for name, value in record.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: line {number}: {name!r} is {value!r}, not a number")
    return record


def _same_records(a: list[Record], b: list[Record]) -> bool:
    """Record lists equal, with NaN == NaN (a diverged run logs NaN losses)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.keys() != y.keys():
            return False
        for key in x:
            if x[key] != y[key] and not (math.isnan(x[key]) and math.isnan(y[key])):
                return False
    return True
