"""Command line: ``python -m sketchwidgets build-dataset | train | generate | evaluate | page``.

Library code never sees argparse; this module only maps arguments onto core calls.

Every command ends with one readable line on an error, and its exit status says what happened:

* 0 -- done;
* 1 -- the system failed us: a full disk ("no space left"), a read-only or missing-permission
  folder, another run holding the run folder, any other unexpected error;
* 2 -- bad input: a usage error, a missing or unreadable file, a bad value, an unsafe checkpoint;
* 3 -- training diverged (a non-finite loss, weight or buffer); nothing non-finite was saved;
* 130 -- interrupted (Ctrl-C); a run keeps its last checkpoint, to ``--resume``.

``SKETCHWIDGETS_TRACEBACK=1`` re-raises instead, for debugging.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sketchwidgets.config import StoredPathIgnored
from sketchwidgets.io import ImageReadError

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _count(minimum: int):
    """An argparse type: an int of at least ``minimum`` (a usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: at least {minimum}")
        return value

    return parse


def _class_label(text: str) -> int | str:
    """An argparse type: a class index (digits) or a class name (the model checks either)."""
    return int(text) if text.strip().lstrip("-").isdigit() else text


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
    train.add_argument("--steps", type=_count(1), required=True, help="total steps (>= 1)")
    train.add_argument("--batch-size", type=_count(1), default=None)
    train.add_argument(
        "--run-dir",
        default=None,
        help="run folder (default: the resumed checkpoint's run, else runs/latest)",
    )
    train.add_argument(
        "--overwrite", action="store_true", help="start over in a run folder that holds a run"
    )
    train.add_argument(
        "--checkpoint-every",
        type=_count(0),
        default=None,
        help="steps between checkpoints (default: about ten a run; 0: only at the end)",
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field (repeatable); a dotted key sets a nested one, "
        "e.g. search.iterations=20",
    )
    train.add_argument(
        "--preset",
        default=None,
        help="a named config preset (e.g. contextual_gan/data_limited), applied before --set",
    )
    train.add_argument(
        "--resume",
        default=None,
        help="checkpoint to continue (its own config; --set overrides it)",
    )
    train.add_argument("--device", default=None)
    train.add_argument("--seed", type=int, default=0)

    generate = commands.add_parser("generate", help="turn a sketch image into a photo")
    generate.add_argument("--checkpoint", required=True)
    generate.add_argument("--sketch", required=True, help="sketch image file")
    generate.add_argument("--out", required=True, help="output image file")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--keep-size", action="store_true", help="resize back to the input size")
    generate.add_argument(
        "--label",
        type=_class_label,
        default=None,
        help="class name or index, if the model needs one",
    )

    evaluate = commands.add_parser("evaluate", help="SSIM, PSNR, L1 (and FID) on a dataset")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--data", required=True, help="dataset folder, or embedded[:N]")
    evaluate.add_argument("--max-images", type=_count(1), default=None)
    evaluate.add_argument("--batch-size", type=_count(1), default=16)
    evaluate.add_argument("--fid-weights", default=None, help="Inception TorchScript file for FID")
    evaluate.add_argument("--json", default=None, help="also write the result to this file")

    export = commands.add_parser("export", help="export a model to ONNX or TorchScript")
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--format", required=True, help="onnx or torchscript")
    export.add_argument("--out", required=True, help="graph file; its .json side file goes beside")

    _add_pretrain_arguments(commands.add_parser("pretrain", help="train a shipped checkpoint"))

    page = commands.add_parser("page", help="write the classroom page: a folder any server serves")
    page.add_argument("out_dir", help="a new or empty folder, or a page written before (replaced)")
    page.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="MODEL",
        help="pretrained:NAME or checkpoint files (default: the four classroom checkpoints)",
    )
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
    from sketchwidgets.data.datasets import train_val_split
    from sketchwidgets.data.open import open_dataset
    from sketchwidgets.train.lock import run_folder_lock
    from sketchwidgets.train.trainer import Trainer

    run_dir = _run_dir(args)
    model = _model_to_train(args)  # refuses bad names, keys and checkpoints before any writing
    with run_folder_lock(run_dir):
        dataset = open_dataset(args.data, size=model.image_size)
        model = _with_data_classes(model, dataset, args)
        train_data, val_data = train_val_split(dataset, 0.1, seed=args.seed)
        batch_size = args.batch_size or getattr(model.config, "batch_size", 1)
        trainer = Trainer(
            model,
            train_data,
            steps=args.steps,
            batch_size=batch_size,
            val_data=val_data,
            run_dir=run_dir,
            device=args.device,
            seed=args.seed,
            checkpoint_every=args.checkpoint_every,
            overwrite=args.overwrite,
        )
        _fit(trainer, args)
        final = trainer.model.save(run_dir / "model.pt")
    print(f"trained {args.model} for {args.steps} steps; model saved to {final}")
    return EXIT_OK


