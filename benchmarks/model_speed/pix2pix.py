"""pix2pix speed and memory: sketchwidgets vs a plain eager float32 reference loop, side by side.

    python benchmarks/speed.py --model pix2pix          # full run (minutes on a 2-core CPU)
    python benchmarks/speed.py --model pix2pix --quick  # fewer repetitions
    python benchmarks/speed.py --model pix2pix --device cuda
    python benchmarks/speed.py --model pix2pix --device cuda --compile --only train  # compiled
    python benchmarks/speed.py --model pix2pix --device cuda --cudnn-benchmark  # cuDNN autotuning
    python benchmarks/speed.py --model pix2pix --quick --threads 1 --clock cpu  # CPU time

Prints, for each case, the reference loop (benchmarks/model_speed/reference_pix2pix.py: the
reference's networks and ``optimize_parameters``, untuned) and ours (``Pix2Pix.train_step``),
with the ratio:

* training images/s at 64 px (batch 16, 64) and 256 px (batch 1, 8): the two alternate step by
  step and each reports its median step, so other processes slow both alike;
* peak training memory: on CPU the growth of the peak RSS (``VmHWM``) over the first
  training step (gradients, Adam state, activations), each in a fresh process; on CUDA
  ``torch.cuda.max_memory_allocated`` over the same step;
* inference latency for one 64 px and one 256 px sketch (median after warm-up): the
  reference's ``netG.eval()`` forward vs our ``generate_tensor``;
* a correctness check: both start from the same weights and batch, and the losses of the first
  steps (and the eval outputs) must agree to tolerance.

Both sides run float32 and the same sums; ours only computes them faster (GEMM path for small
feature maps, Winograd F(4x4, 4x4) for the PatchGAN's stride-1 layer, fused Adam; see
sketchwidgets/models/layers.py and winograd.py), so losses agree to float rounding. On CUDA
ours runs as the trainer runs it: inside ``device.autocast_context`` (bfloat16), networks and
batch in channels_last; the reference keeps PyTorch's defaults (so its float32 convolutions
may use TF32). The loss check stays float32, with TF32 off on both sides. ``--compile`` wraps
our generator and discriminator in ``torch.compile`` for the training rows (peak memory is
then not measured: each probe would compile again).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_pix2pix import ReferencePix2Pix  # noqa: E402

from sketchwidgets.device import autocast_context, pick_device  # noqa: E402
from sketchwidgets.models.pix2pix import Pix2Pix, Pix2PixConfig  # noqa: E402

TRAIN_CASES = [(64, 16), (64, 64), (256, 1), (256, 8)]  # (image size, batch size)
INFER_SIZES = [64, 256]
LOSS_CASES = [(64, 4), (256, 1)]  # (image size, batch size) of the float32 loss check
LOSS_RTOL = 1e-3
COMPILE = False  # --compile: our networks through torch.compile in the training rows


def build_pair(size: int, device: torch.device, seed: int = 0) -> tuple[ReferencePix2Pix, Pix2Pix]:
    """The reference and ours with identical weights (copied in parameter order)."""
    torch.manual_seed(seed)
    ref = ReferencePix2Pix(size, device=device)
    ours = Pix2Pix(Pix2PixConfig(image_size=size)).to(device)
    for mine, theirs in ((ours.generator, ref.netG), (ours.discriminator, ref.netD)):
        state = dict(zip(mine.state_dict(), theirs.state_dict().values(), strict=True))
        mine.load_state_dict(state)
    return ref, ours


def make_batch(size: int, n: int, device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random sketch/photo batch in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    return {
        "sketch": (torch.rand(n, 1, size, size, generator=g) * 2 - 1).to(device),
        "photo": (torch.rand(n, 3, size, size, generator=g) * 2 - 1).to(device),
    }


def trainer_layout(model: Pix2Pix, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """On CUDA, ours in the Trainer's memory format: model and images channels_last."""
    if model.device.type != "cuda":
        return batch
    model.to(memory_format=torch.channels_last)
    return {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}


