"""Build a paired dataset from a folder of photos: photo -> sketch, written in any layout.

``build_dataset(src, dst, format=..., style=...)`` reads every image below ``src`` (class
subfolders are kept), makes each photo square by **centre-cropping to the shorter side and
resizing** to ``size`` (area filter when shrinking, bicubic when enlarging), optionally
whitens a plain background, draws the sketch with a style of
:mod:`sketchwidgets.data.sketchify`, and writes the pair as PNG in one of the layouts of
:mod:`sketchwidgets.data.pairs`:

=================  ==================================================================
``"paired"``       ``dst/sketch/[<class>/]<stem>.png`` + ``dst/photo/[<class>/]<stem>.png``
``"side_by_side"`` ``dst/[<class>/]<stem>.png``, sketch|photo (A|B), ``size x 2*size``
``"joint"``        ``dst/[<class>/]<stem>.png``, sketch|photo, ``size x 2*size`` (size 64)
=================  ==================================================================

Work is split into fixed chunks of photos that run in a process pool, with a
``tqdm.auto`` progress bar; ``workers=1`` runs them inline, and since the chunks do not
depend on the worker count the outputs are identical either way. The pool starts its
processes with ``forkserver`` (``spawn`` where that is missing), never plain ``fork``, which
can deadlock when the parent runs threads. So, as for any such pool, a *script* must call
``build_dataset`` under ``if __name__ == "__main__":`` (notebooks and ``python -m`` need
nothing); if the pool breaks anyway the build warns and finishes inline.

Bad files (unreadable, truncated, empty, not an image, a decompression bomb over Pillow's
pixel limit, or smaller than :data:`~sketchwidgets.io.MIN_IMAGE_SIDE` = 16 px on a side), and
entries named like images that are no files (a folder ``x.png/``, a symbolic link loop, a
broken link) are skipped with a warning naming them and listed in ``BuildReport.skipped``;
the rest finishes. Existing outputs are
kept (reported as ``(path, "exists")``) unless ``overwrite=True``. ``dst/build.json``
records format, style, params, size, count and source; building into a folder made with
other settings raises unless ``overwrite=True``.

Faults: the two files of a ``"paired"`` pair are written as a unit (the first is removed when
the second fails), and a half pair left by a killed build is completed by the next run
(``BuildReport.completed``). A write that fails (a full disk, a size limit, a read-only
folder) stops the build with an :class:`OSError` that keeps the ``errno`` and says how many
pairs are on disk; ``build.json``'s ``count`` is always the complete pairs on disk, as the
readers see them (:func:`~sketchwidgets.data.pairs.count_pairs`). Run the same build again
to finish: complete pairs are kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm.auto import tqdm

from sketchwidgets.data.pairs import (
    PHOTO_DIR,
    SKETCH_DIR,
    EmptyDatasetError,
    count_pairs,
    is_excluded,
    join_side_by_side,
    make_joint,
    read_exclusions,
    write_files,
)
from sketchwidgets.data.pool import process_pool
from sketchwidgets.data.sketchify import remove_background as whiten_background
from sketchwidgets.data.sketchify import sketchify
from sketchwidgets.data.transforms import square_resize
from sketchwidgets.io import (
    ImageReadError,
    ImageTooSmallError,
    atomic_write,
    check_min_size,
    is_image_file,
    list_images,
    not_a_file_reason,
    read_image,
)

FORMATS = ("paired", "side_by_side", "joint")
DEFAULT_SIZE = {"paired": 256, "side_by_side": 256, "joint": 64}
MANIFEST = "build.json"
CHUNK = 32  # photos per task: sketched as one batch, one progress-bar update
MAX_WARNINGS = 20  # bad files warned one by one; the rest in one summary warning


@dataclass
class BuildReport:
    """What :func:`build_dataset` did: files written, and ``(path, reason)`` per skipped one."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    completed: list[Path] = field(default_factory=list)  # sources whose half pair was redone

    def __str__(self) -> str:
        exists = sum(reason == "exists" for _, reason in self.skipped)
        bad = len(self.skipped) - exists
        done = f"; completed {len(self.completed)} half pairs" if self.completed else ""
        return (
            f"wrote {len(self.written)} files; kept {exists} existing; skipped {bad} bad files"
            + done
        )


