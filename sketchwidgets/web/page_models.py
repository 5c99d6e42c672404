"""Each model of the page: its ONNX files, written by the exporter, and its manifest entry.

A one-shot model (pix2pix, SketchyGAN, EdgeGAN) is its exported sketch graph; the entry
records the random draws ``generate(seed=0)`` makes, so the page's image is ``generate``'s
for seed 0. The Contextual GAN generates by a search with gradients, which onnxruntime cannot
run: its tile shows where the search starts, ``G(E(sketch))``, from the encoder and generator
files the exporter writes (the discriminator file is not needed and not copied).

The graphs are float32: the exporter writes no float16 graphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sketchwidgets.export.exporter import encoder_path, export, exported_inputs, side_file_path
from sketchwidgets.models.base import SketchModel
from sketchwidgets.models.contextual_gan import ContextualGAN

SEED = 0  # the page's images are generate()'s for this seed
SEARCH_START_NOTE = "start of the search: G(E(sketch))"
# the page redraws the canvas strokes at this share of the training stroke width (measured
# to come closest to the normaliser's output on the example sketches; docs/page.md)
REDRAW_WIDTH_SHARE = 0.59


def example_sketch_input(model: SketchModel) -> np.ndarray:
    """One real sketch at the model's size (uint8 ``(1, S, S)``), to record the draws with."""
    from sketchwidgets.data.builtin import example_sketch

    return model.model_input(example_sketch("apple").to_array(256))[None]


def model_entry(name: str, source: str, model: SketchModel, folder: Path) -> dict[str, Any]:
    """Export ``model`` into ``folder`` (``<name>.onnx`` and side file); its manifest entry."""
    path = folder / f"{name}.onnx"
    result = export(model, path, "onnx")
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
        discriminator = next(p for p in result.files if p.name.endswith(".discriminator.onnx"))
        discriminator.unlink()
        return entry | {
            "kind": "search_start",
            "generator": path.name,
            "encoder": encoder_path(path).name,
            "note": SEARCH_START_NOTE,
        }
    return entry | {"kind": "one_shot", "file": path.name, "draws": _draws(model)}


def _redraw(model: SketchModel) -> dict[str, float] | None:
    """How the page redraws a drawing for the model: pen width (model px) and grey."""
    stats = model.line_stats
    if stats is None:
        return None
    stats = stats.at_size(model.image_size)
    return {
        "width": round(REDRAW_WIDTH_SHARE * stats.stroke_width, 4),
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
