"""Each model of the page: its ONNX files, written by the exporter, and its manifest entry.

A one-shot model (pix2pix, SketchyGAN, EdgeGAN) is its exported sketch graph; the entry
records the random draws ``generate(seed=0)`` makes, so the page's image is ``generate``'s
for seed 0. The Contextual GAN generates by a search with gradients, which onnxruntime cannot
run: its tile shows where the search starts, ``G(E(sketch))`` (its photo half passed with the
sketch through the completion refiner when the model has one), from the encoder, generator
and refiner files the exporter writes (the discriminator, which its side file names, stays
beside them unused: the export is kept whole).

The graphs are float32: the exporter writes no float16 graphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sketchwidgets.export.exporter import (
    encoder_path,
    export,
    exported_inputs,
    refiner_path,
    side_file_path,
)
from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.contextual_gan import ContextualGAN

SEED = 0  # the page's images are generate()'s for this seed
SEARCH_START_NOTE = "start of the search: G(E(sketch))"
REFINED_START_NOTE = "start of the search: G(E(sketch)), refined with the sketch"
CANVAS = 256  # the drawing canvas's side in CSS px (the studio's)
PEN_WIDTH = 4.0  # the page's one pen (the SketchCanvas default), black


def example_sketch_input(model: SketchModel) -> np.ndarray:
    """One real sketch at the model's size (uint8 ``(1, S, S)``), to record the draws with."""
    from sketchwidgets.data.builtin import example_sketch

    return model.model_input(example_sketch("apple").to_array(CANVAS))[None]


def model_entry(name: str, source: str, model: SketchModel, folder: Path) -> dict[str, Any]:
    """Export ``model`` into ``folder`` (``<name>.onnx`` and side file); its manifest entry."""
    path = folder / f"{name}.onnx"
    export(model, path, "onnx")
    entry: dict[str, Any] = {
        "name": name,
        "source": source,
        "image_size": model.image_size,
        "classes": list(model.class_names),
        "needs_label": bool(model.needs_label),
        "outputs": list(model.output_names),
        "side_file": side_file_path(path).name,
        "redraw": _redraw(model),
    }
    if isinstance(model, ContextualGAN):
        if model.encoder is None:
            raise ValueError(
                f"{source}: a Contextual GAN without a sketch encoder has no start to show in "
                "the page (its search starts from random codes)"
            )
        start = {
            "kind": "search_start",
            "generator": path.name,
            "encoder": encoder_path(path).name,
            "note": SEARCH_START_NOTE,
        }
        if model.refiner is not None:
            start |= {"refiner": refiner_path(path).name, "note": REFINED_START_NOTE}
        return entry | start
    return entry | {"kind": "one_shot", "file": path.name, "draws": _draws(model)}


def pen_in_style(model: SketchModel) -> bool:
    """True when drawings made with the page's pen already look like the model's training
    sketches (:func:`~sketchwidgets.drawing.style_gap.in_style`), judged on the example
    sketches redrawn with that pen: the normaliser then merely resizes them, and so does the
    page."""
    from sketchwidgets.data.builtin import CLASSES, example_sketch
    from sketchwidgets.data.strokes import Sketch, Stroke
    from sketchwidgets.drawing.line_stats import line_stats
    from sketchwidgets.drawing.style_gap import in_style

    target = model.line_stats.at_size(model.image_size)
    for name in CLASSES:
        strokes = example_sketch(name, size=CANVAS).strokes
        drawn = Sketch(CANVAS, CANVAS, [Stroke(s.points, width=PEN_WIDTH) for s in strokes])
        if not in_style(line_stats(drawn.to_array(CANVAS), model.image_size), target):
            return False
    return True


def _redraw(model: SketchModel) -> dict[str, Any] | None:
    """How the page prepares a drawing: None to area-resize it (no line statistics, or the
    page's pen already draws in the training style), else the pen to redraw its strokes with
    at the model's side: the training width (model px) and grey."""
    stats = model.line_stats
    if stats is None or pen_in_style(model):
        return None
    stats = stats.at_size(model.image_size)
    return {
        "width": round(stats.stroke_width, 4),
        "grey": round(stats.line_grey, 2),
        "dark_on_light": bool(stats.dark_on_light),
    }


def _draws(model: SketchModel) -> dict[str, dict[str, Any]]:
    """The graph's random-draw inputs as ``generate(seed=SEED)`` makes them (batch of one)."""
    label = model.class_names[0] if model.needs_label else None
    inputs = exported_inputs(model, example_sketch_input(model), seed=SEED, label=label)
    return {
        key: {"shape": list(value.shape), "data": [float(v) for v in value.ravel()]}
        for key, value in inputs.items()
        if key not in ("sketch", "label")
    }
