"""SketchyGAN speed and memory: training images/s, peak training memory, one-sketch latency.

    python benchmarks/speed.py --model sketchygan          # the code's 64 px model, batch 16
    python benchmarks/speed.py --model sketchygan --quick  # fewer timed steps
    python benchmarks/speed.py --model sketchygan --ngf 32 --ndf 16 --threads 1  # notebook widths
    python benchmarks/speed.py --model sketchygan --device cuda

Prints, for the chosen widths (default: the reference code's, ``SketchyGANConfig()``):

* training images/s at 64 px, batch 16: ``batch / median step time`` of ``train_step`` (one D
  step with DRAGAN, one G step with two z per sketch for the diversity loss) after warm-up;
* peak training memory: on CPU the growth of the peak resident set size
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over the first training step, measured first,
  while the process has done nothing else (so no earlier peak hides it; a child process would
  not help: Linux carries ``ru_maxrss`` across ``exec``); on CUDA
  ``torch.cuda.max_memory_allocated`` over the same step;
* inference latency: ``generate_tensor`` for one 64 px sketch with a class, median after warm-up.

Pass ``--threads 1`` for figures that do not depend on what else runs on the other cores. No
timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from timing import median_ms, sync, train_step_peak_mib

from sketchwidgets.device import autocast_context, pick_device
from sketchwidgets.models.sketchygan import SketchyGAN, SketchyGANConfig


def build(args: argparse.Namespace, device: torch.device) -> SketchyGAN:
    """The model at the benchmark's widths, on ``device``."""
    torch.manual_seed(0)
    config = SketchyGANConfig(image_size=args.size, ngf=args.ngf, ndf=args.ndf)
    return SketchyGAN(config).to(device)


def make_batch(size: int, n: int, classes: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A random labelled sketch/photo batch in [-1, 1]."""
    g = torch.Generator().manual_seed(0)
    return {
        "sketch": (torch.rand(n, 1, size, size, generator=g) * 2 - 1).to(device),
        "photo": (torch.rand(n, 3, size, size, generator=g) * 2 - 1).to(device),
        "label": torch.randint(classes, (n,), generator=g).to(device),
    }


def train_speed(args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Median seconds per training step and images/s."""
    model = build(args, device)
    optimizers = model.configure_optimizers()
    batch = make_batch(args.size, args.batch, model.num_classes, device)
    times = []
    for step in range(args.warmup + args.steps):
        sync(device)
        start = time.perf_counter()
        with autocast_context(device):
            model.train_step(batch, optimizers)
        sync(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"step_s": median, "images_per_s": args.batch / median}


def first_step_memory(args: argparse.Namespace, device: torch.device) -> float:
    """MiB the first training step adds to the peak (RSS on CPU, allocated on CUDA)."""
    model = build(args, device)
    batch = make_batch(args.size, args.batch, model.num_classes, device)
    return train_step_peak_mib(model, batch, device)


def latency(args: argparse.Namespace, device: torch.device, repeats: int) -> float:
    """Median milliseconds of ``generate_tensor`` for one sketch."""
    model = build(args, device).eval()
    sketch = make_batch(args.size, 1, model.num_classes, device)["sketch"]
    z = model.sample_z(1)
    return median_ms(lambda _: model.generate_tensor(sketch, label=[0], z=z), device, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best)")
    parser.add_argument("--size", type=int, default=64, help="image side (code: 64)")
    parser.add_argument("--batch", type=int, default=16, help="batch size (code: 16)")
    parser.add_argument("--ngf", type=int, default=SketchyGANConfig.ngf)
    parser.add_argument("--ndf", type=int, default=SketchyGANConfig.ndf)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="2 timed steps, 10 latency runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.quick:
        args.steps = 2
    repeats = 10 if args.quick else 30
    model = build(args, device)
    g_params = sum(p.numel() for p in model.generator.parameters()) / 1e6
    d_params = sum(p.numel() for p in model.discriminator.parameters()) / 1e6
    print(
        f"SketchyGAN {args.size} px, ngf={args.ngf} ndf={args.ndf} (G {g_params:.1f} M, "
        f"D {d_params:.1f} M parameters), batch {args.batch}, {device}, "
        f"{torch.get_num_threads()} CPU thread(s), torch {torch.__version__}"
    )
    mib = first_step_memory(args, device)  # first: no earlier peak in this process
    if device.type == "cuda":
        print(f"peak training memory: {mib:.0f} MiB (torch.cuda.max_memory_allocated, 1st step)")
    else:
        print(f"peak training memory: +{mib:.0f} MiB peak RSS over the first training step")
    speed = train_speed(args, device)
    print(
        f"training: {speed['images_per_s']:.2f} images/s "
        f"({speed['step_s']:.2f} s/step, median of {args.steps})"
    )
    print(f"inference: {latency(args, device, repeats):.1f} ms for one sketch (median)")


if __name__ == "__main__":
    main()
