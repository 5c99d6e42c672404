"""The baselines every model is judged against, and the held-out figures a card records.

* :func:`heldout_metrics`: a model's SSIM / PSNR / L1 on a held-out set (batches of 16, noise
  seeded, each sketch with its own class when the model needs one);
* :func:`nearest_neighbour_metrics`: for each held-out sketch, the photo of the training
  sketch nearest in L2 after both are averaged down to 16x16 (retrieval, no learning);
* the mean photo is :func:`sketchwidgets.eval.domain_gap.mean_photo_metrics`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

EVAL_BATCH = 16


@torch.no_grad()
def heldout_metrics(model: Any, held_out: Dataset, *, seed: int = 0) -> dict[str, float]:
    """SSIM, PSNR and L1 of ``model`` on ``held_out`` (batches of 16, noise seeded by ``seed``,
    each sketch with its own class when the model needs one): what a card records."""
    return _scores(*heldout_images(model, held_out, seed=seed))


@torch.no_grad()
def heldout_images(
    model: Any, held_out: Dataset, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(generated, photos)`` on ``held_out``, on the CPU: the images :func:`heldout_metrics`
    scores (same batches, same seeded noise, each sketch with its own class)."""
    rng = torch.Generator().manual_seed(seed)
    fakes, reals = [], []
    for batch in DataLoader(held_out, batch_size=EVAL_BATCH, shuffle=False):
        sketch = batch["sketch"].to(model.device)
        label = model.label_indices(batch["label"], len(sketch)) if model.needs_label else None
        fakes.append(model.generate_tensor(sketch, rng=rng, label=label).float().cpu())
        reals.append(batch["photo"].float())
    return torch.cat(fakes), torch.cat(reals)


def nearest_neighbour_metrics(train: Dataset, held_out: Dataset) -> dict[str, float]:
    """The retrieval baseline: for each held-out sketch, the photo of the training sketch
    nearest in L2 after both are averaged down to 16x16 (so a line a pixel off still counts
    as close); scored against the held-out photos like a model."""
    return _scores(*nearest_neighbour_photos(train, held_out))


def nearest_neighbour_photos(
    train: Dataset, held_out: Dataset
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(retrieved, photos)``: the photos :func:`nearest_neighbour_metrics` scores."""
    train_data, held_data = stack_dataset(train), stack_dataset(held_out)
    train_sketches, train_photos = train_data["sketch"], train_data["photo"]
    held_sketches, held_photos = held_data["sketch"], held_data["photo"]
    nearest = torch.cdist(_coarse(held_sketches), _coarse(train_sketches)).argmin(dim=1)
    return train_photos[nearest], held_photos


def stack_dataset(dataset: Dataset) -> dict[str, torch.Tensor]:
    """``{"sketch", "photo", "label"}`` of every item, stacked (label -1 when absent)."""
    batches = list(DataLoader(dataset, batch_size=64, shuffle=False))
    stacked = {key: torch.cat([b[key] for b in batches]) for key in ("sketch", "photo")}
    if all("label" in b for b in batches):
        stacked["label"] = torch.cat([torch.as_tensor(b["label"]).long() for b in batches])
    else:
        stacked["label"] = torch.full((len(stacked["sketch"]),), -1, dtype=torch.long)
    return stacked


def materialised(dataset: Dataset) -> list[dict[str, torch.Tensor]]:
    """Every item of ``dataset`` read once and kept (``"sketch"``, ``"photo"``, ``"label"``): a
    dataset that draws its sketches on access, like a drawn hold-out, is drawn only once
    however often the list is read."""
    stacked = stack_dataset(dataset)
    return [
        {key: values[i] for key, values in stacked.items()} for i in range(len(stacked["sketch"]))
    ]


def _coarse(sketches: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(sketches.float(), 16).flatten(1)


def _scores(fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    from sketchwidgets.eval.metrics import l1, psnr, ssim

    return {"ssim": ssim(fake, real), "psnr": psnr(fake, real), "l1": l1(fake, real)}