@dataclass(frozen=True)
class _Recipe:
    """The settings every worker needs (picklable)."""

    format: str
    style: str
    params: dict[str, Any]
    size: int
    remove_background: bool
    overwrite: bool


@dataclass(frozen=True)
class _Job:
    """One photo and the file(s) it becomes."""

    source: Path
    outputs: tuple[Path, ...]
    replace: bool = False  # some outputs exist but not all: a half pair, rewritten whole


@dataclass
class _Result:
    """A job's outcome: the files written, or why the photo was skipped."""

    written: list[Path]
    reason: str | None = None


# --- planning (main process) ---------------------------------------------------------------


def _outputs(relative: Path, dst: Path, format: str) -> tuple[Path, ...]:
    """The output file(s) for a source file at ``relative`` below the source folder."""
    name = relative.with_suffix(".png")
    if format == "paired":
        return dst / SKETCH_DIR / name, dst / PHOTO_DIR / name
    return (dst / name,)


def _sources(src: Path, dst: Path) -> list[Path]:
    """Images below ``src``, minus ``src/excluded.txt`` entries and anything inside ``dst``."""
    excluded = read_exclusions(src)
    dst_resolved = dst.resolve()
    return [
        p
        for p in list_images(src)
        if not is_excluded(p.relative_to(src).as_posix(), excluded)
        and dst_resolved not in p.resolve().parents
    ]


def _not_files(src: Path, dst: Path) -> list[tuple[Path, str]]:
    """``(path, reason)`` for each entry below ``src`` named like an image that is no regular
    file (a folder ``x.png/``, a symbolic link loop, a broken link), outside ``dst``."""
    excluded = read_exclusions(src)
    dst_resolved = dst.resolve()
    found = []
    for path in sorted(src.glob("**/*")):
        if not is_image_file(path) or path.is_file():
            continue
        folder = path.parent.resolve()
        inside_dst = folder == dst_resolved or dst_resolved in folder.parents
        if not inside_dst and not is_excluded(path.relative_to(src).as_posix(), excluded):
            found.append((path, not_a_file_reason(path)))
    return found


def _plan(src: Path, dst: Path, format: str, overwrite: bool) -> tuple[list[_Job], BuildReport]:
    """Jobs to run, and a report already holding kept outputs, name clashes and entries named
    like images that are no files."""
    report, jobs, claimed = BuildReport(), [], {}
    report.skipped.extend(_not_files(src, dst))
    for source in _sources(src, dst):
        outputs = _outputs(source.relative_to(src), dst, format)
        if outputs[0] in claimed:
            report.skipped.append((source, f"same output name as {claimed[outputs[0]]}"))
            continue
        claimed[outputs[0]] = source
        existing = [p for p in outputs if p.exists()]
        if len(existing) == len(outputs) and not overwrite:
            report.skipped.append((existing[0], "exists"))
            continue
        half = bool(existing) and len(existing) < len(outputs)
        if half:
            report.completed.append(source)
        jobs.append(_Job(source, outputs, replace=half))
    return jobs, report


# --- per-photo work (worker processes) -------------------------------------------------------


def _load_photo(path: Path, recipe: _Recipe) -> np.ndarray:
    """The photo as uint8 RGB, square, at ``recipe.size`` (background whitened if asked)."""
    if path.is_file() and path.stat().st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    photo = read_image(path, "RGB")
    check_min_size(photo, "photo")
    photo = square_resize(photo, recipe.size)
    return whiten_background(photo) if recipe.remove_background else photo


def _write(job: _Job, sketch: np.ndarray, photo: np.ndarray, recipe: _Recipe) -> list[Path]:
    """Write one pair in the recipe's format; returns the paths written."""
    if recipe.format == "paired":
        images = [sketch, photo]
    elif recipe.format == "side_by_side":
        images = [join_side_by_side(sketch, photo)]
    else:
        images = [make_joint(sketch, photo, recipe.size)]
    items = list(zip(job.outputs, images, strict=True))
    return write_files(items, overwrite=recipe.overwrite or job.replace)


