"""Contextual GAN on the shared CelebA joint images: one vs two G updates per D step.

Trains a small Contextual GAN (the data_limited preset) on ../shared/data/celeba_xdog_joint64
(or $SKETCHWIDGETS_DATA), prints D's balance at the end of training, then SSIM/PSNR of searched
completions on held-out faces, and writes a 4x4 grid of samples G(z). Run it twice to compare
schedules, e.g.::

    python benchmarks/experiments/contextual_gan_schedule.py --steps 1000 --generator-updates 2
    python benchmarks/experiments/contextual_gan_schedule.py --steps 1500 --generator-updates 1

Findings and the measured tables: benchmarks/experiments/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from sketchwidgets import build_model
from sketchwidgets.data.datasets import JointImageDataset, train_val_split
from sketchwidgets.eval.metrics import evaluate
from sketchwidgets.io import image_grid, tensor_to_image, write_image
from sketchwidgets.train.callbacks import HistoryRecorder
from sketchwidgets.train.recipes import preset
from sketchwidgets.train.trainer import Trainer

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def joint_folder() -> Path:
    root = Path(os.environ.get("SKETCHWIDGETS_DATA", DEFAULT_DATA))
    folder = root / "celeba_xdog_joint64" / "pairs_64x128"
    if not folder.is_dir():
        sys.exit(f"{folder} not found: put ../shared beside the checkout or set SKETCHWIDGETS_DATA")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--generator-updates", type=int, default=2)
    parser.add_argument("--width", type=int, default=16, help="gf_dim = df_dim")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--search-iters", type=int, default=150)
    parser.add_argument("--test-images", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/cgan_schedule"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train, test = train_val_split(JointImageDataset(joint_folder()), val_fraction=0.12, seed=0)
    model = build_model(
        "contextual_gan",
        **preset("contextual_gan/data_limited"),
        gf_dim=args.width,
        df_dim=args.width,
        generator_updates=args.generator_updates,
        **{"search.iterations": args.search_iters},
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cgan-schedule-") as run_dir:
        history = Trainer(
            model, train, steps=args.steps, batch_size=args.batch, run_dir=Path(run_dir),
            callbacks=[HistoryRecorder()], seed=0,
        ).fit()  # fmt: skip
    last = {n: float(history.series(n)[1][-20:].mean()) for n in sorted(history.names())}
    print(
        f"{args.steps} steps, {args.generator_updates} G update(s) per D step, "
        f"{time.perf_counter() - start:.0f} s; last 20 steps: "
        + ", ".join(f"{name} {value:.3f}" for name, value in last.items())
    )
    start = time.perf_counter()
    result = evaluate(
        model,
        DataLoader(test, batch_size=32),
        max_images=args.test_images,
        generate=lambda sketch, g: model.search(sketch, rng=g).completion,
    )
    print(
        f"search ({args.search_iters} iterations) on {args.test_images} held-out faces: "
        f"SSIM {result.metrics['ssim']:.3f}, PSNR {result.metrics['psnr']:.2f} dB "
        f"({time.perf_counter() - start:.0f} s)"
    )
    model.eval()
    with torch.no_grad():
        joint = model.generator(model.sample_z(16, torch.Generator().manual_seed(0)))
    grid = args.out / f"samples_{args.steps}_g{args.generator_updates}.png"
    write_image(grid, image_grid(list(tensor_to_image(joint)), ncols=4), overwrite=True)
    print(f"samples: {grid}")


if __name__ == "__main__":
    main()
