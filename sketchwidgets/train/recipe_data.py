"""The data a shipped checkpoint's recipe trains on, and the hold-outs it is scored on.

:func:`splits` gives a recipe's ``(train, held_out)`` at 64 px, from the embedded set or from
the real data (``$SKETCHWIDGETS_DATA``, else ``../shared/data`` beside the checkout).

Which sketches a recipe trains on, and the hold-outs every checkpoint is scored on.

Training sketches (``Recipe.sketches``, ``pretrain --sketches``):

* ``"machine"``: the dataset's own sketches only (machine edges, or Sketchy's human
  sketches), as the first shipped checkpoints were trained;
* ``"mix"``: :class:`~sketchwidgets.data.sketch_mix.SketchStyleMix` over the training split
  (``Recipe.shares``, by default :data:`TRAINING_SHARES`: two thirds stored sketches, a sixth
  drawn style, a sixth augmented; a fresh drawing each epoch), and for faces the training
  people of
  ``cufs_train`` too, aligned to the CelebA framing
  (:func:`~sketchwidgets.data.cufs.cufs_splits`), repeated :data:`CUFS_REPEAT` times.

Hold-outs (:func:`holdout_sets`), each with the training side its baselines draw on:

* ``"machine"``: the held-out split as stored, against the training split;
* ``"drawn"``: the held-out photos drawn in the hand style from the hold-out stream (never
  a training drawing), against the training photos drawn from a third stream;
* ``"cufs"`` (faces only): the held-out people's artist sketches, against the training
  people's.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from torch.utils.data import ConcatDataset, Dataset, Subset

from sketchwidgets.data.shared import shared_data_folder
from sketchwidgets.data.sketch_augment import DEFAULT_AUGMENT
from sketchwidgets.data.sketch_mix import (
    BASELINE_STREAM,
    DRAWN_ONLY,
    MixShares,
    SketchStyleMix,
    drawn_holdout,
)
from sketchwidgets.pretrained import DATASETS, Recipe

SMOKE_ITEMS = (32, 8)  # --smoke: training items, held-out items


SKETCH_SOURCES = ("machine", "mix")
CUFS_FOLDER = "cufs_train"
CUFS_REPEAT = 1  # the 150 training people of CUFS once, beside 749 CelebA faces
SMOKE_CUFS = (8, 4)  # --smoke: CUFS training people, held-out people
# Two thirds of the items keep the dataset's own sketch: with a third, and with a half,
# pix2pix/faces lost contrast and SSIM on machine edges (the card's first hold-out), while
# the drawn and CUFS hold-outs beat their baselines with far fewer steps of their own
TRAINING_SHARES = MixShares(stored=4.0, drawn=1.0, augmented=1.0)


def recipe_shares(recipe_: Recipe) -> MixShares:
    """The style shares of the mix recipe ``recipe_`` trains on (``Recipe.shares``)."""
    return MixShares(*recipe_.shares)


def check_source(sketches: str) -> str:
    """``sketches`` if it is a known source, else ValueError listing them."""
    if sketches not in SKETCH_SOURCES:
        raise ValueError(f"unknown training sketches {sketches!r}; known: {list(SKETCH_SOURCES)}")
    return sketches


def cufs_parts(seed: int, *, smoke: bool = False) -> tuple[Dataset, Dataset]:
    """``(train, held_out)`` CUFS people in the CelebA framing (first few for smoke)."""
    from sketchwidgets.data.cufs import cufs_splits

    train, held_out = cufs_splits(shared_data_folder(CUFS_FOLDER), seed=seed)
    if smoke:
        return _first(train, SMOKE_CUFS[0]), _first(held_out, SMOKE_CUFS[1])
    return train, held_out


def training_data(
    dataset: str,
    train: Dataset,
    *,
    sketches: str,
    seed: int,
    smoke: bool = False,
    shares: MixShares = TRAINING_SHARES,
) -> Dataset:
    """The data a recipe trains on from its training split (see the module notes)."""
    if check_source(sketches) == "machine":
        return train
    if dataset == "faces":
        people = cufs_parts(seed, smoke=smoke)[0]
        train = ConcatDataset([train, *[people] * CUFS_REPEAT])
    return SketchStyleMix(train, seed=seed, shares=shares)


def mix_settings(sketches: str, shares: MixShares = TRAINING_SHARES) -> dict[str, Any] | None:
    """What a card records of the mix: the style shares and the augmentation's settings
    (None for ``"machine"``)."""
    if check_source(sketches) == "machine":
        return None
    return {
        "shares": dataclasses.asdict(shares),
        "augment": json.loads(json.dumps(dataclasses.asdict(DEFAULT_AUGMENT))),
        "cufs_repeat": CUFS_REPEAT,
    }


def holdout_sets(
    dataset: str, train: Dataset, held_out: Dataset, *, seed: int, smoke: bool = False
) -> dict[str, tuple[Dataset, Dataset]]:
    """``{name: (training side, hold-out)}`` for ``"machine"``, ``"drawn"`` and, for faces,
    ``"cufs"``."""
    drawn_train = SketchStyleMix(train, seed=seed, shares=DRAWN_ONLY, stream=BASELINE_STREAM)
    sets: dict[str, tuple[Dataset, Dataset]] = {
        "machine": (train, held_out),
        "drawn": (drawn_train, drawn_holdout(held_out, seed=seed)),
    }
    if dataset == "faces":
        sets["cufs"] = cufs_parts(seed, smoke=smoke)
    return sets


def splits(recipe_: Recipe, *, smoke: bool = False) -> tuple[Dataset, Dataset]:
    """``(train, held_out)`` of the recipe's dataset at 64 px (first items only for smoke)."""
    key = recipe_.dataset
    if key == "classroom":
        from sketchwidgets.data.builtin import EmbeddedDataset

        n = sum(SMOKE_ITEMS) if smoke else 2000
        share = SMOKE_ITEMS[1] / n if smoke else 0.1
        parts = [
            EmbeddedDataset(n, size=64, seed=0, split=s, val_fraction=share)
            for s in ("train", "val")
        ]
        return parts[0], parts[1]
    train, held_out = _shared_splits(key, shared_data_folder(DATASETS[key]["source"]), recipe_)
    if smoke:
        train, held_out = _first(train, SMOKE_ITEMS[0]), _first(held_out, SMOKE_ITEMS[1])
    return train, held_out


def _shared_splits(key: str, root: Path, recipe_: Recipe) -> tuple[Dataset, Dataset]:
    if key == "faces":
        from sketchwidgets.data.datasets import JointImageDataset, train_val_split

        faces = JointImageDataset(root / "pairs_64x128", size=64)
        return train_val_split(faces, 0.1, seed=recipe_.seed)
    if key == "shoes_handbags":
        from sketchwidgets.data.edgegan_format import shoes_handbags

        return shoes_handbags(root, split="train"), shoes_handbags(root, split="val")
    from sketchwidgets.data.sketchy import import_sketchy_pairs, split_by_photo

    return split_by_photo(import_sketchy_pairs(root, size=64), 0.2, seed=recipe_.seed)


def _first(dataset: Dataset, n: int) -> Subset:
    return Subset(dataset, list(range(min(n, len(dataset)))))  # type: ignore[arg-type]


def class_names_of(dataset: Dataset) -> tuple[str, ...]:
    """The class names of a dataset or of the dataset under a Subset."""
    from sketchwidgets.data.class_match import dataset_class_names

    return dataset_class_names(dataset) or ()
