"""The domain gap of a checkpoint: machine-edge, drawn and (faces) CUFS artist hold-outs.

    python benchmarks/drawn_holdout.py pretrained:pix2pix/faces
    python benchmarks/drawn_holdout.py /tmp/retrain/pix2pix-faces.pt      # card beside it
    python benchmarks/drawn_holdout.py run/checkpoints/last.pt --recipe pix2pix/faces
    python benchmarks/drawn_holdout.py pretrained:pix2pix/faces --grid /tmp/gap.png

Prints, for each hold-out of ``sketchwidgets.sketch_sets.holdout_sets`` (the recipe's split,
the recipe's seed), the model's SSIM / PSNR (dB) / L1 beside the nearest-neighbour and
mean-photo baselines drawn from the same training side (``sketchwidgets.domain_gap``), all on
the CPU. ``--grid`` writes a PNG: per hold-out, a row of sketches, the model's pictures and
the photos (the first eight items). ``--smoke`` scores the first few items only.
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
from sketchwidgets.domain_gap import format_table, gap_report
from sketchwidgets.io import image_grid, tensor_to_image, write_image
from sketchwidgets.sketch_sets import holdout_sets

GRID_ITEMS = 8


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
        fakes, photos = pretrained.heldout_images(model, first, seed=seed)
        sketches = pretrained.stack_dataset(first)["sketch"]
        for row in (sketches, fakes, photos):
            tiles += [tensor_to_image(t) for t in row]
    return tiles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="pretrained:NAME or a checkpoint file")
    parser.add_argument("--recipe", default=None, help="recipe name when no card says it")
    parser.add_argument("--grid", default=None, help="write a PNG of sketches and pictures")
    parser.add_argument("--smoke", action="store_true", help="the first few items only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        model, name = load_checkpoint(args.checkpoint, args.recipe)
        spec = pretrained.recipe(name)
        train, held_out = pretrained.splits(spec, smoke=args.smoke)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sets = holdout_sets(spec.dataset, train, held_out, seed=spec.seed, smoke=args.smoke)
    report = gap_report(model, sets, seed=spec.seed)
    print(format_table(report, f"{args.checkpoint} ({name}, seed {spec.seed})"))
    if args.grid:
        grid = image_grid(grid_rows(model, sets, spec.seed), ncols=GRID_ITEMS)
        print(f"wrote {write_image(args.grid, grid, overwrite=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
