"""Contextual GAN search on held-out CelebA faces: what the initialisation and each step buy.

Loads a trained model (``--checkpoint``, from ``model.save``) or trains one with the
data_limited preset (``--steps``), completes the held-out sketches of
../shared/data/celeba_xdog_joint64 (12 %, seed 0, as contextual_gan_ablation.py) and prints, at
iterations 0 (the refined initialisation alone), 10, 25, 50, 100, ...: the mean contextual loss
and SSIM / PSNR of the photo half against the true photos, and the photo half of a random z (no
initialisation, no search; drawn by ``model.sampler`` with the training statistics), for the
search run with the training batch-norm statistics and with standing ones; then the search's
time with 1 and 2 threads (the batch of sketches is one tensor, so torch's intra-op threads
share it).

Usage::

    python benchmarks/experiments/contextual_gan_search.py --checkpoint runs/cgan.pt
    python benchmarks/experiments/contextual_gan_search.py --steps 600 --iters 200 \
        --save runs/cgan.pt

Findings and the measured tables: benchmarks/experiments/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from contextual_gan_ablation import DATA_LIMITED, load_split, train_model

from sketchwidgets.eval.metrics import psnr, ssim
from sketchwidgets.models import load_model
from sketchwidgets.models.contextual_gan import ContextualGAN

CHECKPOINTS = (0, 10, 25, 50, 100, 200, 400, 1000)


def quality(images: torch.Tensor, photos: torch.Tensor) -> str:
    """'SSIM x  PSNR y' of the photo halves of joint images ``(N, 3, S, 2S)``."""
    photo_half = images[..., images.shape[-2] :]
    return f"SSIM {ssim(photo_half, photos):.3f}  PSNR {psnr(photo_half, photos):5.2f}"


def curve(model: ContextualGAN, test: dict, iters: int) -> None:
    """One search with snapshots: the loss and quality at each checkpoint iteration."""
    result = model.search(
        test["sketch"], iterations=iters, rng=torch.Generator().manual_seed(0),
        snapshot_every=1,
    )  # fmt: skip
    for step, images in result.snapshots:
        if step in CHECKPOINTS or step == iters:
            contextual = float(result.contextual[step].mean())
            shown = quality(images, test["photo"])
            print(f"  iteration {step:4d}: contextual {contextual:8.1f}  {shown}")


def random_code(model: ContextualGAN, test: dict) -> None:
    with torch.no_grad():
        images = model.sampler.eval()(
            model.sample_z(len(test["photo"]), torch.Generator().manual_seed(0))
        )
    print(f"  random z, no search:          {quality(images, test['photo'])}")


def timed(model: ContextualGAN, test: dict, threads: int, iters: int) -> float:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    model.search(test["sketch"], iterations=iters, rng=torch.Generator().manual_seed(0))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Parse the flags and print the curves and timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument(
        "--steps", type=int, default=600, help="training steps without --checkpoint"
    )
    parser.add_argument("--save", type=Path, default=None, help="save the trained model here")
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--test-images", type=int, default=100)
    parser.add_argument("--time-iters", type=int, default=20, help="0: skip the timing")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, test = load_split()
    test = {key: value[: args.test_images] for key, value in test.items()}
    if args.checkpoint is not None:
        model = load_model(args.checkpoint)
    else:
        config = dataclasses.replace(DATA_LIMITED, gf_dim=16, df_dim=16)
        model = train_model(config, train, args.steps)
        if args.save is not None:
            model.save(args.save)
    model.eval()
    for standing in (0, 1024):
        model = rebuilt(model, standing_stats=standing)
        print(
            f"standing statistics from {standing} codes"
            if standing
            else "training running statistics"
        )
        random_code(model, test)
        curve(model, test, args.iters)
    if args.time_iters:
        one, two = (timed(model, test, n, args.time_iters) for n in (1, 2))
        n = len(test["photo"])
        print(f"{args.time_iters} iterations on {n} sketches: 1 thread {one:.1f} s, "
              f"2 threads {two:.1f} s ({one / two:.2f}x)")  # fmt: skip


def rebuilt(model: ContextualGAN, **changes: object) -> ContextualGAN:
    """The same weights under a config with ``changes`` (search-time settings only)."""
    copy = ContextualGAN(dataclasses.replace(model.config, **changes))
    copy.load_state_dict(model.state_dict())
    return copy.eval()


if __name__ == "__main__":
    main()
