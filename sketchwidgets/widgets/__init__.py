"""Jupyter widgets: thin, Python-drivable views over the headless core.

Import them explicitly (the core never imports ipywidgets)::

    from sketchwidgets.widgets import SketchCanvas, CompareView

Every widget also displays as a static PNG plus a short text summary where no widget front
end exists (nbconvert, GitHub, nbval); ``WidgetRow([canvas, compare])`` puts widgets side by
side and keeps that picture (a plain ``HBox`` does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Public names, resolved lazily: importing one widget does not import the others' dependencies.
_LAZY = {
    "SketchCanvas": "sketchwidgets.widgets.sketch_canvas",
    "DatasetBrowser": "sketchwidgets.widgets.dataset_browser",
    "LossPanel": "sketchwidgets.widgets.loss_panel",
    "CompareView": "sketchwidgets.widgets.compare_view",
    "SketchStudio": "sketchwidgets.widgets.studio",
    "LatentSearchView": "sketchwidgets.widgets.latent_search_view",
    "WidgetRow": "sketchwidgets.widgets.widget_row",
}

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.widgets.compare_view import CompareView
    from sketchwidgets.widgets.dataset_browser import DatasetBrowser
    from sketchwidgets.widgets.latent_search_view import LatentSearchView
    from sketchwidgets.widgets.loss_panel import LossPanel
    from sketchwidgets.widgets.sketch_canvas import SketchCanvas
    from sketchwidgets.widgets.studio import SketchStudio
    from sketchwidgets.widgets.widget_row import WidgetRow

__all__ = [
    "CompareView",
    "DatasetBrowser",
    "LatentSearchView",
    "LossPanel",
    "SketchCanvas",
    "SketchStudio",
    "WidgetRow",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sketchwidgets.widgets' has no attribute {name!r}")
