"""The page tests need the page runtime (the ``page`` extra): they skip without it, except in
CI (``CI=true``), where that is a failure, as the browser tests do without Chromium."""

from __future__ import annotations

import importlib.util
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module", autouse=True)
def page_runtime_installed() -> None:
    if importlib.util.find_spec("sketchwidgets_page_runtime") is None:
        folder = "sketchwidgets/web/runtime_dist"
        reason = (
            f"the page runtime is not installed (python {folder}/fetch.py; pip install ./{folder})"
        )
        if IN_CI:
            pytest.fail(reason + " (CI=true: the page tests must run)")
        pytest.skip(reason)