def compile_networks(model: Pix2Pix) -> None:
    """Replace each network by its ``torch.compile`` wrapper (same parameters); static shapes,
    so that the second training case compiles for its own size rather than a dynamic one."""
    for name in model.network_names:
        setattr(model, name, torch.compile(getattr(model, name), dynamic=False))


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Plain float32 convolutions and matrix products on CUDA (PyTorch allows TF32 convs)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def reference_step(ref: ReferencePix2Pix, batch: dict[str, torch.Tensor]) -> None:
    """One reference update: forward G, D step, G step."""
    ref.set_input(batch["sketch"], batch["photo"])
    ref.optimize_parameters()


def our_step(model: Pix2Pix, optimizers: dict, batch: dict[str, torch.Tensor]) -> dict:
    """One of our updates, under the trainer's precision context."""
    with autocast_context(model.device):
        return model.train_step(batch, optimizers)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def time_alternating(
    fns: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> dict[str, float]:
    """Median seconds per call of each function, calls interleaved, after one warm-up each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            start = clock()
            fn()
            sync(device)
            times[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def loss_check(size: int, n: int, device: torch.device, steps: int = 2) -> float:
    """Largest relative loss difference over ``steps`` float32 steps from the same start."""
    ref, ours = build_pair(size, device)
    optimizers = ours.configure_optimizers()
    batch = make_batch(size, n, device, seed=1)
    our_batch = trainer_layout(ours, batch)
    worst = 0.0
    for step in range(steps):
        torch.manual_seed(step)  # same dropout masks
        with no_tf32():
            reference_step(ref, batch)
            torch.manual_seed(step)
            losses = ours.train_step(our_batch, optimizers)
        for name, value in ref.losses().items():
            worst = max(worst, abs(losses[name].item() - value) / max(abs(value), 1e-6))
    return worst


def memory_probe(impl: str, size: int, n: int, device: torch.device) -> int:
    """Peak memory (bytes) of one training step of ``impl`` ("ref" or "ours")."""
    ref, ours = build_pair(size, device)
    batch = make_batch(size, n, device)
    our_batch = trainer_layout(ours, batch)
    optimizers = ours.configure_optimizers()
    step = (
        (lambda: reference_step(ref, batch))
        if impl == "ref"
        else (lambda: our_step(ours, optimizers, our_batch))
    )
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    base = _proc_status_bytes("VmRSS")
    step()
    return _proc_status_bytes("VmHWM") - base


def _proc_status_bytes(field: str) -> int:
    """A memory field of /proc/self/status in bytes: VmRSS (now) or VmHWM (peak, per process).

    Unlike ``ru_maxrss``, VmHWM is not inherited from the parent through fork + exec.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def peak_memory(impl: str, size: int, n: int, device: torch.device) -> int:
    """``memory_probe`` in a fresh process on CPU (peak RSS never goes down), in-process on CUDA."""
    if device.type == "cuda":
        return memory_probe(impl, size, n, device)
    command = [
        sys.executable,
        __file__,
        "--memory-probe",
        impl,
        str(size),
        str(n),
        "--device",
        str(device),
        "--threads",
        str(torch.get_num_threads()),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return int(json.loads(output.strip().splitlines()[-1])["bytes"])


def train_row(size: int, n: int, repeats: int, device: torch.device) -> dict:
    """Images/s and peak memory of both implementations for one (size, batch) case."""
    ref, ours = build_pair(size, device)
    batch = make_batch(size, n, device)
    our_batch = trainer_layout(ours, batch)
    if COMPILE:
        compile_networks(ours)
    optimizers = ours.configure_optimizers()
    for _ in range(2 if COMPILE else 0):  # compile every graph (D with and without gradients)
        our_step(ours, optimizers, our_batch)
    seconds = time_alternating(
        {
            "ref": lambda: reference_step(ref, batch),
            "ours": lambda: our_step(ours, optimizers, our_batch),
        },
        repeats,
        device,
    )
    impls = () if COMPILE else ("ref", "ours")
    memory = {impl: peak_memory(impl, size, n, device) for impl in impls}
    return {"ips": {k: n / v for k, v in seconds.items()}, "mem": memory}


def infer_row(size: int, repeats: int, device: torch.device) -> dict:
    """Latency (s) for one sketch: reference eval forward vs our generate_tensor."""
    ref, ours = build_pair(size, device)
    ref.netG.eval()
    ours.eval()
    sketch = make_batch(size, 1, device)["sketch"]

    def reference() -> torch.Tensor:
        with torch.no_grad():
            return ref.netG(sketch)

    difference = (reference() - ours.generate_tensor(sketch)).abs().max().item()
    seconds = time_alternating(
        {"ref": reference, "ours": lambda: ours.generate_tensor(sketch)}, repeats, device
    )
    drawing = np.full((size, size), 255, np.uint8)
    drawing[size // 4 : 3 * size // 4, size // 2] = 0  # one black stroke on white
    end_to_end = time_alternating({"ours": lambda: ours.generate(drawing)}, repeats, device)
    return {"latency": seconds, "max_abs_diff": difference, "end_to_end": end_to_end["ours"]}


def _fmt_row(label: str, ref: float, ours: float, unit: str, higher_is_better: bool) -> str:
    ratio = ours / ref if higher_is_better else ref / ours
    return f"{label:<28}{ref:>12.2f}{ours:>12.2f}  {unit:<8}{ratio:>7.2f}x"


def _parse_cases(text: str) -> list[tuple[int, int]]:
    """``"256x1,64x16"`` -> ``[(256, 1), (64, 16)]``."""
    try:
        return [tuple(int(v) for v in case.split("x")) for case in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SIZExBATCH,... got {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or process CPU time (less affected by other processes; with --threads 1)",
    )
    parser.add_argument("--only", choices=("train", "infer"), help="run one part of the table")
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile our networks (training rows)"
    )
    parser.add_argument(
        "--cudnn-benchmark",
        action="store_true",
        help="let cuDNN time its convolution algorithms per shape (both sides; CUDA only)",
    )
    parser.add_argument(
        "--train-cases",
        type=_parse_cases,
        default=TRAIN_CASES,
        help="training cases as SIZExBATCH,... (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-probe", nargs=3, metavar=("IMPL", "SIZE", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    global clock, COMPILE
    clock = CLOCKS[args.clock]
    COMPILE = args.compile
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    if args.memory_probe:
        impl, size, n = args.memory_probe
        print(json.dumps({"bytes": memory_probe(impl, int(size), int(n), device)}))
        return
    train_repeats, infer_repeats = (3, 10) if args.quick else (8, 50)
    print(
        f"pix2pix benchmark on {device} ({torch.get_num_threads()} threads, {args.clock} clock, "
        f"torch {torch.__version__}); reference = plain eager float32 loop; ours"
        + (" bfloat16 autocast, channels_last" if device.type == "cuda" else " float32")
        + (", torch.compile" if COMPILE else "")
        + ("; cudnn.benchmark on both" if args.cudnn_benchmark else "")
    )
    for size, n in LOSS_CASES if args.only != "infer" else ():
        worst = loss_check(size, n, device)
        verdict = "ok" if worst <= LOSS_RTOL else "MISMATCH"
        print(
            f"loss check {size} px, batch {n}, 2 steps: max relative difference {worst:.1e} "
            f"(tolerance {LOSS_RTOL:g}) {verdict}"
        )
    print(f"\n{'case':<28}{'reference':>12}{'ours':>12}  {'unit':<8}{'ratio':>8}")
    for size, n in args.train_cases if args.only != "infer" else ():
        row = train_row(size, n, train_repeats, device)
        print(
            _fmt_row(
                f"train {size}px batch {n}", row["ips"]["ref"], row["ips"]["ours"], "img/s", True
            )
        )
        if row["mem"]:
            print(
                _fmt_row(
                    "  peak memory",
                    row["mem"]["ref"] / 2**20,
                    row["mem"]["ours"] / 2**20,
                    "MiB",
                    False,
                )
            )
    for size in INFER_SIZES if args.only != "train" else ():
        row = infer_row(size, infer_repeats, device)
        print(
            _fmt_row(
                f"1 sketch {size}px",
                row["latency"]["ref"] * 1e3,
                row["latency"]["ours"] * 1e3,
                "ms",
                False,
            )
            + f"   (outputs differ by {row['max_abs_diff']:.1e})"
        )
        print(f"  generate(): uint8 sketch -> uint8 RGB{row['end_to_end'] * 1e3:>23.1f}  ms")


if __name__ == "__main__":
    main()
