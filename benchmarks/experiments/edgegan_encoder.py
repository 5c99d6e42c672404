"""EdgeGAN: does the edge encoder E invert the edge generator GE at the recipe's budget?

Trains the recipe's configuration (``sketchwidgets.pretrained._EDGEGAN``: widths 8, batch 8,
lr 1e-3, the pair term and its settings, z_dim 8, zl_trains "encoder_and_edge_generator") on
../shared/data/shoes_handbags_photo_edges (or $SKETCHWIDGETS_DATA) with ``KEY=VALUE`` config
overrides, and prints every 100 steps E's z error on 64 fixed codes, ``|z - E(GE(z, c))|`` with
E's mean, beside ``|z - E(GE(z', c))|`` for the same codes shifted by one (what E gives back
from another code's edge map: the "guessing" level, about E|z| = 0.80 for z ~ N(0, 1)). At the
end, on 200 held-out pairs: the dilated-IoU gap matched - shuffled of GE's edge maps (does the
sketch still matter), the spread ratio of GI's images against the real photos, and the class
accuracy of GI's images by the comparison notebook's judge (``--judge-steps``)::

    python benchmarks/experiments/edgegan_encoder.py --steps 900
    python benchmarks/experiments/edgegan_encoder.py --steps 900 z_dim=100 zl_trains=encoder

Findings and the measured tables: benchmarks/experiments/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from sketchwidgets.data.edgegan_format import shoes_handbags
from sketchwidgets.eval.baselines import stack_dataset
from sketchwidgets.eval.comparison import class_accuracy, photo_classifier
from sketchwidgets.eval.shape_metrics import sketch_dependence, spread_ratio
from sketchwidgets.models.edgegan import EdgeGAN, EdgeGANConfig
from sketchwidgets.pretrained import _EDGEGAN

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def parse_override(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, int | float | str)."""
    key, value = text.split("=", 1)
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def z_errors(model: EdgeGAN, z: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """``|z - E(GE(z))|`` and ``|z - E(GE(z shifted by one))|`` with E's mean."""
    with torch.no_grad():
        mu, _ = model.encoder(model.edge_generator(model._code(z, labels)))
        shifted, _ = model.encoder(model.edge_generator(model._code(z.roll(1, 0), labels)))
    return (z - mu).abs().mean().item(), (z - shifted).abs().mean().item()


def report(step: int, model: EdgeGAN, z: torch.Tensor, labels: torch.Tensor) -> str:
    """One line: the step, E's z error and the shifted-code level."""
    error, shifted = z_errors(model, z, labels)
    return f"step {step}: z error {error:.3f} / shifted {shifted:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="EdgeGANConfig KEY=VALUE")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--judge-steps", type=int, default=300, help="0: no class accuracy")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = Path(os.environ.get("SKETCHWIDGETS_DATA", DEFAULT_DATA)) / "shoes_handbags_photo_edges"
    if not root.is_dir():
        sys.exit(f"{root} not found: put ../shared beside the checkout or set SKETCHWIDGETS_DATA")
    train = stack_dataset(shoes_handbags(root, split="train"))
    held_out = {k: v[:200] for k, v in stack_dataset(shoes_handbags(root, split="val")).items()}
    config = {**_EDGEGAN, "class_names": ("handbag", "shoe")}
    config |= dict(parse_override(text) for text in args.overrides)
    torch.manual_seed(args.seed)
    model = EdgeGAN(EdgeGANConfig(**config))
    optimizers = model.configure_optimizers()
    codes = torch.randn(64, model.latent_dim, generator=torch.Generator().manual_seed(123))
    labels = torch.arange(64) % 2
    order, started = torch.Generator().manual_seed(args.seed), time.perf_counter()
    print(report(0, model, codes, labels), flush=True)
    for step in range(1, args.steps + 1):
        pick = torch.randint(0, train["label"].shape[0], (8,), generator=order)
        model.train_step({k: v[pick] for k, v in train.items()}, optimizers)
        if step % 100 == 0:
            line = report(step, model, codes, labels)
            print(f"{line} ({time.perf_counter() - started:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        outputs = model.generate_outputs(held_out["sketch"], label=held_out["label"])
    scores = sketch_dependence(held_out["sketch"], outputs["edge"], held_out["label"])
    print(f"GE IoU gap matched - shuffled {scores['matched'] - scores['shuffled']:.3f}")
    spread = spread_ratio(outputs["image"], held_out["photo"], held_out["label"])
    print(f"GI spread ratio (images of a class against the real photos) {spread:.3f}")
    if args.judge_steps:
        print(judge_line(train, held_out, outputs["image"], args.judge_steps))


def judge_line(
    train: dict[str, torch.Tensor],
    held_out: dict[str, torch.Tensor],
    images: torch.Tensor,
    steps: int,
) -> str:
    """Class accuracy of GI's images on the held-out sketches, by the comparison notebook's
    judge (:func:`sketchwidgets.eval.comparison.photo_classifier`) trained on the real training
    photos, beside its accuracy on the real held-out photos (the ceiling; chance 0.5)."""
    judge = photo_classifier(train["photo"], train["label"], 2, steps=steps)
    generated = class_accuracy(judge, images, held_out["label"])
    real = class_accuracy(judge, held_out["photo"], held_out["label"])
    return f"class accuracy of GI's images {generated:.3f} (real photos {real:.3f}, chance 0.500)"


if __name__ == "__main__":
    main()
