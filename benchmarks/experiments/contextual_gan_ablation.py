"""Contextual GAN on the shared CelebA joint images: each data-limited option on and off.

Trains one model per row on the same split of ../shared/data/celeba_xdog_joint64 (or
$SKETCHWIDGETS_DATA; 12 % held out, seed 0), completes the held-out sketches by the latent
search and prints SSIM / PSNR against the true photos, beside the mean-photo and
nearest-neighbour baselines. Rows: the data_limited preset, the preset with one option flipped
(DiffAugment, spectral norm, minibatch std, EMA, R1, TTUR), and the paper's configuration (the
config's defaults).
``init`` is the photo half after the refined initialisation alone, ``search`` after the
search; ``spread`` is the mean pairwise distance of 64 samples G(z) over that of 64 real
joint images (collapse: near 0). The same seeds make every row see the same batches and codes::

    python benchmarks/experiments/contextual_gan_ablation.py --steps 250 --search-iters 20
    python benchmarks/experiments/contextual_gan_ablation.py --steps 1500 --search-iters 200
    python benchmarks/experiments/contextual_gan_ablation.py --rows data_limited paper --steps 300

The default budget (300 steps, 100 search iterations, 100 test faces) is a reduced one that
fits a 2-core CPU; it ranks the options early in training, not at convergence.

Findings and the measured tables: benchmarks/experiments/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import torch

from sketchwidgets.config import apply_overrides
from sketchwidgets.data.datasets import JointImageDataset, train_val_split
from sketchwidgets.eval.metrics import psnr, ssim
from sketchwidgets.models.contextual_gan import (
    ContextualGAN,
    ContextualGANConfig,
    joint_from_batch,
    standing_statistics,
)
from sketchwidgets.train.recipes import preset

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
# the project's recipe, whose options the rows flip one at a time
DATA_LIMITED = apply_overrides(ContextualGANConfig(), preset("contextual_gan/data_limited"))
WIDTH = 16  # gf_dim = df_dim: the budget of this CPU (the paper's 64 is ~10x slower per step)


def flipped(name: str) -> dict[str, object]:
    """The config change that turns one option of the preset the other way."""
    defaults = DATA_LIMITED
    off = {
        "augment": {"augment": "" if defaults.augment else "color,translation,cutout"},
        "spectral_norm": {"spectral_norm": not defaults.spectral_norm},
        "minibatch_std": {"minibatch_std": not defaults.minibatch_std},
        # the averaged G runs with its own standing batch-norm statistics (BigGAN)
        "ema": {"ema_decay": 0.0, "standing_stats": 0}
        if defaults.ema_decay
        else {"ema_decay": 0.99, "standing_stats": 1024},
        "r1": {"r1_gamma": 0.0 if defaults.r1_gamma else 1.0},
        "ttur": {"lr_d": 0.0 if defaults.lr_d else 4 * defaults.lr},
        # the sketch encoder trained with G by reconstruction, whose code starts the search
        "reconstruction": {"encoder_width": 0, "reconstruction_weight": 0.0}
        if defaults.reconstruction_weight
        else {"encoder_width": WIDTH, "reconstruction_weight": 100.0},
    }
    return off[name]


ROWS = (
    "data_limited",
    "augment",
    "spectral_norm",
    "minibatch_std",
    "ema",
    "r1",
    "ttur",
    "reconstruction",
    "paper",
)


def row_config(row: str, args: argparse.Namespace) -> ContextualGANConfig:
    """The config of one row, at the benchmark's width and search budget."""
    base = ContextualGANConfig() if row == "paper" else DATA_LIMITED
    changes = {} if row in ("data_limited", "paper") else flipped(row)
    return dataclasses.replace(
        base,
        gf_dim=WIDTH,
        df_dim=WIDTH,
        batch_size=args.batch or base.batch_size,
        search=dataclasses.replace(base.search, iterations=args.search_iters),
        # the encoder as wide as D, like the default's
        **{"encoder_width": WIDTH if base.encoder_width else 0, **changes},
    )


