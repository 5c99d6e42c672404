"""Fixtures for the real-browser tests: a private JupyterLab, headless Chromium, a page.

Every test here carries the ``browser`` marker (``pytest -m "not browser"`` leaves them out).
They skip when Debian's chromium or playwright is missing, except in CI (``CI=true``), where
that is a failure. JupyterLab serves a temporary copy of the notebooks (the tutorials and the
fixture notebooks in ``fixtures/``), so the committed files are never modified.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.browser import lab

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"
NOTEBOOKS = REPO_ROOT / "notebooks"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
UPDATE_SCREENSHOTS = os.environ.get("SKETCHWIDGETS_UPDATE_SCREENSHOTS", "") == "1"

# The fixture notebooks are opened by these tests, not run by nbval (`pytest tests --nbval-lax`).
collect_ignore_glob = ["fixtures/*"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected under tests/browser with ``browser``."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI where the browser tests must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def lab_server(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on 127.0.0.1 serving a temp copy of notebooks/*.ipynb and fixtures/*.ipynb."""
    if lab.chromium_path() is None:
        _unavailable(f"chromium not found at {lab.CHROMIUM} (apt-get install chromium)")
    root = tmp_path_factory.mktemp("lab-notebooks")
    lab.copy_notebooks(sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(FIXTURES.glob("*.ipynb")), root)
    server = lab.start_lab(root)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def playwright():
    """Playwright's sync API, started once: every browser here is launched from it."""
    if lab.chromium_path() is None:
        _unavailable(f"chromium not found at {lab.CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def chromium(playwright):
    """Headless Debian chromium (a playwright Browser; each launch gets a fresh profile)."""
    browser = lab.launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def webgpu_chromium(playwright):
    """Headless chromium with a software WebGPU adapter (SwiftShader), for one module."""
    browser = lab.launch_chromium(playwright, software_webgpu=True)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def page(chromium):
    """A fresh browser context and page (module scope: a notebook is opened once per module)."""
    context = chromium.new_context(viewport=lab.VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def classroom_page(tmp_path_factory: pytest.TempPathFactory):
    """The classroom page (``build_page`` with its four default models), built once and served
    by a static server: ``(folder, base URL)``."""
    from sketchwidgets.web import PageRuntimeMissing, build_page
    from tests.browser.static_site import serve

    folder = tmp_path_factory.mktemp("classroom") / "page"
    try:
        build_page(folder)
    except PageRuntimeMissing as error:
        _unavailable(str(error))
    with serve(folder) as url:
        yield folder, url


def pages_of(checkpoints: list[str]) -> list[list[str]]:
    """``checkpoints`` (``"<model>/<dataset>"``) on as few pages as hold them: a page shows one
    checkpoint per model, so each page takes the first of every model's remaining ones."""
    pages: list[list[str]] = []
    for checkpoint in checkpoints:
        model = checkpoint.split("/")[0]
        page = next((p for p in pages if all(c.split("/")[0] != model for c in p)), None)
        if page is None:
            pages.append(page := [])
        page.append(checkpoint)
    return pages


@pytest.fixture(scope="session")
def shipped_pages(classroom_page, tmp_path_factory: pytest.TempPathFactory):
    """Every shipped checkpoint on a served page: ``{checkpoint: base URL}``. The classroom
    checkpoints are the classroom page's; the others go on as few extra pages as hold them
    (``build_page`` with their ``pretrained:`` names)."""
    from sketchwidgets.pretrained import available
    from sketchwidgets.web import DEFAULT_MODELS, build_page
    from tests.browser.static_site import serve

    on_classroom = [source.removeprefix("pretrained:") for source in DEFAULT_MODELS]
    urls = dict.fromkeys(on_classroom, classroom_page[1])
    others = [name for name in available() if name not in urls]
    with contextlib.ExitStack() as stack:
        for number, checkpoints in enumerate(pages_of(others)):
            folder = tmp_path_factory.mktemp(f"shipped{number}") / "page"
            build_page(folder, [f"pretrained:{name}" for name in checkpoints])
            urls |= dict.fromkeys(checkpoints, stack.enter_context(serve(folder)))
        yield urls


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots/ with SKETCHWIDGETS_UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
