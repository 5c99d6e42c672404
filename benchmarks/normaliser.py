"""The sketch normaliser on today's shipped checkpoints: SSIM / PSNR with it and without it.

Two kinds of drawing unlike the machine-made training sketches, each with a ground-truth photo:

* **thick canvas strokes** -- each held-out sketch of a model's dataset traced into canvas
  strokes (its centre lines, :func:`sketchwidgets.data.trace.trace_sketch`) and drawn by the
  SketchCanvas's rasteriser on a 256-px canvas at pen widths 2 to 12; scored against the
  held-out photos;
* **CUFS artist sketches** (``../shared/data/cufs_train``, shaded pencil) for the face models,
  both halves cropped to CelebA's framing (eyes and mouth where CelebA's are); scored against
  the cropped photos, beside two references: the mean CelebA training photo, and the artist
  sketch redrawn as XDoG with the CelebA pipeline's settings.

Rows ``raw`` run ``generate(..., normalise=False)``, rows ``normalised`` the default. The
"machine" rows give the held-out machine-made sketches themselves (the card's domain): the
normaliser should not cost much there. One thread, CPU, seed 0.

    PYTHONPATH=. python benchmarks/normaliser.py                    # every shipped model
    PYTHONPATH=. python benchmarks/normaliser.py --models pix2pix/faces --items 32 \
        --grid /tmp/normaliser.png
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from sketchwidgets import pretrained
from sketchwidgets.data.sketchify import XDOG_CONTEXTUAL_GAN, xdog
from sketchwidgets.data.strokes import Sketch, rasterize
from sketchwidgets.data.trace import trace_sketch, with_pen
from sketchwidgets.drawing.line_stats import resize_gray
from sketchwidgets.eval import baselines
from sketchwidgets.eval.metrics import psnr, ssim
from sketchwidgets.io import image_to_tensor, read_image, tensor_to_image, to_gray, write_image
from sketchwidgets.train import recipe_data

CANVAS = 256
PEN_WIDTHS = (2, 6, 12)
# CUFS crops are 200x250 with the eyes at y 125 (x 75 and 125) and the mouth at y 180;
# CelebA's 64-px crops have them at 0.16 and 0.67 of the side: a 110-px square from (45, 108)
CUFS_CROP = (slice(108, 218), slice(45, 155))


# --------------------------------------------------------------------------- drawings


def drawn(sketch: Sketch, width: float) -> np.ndarray:
    """``sketch`` drawn by the canvas rasteriser with every stroke ``width`` px wide."""
    return rasterize(with_pen(sketch, width), sketch.width)


def held_out(name: str, items: int) -> tuple[list[np.ndarray], torch.Tensor, torch.Tensor]:
    """``(sketches uint8, photos (N, 3, S, S), labels)``: the first held-out items."""
    _, data = recipe_data.splits(pretrained.recipe(name))
    stacked = baselines.stack_dataset(data)
    n = min(items, len(stacked["sketch"]))
    sketches = list(tensor_to_image(stacked["sketch"][:n]))
    return sketches, stacked["photo"][:n], stacked["label"][:n]


def cufs(root: Path, items: int, size: int = 64) -> tuple[list[np.ndarray], torch.Tensor]:
    """``(artist sketches cropped, uint8 at their own resolution; photos (N, 3, S, S))``."""
    rows = list(csv.DictReader((root / "pairs.csv").open()))[:items]
    sketches = [to_gray(read_image(root / r["sketch"], "RGB"))[CUFS_CROP] for r in rows]
    photos = [cv2.resize(read_image(root / r["photo"], "RGB")[CUFS_CROP], (size, size),
                         interpolation=cv2.INTER_AREA) for r in rows]  # fmt: skip
    return sketches, image_to_tensor(np.stack(photos))


# --------------------------------------------------------------------------- scoring


def generate(model, drawings: list[np.ndarray], labels: torch.Tensor, normalise: bool):
    """Model outputs ``(N, 3, S, S)`` in [-1, 1] and the model inputs (uint8) for a grid."""
    label = labels if model.needs_label else None
    images = model.generate(drawings, seed=0, label=label, normalise=normalise)
    inputs = model.model_input(drawings, normalise=normalise)
    return image_to_tensor(np.stack(images)), inputs


def scores(fake: torch.Tensor, real: torch.Tensor) -> str:
    return f"SSIM {ssim(fake, real):.3f}  PSNR {psnr(fake, real):5.2f} dB"


def compare(model, drawings, photos, labels, title: str, grid: list) -> None:
    """Print raw and normalised scores; keep the first item's pictures for the grid."""
    for normalise in (False, True):
        started = time.perf_counter()
        fake, inputs = generate(model, drawings, labels, normalise)
        seconds = time.perf_counter() - started
        kind = "normalised" if normalise else "raw"
        print(f"  {title:<22} {kind:<10} {scores(fake, photos)}  ({seconds:.0f} s)")
        grid.append((f"{title} {kind}", drawings[0], inputs[0], tensor_to_image(fake[0])))


