"""Contextual GAN search options on held-out CelebA faces: initialisations, losses, step sizes.

On one model (``--checkpoint`` from ``model.save``, or trained with the data_limited preset for
``--steps`` as contextual_gan_ablation.py does, same seeds), completes the held-out
sketches of ../shared/data/celeba_xdog_joint64 (12 %, seed 0) with each search variant and
prints SSIM / PSNR of the photo half against the true photos and the mean contextual loss
(the variant's own) at iterations 0 (initialisation alone), 5, 10, ... ``--iters``; then
writes a figure of SSIM and PSNR against the iteration for each variant (``--figure``), with
the mean-photo and nearest-neighbour baselines as horizontal lines. Rows:

* ``paper``: 30 random codes per sketch ranked by KL, plain L1, lr 0.01, z in [-1, 1];
* ``pool <loss> blur <s>``: one shared pool of 1024 codes ranked by the contextual loss
  (``l1`` or ``ink_l1``, sketches blurred by sigma ``s``), lr 1e-4;
* ``... trunc <t>``: pool codes drawn from, and z kept in, [-t, t] (the truncation trick);
* ``encoder``: a sketch -> z encoder (width 16) trained afterwards for ``--encoder-steps``
  on the model's own samples, its code as the start;
* ``preset``: the data_limited preset's search (the encoder's start, ink_l1, blur 1.5,
  lr 1e-5; on a model without an encoder, the pool of 1024, truncation 0.5);
* ``encoder lr 1e-4`` / ``encoder lr 3e-5``: the encoder's start with a larger step size;
  ``pool start``: the same G with its encoder dropped, so the search starts from the pool.

Training (without ``--checkpoint``) uses the reconstruction-trained encoder, width 16, by
default (``--reconstruction-weight 100 --encoder-width 16``); the tables measured before it
used neither (``--reconstruction-weight 0 --encoder-width 0``).

Usage::

    python benchmarks/experiments/contextual_gan_init.py --steps 2000 --iters 20 \
        --figure runs/init.png
    python benchmarks/experiments/contextual_gan_init.py --checkpoint runs/cgan.pt \
        --rows paper preset

Findings and the measured tables: benchmarks/experiments/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from contextual_gan_ablation import DATA_LIMITED, baselines, load_split, spread_ratio, train_model

from sketchwidgets.config import apply_overrides
from sketchwidgets.eval.metrics import psnr, ssim
from sketchwidgets.models import load_model
from sketchwidgets.models.contextual_gan import ContextualGAN
from sketchwidgets.models.latent_encoder import encoder_step

PAPER_SEARCH = {
    "search.contextual": "l1",
    "search.blur": 0.0,
    "search.init_score": "kl",
    "search.init_pool": 0,
    "search.n_init": 30,
    "search.truncation": 1.0,
    "search.lr": 0.01,
}
POOL = {
    "search.init_score": "contextual",
    "search.init_pool": 1024,
    "search.truncation": 1.0,
    "search.lr": 1e-4,
}
ROWS: dict[str, dict[str, object]] = {
    "paper": PAPER_SEARCH,
    "pool l1 blur 0": {**POOL, "search.contextual": "l1", "search.blur": 0.0},
    "pool ink_l1 blur 0": {**POOL, "search.contextual": "ink_l1", "search.blur": 0.0},
    "pool ink_l1 blur 1.5": {**POOL, "search.contextual": "ink_l1", "search.blur": 1.5},
    "pool ink_l1 blur 1.5 trunc 0.7": {
        **POOL,
        "search.contextual": "ink_l1",
        "search.truncation": 0.7,
    },
    "pool ink_l1 blur 1.5 trunc 0.3": {
        **POOL,
        "search.contextual": "ink_l1",
        "search.truncation": 0.3,
    },
    "encoder": {"encoder_width": 16, "search.truncation": 1.0},
    # on a model trained with the reconstruction term (its encoder kept): the search's step size
    # from the encoder's code, and the pool start on the same G (the encoder dropped)
    "encoder lr 1e-4": {"search.lr": 1e-4},
    "encoder lr 3e-5": {"search.lr": 3e-5},
    "pool start": {"encoder_width": 0, "reconstruction_weight": 0.0},
    "preset": {},
}


def variant(model: ContextualGAN, changes: dict[str, object]) -> ContextualGAN:
    """The model's weights under the data_limited preset's search settings (a checkpoint keeps
    those of its day) with ``changes`` (search settings as dotted keys, an encoder)."""
    config = dataclasses.replace(model.config, search=DATA_LIMITED.search)
    copy = ContextualGAN(apply_overrides(config, changes))
    copy.load_state_dict(model.state_dict(), strict=False)  # a new encoder starts untrained
    return copy.eval()


def fit_encoder(model: ContextualGAN, steps: int) -> None:
    """Train the model's (new) encoder on its own samples, as training would."""
    sampler = model.search_generator()
    optimizer = torch.optim.Adam(model.encoder.parameters(), 1e-3, betas=(0.5, 0.999))
    draws = torch.Generator().manual_seed(3)
    model.encoder.train()
    for _ in range(steps):
        codes = model.sample_z(64, draws)
        encoder_step(model.encoder, lambda z: sampler(z)[..., : model.image_size], codes, optimizer)
    model.encoder.eval()


