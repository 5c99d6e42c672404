"""Measure the line statistics of each shipped recipe's training sketches; write them to its card.

Checkpoints trained before models recorded ``config.line_stats`` lack them; their cards get
them instead (``"line_stats"``), and loading fills the config from the card
(:func:`sketchwidgets.pretrained.load_shipped`). The sketches are those a ``pretrain`` run
records today: the first ``LINE_STATS_BATCHES`` batches the Trainer draws with the recipe's
seed and batch size from its training split (for ``sketchygan/sketchy`` the human sketches
themselves, which its edge-map schedule ends on). The ``.pt`` files are not touched: the
script checks each one against the SHA-256 its card holds before writing.

    PYTHONPATH=. python benchmarks/card_line_stats.py            # every shipped card
    PYTHONPATH=. python benchmarks/card_line_stats.py pix2pix/faces --dry-run
"""

from __future__ import annotations

import argparse
import hashlib
import json

from sketchwidgets import pretrained
from sketchwidgets.models import model_class
from sketchwidgets.train import recipe_data
from sketchwidgets.train.trainer import LINE_STATS_BATCHES, first_batches_line_stats

NOTE = (
    "line statistics (sketchwidgets.drawing.line_stats) of the training sketches of the first "
    f"{LINE_STATS_BATCHES} batches the Trainer draws (recipe seed and batch size), measured "
    "after training by benchmarks/card_line_stats.py; the checkpoint predates config.line_stats"
)


def measure(name: str) -> dict:
    """The line statistics of recipe ``name``'s training sketches, as a card stores them."""
    recipe = pretrained.recipe(name)
    split, _ = recipe_data.splits(recipe)
    # what the Trainer drew from: the split, or the recipe's mix over it
    train = recipe_data.training_data(
        recipe.dataset, split, sketches=recipe.sketches, seed=recipe.seed
    )
    size = int(
        recipe.overrides.get("image_size", model_class(recipe.model).config_class().image_size)
    )
    batch = min(recipe.batch_size, len(train))  # as pretrain's _train
    stats = first_batches_line_stats(
        train, size, batch_size=batch, seed=recipe.seed, steps=recipe.steps
    )
    if stats is None:
        raise ValueError(f"{name}: no training sketches")
    return stats.to_dict()


def write(name: str, stats: dict) -> None:
    """Put ``stats`` into the card of ``name`` after checking its weights are unchanged."""
    card_file = pretrained.card_path(name)
    card = json.loads(card_file.read_text())
    weights = pretrained.checkpoint_path(name).read_bytes()
    if hashlib.sha256(weights).hexdigest() != card["sha256"]:
        raise ValueError(f"{name}: the checkpoint does not match its card's sha256")
    card["line_stats"] = stats
    card["line_stats_note"] = NOTE
    card_file.write_text(json.dumps(card, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="default: every shipped checkpoint")
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    args = parser.parse_args()
    for name in args.names or pretrained.shipped_names():
        stats = measure(name)
        print(name, json.dumps(stats))
        if not args.dry_run:
            write(name, stats)


if __name__ == "__main__":
    main()
