"""Where the public datasets live on this machine: ``$SKETCHWIDGETS_DATA``, else ``shared/data``.

The folders are laid out as ``docs/data.md`` describes (one folder a dataset, with its
MANIFEST). ``SKETCHWIDGETS_DATA=none`` hides them all: everything then takes the path a
student without the data takes (the notebooks fall back to the embedded set).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "SKETCHWIDGETS_DATA"
HIDDEN = "none"


def data_roots() -> list[Path]:
    """The folders searched, in order: ``$SKETCHWIDGETS_DATA``, then ``shared/data`` beside
    the checkout and beside the working directory's parent; none when it is ``none``."""
    setting = os.environ.get(DATA_ENV, "").strip()
    if setting.lower() == HIDDEN:
        return []
    roots = [Path(setting)] if setting else []
    roots += [Path(__file__).resolve().parents[3] / "shared" / "data"]
    roots += [parent / "shared" / "data" for parent in Path.cwd().parents[:3]]
    return list(dict.fromkeys(roots))


def find_shared_data(name: str) -> Path | None:
    """The folder ``name`` (e.g. ``"edges2shoes_subset"``) in the first root that has it."""
    for root in data_roots():
        if (root / name).is_dir():
            return (root / name).resolve()
    return None


def shared_data_folder(name: str) -> Path:
    """As :func:`find_shared_data`, but a missing folder raises ``FileNotFoundError`` that says
    where it looked and how to point the package at the data."""
    found = find_shared_data(name)
    if found is None:
        looked = [str(root) for root in data_roots()] or [f"nowhere ({DATA_ENV}={HIDDEN})"]
        raise FileNotFoundError(
            f"data folder {name!r} not found in {looked}: set {DATA_ENV} to the folder that "
            "holds it (docs/data.md says how to get and lay out each dataset)"
        )
    return found