def _run_dir(args: argparse.Namespace) -> Path:
    """--run-dir, else the run the resumed checkpoint belongs to, else runs/latest."""
    if args.run_dir is not None:
        return Path(args.run_dir)
    resumed = Path(args.resume) if args.resume else None
    if resumed is not None and resumed.parent.name == "checkpoints":
        return resumed.parent.parent
    return Path("runs/latest")


def _model_to_train(args: argparse.Namespace) -> Any:
    """The model, built after seeding: the paper's config (with --preset's overrides), or the
    resumed checkpoint's own config, with --set overrides on top."""
    from sketchwidgets.config import apply_overrides
    from sketchwidgets.device import seed_everything
    from sketchwidgets.models import model_class
    from sketchwidgets.train.checkpoint import load_checkpoint

    cls = model_class(args.model)
    config = cls.config_class()
    if args.resume:
        state = load_checkpoint(args.resume)
        if state["model_name"] != cls.name:
            raise ValueError(
                f"{args.resume} holds a {state['model_name']!r} model, not {args.model!r}"
            )
        config = _resumed_config(cls.config_class, state["config"], args)
    if args.preset:
        config = apply_overrides(config, _preset_for(args))
    seed_everything(args.seed)  # the initial weights are part of what --seed fixes
    return cls(apply_overrides(config, args.set))


def _preset_for(args: argparse.Namespace) -> dict[str, Any]:
    """The overrides of ``--preset``, which must be one of this model's and start a run."""
    from sketchwidgets.train.recipes import PRESETS, preset

    if args.resume:
        raise ValueError("--preset starts a new run; a resumed run keeps its checkpoint's config")
    own = [name for name in PRESETS if name.split("/")[0] == args.model]
    if args.preset not in own:
        raise ValueError(
            f"unknown preset {args.preset!r} for {args.model}; known: {', '.join(own) or 'none'}"
        )
    return preset(args.preset)


def _resumed_config(config_class: type, stored: dict[str, Any], args: argparse.Namespace) -> Any:
    """The checkpoint's config; a file it names (``perceptual_weights``) must come from --set."""
    from sketchwidgets.config import config_from_dict, stored_paths

    named = stored_paths(config_class, stored)
    given = {item.split("=", 1)[0].strip() for item in args.set}
    refused = {k: v for k, v in named.items() if k not in given}
    if refused:
        key, value = next(iter(refused.items()))
        raise ValueError(
            f"refusing to resume {args.resume}: its config names the file {key}={value!r}, and "
            f"a checkpoint may not point at files; give it yourself with --set {key}=FILE, or "
            f"--set {key}= to train without it"
        )
    return config_from_dict(config_class, {k: v for k, v in stored.items() if k not in named})


def _with_data_classes(model: Any, dataset: Any, args: argparse.Namespace) -> Any:
    """A fresh class-conditional model rebuilt (same seed) with the data's class names, so
    the saved model names the classes it learned; a resumed model or ``--set class_names``
    keeps its own (the Trainer maps the data's labels to them by name, or refuses)."""
    from sketchwidgets.data.class_match import dataset_class_names
    from sketchwidgets.device import seed_everything

    names = dataset_class_names(dataset)
    explicit = any(item.split("=", 1)[0].strip() == "class_names" for item in args.set)
    if not model.needs_label or args.resume or explicit or not names or names == model.class_names:
        return model
    seed_everything(args.seed)  # the initial weights are part of what --seed fixes
    return type(model)(dataclasses.replace(model.config, class_names=names))


def _fit(trainer: Any, args: argparse.Namespace) -> None:
    from sketchwidgets.train.checkpoint import CheckpointError

    try:
        trainer.fit(resume_from=args.resume)
    except CheckpointError as error:
        if not (args.resume and args.set):
            raise
        raise ValueError(
            f"{error}; the --set values do not fit {args.resume}: drop them to resume with "
            "the checkpoint's own config"
        ) from error


