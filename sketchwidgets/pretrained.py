"""Shipped trained checkpoints: the recipe table, their cards, listing and loading.

Every shipped checkpoint is named ``"<model>/<dataset>"``; :data:`RECIPES` says how each is
made (data, widths, steps, seed), and one command makes it from a checkout
(``../shared/data`` beside it, or ``$SKETCHWIDGETS_DATA``)::

    python -m sketchwidgets pretrain pix2pix/faces --out DIR   # -> DIR/pix2pix-faces.pt
    python -m sketchwidgets pretrain pix2pix/faces --replace-shipped  # -> sketchwidgets/pretrained/

Making one is :mod:`sketchwidgets.train.recipes` (training) and
:mod:`sketchwidgets.eval.checkpoint_cards` (the card's figures); this module only reads.

* ``sw.load("pretrained:pix2pix/faces")`` or :func:`load_pretrained` loads one;
* :func:`available` lists what is shipped, with the cards;
* :func:`classroom_models` gives the classroom checkpoint of every model that has one.

A checkpoint is shipped when both its file and its card are in the folder; a file without
its card is not shipped, for every one of these calls. Loading checks the file's SHA-256
against its card (once per process while the file is unchanged): a changed or damaged file,
or a card that does not parse, raises :class:`DamagedShippedFile` naming the file and how to
restore it. An unknown name, or a recipe not trained yet, raises :class:`ValueError` listing
the names.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sketchwidgets.drawing.line_stats import LineStats

PACKAGE_FOLDER = Path(__file__).resolve().parent / "pretrained"
SHIPPED_FOLDER = PACKAGE_FOLDER  # where shipped checkpoints are read (tests point it at a copy)
RESTORE_HINT = (
    "restore the shipped files: reinstall the package (pip install --force-reinstall "
    "sketchwidgets) or, in a checkout, git checkout -- sketchwidgets/pretrained/"
)
PREFIX = "pretrained:"
METRICS = ("ssim", "psnr", "l1")


@dataclass(frozen=True)
class Recipe:
    """How one shipped checkpoint is made; every field is written to its card."""

    model: str  # registry name (sketchwidgets.models.MODELS)
    dataset: str  # key of DATASETS
    overrides: dict[str, Any]  # model config fields changed from the preset (or the defaults)
    steps: int
    batch_size: int
    seed: int = 0
    smoke_overrides: dict[str, Any] = field(default_factory=dict)  # extra, for --smoke only
    # training-only networks left out of the file (generation never runs them; a fine-tune
    # would start them afresh); the file then loads through load_pretrained only
    drop: tuple[str, ...] = ()
    # after training, re-estimate the BatchNorm running statistics of this network (which takes
    # the sketch) over this many training batches, dropout off; 0 = keep the training averages
    recalibrate: tuple[str, int] | None = None
    # the training sketches: "machine" (the dataset's own) or "mix" (stored, drawn style and
    # augmented, drawn afresh each epoch; faces add CUFS artist sketches): train/recipe_data.py
    sketches: str = "mix"
    # the named preset of sketchwidgets.train.recipes.PRESETS under ``overrides`` ("" = none)
    preset: str = ""
    # the mix's stored : drawn style : augmented shares (train/recipe_data.py)
    shares: tuple[float, float, float] = (4.0, 1.0, 1.0)

    @property
    def name(self) -> str:
        return f"{self.model}/{self.dataset}"


# Where each dataset comes from and how its held-out split is drawn (all at 64 px).
DATASETS: dict[str, dict[str, str]] = {
    "classroom": {
        "source": "embedded",
        "data": "the embedded set: EmbeddedDataset(2000, size=64, seed=0), 8 classes",
        "split": "EmbeddedDataset's split: 'train' = pairs 0-1799, held out 'val' = 1800-1999",
    },
    "faces": {
        "source": "celeba_xdog_joint64",
        "data": "celeba_xdog_joint64/pairs_64x128: 832 CelebA faces with XDoG sketches",
        "split": "train_val_split(val_fraction=0.1, seed=recipe seed): 749 train, 83 held out",
    },
    "shoes_handbags": {
        "source": "shoes_handbags_photo_edges",
        "data": "shoes_handbags_photo_edges: edge map -> photo, classes handbag/shoe",
        "split": "the folder's own split: train/ (2000) for training, val/ (400) held out",
    },
    "sketchy": {
        "source": "sketchy_subset",
        "data": "sketchy_subset pairs.csv: human sketches of 578 photos, 125 classes",
        "split": "split_by_photo(val_fraction=0.2, seed=recipe seed): held-out photos unseen",
    },
}

# Reduced widths keep every checkpoint a few MB in float16 (the papers' widths are 64), and
# all of them together under 30 MB (tests/test_pretrained.py checks the sum from this table).
_PIX2PIX = {"image_size": 64, "ngf": 16, "ndf": 16}
# the search runs D too (its perceptual loss), so nothing is dropped; the encoder as wide as D;
# the completion refiner lets the strokes reach the photo (docs/drawn_sketches.md)
_CONTEXTUAL = {"gf_dim": 16, "df_dim": 16, "encoder_width": 16, "refiner_width": 16}
# SketchyGAN costs ~1.1 CPU-seconds a step at batch 8 on one thread (64 px, DRAGAN's double
# backward, G run twice for the diversity term), so 400 steps take ~8 minutes on a quiet
# thread, 800 ~15; D narrowed to 8 as in notebooks/sketchygan (ndf 16 triples the step).
# Sketchy gets 800: at 400 its images were muddier and as far from the classes (125 of them)
_SKETCHYGAN = {"ngf": 12, "ndf": 8, "latent_dim": 64}
# EdgeGAN: the widths, critic sizes, lr and the pair term of notebooks/edgegan/02 with its
# mean code, own pair optimiser and ink-balanced edge L1, and the 8-number code whose error
# also trains GE, so that E inverts GE (docs/findings/edgegan.md);
# 2000 steps at batch 8 (~13 min on one thread): at 700 the shoes scored SSIM 0.433 / PSNR
# 11.35 dB (below the nearest neighbour) with checkerboarded textures, at 2000 0.488 / 12.30
_EDGEGAN = {
    "z_dim": 8,
    "gf_dim": 8,
    "df_dim": 8,
    "ef_dim": 8,
    "classifier_dim": 4,
    "image_dis_size": 64,
    "edge_dis_size": 64,
    "lr": 1e-3,
    "pair_l1_weight": 10.0,
    "pair_optimizer": "rmsprop",
    "pair_edge_loss": "ink_l1",
    "encoder_noise": "none",
    "zl_trains": "encoder_and_edge_generator",
    # the strokes reach the picture through a refiner beside GI (docs/drawn_sketches.md)
    "image_refiner_width": 16,
}
_EDGEGAN_COLOURS = {
    "image_refiner_gan_weight": 0.05,
    "image_refiner_upsample": "resize",
    "image_refiner_depth": 5,
}
_DATA_LIMITED = "contextual_gan/data_limited"
# --smoke only: a few search steps, narrow nets (the code path, not the result, is checked)
_CONTEXTUAL_SMOKE = {"search.iterations": 2, "search.n_init": 2, "search.init_pool": 16}
_SKETCHYGAN_SMOKE = {"ngf": 4, "ndf": 4, "latent_dim": 8}
_EDGEGAN_SMOKE = {"gf_dim": 4, "df_dim": 4, "ef_dim": 4, "classifier_dim": 2}
_D = ("discriminator",)
_EDGEGAN_DROP = (
    "refiner_discriminator",
    "joint_discriminator",
    "image_discriminator",
    "edge_discriminator",
    "classifier",
)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("pix2pix", "classroom", _PIX2PIX, steps=4000, batch_size=16),
        # on the mix, 3000 steps scored no better than 1500; 20 filters and four fifths of
        # stored sketches (CUFS is drawings already) kept the machine edges' contrast that 16
        # filters and two thirds lost (docs/drawn_sketches.md)
        Recipe(
            "pix2pix",
            "faces",
            {**_PIX2PIX, "ngf": 20},
            steps=1500,
            batch_size=16,
            shares=(8.0, 1.0, 1.0),
        ),
        # the running averages left the shoes U-Net far from its batch statistics (held-out
        # SSIM 0.28 vs 0.50 for the nearest neighbour), so they are re-estimated after training
        Recipe("pix2pix", "shoes_handbags", _PIX2PIX, 1500, 16, recalibrate=("generator", 125)),
        Recipe(
            "contextual_gan",
            "classroom",
            _CONTEXTUAL,
            1500,
            32,
            0,
            _CONTEXTUAL_SMOKE,
            preset=_DATA_LIMITED,
        ),  # fmt: skip
        Recipe(
            "contextual_gan",
            "faces",
            _CONTEXTUAL,
            1500,
            32,
            0,
            _CONTEXTUAL_SMOKE,
            preset=_DATA_LIMITED,
        ),  # fmt: skip
        Recipe("sketchygan", "classroom", _SKETCHYGAN, 400, 8, 0, _SKETCHYGAN_SMOKE, _D),
        Recipe("sketchygan", "sketchy", _SKETCHYGAN, 800, 8, 0, _SKETCHYGAN_SMOKE, _D),
        # the classroom's colours are drawn at random per photo, so a refiner that learns by L1
        # alone paints their average; against a PatchGAN too, seeing the whole picture, it
        # picks one per drawing, as pix2pix does (docs/drawn_sketches.md)
        Recipe(
            "edgegan",
            "classroom",
            {**_EDGEGAN, **_EDGEGAN_COLOURS},
            4000,
            8,
            0,
            _EDGEGAN_SMOKE,
            _EDGEGAN_DROP,
        ),  # fmt: skip
        Recipe("edgegan", "shoes_handbags", _EDGEGAN, 2000, 8, 0, _EDGEGAN_SMOKE, _EDGEGAN_DROP),
    )
}


# --------------------------------------------------------------------------- names and files


def recipe(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name raises listing every name."""
    if name not in RECIPES:
        raise ValueError(f"unknown pretrained model {name!r}; {_names_line()}")
    return RECIPES[name]


