"""Shipped models side by side on one held-out split: the rows of the comparison notebook.

``notebooks/03_comparing_the_four.ipynb`` scores every shipped checkpoint of a dataset on the
same held-out sketches and puts the nearest-neighbour retrieval baseline beside them:

* SSIM, PSNR and L1 against the paired photo -- the images are those
  :func:`~sketchwidgets.eval.baselines.heldout_images` makes, so a model's figures are its card's;
* class accuracy: a small CNN (:func:`photo_classifier`) trained on the real *training*
  photos names the class of each generated image (the Inception-score idea of Salimans et al.
  2016 and SketchyGAN's Sec. 5.2, with a classifier of the dataset's own classes);
* diversity: the mean L1 (in [0, 1] units) between the images one sketch gives under
  different seeds, averaged over pairs of seeds and over sketches (0 for a model without noise);
* FID when the Inception file is here (:func:`~sketchwidgets.eval.metrics.find_fid_weights`).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from sketchwidgets.eval.baselines import heldout_images, nearest_neighbour_photos, stack_dataset
from sketchwidgets.eval.metrics import fid, l1, psnr, ssim

CLASSIFIER_SIZE = 32  # images are averaged down to 32 px before the classifier sees them
NEAREST = "nearest neighbour (retrieval)"


def photo_classifier(
    photos: torch.Tensor, labels: torch.Tensor, n_classes: int, *, steps: int, seed: int = 0
) -> nn.Module:
    """A small CNN (three conv-BN-ReLU-pool blocks, 32-64-128) trained for ``steps`` Adam steps
    of 32 on ``photos`` ``(N, 3, H, W)`` in [-1, 1] with flips and 3 px shifts; eval mode."""
    torch.manual_seed(seed)
    blocks: list[nn.Module] = []
    for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
        blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        blocks.append(nn.MaxPool2d(2))
    net = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, n_classes))
    images = _classifier_input(photos)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    rng = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        pick = torch.randint(len(images), (min(32, len(images)),), generator=rng)
        loss = F.cross_entropy(net(_augment(images[pick], rng)), labels[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def _classifier_input(images: torch.Tensor) -> torch.Tensor:
    x = images.float()
    return F.adaptive_avg_pool2d(x, CLASSIFIER_SIZE) if x.shape[-1] != CLASSIFIER_SIZE else x


def _augment(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and one shift of up to 3 px (reflection padding)."""
    flip = torch.rand(len(x), generator=rng) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dx, dy = torch.randint(-3, 4, (2,), generator=rng).tolist()
    return torch.roll(F.pad(x, (3, 3, 3, 3), mode="reflect"), (dy, dx), (2, 3))[..., 3:-3, 3:-3]


@torch.no_grad()
def class_accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` that ``classifier`` puts in the class ``labels`` names."""
    predicted = classifier.eval()(_classifier_input(images)).argmax(dim=1)
    return float((predicted == labels).float().mean())


def diversity(samples: Sequence[torch.Tensor]) -> float:
    """Mean L1 in [0, 1] units between every two of ``samples`` (one batch per seed, same
    sketches); 0.0 for fewer than two."""
    pairs = list(itertools.combinations(samples, 2))
    if not pairs:
        return 0.0
    return float(torch.stack([(a.float() - b.float()).abs().mean() / 2 for a, b in pairs]).mean())


@torch.no_grad()
def seed_diversity(
    model: Any, sketch: torch.Tensor, label: torch.Tensor | None, *, seeds: int
) -> float:
    """:func:`diversity` of ``model``'s images of ``sketch`` under seeds ``0 .. seeds-1``;
    0.0 for a model without noise."""
    if not model.has_noise:
        return 0.0
    label = label if model.needs_label else None
    samples = [
        model.generate_tensor(sketch, rng=torch.Generator().manual_seed(s), label=label)
        for s in range(seeds)
    ]
    return diversity(samples)


def comparison_rows(
    models: dict[str, Any],
    train: Dataset,
    held_out: Dataset,
    *,
    paired: bool = True,
    classifier: nn.Module | None = None,
    diversity_items: int = 8,
    seeds: int = 3,
    fid_weights: str | os.PathLike | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per model, then the nearest-neighbour baseline, then (with a classifier) the
    real held-out photos: ``name`` and the metrics that apply (``ssim``/``psnr``/``l1`` when
    ``paired``, ``class accuracy`` with a classifier, ``diversity`` over the first
    ``diversity_items`` sketches, ``fid`` with weights) and ``seconds`` to generate the
    held-out images."""
    data = stack_dataset(held_out)
    rows = []
    for name, model in models.items():
        started = time.perf_counter()
        fakes, photos = heldout_images(model, held_out, seed=seed)
        seconds = time.perf_counter() - started
        row = {"name": name, **_scores(fakes, photos, data["label"], paired, classifier)}
        label = data["label"][:diversity_items]
        sketch = data["sketch"][:diversity_items]
        row["diversity"] = seed_diversity(model, sketch, label, seeds=seeds)
        if fid_weights is not None:
            row["fid"] = fid([photos], [fakes], weights_path=fid_weights)
        row["seconds"] = seconds
        rows.append(row)
    retrieved, photos = nearest_neighbour_photos(train, held_out)
    row = {"name": NEAREST, **_scores(retrieved, photos, data["label"], paired, classifier)}
    row["diversity"] = 0.0
    if fid_weights is not None:
        row["fid"] = fid([photos], [retrieved], weights_path=fid_weights)
    rows.append(row)
    if classifier is not None:
        rows.append(
            {
                "name": "real held-out photos",
                **_scores(photos, photos, data["label"], False, classifier),
            }
        )
    return rows


def _scores(
    images: torch.Tensor,
    photos: torch.Tensor,
    labels: torch.Tensor,
    paired: bool,
    classifier: nn.Module | None,
) -> dict[str, float]:
    scores = {}
    if paired:
        scores = {
            "ssim": ssim(images, photos),
            "psnr": psnr(images, photos),
            "l1": l1(images, photos),
        }
    if classifier is not None:
        scores["class accuracy"] = class_accuracy(classifier, images, labels)
    return scores


COLUMNS = {  # key: (header, format)
    "ssim": ("SSIM ↑", "{:.3f}"),
    "psnr": ("PSNR dB ↑", "{:.2f}"),
    "l1": ("L1 ↓", "{:.3f}"),
    "class accuracy": ("class accuracy ↑", "{:.1%}"),
    "diversity": ("diversity", "{:.3f}"),
    "fid": ("FID ↓", "{:.1f}"),
    "seconds": ("seconds", "{:.1f}"),
}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table; a metric a row lacks is shown as an en dash."""
    keys = [k for k in COLUMNS if any(k in row for row in rows)]
    lines = ["| model | " + " | ".join(COLUMNS[k][0] for k in keys) + " |"]
    lines.append("|---|" + "---:|" * len(keys))
    for row in rows:
        cells = [COLUMNS[k][1].format(row[k]) if k in row else "–" for k in keys]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
