"""Data-layer speed: embedded pairs per second and sketch extraction images per second.

Prints two small tables:

* the embedded dataset: ``--pairs`` (default 2,000) photo + XDoG sketch pairs at 64 px, with
  the default worker count and with one worker (goal: 2,000 pairs in under 20 s on 2 cores);
* sketch extraction: images per second for each style in ``SKETCH_STYLES`` (plus the
  Contextual GAN XDoG preset) at 64 and 256 px, batched through ``sketchify``.

Usage::

    .venv/bin/python benchmarks/bench_data.py [--pairs 2000] [--images 512] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import cv2
import numpy as np

from sketchwidgets.data.builtin import embedded_pairs
from sketchwidgets.data.sketchify import SKETCH_STYLES, XDOG_CONTEXTUAL_GAN, sketchify


def timed(function: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench_pairs(n: int, workers: int | None) -> None:
    """Print the pairs/s table for the embedded dataset at 64 px."""
    print(f"embedded pairs: {n} photo + xdog sketch pairs at 64 px (cpu count {os.cpu_count()})")
    print(f"{'workers':>10} {'seconds':>10} {'pairs/s':>10}")
    for count in dict.fromkeys([workers, 1]):
        seconds = timed(lambda c=count: embedded_pairs(n, size=64, workers=c))
        label = "default" if count is None else str(count)
        print(f"{label:>10} {seconds:10.2f} {n / seconds:10.0f}")


def images_per_second(photos: np.ndarray, style: str, params: dict) -> float:
    """Images per second of one batched ``sketchify`` call."""
    return len(photos) / timed(lambda: sketchify(photos, style, **params))


def bench_styles(n: int) -> None:
    """Print images/s for each sketch style at 64 and 256 px."""
    styles: dict[str, tuple[str, dict]] = {name: (name, {}) for name in SKETCH_STYLES}
    styles["xdog (cgan preset)"] = ("xdog", dict(XDOG_CONTEXTUAL_GAN))
    small = embedded_pairs(n, size=64).photos
    # 256 px photos: bicubic upsamples of the 64 px ones (speed depends on size, not content)
    large = np.stack(
        [cv2.resize(p, (256, 256), interpolation=cv2.INTER_CUBIC) for p in small[: n // 8]]
    )
    print(f"\nsketch extraction, batched: {len(small)} photos at 64 px, {len(large)} at 256 px")
    print(f"{'style':>20} {'64 px img/s':>14} {'256 px img/s':>14}")
    for name, (style, params) in styles.items():
        rates = [images_per_second(p, style, params) for p in (small, large)]
        print(f"{name:>20} {rates[0]:14.0f} {rates[1]:14.0f}")


def main() -> None:
    """Parse arguments and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000, help="embedded pairs to generate")
    parser.add_argument("--images", type=int, default=512, help="photos per style at 64 px")
    parser.add_argument(
        "--workers", type=int, default=None, help="pool size (default min(2, cpus))"
    )
    args = parser.parse_args()
    bench_pairs(args.pairs, args.workers)
    bench_styles(args.images)


if __name__ == "__main__":
    main()
