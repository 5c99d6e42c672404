"""Shipped trained checkpoints: the recipe table, ``pretrain NAME``, loading and listing.

Every shipped checkpoint is named ``"<model>/<dataset>"`` and made by one command from a
checkout (``../shared/data`` beside it, or ``$SKETCHWIDGETS_DATA``)::

    python -m sketchwidgets pretrain pix2pix/faces          # -> sketchwidgets/pretrained/

The command trains the recipe's model with the :class:`~sketchwidgets.train.trainer.Trainer`
(fixed seed; the GPU when there is one), stores the weights as float16 (all shipped weights
together stay under 30 MB), and writes a *card* beside them (``<model>-<dataset>.json``):
data, split, steps, seed, command, widths, dtype, and the held-out SSIM / PSNR / L1 measured
on the CPU three ways -- the float16 weights as shipped, the float32 weights before rounding
(the cost of float16 is the difference), and the nearest-neighbour retrieval baseline (the
photo of the training sketch closest to each held-out sketch).

* ``sw.load("pretrained:pix2pix/faces")`` or :func:`load_pretrained` loads one;
* :func:`available` lists what is shipped, with the cards;
* :func:`classroom_models` gives the classroom checkpoint of every model that has one.

An unknown name, or a recipe not trained yet, raises :class:`ValueError` listing the names.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset

PACKAGE_FOLDER = Path(__file__).resolve().parent / "pretrained"
PREFIX = "pretrained:"
DATA_ENV = "SKETCHWIDGETS_DATA"
METRICS = ("ssim", "psnr", "l1")
SMOKE_ITEMS = (32, 8)  # --smoke: training items, held-out items
SMOKE_BATCH = 4
EVAL_BATCH = 16


@dataclass(frozen=True)
class Recipe:
    """How one shipped checkpoint is made; every field is written to its card."""

    model: str  # registry name (sketchwidgets.models.MODELS)
    dataset: str  # key of DATASETS
    overrides: dict[str, Any]  # model config fields changed from the paper's defaults
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
    # augmented, drawn afresh each epoch; faces add CUFS artist sketches): sketch_sets.py
    sketches: str = "machine"

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
# the search runs D too (its perceptual loss), so nothing is dropped; the encoder as wide as D
_CONTEXTUAL = {"gf_dim": 16, "df_dim": 16, "encoder_width": 16}
# SketchyGAN costs ~1.1 CPU-seconds a step at batch 8 on one thread (64 px, DRAGAN's double
# backward, G run twice for the diversity term), so 400 steps take ~8 minutes on a quiet
# thread, 800 ~15; D narrowed to 8 as in notebooks/sketchygan (ndf 16 triples the step).
# Sketchy gets 800: at 400 its images were muddier and as far from the classes (125 of them)
_SKETCHYGAN = {"ngf": 12, "ndf": 8, "latent_dim": 64}
# EdgeGAN: the widths, critic sizes, lr and the pair term of notebooks/edgegan/02 with its
# mean code, own pair optimiser and ink-balanced edge L1, and the 8-number code whose error
# also trains GE, so that E inverts GE (sketchwidgets/models/edgegan.py "Departure");
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
}
# --smoke only: a few search steps, narrow nets (the code path, not the result, is checked)
_CONTEXTUAL_SMOKE = {"search_iters": 2, "n_init": 2, "init_pool": 16}
_SKETCHYGAN_SMOKE = {"ngf": 4, "ndf": 4, "latent_dim": 8}
_EDGEGAN_SMOKE = {"gf_dim": 4, "df_dim": 4, "ef_dim": 4, "classifier_dim": 2}
_D = ("discriminator",)
_EDGEGAN_DROP = (
    "joint_discriminator",
    "image_discriminator",
    "edge_discriminator",
    "classifier",
)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("pix2pix", "classroom", _PIX2PIX, steps=2000, batch_size=16, sketches="mix"),
        # on the mix, 3000 steps scored no better than 1500 (docs/drawn_sketches.md)
        Recipe("pix2pix", "faces", _PIX2PIX, steps=1500, batch_size=16, sketches="mix"),
        # the running averages left the shoes U-Net far from its batch statistics (held-out
        # SSIM 0.28 vs 0.50 for the nearest neighbour), so they are re-estimated after training
        Recipe(
            "pix2pix",
            "shoes_handbags",
            _PIX2PIX,
            1500,
            16,
            recalibrate=("generator", 125),
            sketches="mix",
        ),
        Recipe("contextual_gan", "classroom", _CONTEXTUAL, 1500, 32, 0, _CONTEXTUAL_SMOKE),
        Recipe("contextual_gan", "faces", _CONTEXTUAL, 1500, 32, 0, _CONTEXTUAL_SMOKE),
        Recipe("sketchygan", "classroom", _SKETCHYGAN, 400, 8, 0, _SKETCHYGAN_SMOKE, _D),
        Recipe("sketchygan", "sketchy", _SKETCHYGAN, 800, 8, 0, _SKETCHYGAN_SMOKE, _D),
        Recipe("edgegan", "classroom", _EDGEGAN, 2000, 8, 0, _EDGEGAN_SMOKE, _EDGEGAN_DROP),
        Recipe("edgegan", "shoes_handbags", _EDGEGAN, 2000, 8, 0, _EDGEGAN_SMOKE, _EDGEGAN_DROP),
    )
}


# --------------------------------------------------------------------------- names and files


def recipe(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name raises listing every name."""
    if name not in RECIPES:
        raise ValueError(f"unknown pretrained model {name!r}; {_names_line()}")
    return RECIPES[name]


