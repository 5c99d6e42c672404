"""Where the page's runtime (onnxruntime-web, from npm) is: the ``page`` extra's package.

The runtime's WebAssembly files are tens of MB, so they are not in the main wheel: the
``sketchwidgets-page-runtime`` distribution holds them (``sketchwidgets/web/runtime_dist/`` in
the repository; ``python sketchwidgets/web/runtime_dist/fetch.py`` takes them from npm, then
``pip install 'sketchwidgets[page]'``).
"""

from __future__ import annotations

from pathlib import Path

from sketchwidgets.export.exporter import MissingDependencyError

INSTALL_HINT = (
    "python sketchwidgets/web/runtime_dist/fetch.py && "
    "pip install ./sketchwidgets/web/runtime_dist (or: pip install "
    "'sketchwidgets[page]' where that package is published)"
)


class PageRuntimeMissing(MissingDependencyError):
    """The page's runtime (the ``page`` extra) is not installed, or its files are missing."""


def runtime_files() -> tuple[str, list[Path]]:
    """The runtime's version and its files; :class:`PageRuntimeMissing` when absent."""
    try:
        import sketchwidgets_page_runtime as runtime
    except ImportError:
        raise PageRuntimeMissing(
            "the classroom page needs onnxruntime-web (the 'page' extra), which is not "
            f"installed: {INSTALL_HINT}"
        ) from None
    if runtime.missing():
        raise PageRuntimeMissing(
            f"the page runtime in {runtime.directory()} lacks {', '.join(runtime.missing())}: "
            f"run {INSTALL_HINT}"
        )
    return runtime.VERSION, [runtime.directory() / name for name in runtime.FILES]