def load_split() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(train, test) tensors of the shared joint images, split 88 / 12 with seed 0."""
    root = Path(os.environ.get("SKETCHWIDGETS_DATA", DEFAULT_DATA))
    folder = root / "celeba_xdog_joint64" / "pairs_64x128"
    if not folder.is_dir():
        sys.exit(f"{folder} not found: put ../shared beside the checkout or set SKETCHWIDGETS_DATA")
    train, test = train_val_split(JointImageDataset(folder), val_fraction=0.12, seed=0)
    return stack(train), stack(test)


def stack(subset: torch.utils.data.Dataset) -> dict[str, torch.Tensor]:
    items = [subset[i] for i in range(len(subset))]  # type: ignore[arg-type]
    return {key: torch.stack([item[key] for item in items]) for key in ("sketch", "photo")}


def baselines(train: dict, test: dict) -> dict[str, torch.Tensor]:
    """Mean training photo, and the photo of the training sketch nearest in L2."""
    n = len(test["photo"])
    distance = torch.cdist(test["sketch"].flatten(1), train["sketch"].flatten(1))
    return {
        "mean photo": train["photo"].mean(0, keepdim=True).expand(n, -1, -1, -1),
        "nearest neighbour": train["photo"][distance.argmin(dim=1)],
    }


def train_model(config: ContextualGANConfig, train: dict, steps: int) -> ContextualGAN:
    """``steps`` updates on seeded random batches (the same for every row)."""
    torch.manual_seed(0)
    model = ContextualGAN(config)
    optimizers = model.configure_optimizers()
    batches = torch.Generator().manual_seed(1)
    for _ in range(steps):
        index = torch.randint(0, len(train["photo"]), (config.batch_size,), generator=batches)
        model.train_step({key: value[index] for key, value in train.items()}, optimizers)
    return model.eval()


@torch.no_grad()
def spread_ratio(model: ContextualGAN, train: dict) -> float:
    """Mean pairwise L2 distance of 64 samples over that of 64 real joint images."""
    if model.config.standing_stats:
        standing_statistics(model.sampler, model.config.standing_stats, model.sample_z)
    fake = model.sampler(model.sample_z(64, torch.Generator().manual_seed(2)))
    real = joint_from_batch({key: value[:64] for key, value in train.items()})
    return mean_distance(fake) / mean_distance(real)


def mean_distance(images: torch.Tensor) -> float:
    flat = images.flatten(1)
    n = len(flat)
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1)))


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, print the baselines and one line per row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--search-iters", type=int, default=100)
    parser.add_argument("--batch", type=int, default=0, help="0: each config's batch size")
    parser.add_argument("--test-images", type=int, default=100)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train, test = load_split()
    test = {key: value[: args.test_images] for key, value in test.items()}
    print(f"{len(train['photo'])} train / {len(test['photo'])} test faces; width {WIDTH}")
    for name, guess in baselines(train, test).items():
        print(f"{name:24s} {quality(guess, test['photo'])}")
    for row in args.rows:
        config = row_config(row, args)
        start = time.perf_counter()
        model = train_model(config, train, args.steps)
        trained = time.perf_counter() - start
        result = model.search(
            test["sketch"], rng=torch.Generator().manual_seed(0), snapshot_every=10**6
        )
        initial = result.snapshots[0][1][..., result.images.shape[-2] :]  # photo half, step 0
        label = row if row in ("data_limited", "paper") else f"{row} flipped"
        print(
            f"{label:24s} init: {quality(initial, test['photo'])}  "
            f"search: {quality(result.completion, test['photo'])}  "
            f"spread {spread_ratio(model, train):.2f}  ({trained:.0f} s training)",
            flush=True,
        )


def quality(photos: torch.Tensor, truth: torch.Tensor) -> str:
    return f"SSIM {ssim(photos, truth):.3f} PSNR {psnr(photos, truth):5.2f}"


if __name__ == "__main__":
    main()