def checkpoint_path(name: str, folder: str | os.PathLike = PACKAGE_FOLDER) -> Path:
    """``<folder>/<model>-<dataset>.pt`` (its card is the ``.json`` beside it)."""
    model, dataset = recipe(name).name.split("/")
    return Path(folder) / f"{model}-{dataset}.pt"


def card_path(name: str, folder: str | os.PathLike = PACKAGE_FOLDER) -> Path:
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


def read_card(name: str, folder: str | os.PathLike = PACKAGE_FOLDER) -> dict[str, Any]:
    """The card of ``name`` (raises listing the names when it is not shipped)."""
    path = card_path(name, folder)
    if not path.is_file():
        raise ValueError(f"pretrained model {name!r} is not shipped yet; {_names_line()}")
    return json.loads(path.read_text())


def resolve(spec: str) -> Path:
    """``"pretrained:pix2pix/faces"`` or ``"pix2pix/faces"`` -> the shipped checkpoint file."""
    name = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    path = checkpoint_path(name)
    if not path.is_file():
        raise ValueError(f"pretrained model {name!r} is not shipped yet; {_names_line()}")
    return path


def load_pretrained(name: str, *, device: str | torch.device | None = None) -> Any:
    """The shipped model ``name`` in eval mode (float32 weights rounded through float16)."""
    from sketchwidgets.device import pick_device

    target = pick_device(str(device) if device is not None else None)
    return load_shipped(resolve(name)).to(target).eval()


def load_shipped(path: str | os.PathLike) -> Any:
    """A model from a file written by :func:`save_float16` (safe loading, plain data only).

    Networks the file lists as ``"dropped"`` keep their fresh initial weights; any other
    missing or unexpected weight is an error naming the file.
    """
    from sketchwidgets.config import config_from_dict
    from sketchwidgets.io import load_torch
    from sketchwidgets.models import model_class

    state = load_torch(path)
    cls = model_class(state["model_name"])
    model = cls(config_from_dict(cls.config_class, state["config"]))
    dropped = tuple(state.get("dropped", ()))
    missing, unexpected = model.load_state_dict(state["state_dict"], strict=False)
    wrong = [k for k in missing if k.split(".")[0] not in dropped] + list(unexpected)
    if wrong:
        raise ValueError(f"{path}: weights do not fit {state['model_name']}: {wrong[:5]}")
    return model.eval()


def classroom_models(*, device: str | torch.device | None = None) -> dict[str, Any]:
    """``{model name: model}``: the shipped classroom checkpoint of every model that has one."""
    names = [n for n in shipped_names() if n.endswith("/classroom")]
    if not names:
        raise ValueError(f"no classroom checkpoint is shipped; {_names_line()}")
    return {n.split("/")[0]: load_pretrained(n, device=device) for n in names}


# --------------------------------------------------------------------------- data


