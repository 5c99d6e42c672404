"""The model contract every sketch-to-image system follows: :class:`SketchModel`.

A model is a :class:`SketchModel` (an ``nn.Module``) built from a frozen config dataclass
whose defaults are the paper's. The :class:`~sketchwidgets.train.trainer.Trainer` knows
nothing about GANs; it only calls what :class:`SketchModel`'s docstring lists (config,
optimizers, the training and validation steps, classes, the latent code, generation, saving).
:func:`load_model` reads what :meth:`SketchModel.save` wrote, and
``tests/models/test_contract.py`` runs every registered model through the contract.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from sketchwidgets.drawing.line_stats import LineStats
from sketchwidgets.io import save_torch, tensor_to_image

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.sketch_input import PreparedSketch


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """What every model's config holds besides its paper's hyperparameters."""

    # the line statistics of the training sketches (set by the Trainer; None: never trained)
    line_stats: LineStats | None = None


SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed takes


def checked_seed(seed: Any) -> int:
    """``seed`` as an int, or ``ValueError`` naming the accepted range (no float, no bool)."""
    low, high = SEED_RANGE
    whole = isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_)
    if not whole or not low <= int(seed) <= high:
        raise ValueError(f"seed={seed!r}: expected a whole number from -2**63 to 2**64 - 1")
    return int(seed)


class SketchModel(nn.Module):
    """Base class of the four systems, and the contract they follow.

    ``config``
        A frozen dataclass instance (``type(model).config_class``). Defaults = the paper's values,
        each with its source in a trailing comment. ``config.image_size`` is the square side of the
        photo the model makes (a joint model makes ``image_size x 2*image_size`` internally).
        Every config has ``class_names: tuple[str, ...] = ()`` (empty: the model knows no classes),
        saved in checkpoints with the rest of the config. Every config derives from
        :class:`ModelConfig`, so it also has ``line_stats``: the
        :class:`~sketchwidgets.drawing.line_stats.LineStats` of the sketches the model trained
        on (ink share, stroke width at ``image_size``, line grey, shading, polarity), recorded by
        the Trainer from its first batches; ``None`` for a model never trained (a shipped checkpoint
        saved without them gets them from its card when loaded).

    ``configure_optimizers() -> dict[str, Optimizer]``
        The optimizers, by name (``"G"``, ``"D"``, ...). The trainer creates them once, checkpoints
        them and passes them back to every ``train_step``.

    ``train_step(batch, optimizers) -> dict[str, Tensor]``
        One update in the paper's order (for GANs: D, then G). ``batch`` is a dict with
        ``"sketch"`` ``(N, 1, H, W)`` and ``"photo"`` ``(N, 3, H, W)``, both float in [-1, 1],
        ``"label"`` ``(N,)`` long (class index, -1 when unknown). Returns **detached** scalar
        losses named ``"G/<term>"``, ``"D/<term>"`` (the prefix groups curves in the loss panel).
        A loss that must run in float32 under the trainer's autocast (a gradient penalty) runs
        inside :func:`sketchwidgets.device.full_precision` on ``.float()`` inputs.

    ``validation_losses(batch) -> dict[str, Tensor]``
        Losses on held-out data without updating anything, named ``"val/<term>"``.

    Classes: ``class_names -> tuple[str, ...]`` (from the config), ``num_classes -> int``,
    ``needs_label: ClassVar[bool]`` (True when generating requires a class; such a model must be
    built with non-empty ``class_names``), and ``label_indices(label, batch) -> LongTensor | None``
    which turns an int, a class name, a sequence of either or a tensor into ``(batch,)`` indices,
    with a ``ValueError`` listing the known classes for an unknown name, an index out of range, a
    value that is no name or whole number (``1.5``) or a missing label where one is needed; a model
    without classes refuses any label (``ValueError``), rather than ignoring it.

    Latent code: ``latent_dim -> int`` (0: no explicit ``z``, as pix2pix), ``sample_z(n,
    rng=None) -> (n, latent_dim)`` (N(0, 1) here; a model whose paper draws z otherwise
    overrides it), ``latent_codes(n, rng=None, z=None)`` (the given ``z``, checked, or a
    draw) and ``has_noise -> bool`` (a new seed can change the image: ``latent_dim > 0`` unless a
    model documents another noise source).

    ``generate_tensor(sketch, *, rng=None, label=None, z=None) -> Tensor``  (each model)
        ``sketch`` ``(N, 1, H, W)`` in [-1, 1] with ``H == W == config.image_size`` ->
        image ``(N, 3, H, W)`` in [-1, 1]. No gradients; randomness only from ``rng``
        (a ``torch.Generator``), so a fixed seed gives a fixed image. ``label``: ``(N,)`` long
        indices (from :meth:`SketchModel.label_indices`) or None. ``z``: ``(N, latent_dim)``
        overriding the draw from ``rng``; a model with ``latent_dim == 0`` given a ``z``,
        or a ``z`` holding NaN or inf, raises ``ValueError``. Same ``z`` + sketch + label -> same
        image.

    ``output_names: ClassVar[tuple[str, ...]] = ("image",)`` and
    ``generate_outputs(sketch, *, rng=None, label=None, z=None) -> dict[str, Tensor]``
        Every output by name, keys == ``output_names``, ``"image"`` first, each ``(N, 3, H, W)``
        in [-1, 1] (EdgeGAN: ``("image", "edge")``). Default: ``{"image": generate_tensor(...)}``.

    ``generate(sketch, *, seed=None, rng=None, label=None, z=None, keep_size=False,
    invert=None, outputs=False, normalise=True)``
        The one-call inference API, implemented here once: takes a uint8 HxW / HxWx3 array, a PIL
        image or a tensor, one sketch or a batch, of any size and either polarity, and returns
        uint8 RGB (HxWx3, or NxHxWx3 for a batch); ``outputs=True`` returns ``{name: uint8 array}``
        for every output instead. ``label`` as :meth:`SketchModel.label_indices` takes it.
        One input policy for every model (:func:`~sketchwidgets.sketch_input.prepare_sketch`,
        before any network runs): an empty sketch (nothing drawn: all white, all black, any flat
        grey) raises ``ValueError("empty sketch: nothing drawn ...")``, as do a sketch under
        16 px (``io.MIN_IMAGE_SIDE``) and a float sketch holding NaN or inf or values outside
        [-1, 1]. ``seed`` is a whole number from -2**63 to 2**64 - 1 (else ``ValueError``).
        See :mod:`sketchwidgets.sketch_input`. With ``normalise=True`` (the default) and
        ``config.line_stats`` known, the drawing is first redrawn in the style of the training
        sketches (:mod:`sketchwidgets.drawing.normaliser`); ``normalise=False`` shows the raw
        behaviour. ``model_input(sketch, ...)`` returns that input as uint8: what the model sees.

    ``network_names``
        The attribute names of the trainable networks (e.g. ``("generator", "discriminator")``),
        so a trainer can wrap them (DistributedDataParallel) without knowing the model.
        ``optional_networks`` names those that only some configs build (``None`` otherwise).

    ``save(path)`` / :func:`load_model`
        Weights plus config, model name and package version, written atomically.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = object
    network_names: ClassVar[tuple[str, ...]] = ()
    optional_networks: ClassVar[tuple[str, ...]] = ()  # None where the config leaves them out
    needs_label: ClassVar[bool] = False  # True when generate() requires a class label
    output_names: ClassVar[tuple[str, ...]] = ("image",)
    # True when a step may leave part of a network unused (DDP must then search the graph)
    ddp_find_unused_parameters: ClassVar[bool] = False

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.config = config if config is not None else self.config_class()
        if self.needs_label and not self.class_names:
            raise ValueError(
                f"model {self.name!r} needs class labels: build it with class_names=(...)"
            )

    @property
    def image_size(self) -> int:
        """Side of the square photo this model makes."""
        return int(self.config.image_size)

    @property
    def line_stats(self) -> LineStats | None:
        """The line statistics of the sketches this model trained on (None: unknown)."""
        return getattr(self.config, "line_stats", None)

    def record_line_stats(self, stats: LineStats) -> None:
        """Store the training sketches' line statistics in the config (the Trainer does)."""
        self.config = dataclasses.replace(self.config, line_stats=stats)

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters."""
        return next(self.parameters()).device

    # ------------------------------------------------------------------ classes

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes this model knows (index = label); empty when it knows none."""
        return tuple(self.config.class_names)

    @property
    def num_classes(self) -> int:
        """How many classes the model knows (0 for an unconditional model)."""
        return len(self.class_names)

    def label_indices(self, label: Any, batch: int) -> torch.Tensor | None:
        """``(batch,)`` long class indices from an int, a class name, a sequence or a tensor.

        One label is repeated for the whole batch. None stays None unless the model needs a
        label. Unknown names and out-of-range indices raise ``ValueError`` listing the classes.
        """
        if label is None:
            if self.needs_label:
                raise ValueError(
                    f"model {self.name!r} needs a class label: pass label=<class name or index>;"
                    f" known classes: {self._known_classes()}"
                )
            return None
        if not self.class_names:
            raise ValueError(
                f"model {self.name!r} knows no classes (built without class_names), so it "
                f"takes no label; got label={label!r:.60}: leave it out"
            )
        checked = self._label_list(label)
        if isinstance(label, torch.Tensor) and not label.is_floating_point():
            # the tensor itself, checked above: a traced graph (export/exporter.py) keeps
            # the label as an input instead of freezing the example's values
            labels = label.to(torch.long).reshape(-1)
        else:
            labels = torch.as_tensor(checked, dtype=torch.long).reshape(-1)
        if labels.numel() == 1 and batch > 1:
            labels = labels.expand(batch)
        if labels.numel() != batch:
            raise ValueError(f"got {labels.numel()} labels for {batch} sketches")
        return labels

    def _label_list(self, label: Any) -> list[int]:
        """Every label as a checked class index."""
        if isinstance(label, torch.Tensor | np.ndarray):
            values = np.asarray(label.detach().cpu() if isinstance(label, torch.Tensor) else label)
            items: Sequence[Any] = values.reshape(-1).tolist()
        elif isinstance(label, Iterable) and not isinstance(label, str):
            items = list(label)
        else:  # one name or index (anything else, e.g. 1.5, is refused by _class_index)
            items = [label]
        return [self._class_index(item) for item in items]

    def _class_index(self, item: Any) -> int:
        """One class name or index -> a checked index."""
        if isinstance(item, str):
            if item not in self.class_names:
                raise ValueError(
                    f"unknown class {item!r} for model {self.name!r};"
                    f" known classes: {self._known_classes()}"
                )
            return self.class_names.index(item)
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            raise ValueError(f"label {item!r}: expected a class name or an integer index")
        index = int(item)
        if self.num_classes and not 0 <= index < self.num_classes:
            raise ValueError(
                f"class index {index} out of range for model {self.name!r}"
                f" ({self.num_classes} classes); known classes: {self._known_classes()}"
            )
        return index

    def _known_classes(self) -> str:
        if not self.class_names:
            return "none (the model was built without class_names)"
        return ", ".join(f"{i}={n!r}" for i, n in enumerate(self.class_names))

    # ------------------------------------------------------------------ latent code

    @property
    def latent_dim(self) -> int:
        """Length of the explicit latent code z (0: the model takes no z)."""
        return 0

    @property
    def has_noise(self) -> bool:
        """True when another seed can give another image (a re-roll makes sense)."""
        return self.latent_dim > 0

    def sample_z(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """``(n, latent_dim)`` codes from N(0, 1), drawn on ``rng``'s device."""
        if self.latent_dim == 0:
            raise ValueError(f"model {self.name!r} has no latent code (latent_dim == 0)")
        where = rng.device if rng is not None else torch.device("cpu")
        z = torch.randn((n, self.latent_dim), generator=rng, device=where)
        return z.to(self.device)

    def latent_codes(
        self, n: int, rng: torch.Generator | None = None, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The given ``z`` checked to be ``(n, latent_dim)``, or ``sample_z(n, rng)``."""
        if z is None:
            return self.sample_z(n, rng)
        self.check_z(z, n)
        return z.to(self.device)

    def check_z(self, z: torch.Tensor | None, n: int) -> None:
        """Raise ``ValueError`` unless ``z`` is None or an ``(n, latent_dim)`` tensor."""
        if z is None:
            return
        if self.latent_dim == 0:
            raise ValueError(
                f"model {self.name!r} takes no latent code z (latent_dim == 0); use seed= instead"
            )
        if not isinstance(z, torch.Tensor) or tuple(z.shape) != (n, self.latent_dim):
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must be a ({n}, {self.latent_dim}) tensor, got {shape}")
        if not z.is_floating_point():
            raise ValueError(f"z must be a floating-point tensor, got {z.dtype}")
        if not bool(torch.isfinite(z).all()):
            bad = int((~torch.isfinite(z)).sum())
            raise ValueError(f"z holds {bad} NaN or inf value(s): pass finite values")

    # ------------------------------------------------------------------ training

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def validation_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {}

    # ------------------------------------------------------------------ inference

    def generate_tensor(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError

    def generate_outputs(
        self,
        sketch: torch.Tensor,
        *,
        rng: torch.Generator | None = None,
        label: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Every output by name (keys == ``output_names``); the default is the image alone."""
        return {"image": self.generate_tensor(sketch, rng=rng, label=label, z=z)}

    @torch.no_grad()
    def generate(
        self,
        sketch: Any,
        *,
        seed: int | None = None,
        rng: torch.Generator | None = None,
        label: Any = None,
        z: torch.Tensor | None = None,
        keep_size: bool = False,
        invert: bool | None = None,
        outputs: bool = False,
        normalise: bool = True,
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Sketch(es) in any common form -> uint8 RGB image(s); see the class docstring."""
        from sketchwidgets.sketch_input import restore_size

        prepared = self.prepare(sketch, invert=invert, normalise=normalise)
        batch = prepared.tensor.shape[0]
        if rng is None and seed is not None:
            rng = torch.Generator(device="cpu").manual_seed(checked_seed(seed))
        labels = self.label_indices(label, batch)
        self.check_z(z, batch)
        was_training = self.training
        if was_training:
            self.eval()
        try:
            kwargs: dict[str, Any] = {
                "rng": rng,
                "label": None if labels is None else labels.to(self.device),
                "z": None if z is None else z.to(self.device),
            }
            sketches = prepared.tensor.to(self.device)
            if not outputs:
                return restore_size(
                    self.generate_tensor(sketches, **kwargs), prepared, keep_size=keep_size
                )
            results = self.generate_outputs(sketches, **kwargs)
        finally:
            if was_training:
                self.train()
        return {
            name: restore_size(tensor, prepared, keep_size=keep_size)
            for name, tensor in results.items()
        }

    def prepare(
        self, sketch: Any, *, invert: bool | None = None, normalise: bool = True
    ) -> PreparedSketch:
        """The sketch(es) as this model's input batch (what :meth:`generate` feeds it)."""
        from sketchwidgets.sketch_input import prepare_sketch

        stats = self.line_stats if normalise else None
        return prepare_sketch(sketch, self.image_size, invert=invert, line_stats=stats)

    def model_input(
        self, sketch: Any, *, invert: bool | None = None, normalise: bool = True
    ) -> np.ndarray:
        """What the model sees: the prepared input as uint8 ``SxS`` (``NxSxS`` for a batch)."""
        prepared = self.prepare(sketch, invert=invert, normalise=normalise)
        images = tensor_to_image(prepared.tensor)  # (N, S, S): one channel
        return images if prepared.batched else images[0]

    # ------------------------------------------------------------------ saving

    def model_state(self) -> dict[str, Any]:
        """What :meth:`save` writes: name, config, weights, package version."""
        from sketchwidgets import __version__

        return {
            "model_name": self.name,
            "config": dataclasses.asdict(self.config),
            "state_dict": self.state_dict(),
            "version": __version__,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Save weights and config atomically to ``path``; refuses non-finite weights or buffers."""
        state = self.model_state()
        bad = [
            k
            for k, v in state["state_dict"].items()
            if v.is_floating_point() and not v.isfinite().all()
        ]
        if bad:
            raise ValueError(f"refusing to save {path}: non-finite values in {bad[:3]} (diverged?)")
        return save_torch(path, state)