def model_rows(name: str, items: int, grid: list) -> None:
    model = pretrained.load_pretrained(name, device="cpu")
    sketches, photos, labels = held_out(name, items)
    print(f"{name}  ({len(sketches)} held-out items; line stats {model.line_stats})")
    compare(model, sketches, photos, labels, "machine", grid)
    strokes = [trace_sketch(s, canvas=CANVAS) for s in sketches]
    for width in PEN_WIDTHS:
        drawings = [drawn(s, width) for s in strokes]
        compare(model, drawings, photos, labels, f"canvas pen {width}", grid)


def cufs_rows(name: str, items: int, root: Path, grid: list) -> None:
    model = pretrained.load_pretrained(name, device="cpu")
    sketches, photos = cufs(root, items)
    labels = torch.full((len(sketches),), -1)
    print(f"{name} on CUFS artist sketches ({len(sketches)} pairs)")
    train, _ = recipe_data.splits(pretrained.recipe(name))
    mean = baselines.stack_dataset(train)["photo"].mean(dim=0, keepdim=True)
    print(f"  {'mean training photo':<33} {scores(mean.expand_as(photos), photos)}")
    redrawn = [xdog(cv2.cvtColor(resize_gray(s, 64), cv2.COLOR_GRAY2RGB), **XDOG_CONTEXTUAL_GAN)
               for s in sketches]  # fmt: skip
    fake, _ = generate(model, redrawn, labels, normalise=False)
    print(f"  {'XDoG of the sketch':<33} {scores(fake, photos)}")
    compare(model, sketches, photos, labels, "CUFS", grid)


# --------------------------------------------------------------------------- pictures


def write_grid(rows: list, path: Path, tile: int = 96) -> None:
    """One row per (title): the drawing, the model input, the output."""
    from sketchwidgets.widgets._images import labelled_grid

    images, labels = [], []
    for title, drawing, model_input, output in rows:
        images += [drawing, model_input, output]
        labels += [title, "model input", "output"]
    write_image(path, labelled_grid(images, labels, ncols=6, tile=tile), overwrite=True)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: every shipped one")
    parser.add_argument("--items", type=int, default=64, help="held-out items per model")
    parser.add_argument("--cufs-items", type=int, default=188)
    parser.add_argument("--data", type=Path, default=None, help="default: ../shared/data")
    parser.add_argument("--grid", type=Path, default=None, help="write the pictures here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = args.data or recipe_data.shared_data_folder("cufs_train").parent
    grid: list = []
    for name in args.models or pretrained.shipped_names():
        model_rows(name, args.items, grid)
        if name.endswith("/faces") and (root / "cufs_train").is_dir():
            cufs_rows(name, args.cufs_items, root / "cufs_train", grid)
    if args.grid is not None:
        write_grid(grid, args.grid)


if __name__ == "__main__":
    main()
