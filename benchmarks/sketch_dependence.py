"""Do the shipped models follow a drawing? Sketch dependence and spread on drawn sketches.

    python benchmarks/sketch_dependence.py classroom
    python benchmarks/sketch_dependence.py faces --models pretrained:contextual_gan/faces
    python benchmarks/sketch_dependence.py shoes_handbags --models /tmp/edgegan-shoes.pt

For one dataset's drawn hold-out (``sketchwidgets.train.recipe_data.holdout_sets``: the held-out
photos drawn in the hand style, never trained on), prints each model's sketch dependence and
spread (``sketchwidgets.eval.sketch_following``) and their ratio to ``pretrained:pix2pix/<dataset>``
on the same sketches. The goal for EdgeGAN and the Contextual GAN is a ratio of at least 0.8 on
both. ``--models`` takes ``pretrained:NAME`` or checkpoint files with their card beside them;
the default is every shipped model trained on the dataset. ``--smoke`` scores 8 items.
``--strip OUT.png`` also writes the pictures: six drawn sketches of each of the first two
classes, then a row per model (pix2pix first), then the true photos.
"""

from __future__ import annotations

import argparse
import sys

import torch
from drawn_holdout import load_checkpoint
from torch.utils.data import Dataset

from sketchwidgets import pretrained
from sketchwidgets.eval.baselines import heldout_images
from sketchwidgets.eval.sketch_following import following_scores, relative_to
from sketchwidgets.io import image_grid, tensor_to_image, write_image
from sketchwidgets.train import recipe_data

GOAL = 0.8


def shipped_models(dataset: str) -> list[str]:
    """``pretrained:NAME`` of every recipe trained on ``dataset``, pix2pix first."""
    names = sorted((n for n, r in pretrained.RECIPES.items() if r.dataset == dataset),
                   key=lambda n: not n.startswith("pix2pix/"))  # fmt: skip
    return [pretrained.PREFIX + n for n in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=sorted({r.dataset for r in pretrained.RECIPES.values()}))
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--smoke", action="store_true", help="the first 8 items only")
    parser.add_argument("--strip", default=None, help="write the pictures to this PNG")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    reference_name = f"pix2pix/{args.dataset}"
    if reference_name not in pretrained.RECIPES:
        print(f"error: no pix2pix recipe for {args.dataset!r} to compare with", file=sys.stderr)
        return 2
    spec = pretrained.recipe(reference_name)
    train, held_out = recipe_data.splits(spec, smoke=args.smoke)
    drawn = recipe_data.holdout_sets(args.dataset, train, held_out, seed=spec.seed)["drawn"][1]
    reference = following_scores(pretrained.load_pretrained(reference_name, device="cpu"), drawn)
    print(f"drawn hold-out of {args.dataset} ({len(drawn)} sketches); goal: ratio >= {GOAL}")
    print(f"{'model':<40}{'dependence':>12}{'spread':>9}{'ratio dep.':>12}{'ratio spr.':>12}")
    print(f"{'pretrained:' + reference_name:<40}{reference['dependence']:>12.3f}"
          f"{reference['spread']:>9.3f}{1.0:>12.2f}{1.0:>12.2f}")  # fmt: skip
    models = {}
    for spec_text in args.models if args.models is not None else shipped_models(args.dataset)[1:]:
        model, _ = load_checkpoint(spec_text, None)
        models[spec_text] = model
        scores = following_scores(model, drawn, seed=spec.seed)
        ratio = relative_to(scores, reference)
        print(f"{spec_text:<40}{scores['dependence']:>12.3f}{scores['spread']:>9.3f}"
              f"{ratio['dependence']:>12.2f}{ratio['spread']:>12.2f}")  # fmt: skip
    if args.strip:
        reference_model = pretrained.load_pretrained(reference_name, device="cpu")
        write_strip(args.strip, drawn, [reference_model, *models.values()])
        print(f"pictures: {args.strip} (rows: sketch, pix2pix, {', '.join(models)}, photo)")
    return 0


def write_strip(path: str, drawn: Dataset, models: list) -> None:
    """Six drawn sketches of each of the first two classes through every model, as a PNG."""
    items = [drawn[i] for i in range(len(drawn))]
    labels = [int(item.get("label", 0)) for item in items]
    picked = [
        i for c in sorted(set(labels))[:2] for i in [j for j, v in enumerate(labels) if v == c][:6]
    ]
    subset = [items[i] for i in picked]
    rows = [torch.stack([item["sketch"] for item in subset]).expand(-1, 3, -1, -1)]
    rows += [heldout_images(model, subset)[0].float().cpu() for model in models]
    rows.append(torch.stack([item["photo"] for item in subset]))
    tiles = [tensor_to_image(row[i]) for row in rows for i in range(len(subset))]
    write_image(path, image_grid(tiles, ncols=len(subset)))


if __name__ == "__main__":
    sys.exit(main())