class DamagedShippedFile(ValueError):
    """A shipped checkpoint differs from its card's SHA-256, or its card does not parse."""


def checkpoint_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    """``<folder>/<model>-<dataset>.pt`` (its card is the ``.json`` beside it); the folder
    defaults to the shipped one."""
    model, dataset = recipe(name).name.split("/")
    return Path(SHIPPED_FOLDER if folder is None else folder) / f"{model}-{dataset}.pt"


def card_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    return checkpoint_path(name, folder).with_suffix(".json")


def shipped_names() -> list[str]:
    """The recipe names whose checkpoint and card are in the package, in table order."""
    return [n for n in RECIPES if checkpoint_path(n).is_file() and card_path(n).is_file()]


def _names_line() -> str:
    shipped = shipped_names()
    later = [n for n in RECIPES if n not in shipped]
    return (
        f"shipped: {shipped or 'none'}; recipes not trained yet: {later or 'none'} "
        "(python -m sketchwidgets pretrain NAME makes one)"
    )


def available() -> dict[str, dict[str, Any]]:
    """``{name: card}`` of every shipped checkpoint."""
    return {name: read_card(name) for name in shipped_names()}


def read_card(name: str, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The card of ``name`` (raises listing the names when it is not shipped, and
    :class:`DamagedShippedFile` naming the card when it does not parse)."""
    path = card_path(name, folder)
    if not (path.is_file() and checkpoint_path(name, folder).is_file()):
        _not_shipped(name, folder)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DamagedShippedFile(
            f"{path}: the card of pretrained model {name!r} does not parse ({error}); "
            + RESTORE_HINT
        ) from None
    if not isinstance(card, dict):
        raise DamagedShippedFile(
            f"{path}: the card of {name!r} is not a JSON object; {RESTORE_HINT}"
        )
    return card


def _not_shipped(name: str, folder: str | os.PathLike | None) -> None:
    """Raise: ``name`` is not shipped (saying so when only its card is missing)."""
    if checkpoint_path(name, folder).is_file():
        raise ValueError(
            f"pretrained model {name!r} is not shipped: its card {card_path(name, folder)} is "
            f"missing, and a checkpoint without its card is not loaded; {RESTORE_HINT}"
        )
    raise ValueError(f"pretrained model {name!r} is not shipped yet; {_names_line()}")


def verified_checkpoint(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The checkpoint file of ``name`` once its SHA-256 matches its card's (hashed once per
    process while the file keeps its time and size); :class:`DamagedShippedFile` otherwise."""
    from sketchwidgets.io import file_sha256

    card, path = read_card(name, folder), checkpoint_path(name, folder)
    expected = card.get("sha256")
    if not isinstance(expected, str):
        raise DamagedShippedFile(
            f"{card_path(name, folder)}: the card of {name!r} records no sha256; {RESTORE_HINT}"
        )
    actual = file_sha256(path)
    if actual != expected:
        raise DamagedShippedFile(
            f"{path}: refusing to load it, its SHA-256 {actual[:16]}... differs from the "
            f"{expected[:16]}... its card {card_path(name, folder).name} records (the file was "
            f"changed or damaged); {RESTORE_HINT}"
        )
    return path


def resolve(spec: str) -> Path:
    """``"pretrained:pix2pix/faces"`` or ``"pix2pix/faces"`` -> the shipped checkpoint file,
    checked against its card."""
    name = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    return verified_checkpoint(name)


def load_pretrained(name: str, *, device: str | torch.device | None = None) -> Any:
    """The shipped model ``name`` in eval mode (float32 weights rounded through float16)."""
    from sketchwidgets.device import pick_device

    target = pick_device(str(device) if device is not None else None)
    return load_shipped(resolve(name)).to(target).eval()


def load_shipped(path: str | os.PathLike) -> Any:
    """A model from a file written by :func:`save_float16` (safe loading, plain data only).

    Networks the file lists as ``"dropped"`` keep their fresh initial weights; any other
    missing or unexpected weight is an error naming the file. A file saved without the line
    statistics of its training sketches gets them from the card beside it (``"line_stats"``).
    """
    from sketchwidgets.config import stored_config
    from sketchwidgets.io import load_torch
    from sketchwidgets.models import model_class
    from sketchwidgets.models.weights_fit import load_weights

    state = load_torch(path)
    cls = model_class(state["model_name"])
    model = cls(stored_config(cls.config_class, state["config"], path))
    if model.line_stats is None:
        stats = card_line_stats(Path(path).with_suffix(".json"))
        if stats is not None:
            model.record_line_stats(stats)
    dropped = tuple(state.get("dropped", ()))
    load_weights(
        model, state["state_dict"], source=str(path), stored_config=state["config"], dropped=dropped
    )
    return model.eval()


def shipped_name(path: str | os.PathLike) -> str | None:
    """The name of the shipped checkpoint ``path`` is, by location (the package's file) or by
    content (a copy: its SHA-256 is a card's); None for any other file."""
    path = Path(path)
    if not path.is_file():
        return None
    names = shipped_names()
    for name in names:
        if checkpoint_path(name).resolve() == path.resolve():
            return name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for name in names:
        try:
            card = read_card(name)
        except (OSError, ValueError):  # a card that does not read names nothing
            continue
        if isinstance(card, dict) and card.get("sha256") == digest:
            return name
    return None


def card_line_stats(path: str | os.PathLike) -> LineStats | None:
    """The ``"line_stats"`` of the card at ``path`` (None when there is no card or no entry)."""
    path = Path(path)
    if not path.is_file():
        return None
    values = json.loads(path.read_text()).get("line_stats")
    return None if values is None else LineStats.from_dict(values)


def classroom_models(*, device: str | torch.device | None = None) -> dict[str, Any]:
    """``{model name: model}``: the shipped classroom checkpoint of every model that has one."""
    names = [n for n in shipped_names() if n.endswith("/classroom")]
    if not names:
        raise ValueError(f"no classroom checkpoint is shipped; {_names_line()}")
    return {n.split("/")[0]: load_pretrained(n, device=device) for n in names}


def describe(names: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows for a table of the shipped cards: name, size, steps and the three score sets."""
    rows = []
    for name, card in available().items():
        if names is None or name in names:
            row = {"name": name, "MB": round(card["file_bytes"] / 1e6, 2), "steps": card["steps"]}
            for key in ("heldout", "heldout_float32", "nearest_neighbour"):
                row.update({f"{key}/{m}": round(card[key][m], 4) for m in METRICS})
            rows.append(row)
    return rows
