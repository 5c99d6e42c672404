"""Write the classroom page's folder: ``build_page(out_dir, models)``.

The folder (served as is by any static web server)::

    index.html          the page
    assets/             its scripts and style (package data: sketchwidgets/web/assets/)
    runtime/            onnxruntime-web (the ``page`` extra)
    models/             <name>.onnx (+ the Contextual GAN's encoder) and their .json side files
    examples.json       the example sketches (strokes), one per class
    page.json           what the page loads: models, examples, canvas; also marks the folder

The page is built in a temporary folder beside ``out_dir`` and moved into place only when
complete, so a failed build leaves ``out_dir`` as it was. ``out_dir`` may be new, empty, or a
page built before (replaced); anything else (a file, a folder of other files) is refused with
:class:`PageError`, before any work.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from sketchwidgets.web.page_models import CANVAS, PEN_WIDTH, model_entry
from sketchwidgets.web.runtime import runtime_files

DEFAULT_MODELS = (
    "pretrained:pix2pix/classroom",
    "pretrained:contextual_gan/classroom",
    "pretrained:sketchygan/classroom",
    "pretrained:edgegan/classroom",
)
MANIFEST = "page.json"
PAGE_FORMAT = 1
ASSETS = (
    "index.html",
    "page.css",
    "page.js",
    "generator.js",
    "tile_worker.js",
    "tile_worker_client.js",
    "prepare.js",
    "sketch.js",
)


class PageError(ValueError):
    """A page cannot be built here (bad folder, a model twice); the message names it."""


def build_page(out_dir: str | os.PathLike, models: Sequence[str] = DEFAULT_MODELS) -> Path:
    """Write the classroom page for ``models`` (``pretrained:NAME`` or checkpoint paths) to
    ``out_dir``; returns its ``index.html``. See the module docstring."""
    out = Path(out_dir)
    check_destination(out)
    if not models:
        raise PageError("no models given: name at least one, e.g. pretrained:pix2pix/classroom")
    version, runtime = runtime_files()
    loaded = _load_models(models)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    try:
        _write_page(staging, loaded, runtime, version)
        _swap_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def check_destination(out: Path) -> None:
    """:class:`PageError` unless ``out`` is new, an empty folder, or a page built before."""
    if out.exists() and not out.is_dir():
        raise PageError(f"{out} is a file, not a folder: give a new or empty folder for the page")
    if out.is_dir() and any(out.iterdir()) and not is_page(out):
        raise PageError(
            f"{out} is not empty and holds no page built before (no {MANIFEST}): give a new or "
            "empty folder; nothing there was changed"
        )


def is_page(folder: Path) -> bool:
    """True when ``folder`` holds a page this builder wrote (its manifest says so)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("sketchwidgets_page") == PAGE_FORMAT


def _load_models(sources: Sequence[str]) -> dict[str, tuple[str, Any]]:
    """``{registry name: (source, model)}`` on the CPU; one model per registry name."""
    from sketchwidgets.inference import load

    loaded: dict[str, tuple[str, Any]] = {}
    for source in sources:
        model = load(source, device="cpu")
        if model.name in loaded:
            raise PageError(
                f"{source} and {loaded[model.name][0]} are both {model.name!r}: the page shows "
                "one checkpoint per model"
            )
        loaded[model.name] = (source, model)
    return loaded


def _write_page(folder: Path, models: dict[str, tuple[str, Any]], runtime: list[Path], version):
    """Everything the page needs, into ``folder``."""
    assets = resources.files("sketchwidgets.web") / "assets"
    (folder / "assets").mkdir()
    for name in ASSETS:
        target = folder / ("index.html" if name == "index.html" else f"assets/{name}")
        target.write_bytes((assets / name).read_bytes())
    (folder / "runtime").mkdir()
    for path in runtime:
        shutil.copyfile(path, folder / "runtime" / path.name)
    (folder / "models").mkdir()
    entries = [model_entry(name, src, m, folder / "models") for name, (src, m) in models.items()]
    (folder / "examples.json").write_text(json.dumps(_examples()) + "\n")
    manifest = {
        "sketchwidgets_page": PAGE_FORMAT,
        "runtime": {"package": "onnxruntime-web", "version": version},
        "canvas": CANVAS,
        "pen_width": PEN_WIDTH,
        "models": entries,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def _examples() -> list[dict[str, Any]]:
    """The built-in example sketch of every class, drawn on the page's canvas."""
    from sketchwidgets.data.builtin import CLASSES, example_sketch

    return [
        {"class": name, "sketch": example_sketch(name, size=CANVAS).to_dict()} for name in CLASSES
    ]


def _swap_into_place(staging: Path, out: Path) -> None:
    """Rename the finished ``staging`` onto ``out``; a previous page there goes only after."""
    staging.chmod(0o755)
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f".{out.name}.replaced")
    shutil.rmtree(old, ignore_errors=True)
    out.rename(old)
    try:
        staging.rename(out)
    except OSError:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
