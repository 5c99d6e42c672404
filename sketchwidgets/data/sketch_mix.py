"""The training mix of sketch styles, drawn afresh each epoch, and the epoch callback.

:class:`SketchStyleMix` wraps any paired dataset of the package's item dicts and gives each
item one of three sketches:

* ``"stored"``: the dataset's own sketch (machine edges for faces, shoes and the classroom
  set; human sketches for Sketchy and CUFS), as the models were trained before;
* ``"drawn"``: the item's photo drawn in the hand style
  (:func:`~sketchwidgets.data.drawn_style.render_drawn`, the canvas's rasteriser);
* ``"augmented"``: the stored sketch through
  :func:`~sketchwidgets.data.sketch_augment.augment_pair` (pen width, dropout, warps,
  pencil, shading); its warps move the photo too, so the pair stays in register.

The choice and every random number of the rendering come from a generator seeded by
``(stream, seed, epoch, index)``, as the Trainer seeds each epoch's batch order by
``(seed, epoch)``: an item is a pure function of those four numbers, so a resumed run sees
what the uninterrupted run saw, and every epoch sees a new drawing of every photo.
:class:`EpochSchedule` keeps the mix at the Trainer's epoch. ``stream`` separates uses:
training draws from :data:`TRAINING_STREAM`, the drawn hold-out from
:data:`HOLDOUT_STREAM`, so no hold-out drawing is ever a training drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from sketchwidgets.data.drawn_style import DEFAULT_STYLE, HandStyle, render_drawn
from sketchwidgets.data.sketch_augment import DEFAULT_AUGMENT, SketchAugment, augment_pair
from sketchwidgets.io import image_to_tensor, tensor_to_image

STYLES = ("stored", "drawn", "augmented")
TRAINING_STREAM, HOLDOUT_STREAM, BASELINE_STREAM = 0, 1, 2


@dataclass(frozen=True)
class MixShares:
    """How often each style is drawn (normalised; the default is a third each)."""

    stored: float = 1.0
    drawn: float = 1.0
    augmented: float = 1.0

    def __post_init__(self) -> None:
        values = (self.stored, self.drawn, self.augmented)
        if min(values) < 0 or sum(values) <= 0:
            raise ValueError(f"style shares must be >= 0 with a positive sum, got {values}")

    def probabilities(self) -> np.ndarray:
        """The shares of :data:`STYLES`, summing to 1."""
        values = np.array([self.stored, self.drawn, self.augmented], np.float64)
        return values / values.sum()


DRAWN_ONLY = MixShares(0.0, 1.0, 0.0)


class SketchStyleMix(Dataset):
    """A paired dataset whose sketches are drawn from the style mix, afresh each epoch.

    Items are the wrapped dataset's dicts with ``"sketch"`` replaced and ``"style"`` (one of
    :data:`STYLES`) added. ``class_names`` and ``labels`` of the wrapped dataset are kept.
    Train with ``num_workers=0`` when :class:`EpochSchedule` moves the epoch (workers keep
    their own copy of the dataset).
    """

    def __init__(
        self,
        pairs: Dataset,
        *,
        seed: int = 0,
        shares: MixShares = MixShares(),
        hand: HandStyle = DEFAULT_STYLE,
        augment: SketchAugment = DEFAULT_AUGMENT,
        stream: int = TRAINING_STREAM,
        epoch: int = 0,
    ) -> None:
        self.pairs, self.seed, self.stream, self.epoch = pairs, seed, stream, epoch
        self.shares, self.hand, self.augment = shares, hand, augment
        self.class_names = list(getattr(pairs, "class_names", []))

    def __len__(self) -> int:
        return len(self.pairs)  # type: ignore[arg-type]

    def set_epoch(self, epoch: int) -> None:
        """Draw the sketches of epoch ``epoch`` from now on."""
        self.epoch = int(epoch)

    def item_rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch."""
        return np.random.default_rng([self.stream, self.seed, self.epoch, index])

    def style_of(self, index: int) -> str:
        """The style item ``index`` gets in the current epoch."""
        return self._pick(self.item_rng(index))

    def _pick(self, rng: np.random.Generator) -> str:
        return STYLES[int(rng.choice(len(STYLES), p=self.shares.probabilities()))]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.pairs[index])
        rng = self.item_rng(index)
        style = self._pick(rng)
        if style != "stored":
            sketch, photo = self.render(item, style, rng)
            item["sketch"] = image_to_tensor(sketch)
            if photo is not None:  # moved with the sketch (SketchAugment.paired_warps)
                item["photo"] = image_to_tensor(photo)
        item["style"] = style
        return item

    def render(
        self, item: dict[str, Any], style: str, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(uint8 sketch, warped photo or None)`` of ``item`` in ``style`` ("drawn" or
        "augmented"); the photo is None when it is left as it is."""
        photo = tensor_to_image(item["photo"])
        if style == "drawn":
            return render_drawn(photo, rng, style=self.hand), None
        sketch, moved = augment_pair(tensor_to_image(item["sketch"]), photo, rng, self.augment)
        return sketch, (moved if self.augment.paired_warps and moved is not photo else None)


def drawn_holdout(held_out: Dataset, *, seed: int = 0) -> SketchStyleMix:
    """The held-out photos drawn in the hand style from :data:`HOLDOUT_STREAM` (fixed)."""
    return SketchStyleMix(held_out, seed=seed, shares=DRAWN_ONLY, stream=HOLDOUT_STREAM)


class EpochSchedule:
    """Trainer callback keeping a :class:`SketchStyleMix` at the epoch of the next batch.

    The Trainer's batch of step ``k`` belongs to epoch ``k // (len(data) // batch_size)``;
    this follows that, from the first step of a fresh or resumed run. It follows the hook
    protocol of :class:`sketchwidgets.train.callbacks.Callback` without subclassing it (the
    data package does not import the training package).
    """

    def __init__(self, mix: SketchStyleMix, batch_size: int) -> None:
        self.mix = mix
        self.per_epoch = max(1, len(mix) // batch_size)

    def epoch_of(self, step: int) -> int:
        """The epoch of the batch that training step ``step`` (0-based) uses."""
        return step // self.per_epoch

    def on_fit_start(self, trainer: Any) -> None:
        self.mix.set_epoch(self.epoch_of(trainer.start_step))

    def on_step_end(self, trainer: Any, step: int, losses: Any) -> None:
        self.mix.set_epoch(self.epoch_of(step))

    def on_validation_end(self, trainer: Any, step: int, losses: Any) -> None:
        """Nothing to do."""

    def on_fit_end(self, trainer: Any) -> None:
        """Nothing to do."""

    def on_teardown(self, trainer: Any) -> None:
        """Nothing to do."""