def shared_data_folder(name: str) -> Path:
    """``$SKETCHWIDGETS_DATA/<name>``, else ``../shared/data/<name>`` beside the checkout."""
    roots = [Path(os.environ[DATA_ENV])] if os.environ.get(DATA_ENV) else []
    roots += [Path(__file__).resolve().parents[2] / "shared" / "data"]
    roots += [Path.cwd().parent / "shared" / "data"]
    for root in roots:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(
        f"data folder {name!r} not found in {[str(r) for r in roots]}: set {DATA_ENV} to the "
        "folder that holds it, or put ../shared beside the checkout"
    )


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
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return tuple(getattr(dataset, "class_names", ()))


# --------------------------------------------------------------------------- metrics


@torch.no_grad()
def heldout_metrics(model: Any, held_out: Dataset, *, seed: int = 0) -> dict[str, float]:
    """SSIM, PSNR and L1 of ``model`` on ``held_out`` (batches of 16, noise seeded by ``seed``,
    each sketch with its own class when the model needs one): what a card records."""
    return _scores(*heldout_images(model, held_out, seed=seed))


@torch.no_grad()
def heldout_images(
    model: Any, held_out: Dataset, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(generated, photos)`` on ``held_out``, on the CPU: the images :func:`heldout_metrics`
    scores (same batches, same seeded noise, each sketch with its own class)."""
    generator = torch.Generator().manual_seed(seed)
    fakes, reals = [], []
    for batch in DataLoader(held_out, batch_size=EVAL_BATCH, shuffle=False):
        sketch = batch["sketch"].to(model.device)
        label = model.label_indices(batch["label"], len(sketch)) if model.needs_label else None
        fakes.append(model.generate_tensor(sketch, generator=generator, label=label).float().cpu())
        reals.append(batch["photo"].float())
    return torch.cat(fakes), torch.cat(reals)


def nearest_neighbour_metrics(train: Dataset, held_out: Dataset) -> dict[str, float]:
    """The retrieval baseline: for each held-out sketch, the photo of the training sketch
    nearest in L2 after both are averaged down to 16x16 (so a line a pixel off still counts
    as close); scored against the held-out photos like a model."""
    return _scores(*nearest_neighbour_photos(train, held_out))


def nearest_neighbour_photos(
    train: Dataset, held_out: Dataset
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(retrieved, photos)``: the photos :func:`nearest_neighbour_metrics` scores."""
    train_data, held_data = stack_dataset(train), stack_dataset(held_out)
    train_sketches, train_photos = train_data["sketch"], train_data["photo"]
    held_sketches, held_photos = held_data["sketch"], held_data["photo"]
    nearest = torch.cdist(_coarse(held_sketches), _coarse(train_sketches)).argmin(dim=1)
    return train_photos[nearest], held_photos


def stack_dataset(dataset: Dataset) -> dict[str, torch.Tensor]:
    """``{"sketch", "photo", "label"}`` of every item, stacked (label -1 when absent)."""
    batches = list(DataLoader(dataset, batch_size=64, shuffle=False))
    stacked = {key: torch.cat([b[key] for b in batches]) for key in ("sketch", "photo")}
    if all("label" in b for b in batches):
        stacked["label"] = torch.cat([torch.as_tensor(b["label"]).long() for b in batches])
    else:
        stacked["label"] = torch.full((len(stacked["sketch"]),), -1, dtype=torch.long)
    return stacked


def _coarse(sketches: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(sketches.float(), 16).flatten(1)


def _scores(fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    from sketchwidgets.metrics import l1, psnr, ssim

    return {"ssim": ssim(fake, real), "psnr": psnr(fake, real), "l1": l1(fake, real)}


# --------------------------------------------------------------------------- pretrain


def pretrain(
    name: str,
    *,
    steps: int | None = None,
    out: str | os.PathLike | None = None,
    smoke: bool = False,
    device: str | None = None,
    sketches: str | None = None,
) -> Path:
    """Train recipe ``name``, store it as float16 in ``out`` (default: the package folder)
    with its card, and return the checkpoint path. ``smoke`` trains on 32 items, scores 8
    and must write elsewhere than the package. ``sketches`` replaces the recipe's training
    sketches ("machine" or "mix", :mod:`sketchwidgets.sketch_sets`)."""
    from sketchwidgets.device import seed_everything
    from sketchwidgets.models import build_model
    from sketchwidgets.sketch_sets import check_source, training_data

    spec = recipe(name)
    if sketches is not None:
        spec = dataclasses.replace(spec, sketches=check_source(sketches))
    folder = Path(out) if out is not None else PACKAGE_FOLDER
    if smoke and folder.resolve() == PACKAGE_FOLDER:
        raise ValueError("--smoke checkpoints never go into the package: give --out DIR")
    train, held_out = splits(spec, smoke=smoke)
    overrides = _config_overrides(spec, train, smoke)
    seed_everything(spec.seed)  # the initial weights are part of what the seed fixes
    model = build_model(spec.model, **overrides)
    started = time.perf_counter()
    batch = SMOKE_BATCH if smoke else spec.batch_size
    data = training_data(spec.dataset, train, sketches=spec.sketches, seed=spec.seed, smoke=smoke)
    history = _train(model, spec, data, steps or spec.steps, batch, device)
    if spec.recalibrate is not None:
        network, batches = spec.recalibrate
        recalibrate_batch_norm(getattr(model, network), data, batches=batches, seed=spec.seed)
    seconds = time.perf_counter() - started
    model = model.cpu().eval()
    float32_scores = heldout_metrics(model, held_out, seed=spec.seed)
    path = save_float16(model, checkpoint_path(name, folder), spec.drop)
    shipped = load_shipped(path)
    card = {
        **_recipe_card(spec, steps or spec.steps, smoke, overrides, model),
        "train_device": str(_train_device(device)),
        "train_seconds": round(seconds, 1),
        "final_losses": {k: round(v, 5) for k, v in history.items()},
        "n_train": len(train),  # type: ignore[arg-type]
        "n_training_items": len(data),  # type: ignore[arg-type]  # with the mix: + CUFS
        "n_heldout": len(held_out),  # type: ignore[arg-type]
        "heldout": heldout_metrics(shipped, held_out, seed=spec.seed),
        "heldout_float32": float32_scores,
        "nearest_neighbour": nearest_neighbour_metrics(train, held_out),
        "domain_gap": _domain_gap(shipped, spec, train, held_out, smoke),
        "file_bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    card_path(name, folder).write_text(json.dumps(card, indent=2) + "\n")
    return path


def _domain_gap(
    model: Any, spec: Recipe, train: Dataset, held_out: Dataset, smoke: bool
) -> dict[str, Any]:
    """The shipped weights on every hold-out, with both baselines (domain_gap.py)."""
    from sketchwidgets.domain_gap import gap_report
    from sketchwidgets.sketch_sets import holdout_sets

    sets = holdout_sets(spec.dataset, train, held_out, seed=spec.seed, smoke=smoke)
    return gap_report(model, sets, seed=spec.seed)


def _config_overrides(spec: Recipe, train: Dataset, smoke: bool) -> dict[str, Any]:
    """The recipe's overrides, the dataset's class names for a model that needs labels."""
    from sketchwidgets.models import model_class

    overrides = {**spec.overrides, **(spec.smoke_overrides if smoke else {})}
    if model_class(spec.model).needs_label:
        overrides["class_names"] = class_names_of(train)
    return overrides


def _train(
    model: Any, spec: Recipe, train: Dataset, steps: int, batch: int, device: str | None
) -> dict:
    """Fit with the Trainer (no run folder, no validation); the last step's losses."""
    from sketchwidgets.data.sketch_mix import EpochSchedule, SketchStyleMix
    from sketchwidgets.train.trainer import Trainer

    callbacks: list[Any] = []
    if spec.dataset == "sketchy":  # SketchyGAN's edge-map -> sketch schedule (Sec. 4)
        from sketchwidgets.data.sketchy import BlendSchedule, EdgeSketchBlend

        if isinstance(train, SketchStyleMix):  # the blend picks the stored sketch or an edge map
            blend = EdgeSketchBlend(train.pairs, steps)
            train.pairs = blend
        else:
            train = blend = EdgeSketchBlend(train, steps)
        callbacks.append(BlendSchedule(blend))
    batch = min(batch, len(train))  # type: ignore[arg-type]
    if isinstance(train, SketchStyleMix):
        callbacks.append(EpochSchedule(train, batch))
    trainer = Trainer(model, train, steps=steps, batch_size=batch, seed=spec.seed, device=device)
    for callback in callbacks:
        trainer.add_callback(callback)
    history = trainer.fit()
    return {key: history.last(key) for key in history.names()}


@torch.no_grad()
def recalibrate_batch_norm(
    network: torch.nn.Module, data: Dataset, *, batches: int, seed: int, batch_size: int = 16
) -> None:
    """Set every BatchNorm's running mean and variance of ``network`` to their average over
    ``batches`` shuffled batches of ``data`` ("standing statistics", Brock et al. 2019), with
    dropout off; the network is fed ``batch["sketch"]`` and left in eval mode."""
    norms = [m for m in network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    network.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches below
        norm.train()
    device = next(network.parameters()).device
    order = torch.Generator().manual_seed(seed)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=order, drop_last=True)
    for index, batch in enumerate(loader):
        if index == batches:
            break
        network(batch["sketch"].to(device))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    network.eval()


def _train_device(device: str | None) -> torch.device:
    from sketchwidgets.device import pick_device

    return pick_device(device)


def save_float16(model: Any, path: Path, drop: tuple[str, ...] = ()) -> Path:
    """Save ``model`` with its floating-point tensors stored as float16 (refuses overflow),
    leaving out the networks named in ``drop``."""
    from sketchwidgets.io import save_torch

    state = model.model_state()
    kept = {k: v for k, v in state["state_dict"].items() if k.split(".")[0] not in drop}
    state["state_dict"] = {k: _half(k, v, path) for k, v in kept.items()}
    state["dropped"] = list(drop)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_torch(path, state)


def _half(key: str, value: torch.Tensor, path: Path) -> torch.Tensor:
    if not value.is_floating_point():
        return value
    half = value.detach().cpu().half()
    if not half.isfinite().all():
        raise ValueError(f"refusing to save {path}: {key} does not fit float16")
    return half


def _recipe_card(
    spec: Recipe, steps: int, smoke: bool, overrides: dict[str, Any], model: Any
) -> dict[str, Any]:
    from sketchwidgets import __version__
    from sketchwidgets.sketch_sets import mix_settings

    command = f"python -m sketchwidgets pretrain {spec.name}"
    if steps != spec.steps:
        command += f" --steps {steps}"
    if spec.sketches != RECIPES[spec.name].sketches:
        command += f" --sketches {spec.sketches}"
    return {
        "name": spec.name,
        "model": spec.model,
        "dataset": spec.dataset,
        **{k: DATASETS[spec.dataset][k] for k in ("data", "split")},
        "smoke": smoke,
        "steps": steps,
        "batch_size": SMOKE_BATCH if smoke else spec.batch_size,
        "seed": spec.seed,
        "sketches": spec.sketches,
        "mix": mix_settings(spec.sketches),
        "command": command + (" --smoke" if smoke else ""),
        "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
        "config": json.loads(json.dumps(dataclasses.asdict(model.config))),
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float16 (stored); loaded as float32",
        "dropped_networks": list(spec.drop),
        "batch_norm_recalibrated": (
            f"{spec.recalibrate[0]}: running statistics re-estimated over "
            f"{spec.recalibrate[1]} training batches of 16 after training, dropout off"
            if spec.recalibrate
            else "no"
        ),
        "metrics": "SSIM / PSNR (dB) / L1 on [0,1], held-out split, CPU, batches of 16, seed",
        "package_version": __version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pretrain`` subcommand's arguments."""
    parser.add_argument("name", help=f"one of: {', '.join(RECIPES)}")
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--out", default=None, help="folder (default: the package's)")
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


def run_command(args: argparse.Namespace) -> int:
    """``python -m sketchwidgets pretrain NAME``: train, score, write; print the card."""
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps {args.steps}: at least 1")
    from sketchwidgets.domain_gap import format_table

    path = pretrain(
        args.name,
        steps=args.steps,
        out=args.out,
        smoke=args.smoke,
        device=args.device,
        sketches=args.sketches,
    )
    card = json.loads(path.with_suffix(".json").read_text())
    print(f"wrote {path} ({card['file_bytes'] / 1e6:.2f} MB) and its card")
    for key in ("heldout", "heldout_float32", "nearest_neighbour"):
        print(f"  {key:<18} " + "  ".join(f"{m} {card[key][m]:.4f}" for m in METRICS))
    print(format_table(card["domain_gap"]))
    return 0


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