def curve(model: ContextualGAN, test: dict, iters: int) -> list[tuple[int, float, float, float]]:
    """(iteration, contextual loss, SSIM, PSNR) every 5 iterations of one search."""
    result = model.search(
        test["sketch"], iterations=iters, rng=torch.Generator().manual_seed(0),
        snapshot_every=5,
    )  # fmt: skip
    size = model.image_size
    return [
        (
            step,
            float(result.contextual[step].mean()),
            ssim(images[..., size:], test["photo"]),
            psnr(images[..., size:], test["photo"]),
        )
        for step, images in result.snapshots
    ]


def plot(curves: dict[str, list], lines: dict[str, tuple[float, float]], path: Path) -> None:
    """SSIM and PSNR against the iteration, one line per variant, baselines dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, points in curves.items():
        steps = [p[0] for p in points]
        axes[0].plot(steps, [p[2] for p in points], marker="o", label=name)
        axes[1].plot(steps, [p[3] for p in points], marker="o", label=name)
    for name, (s, p) in lines.items():
        axes[0].axhline(s, linestyle="--", color="gray")
        axes[1].axhline(p, linestyle="--", color="gray")
        axes[0].annotate(name, (0, s), fontsize=7)
        axes[1].annotate(name, (0, p), fontsize=7)
    for axis, label in zip(axes, ("SSIM", "PSNR dB"), strict=True):
        axis.set_xlabel("search iteration (0 = initialisation)")
        axis.set_ylabel(label)
    axes[1].legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, print one curve per row, write the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=2000, help="training without --checkpoint")
    parser.add_argument("--width", type=int, default=16, help="gf_dim = df_dim when training")
    parser.add_argument("--lr-d", type=float, default=0.0, help="D's lr when training (0 = lr)")
    parser.add_argument(
        "--mismatch-share", type=float, default=0.0, help="matching-aware D when training"
    )
    parser.add_argument(
        "--reconstruction-weight", type=float, default=100.0, help="0: the GAN alone (before)"
    )
    parser.add_argument("--encoder-width", type=int, default=16, help="0: no encoder")
    parser.add_argument("--save", type=Path, default=None, help="save the trained model here")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--test-images", type=int, default=100)
    parser.add_argument("--encoder-steps", type=int, default=400)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--figure", type=Path, default=None, help="write the curves here (PNG)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, test = load_split()
    test = {key: value[: args.test_images] for key, value in test.items()}
    if args.checkpoint is not None:
        model = load_model(args.checkpoint).eval()
    else:
        config = dataclasses.replace(
            DATA_LIMITED,
            gf_dim=args.width,
            df_dim=args.width,
            lr_d=args.lr_d,
            mismatch_share=args.mismatch_share,
            encoder_width=args.encoder_width,
            reconstruction_weight=args.reconstruction_weight if args.encoder_width else 0.0,
        )
        model = train_model(config, train, args.steps)
        if args.save is not None:
            model.save(args.save)
    print(f"{'sample spread / real spread':32s} {spread_ratio(model, train):.3f}")
    lines = {
        name: (ssim(guess, test["photo"]), psnr(guess, test["photo"]))
        for name, guess in baselines(train, test).items()
    }
    for name, (s, p) in lines.items():
        print(f"{name:32s} SSIM {s:.3f}  PSNR {p:5.2f}")
    curves = {}
    for row in args.rows:
        start = time.perf_counter()
        model_row = variant(model, ROWS[row])
        if model_row.encoder is not None and model.encoder is None:  # a new, untrained one
            fit_encoder(model_row, args.encoder_steps)
        curves[row] = curve(model_row, test, args.iters)
        shown = "  ".join(f"{i}: {s:.3f}/{p:5.2f} ({c:.0f})" for i, c, s, p in curves[row])
        print(f"{row:32s} {shown}  [{time.perf_counter() - start:.0f} s]", flush=True)
    if args.figure is not None:
        plot(curves, lines, args.figure)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
