"""Export a trained model's generation to ONNX or TorchScript, checked against ``generate``.

* :func:`to_onnx` and :func:`to_torchscript` write the graph and its JSON side file
  (:mod:`sketchwidgets.export.exporter`; the graph itself is :mod:`sketchwidgets.export.graph`);
* :func:`run_exported` runs an exported one-shot graph without the model;
* :mod:`sketchwidgets.export.search` runs the Contextual GAN's search on its exported networks.
"""

from __future__ import annotations

import os

from sketchwidgets.export.exporter import (
    FORMATS,
    ExportError,
    ExportResult,
    MissingDependencyError,
    export,
    exported_inputs,
    run_exported,
    side_file_path,
)
from sketchwidgets.models.base import SketchModel

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportResult",
    "MissingDependencyError",
    "export",
    "exported_inputs",
    "run_exported",
    "side_file_path",
    "to_onnx",
    "to_torchscript",
]


def to_onnx(model: SketchModel, path: str | os.PathLike, *, check: bool = True) -> ExportResult:
    """Write ``model``'s generation to ``path`` as ONNX, plus ``<path>.json`` (checked)."""
    return export(model, path, "onnx", check=check)


def to_torchscript(
    model: SketchModel, path: str | os.PathLike, *, check: bool = True
) -> ExportResult:
    """Write ``model``'s generation to ``path`` as TorchScript, plus ``<path>.json`` (checked)."""
    return export(model, path, "torchscript", check=check)
