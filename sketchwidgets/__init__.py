"""sketchwidgets: turn a sketch into a photo-like image, and learn how.

The core (everything but :mod:`sketchwidgets.widgets`) runs headless: it imports torch,
numpy, OpenCV and Pillow, never ipywidgets, ipycanvas or IPython.  Widgets are imported
explicitly: ``from sketchwidgets.widgets import SketchCanvas``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names, resolved lazily so that `import sketchwidgets` stays fast and cheap.
_LAZY = {
    "load": "sketchwidgets.inference",
    "build_model": "sketchwidgets.models",
    "MODELS": "sketchwidgets.models",
    "Trainer": "sketchwidgets.train.trainer",
    "sketchify": "sketchwidgets.data.sketchify",
    "embedded_pairs": "sketchwidgets.data.builtin",
}
_SUBPACKAGES = ("export",)  # sw.export.to_onnx(...), sw.export.to_torchscript(...)

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets import export
    from sketchwidgets.data.builtin import embedded_pairs
    from sketchwidgets.data.sketchify import sketchify
    from sketchwidgets.inference import load
    from sketchwidgets.models import MODELS, build_model
    from sketchwidgets.train.trainer import Trainer

__all__ = [
    "MODELS",
    "Trainer",
    "__version__",
    "build_model",
    "embedded_pairs",
    "export",
    "load",
    "sketchify",
]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBPACKAGES:
        return importlib.import_module(f"sketchwidgets.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sketchwidgets' has no attribute {name!r}")
