"""Shared fixtures: the ../shared/data folders, a fast tiny dataset, temporary run folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sketchwidgets.device import torch_threads

REPO_ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"
# the same variable the notebooks read: a folder holding the shared data sets
SHARED_DATA = Path(os.environ.get("SKETCHWIDGETS_DATA", _DEFAULT_SHARED))
REQUIRE_SHARED = os.environ.get("SKETCHWIDGETS_REQUIRE_SHARED", "") == "1"


def shared_folder(name: str) -> Path:
    """``../shared/data/<name>``; skip (or fail when SKETCHWIDGETS_REQUIRE_SHARED=1) if absent."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        message = f"real data folder {folder} is absent (../shared is not beside this checkout)"
        if REQUIRE_SHARED:
            pytest.fail(message + " and SKETCHWIDGETS_REQUIRE_SHARED=1")
        pytest.skip(message)
    return folder


@pytest.fixture
def shared_data():
    """A function: ``shared_data("edges2shoes_subset")`` -> Path, or skip/fail."""
    return shared_folder


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and lose a lot when the CPU is shared."""
    with torch_threads(1):
        yield
