"""Command line: ``python -m sketchwidgets build-dataset | train | generate | evaluate``.

Library code never sees argparse; this module only maps arguments onto core calls.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sketchwidgets.io import ImageReadError


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sketchwidgets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-dataset", help="turn a folder of photos into sketch pairs")
    build.add_argument("src", help="folder of photos (class subfolders allowed), or embedded[:N]")
    build.add_argument("dst", help="output folder")
    build.add_argument("--format", default="paired", choices=["paired", "side_by_side", "joint"])
    build.add_argument("--style", default="xdog", help="sketch style: xdog, canny, dodge")
    build.add_argument("--size", type=int, default=None, help="output side in pixels")
    build.add_argument("--workers", type=int, default=None)
    build.add_argument("--overwrite", action="store_true", help="replace existing output files")

    train = commands.add_parser("train", help="train a model")
    train.add_argument("model", help="model name, e.g. pix2pix")
    train.add_argument("--data", required=True, help="dataset folder, or embedded[:N]")
    train.add_argument("--steps", type=int, required=True)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--run-dir", default="runs/latest")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field (repeatable)",
    )
    train.add_argument("--resume", default=None, help="checkpoint to resume from")
    train.add_argument("--device", default=None)
    train.add_argument("--seed", type=int, default=0)

    generate = commands.add_parser("generate", help="turn a sketch image into a photo")
    generate.add_argument("--checkpoint", required=True)
    generate.add_argument("--sketch", required=True, help="sketch image file")
    generate.add_argument("--out", required=True, help="output image file")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--keep-size", action="store_true", help="resize back to the input size")
    generate.add_argument(
        "--label", type=int, default=None, help="class index, if the model needs one"
    )

    evaluate = commands.add_parser("evaluate", help="SSIM, PSNR, L1 (and FID) on a dataset")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--data", required=True, help="dataset folder, or embedded[:N]")
    evaluate.add_argument("--max-images", type=int, default=None)
    evaluate.add_argument("--batch-size", type=int, default=16)
    evaluate.add_argument("--fid-weights", default=None, help="Inception TorchScript file for FID")
    evaluate.add_argument("--json", default=None, help="also write the result to this file")
    return parser


def _cmd_build(args: argparse.Namespace) -> int:
    from sketchwidgets.data.build import build_dataset

    src = args.src
    with tempfile.TemporaryDirectory() as scratch:
        if src == "embedded" or src.startswith("embedded:"):
            from sketchwidgets.data.builtin import write_embedded_photos

            count = int(src.split(":", 1)[1]) if ":" in src else 256
            src = Path(scratch) / "photos"
            write_embedded_photos(src, count, size=args.size or 128)
        options = {"size": args.size} if args.size else {}
        report = build_dataset(
            src,
            args.dst,
            format=args.format,
            style=args.style,
            workers=args.workers,
            overwrite=args.overwrite,
            **options,
        )
    print(f"wrote {len(report.written)} files to {args.dst}; skipped {len(report.skipped)}")
    for path, reason in report.skipped:
        print(f"  skipped {path}: {reason}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from sketchwidgets.config import apply_overrides
    from sketchwidgets.data.datasets import train_val_split
    from sketchwidgets.data.open import open_dataset
    from sketchwidgets.models import model_class
    from sketchwidgets.train.trainer import Trainer

    cls = model_class(args.model)
    config = apply_overrides(cls.config_class(), args.set)
    dataset = open_dataset(args.data, size=config.image_size)
    train_data, val_data = train_val_split(dataset, 0.1, seed=args.seed)
    batch_size = args.batch_size or getattr(config, "batch_size", 1)
    trainer = Trainer(
        cls(config),
        train_data,
        steps=args.steps,
        batch_size=batch_size,
        val_data=val_data,
        run_dir=args.run_dir,
        device=args.device,
        seed=args.seed,
    )
    trainer.fit(resume_from=args.resume)
    final = trainer.model.save(Path(args.run_dir) / "model.pt")
    print(f"trained {args.model} for {args.steps} steps; model saved to {final}")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from sketchwidgets.inference import load
    from sketchwidgets.io import read_image, write_image

    model = load(args.checkpoint)
    sketch = read_image(args.sketch)
    image = model.generate(sketch, seed=args.seed, label=args.label, keep_size=args.keep_size)
    write_image(args.out, image, overwrite=True)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from torch.utils.data import DataLoader

    from sketchwidgets.data.open import open_dataset
    from sketchwidgets.inference import load
    from sketchwidgets.metrics import evaluate

    model = load(args.checkpoint)
    dataset = open_dataset(args.data, size=model.image_size)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    result = evaluate(model, loader, max_images=args.max_images, fid_weights=args.fid_weights)
    text = json.dumps(result.to_dict(), indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


COMMANDS = {
    "build-dataset": _cmd_build,
    "train": _cmd_train,
    "generate": _cmd_generate,
    "evaluate": _cmd_evaluate,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 with a one-line message on bad input)."""
    args = _build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (FileNotFoundError, FileExistsError, KeyError, ValueError, ImageReadError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