def _cmd_generate(args: argparse.Namespace) -> int:
    from sketchwidgets.inference import load
    from sketchwidgets.io import image_format, read_image, write_image

    image_format(args.out)  # an unknown suffix is refused before any work
    model = load(args.checkpoint)
    sketch = read_image(args.sketch)
    image = model.generate(sketch, seed=args.seed, label=args.label, keep_size=args.keep_size)
    write_image(args.out, image, overwrite=True)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from torch.utils.data import DataLoader

    from sketchwidgets.data.open import open_dataset
    from sketchwidgets.eval.metrics import evaluate
    from sketchwidgets.inference import load

    model = load(args.checkpoint)
    dataset = open_dataset(args.data, size=model.image_size)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    result = evaluate(model, loader, max_images=args.max_images, fid_weights=args.fid_weights)
    text = json.dumps(result.to_dict(), indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from sketchwidgets.export import export
    from sketchwidgets.inference import load

    model = load(args.checkpoint, device="cpu")  # a path or pretrained:NAME; the check is on CPU
    result = export(model, args.out, format=args.format)
    for path in (*result.files, result.side_file):
        print(f"wrote {path}")
    return 0


def _cmd_page(args: argparse.Namespace) -> int:
    from sketchwidgets.web import DEFAULT_MODELS, build_page

    index = build_page(args.out_dir, args.models or DEFAULT_MODELS)
    print(f"wrote {index}: serve {index.parent} with any static web server and open index.html")
    return 0


def _cmd_pretrain(args: argparse.Namespace) -> int:
    """``python -m sketchwidgets pretrain NAME``: train, score, write; print the card."""
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps {args.steps}: at least 1")
    from sketchwidgets.eval.checkpoint_cards import pretrain
    from sketchwidgets.eval.domain_gap import format_table
    from sketchwidgets.pretrained import METRICS

    path = pretrain(
        args.name,
        steps=args.steps,
        out=args.out,
        smoke=args.smoke,
        device=args.device,
        replace_shipped=args.replace_shipped,
        sketches=args.sketches,
        changes=args.set,
    )
    card = json.loads(path.with_suffix(".json").read_text())
    print(f"wrote {path} ({card['file_bytes'] / 1e6:.2f} MB) and its card")
    for key in ("heldout", "heldout_float32", "nearest_neighbour"):
        print(f"  {key:<18} " + "  ".join(f"{m} {card[key][m]:.4f}" for m in METRICS))
    print(format_table(card["domain_gap"]))
    return 0


COMMANDS = {
    "build-dataset": _cmd_build,
    "train": _cmd_train,
    "generate": _cmd_generate,
    "evaluate": _cmd_evaluate,
    "export": _cmd_export,
    "pretrain": _cmd_pretrain,
    "page": _cmd_page,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (see the module docstring), one line on errors."""
    args = _build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            warnings.simplefilter("default", StoredPathIgnored)  # always said, in one line
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if os.environ.get("SKETCHWIDGETS_TRACEBACK", "").strip() in {"1", "true", "yes"}:
            raise
        status, message = _describe(error)
        print("error: " + " ".join(message.split()), file=sys.stderr)
        return status


def _warning_line(message: Warning | str, category: type[Warning], *_args: Any, **_kw: Any) -> None:
    """A warning as one ``warning: ...`` line on stderr (not Python's file:line format)."""
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def _describe(error: Exception) -> tuple[int, str]:
    """The exit status and the one-line message for an error."""
    from sketchwidgets.train.callbacks import TrainingDiverged
    from sketchwidgets.train.lock import RunFolderBusy

    if isinstance(error, TrainingDiverged):
        return EXIT_DIVERGED, str(error)
    if isinstance(error, RunFolderBusy):
        return EXIT_ERROR, str(error)
    if isinstance(
        error, (FileNotFoundError, FileExistsError, KeyError, ValueError, ImageReadError)
    ):
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        return EXIT_BAD_INPUT, str(message)
    if isinstance(error, OSError):
        return EXIT_ERROR, _os_message(error)
    return EXIT_ERROR, f"{type(error).__name__}: {error} (SKETCHWIDGETS_TRACEBACK=1 shows where)"


def _os_message(error: OSError) -> str:
    """'no space left ...' for a full disk or a size limit; else the system's words and path."""
    where = f" {error.filename}" if error.filename else ""
    reason = error.strerror or str(error)
    if error.errno in _NO_SPACE:
        return f"no space left to write{where} ({reason}); free space or write elsewhere"
    if error.errno == errno.EROFS:
        return f"cannot write{where}: {reason}"
    return f"{reason}:{where}" if where else reason


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


def _add_pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pretrain`` subcommand's arguments."""
    from sketchwidgets import pretrained

    parser.add_argument("name", help=f"one of: {', '.join(pretrained.RECIPES)}")
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--out", default=None, help="folder to write the checkpoint and card")
    parser.add_argument(
        "--replace-shipped",
        action="store_true",
        help="write into the package's own folder, replacing the shipped checkpoint (not --out)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="32 training items, 8 held out (a quick check)"
    )
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--sketches",
        choices=("machine", "mix"),
        default=None,
        help="training sketches: the dataset's own (machine), or stored + drawn style + "
        "augmented, afresh each epoch (mix); default: the recipe's",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a config field of the recipe (repeatable): a variant, for --out only",
    )
