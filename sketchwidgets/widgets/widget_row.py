"""WidgetRow: widgets side by side that still show as a picture once the notebook is saved.

An ``ipywidgets.HBox`` displays only as a live view: opened without a running kernel (on
GitHub, in an HTML export, in the notebook's stored outputs) it leaves an empty space.
``WidgetRow([canvas, compare])`` lays its children out as an HBox does and adds the static
fallback of :class:`~sketchwidgets.widgets._images.StaticFallback`: a PNG of every child's
current picture, side by side, and their summaries as the text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ipywidgets import HBox

from sketchwidgets.widgets._images import StaticFallback, side_by_side


class WidgetRow(StaticFallback, HBox):
    """An HBox whose saved output is its children's pictures side by side.

    Children without a static picture (a plain button, a label) are left out of the picture.
    """

    def __init__(self, children: Any = (), **kwargs: Any) -> None:
        super().__init__(children=list(children), **kwargs)
        self.add_class("sketchwidgets-row")

    def _pictured(self) -> list[StaticFallback]:
        return [child for child in self.children if isinstance(child, StaticFallback)]

    def static_image(self) -> np.ndarray:
        """Every pictured child's static image, left to right, top-aligned."""
        return side_by_side([child.static_image() for child in self._pictured()])

    def summary(self) -> str:
        """The children's summaries, joined by ``" | "``."""
        parts = [child.summary() for child in self._pictured()]
        return " | ".join(parts) if parts else "WidgetRow: nothing to picture"