def _process_chunk(jobs: list[_Job], recipe: _Recipe) -> list[_Result]:
    """Load, sketch (one batch) and write a chunk of photos; bad photos become reasons."""
    results: list[_Result] = [_Result([]) for _ in jobs]
    photos: dict[int, np.ndarray] = {}
    for i, job in enumerate(jobs):
        try:
            photos[i] = _load_photo(job.source, recipe)
        except ImageReadError as error:
            results[i].reason = error.reason
        except ImageTooSmallError as error:
            results[i].reason = f"too small: {error}"
        except (ValueError, cv2.error) as error:
            results[i].reason = f"{type(error).__name__}: {error}"
    if photos:
        sketches = sketchify(list(photos.values()), recipe.style, **recipe.params)
        for (i, photo), sketch in zip(photos.items(), sketches, strict=True):
            results[i].written = _write(jobs[i], sketch, photo, recipe)
    return results


def _chunks(jobs: list[_Job]) -> list[list[_Job]]:
    """Fixed-size chunks, independent of the worker count (so outputs never depend on it)."""
    return [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]


def _run_pool(
    chunks: list[list[_Job]], recipe: _Recipe, workers: int
) -> Iterator[tuple[int, list[_Result]]]:
    """Yield ``(chunk index, results)`` from a process pool as chunks finish."""
    with process_pool(workers, preload=__name__) as pool:
        futures = {pool.submit(_process_chunk, chunk, recipe): i for i, chunk in enumerate(chunks)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:  # e.g. a full disk: start no further chunks
            for future in futures:
                future.cancel()
            raise


def _run(
    chunks: list[list[_Job]], recipe: _Recipe, workers: int
) -> Iterator[tuple[int, list[_Result]]]:
    """Yield ``(chunk index, results)`` for every chunk: pooled, else or after a failure inline."""
    finished: set[int] = set()
    if workers > 1:
        try:
            for index, results in _run_pool(chunks, recipe, workers):
                finished.add(index)
                yield index, results
        except BrokenProcessPool as error:
            warnings.warn(
                f"the process pool failed ({error}); finishing inline. In a script, "
                "call build_dataset under `if __name__ == '__main__':`",
                stacklevel=4,
            )
            # files of unfinished chunks were planned as new (or overwrite was asked), so a
            # half-written chunk may be redone
            recipe = dataclasses.replace(recipe, overwrite=True)
    for index, chunk in enumerate(chunks):
        if index not in finished:
            yield index, _process_chunk(chunk, recipe)


def _execute(
    jobs: list[_Job], recipe: _Recipe, workers: int | None, progress: bool, report: BuildReport
) -> None:
    """Run every job with a progress bar; add written files and bad photos to ``report``."""
    chunks = _chunks(jobs)
    done: dict[int, list[_Result]] = {}
    with tqdm(
        total=len(jobs), desc=f"build {recipe.format}", unit="photo", disable=not progress
    ) as bar:
        for index, results in _run(chunks, recipe, _workers(workers, len(chunks))):
            done[index] = results
            bar.update(len(results))
    for index, chunk in enumerate(chunks):
        for job, result in zip(chunk, done[index], strict=True):
            report.written.extend(result.written)
            if result.reason is not None:
                report.skipped.append((job.source, result.reason))


# --- driver ------------------------------------------------------------------------------------


def check_manifest(dst: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """Refuse to mix settings in one folder: a different ``build.json`` needs ``overwrite``."""
    file = dst / MANIFEST
    if overwrite or not file.is_file():
        return
    old = json.loads(file.read_text(encoding="utf-8"))
    changed = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
    if changed:
        raise ValueError(
            f"{dst} was built with other settings {changed} (old, new); "
            "choose another folder or pass overwrite=True"
        )


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as they read back from JSON (tuples become lists), for comparison."""
    return json.loads(json.dumps(params))


def write_manifest(dst: Path, settings: dict[str, Any], source: str) -> int:
    """Write ``dst/build.json``: ``settings``, the pairs on disk as ``count``, and ``source``.

    Returns the count (:func:`~sketchwidgets.data.pairs.count_pairs`: what the readers see).
    """
    count = count_pairs(dst, settings["format"])
    text = json.dumps({**settings, "count": count, "source": source}, indent=2) + "\n"
    dst.mkdir(parents=True, exist_ok=True)
    atomic_write(dst / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return count


def stopped_by(error: OSError, dst: Path, settings: dict[str, Any], source: str) -> OSError:
    """After a failed write: refresh ``build.json`` if possible, and the error to raise.

    The error keeps ``errno`` and says what failed, how many pairs are on disk and how to
    finish. When even ``build.json`` cannot be written, a stale one is removed so that no
    manifest overstates the count.
    """
    try:
        note = f"{write_manifest(dst, settings, source)} complete pairs are on disk in {dst}"
    except OSError:
        with contextlib.suppress(OSError):  # a read-only folder keeps its old manifest
            (dst / MANIFEST).unlink(missing_ok=True)
        note = f"{count_pairs(dst, settings['format'])} complete pairs are on disk in {dst} "
        note += f"({MANIFEST} could not be written)"
    reason = error.strerror or str(error)
    return OSError(
        error.errno,
        f"{reason}: stopped; {note}. Free space (or make the folder writable) and run the same "
        "command again to finish: complete pairs are kept, half pairs completed",
        error.filename,
    )


def _warn_skipped(report: BuildReport) -> None:
    """One warning per bad file (up to MAX_WARNINGS) and one for kept outputs."""
    bad = [(p, r) for p, r in report.skipped if r != "exists"]
    for path, reason in bad[:MAX_WARNINGS]:
        warnings.warn(f"skipped {path}: {reason}", stacklevel=3)
    if len(bad) > MAX_WARNINGS:
        warnings.warn(
            f"skipped {len(bad) - MAX_WARNINGS} more bad files; see report.skipped", stacklevel=3
        )
    kept = len(report.skipped) - len(bad)
    if kept:
        warnings.warn(
            f"kept {kept} existing output file(s); pass overwrite=True to rebuild", stacklevel=3
        )


def _workers(workers: int | None, n_chunks: int) -> int:
    """Worker count: ``None`` means every core, never more than there are chunks."""
    wanted = (os.cpu_count() or 1) if workers is None else workers
    if wanted < 1:
        raise ValueError(f"workers={workers}: must be >= 1 (or None for every core)")
    return max(1, min(wanted, n_chunks))


def build_dataset(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    format: str = "paired",
    style: str = "xdog",
    size: int | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    style_params: dict[str, Any] | None = None,
    remove_background: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Turn the photos below ``src`` into a ``format`` dataset in ``dst``; see module doc.

    Parameters
    ----------
    src
        Folder of photos, optionally in class subfolders (kept in ``dst``). Grayscale and
        RGBA photos are converted to RGB (transparency over white).
    dst
        Output folder (created).
    overwrite
        Replace outputs that already exist (else they are kept and reported as "exists"),
        and allow settings that differ from ``dst/build.json``.
    format
        ``"paired"``, ``"side_by_side"`` or ``"joint"``.
    style, style_params
        Sketch style name from ``SKETCHIFIERS`` and its keyword parameters.
    size
        Square side of each half; default 256 (64 for ``"joint"``).
    workers
        Processes; ``None`` uses every core, ``1`` runs inline.
    remove_background
        Whiten a plain/gradient background before sketching; the photo written is the
        whitened one, so sketch and photo stay consistent.
    progress
        Show a ``tqdm.auto`` progress bar.

    Returns
    -------
    BuildReport
        ``written`` paths, ``skipped`` ``(path, reason)`` pairs (reason ``"exists"`` for
        kept outputs, ``"too small: ..."`` for photos under 16 px) and ``completed`` sources
        whose half pair was rewritten.

    Raises
    ------
    OSError
        When an output cannot be written (full disk, read-only folder); see the module doc.
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r}: expected one of {FORMATS}")
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise FileNotFoundError(f"photo folder not found: {src}")
    size = size or DEFAULT_SIZE[format]
    params = dict(style_params or {})
    sketchify(np.full((8, 8, 3), 255, np.uint8), style, **params)  # fail fast on bad settings
    settings = {
        "format": format,
        "style": style,
        "params": _jsonable(params),
        "size": size,
        "remove_background": remove_background,
    }
    check_manifest(dst, settings, overwrite)
    recipe = _Recipe(format, style, params, size, remove_background, overwrite)
    jobs, report = _plan(src, dst, format, overwrite)
    if not jobs and not report.skipped:
        raise EmptyDatasetError(f"no images found in {src}")
    try:
        _execute(jobs, recipe, workers, progress, report)
    except OSError as error:
        raise stopped_by(error, dst, settings, str(src.resolve())) from error
    write_manifest(dst, settings, str(src.resolve()))
    _warn_skipped(report)
    return report
