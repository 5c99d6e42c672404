"""Speed and memory of one model, chosen by name: training, memory, sketch-to-image latency.

    python benchmarks/speed.py --model pix2pix --quick          # training vs a plain loop
    python benchmarks/speed.py --model contextual_gan --iters 50  # batched latent search
    python benchmarks/speed.py --model sketchygan --quick
    python benchmarks/speed.py --model edgegan --device cuda
    python benchmarks/speed.py --model pix2pix --help           # that model's own flags

Each model's benchmark is a script in ``benchmarks/model_speed/<NAME>.py`` (its docstring says
what it measures); this runs it as the main program with the remaining flags, so it prints
the same figures as running that script directly.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

MODEL_SPEED = Path(__file__).resolve().parent / "model_speed"
HELPERS = {"reference_pix2pix", "timing"}  # shared modules in model_speed/, not benchmarks


def benchmarks() -> dict[str, Path]:
    """``{model name: its speed script}``, in name order."""
    scripts = sorted(MODEL_SPEED.glob("*.py"))
    return {path.stem: path for path in scripts if path.stem not in HELPERS}


def main(argv: list[str] | None = None) -> None:
    """Pick the model's script and run it with the rest of the command line."""
    known = benchmarks()
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Any other flag goes to the model's benchmark; --model NAME --help lists them.",
        add_help=False,
    )
    parser.add_argument("--model", choices=list(known), help="which model to measure")
    parser.add_argument("-h", "--help", action="store_true", help="show this help, or the model's")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.model is None and args.help:
        parser.print_help()
        sys.exit(0)
    if args.model is None:
        parser.error(f"--model is required: one of {', '.join(known)}")
    script = known[args.model]
    sys.path.insert(0, str(MODEL_SPEED))  # the script's helpers sit beside it
    sys.argv = [f"speed.py --model {args.model}", *rest, *(["--help"] if args.help else [])]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
