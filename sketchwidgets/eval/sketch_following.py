"""Does a model follow the drawing it is given? Two figures on a paired hold-out.

``dependence``
    The dilated IoU (:func:`~sketchwidgets.eval.shape_metrics.sketch_dependence`) of the Canny
    edges of each generated image with its own sketch, minus the same with another sketch of
    its class (all items are one class when the data has no labels, or when no class has two
    items, as in a handful of items of many classes). A model that ignores its
    input scores 0; one that redraws the sketch's lines scores up to 1.
``spread``
    :func:`~sketchwidgets.eval.shape_metrics.spread_ratio`: how much the generated images of
    one class differ from each other, over how much the real photos do. Near 0 = one picture
    for every drawing.

:func:`following_scores` measures both for a model; :func:`relative_to` divides a model's
figures by a reference model's (pix2pix on the same sketches), the ratio the goals are set on.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from sketchwidgets.data.sketchify import canny
from sketchwidgets.eval.baselines import heldout_images, materialised, stack_dataset
from sketchwidgets.eval.shape_metrics import sketch_dependence, spread_ratio
from sketchwidgets.io import image_to_tensor, tensor_to_image

FIGURES = ("dependence", "spread")


def image_edges(images: torch.Tensor) -> torch.Tensor:
    """Canny edges (dark lines on white, ``(N, 1, H, W)`` in [-1, 1]) of ``(N, C, H, W)``
    images in [-1, 1]."""
    return torch.stack([image_to_tensor(canny(tensor_to_image(image))) for image in images])


def following_scores(model: Any, held_out: Dataset, *, seed: int = 0) -> dict[str, float]:
    """``{"dependence", "spread"}`` of ``model`` on ``held_out`` (the images a card scores)."""
    held_out = materialised(held_out)  # type: ignore[assignment]
    generated, photos = heldout_images(model, held_out, seed=seed)
    return scores_of_images(generated, photos, held_out)


def scores_of_images(
    generated: torch.Tensor, photos: torch.Tensor, held_out: Dataset
) -> dict[str, float]:
    """``{"dependence", "spread"}`` of images already generated from ``held_out``'s sketches."""
    stacked = stack_dataset(held_out)
    labels = stacked["label"]
    if int(torch.bincount(labels - labels.min()).max()) < 2:
        labels = torch.zeros_like(labels)  # no class with two items: compare across all
    scores = sketch_dependence(stacked["sketch"], image_edges(generated), labels)
    return {
        "dependence": scores["matched"] - scores["shuffled"],
        "spread": spread_ratio(generated, photos, labels),
    }


def relative_to(scores: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """Each figure of ``scores`` over the same figure of ``reference``."""
    return {name: scores[name] / reference[name] for name in FIGURES}
