"""The domain gap of a checkpoint: machine-edge, drawn and (faces) CUFS artist hold-outs.

    python benchmarks/drawn_holdout.py pretrained:pix2pix/faces
    python benchmarks/drawn_holdout.py /tmp/retrain/pix2pix-faces.pt      # card beside it
    python benchmarks/drawn_holdout.py run/checkpoints/last.pt --recipe pix2pix/faces
    python benchmarks/drawn_holdout.py pretrained:pix2pix/faces --grid /tmp/gap.png

Prints, for each hold-out of ``sketchwidgets.train.recipe_data.holdout_sets`` (the recipe's split,
the recipe's seed), the model's SSIM / PSNR (dB) / L1 beside the nearest-neighbour and
mean-photo baselines drawn from the same training side (``sketchwidgets.eval.domain_gap``), all on
the CPU. ``--grid`` writes a PNG: per hold-out, a row of sketches, the model's pictures and
the photos (the first eight items). ``--smoke`` scores the first few items only.

``--styles`` adds a check of the sketches themselves: ink share (pixels under mid-grey),
line width (ink over skeleton length, px at 64) and ink darkness of each hold-out's sketches,
of the training mix's augmented sketches, and of Quick, Draw! doodles (the first
``QUICKDRAW_ITEMS`` of ``../shared/data/quickdraw_strokes``, rendered by the canvas's
rasteriser at the loader's default pen) as real freehand drawings to compare with.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from sketchwidgets import pretrained
from sketchwidgets.eval import baselines
from sketchwidgets.eval.domain_gap import format_table, gap_report
from sketchwidgets.io import image_grid, tensor_to_image, write_image
from sketchwidgets.train import recipe_data
from sketchwidgets.train.recipe_data import holdout_sets

GRID_ITEMS = 8
QUICKDRAW_ITEMS = 200


def load_checkpoint(spec: str, recipe_name: str | None) -> tuple[Any, str]:
    """``(model on the CPU, recipe name)`` for ``pretrained:NAME`` or a checkpoint file."""
    if spec.startswith(pretrained.PREFIX):
        name = spec[len(pretrained.PREFIX) :]
        return pretrained.load_pretrained(name, device="cpu"), name
    path = Path(spec)
    card = path.with_suffix(".json")
    if card.is_file():
        name = recipe_name or json.loads(card.read_text())["name"]
        return pretrained.load_shipped(path), name
    if recipe_name is None:
        raise ValueError(f"{path} has no card beside it: name its recipe with --recipe")
    import sketchwidgets as sw

    return sw.load(path, device="cpu"), recipe_name


def grid_rows(model: Any, sets: dict[str, tuple[Dataset, Dataset]], seed: int) -> list:
    """Sketch, picture and photo tiles of the first items of every hold-out."""
    tiles = []
    for _, held_out in sets.values():
        first = Subset(held_out, list(range(min(GRID_ITEMS, len(held_out)))))
        fakes, photos = baselines.heldout_images(model, first, seed=seed)
        sketches = baselines.stack_dataset(first)["sketch"]
        for row in (sketches, fakes, photos):
            tiles += [tensor_to_image(t) for t in row]
    return tiles


def line_statistics(dataset: Dataset, limit: int = 200) -> dict[str, float]:
    """Mean ink share, line width (px) and ink darkness (0 white .. 1 black) of sketches."""
    import numpy as np

    from sketchwidgets.drawing.skeleton import thin

    first = Subset(dataset, list(range(min(limit, len(dataset)))))  # type: ignore[arg-type]
    shares, widths, darkness = [], [], []
    for sketch in baselines.stack_dataset(first)["sketch"]:
        gray = tensor_to_image(sketch)
        ink = gray < 128
        shares.append(ink.mean())
        widths.append(ink.sum() / max(int(thin(ink).sum()), 1))
        darkness.append(1.0 - gray[gray < 250].mean() / 255.0 if (gray < 250).any() else 0.0)
    return {"ink": float(np.mean(shares)), "width": float(np.mean(widths)),
            "dark": float(np.mean(darkness))}  # fmt: skip


def style_sets(sets: dict[str, tuple[Dataset, Dataset]], seed: int) -> dict[str, Dataset]:
    """The hold-outs' sketches, augmented ones, and Quick, Draw! doodles when present."""
    from sketchwidgets.data.sketch_mix import MixShares, SketchStyleMix

    machine = sets["machine"][1]
    found = {name: held for name, (_, held) in sets.items()}
    found["augmented"] = SketchStyleMix(machine, seed=seed, shares=MixShares(0.0, 0.0, 1.0))
    try:
        from sketchwidgets.data.quickdraw import load_quickdraw

        doodles = recipe_data.shared_data_folder("quickdraw_strokes") / "data"
        found["quickdraw"] = load_quickdraw(doodles, size=64, limit=2)
    except (FileNotFoundError, ValueError) as error:
        print(f"(no Quick, Draw! check: {error})")
    return found


def print_styles(sets: dict[str, tuple[Dataset, Dataset]], seed: int) -> None:
    print(f"\n{'sketches':<12}{'ink share':>10}{'width px':>10}{'darkness':>10}")
    for name, dataset in style_sets(sets, seed).items():
        stats = line_statistics(dataset, QUICKDRAW_ITEMS)
        print(f"{name:<12}{stats['ink']:>10.3f}{stats['width']:>10.2f}{stats['dark']:>10.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="pretrained:NAME or a checkpoint file")
    parser.add_argument("--recipe", default=None, help="recipe name when no card says it")
    parser.add_argument("--grid", default=None, help="write a PNG of sketches and pictures")
    parser.add_argument("--smoke", action="store_true", help="the first few items only")
    parser.add_argument("--styles", action="store_true", help="line statistics of the sketches")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        model, name = load_checkpoint(args.checkpoint, args.recipe)
        spec = pretrained.recipe(name)
        train, held_out = recipe_data.splits(spec, smoke=args.smoke)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sets = holdout_sets(spec.dataset, train, held_out, seed=spec.seed, smoke=args.smoke)
    report = gap_report(model, sets, seed=spec.seed)
    print(format_table(report, f"{args.checkpoint} ({name}, seed {spec.seed})"))
    if args.styles:
        print_styles(sets, spec.seed)
    if args.grid:
        grid = image_grid(grid_rows(model, sets, spec.seed), ncols=GRID_ITEMS)
        print(f"wrote {write_image(args.grid, grid, overwrite=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
