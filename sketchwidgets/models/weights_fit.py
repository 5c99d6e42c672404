"""Whether saved weights fit the model a config builds, said in one line.

torch's ``load_state_dict`` lists every tensor that does not fit, thousands of characters for
a checkpoint whose config was changed. :func:`load_weights` compares names and shapes first
and raises :class:`WeightsMismatch` with one line instead:

* what explains the difference: the config fields that differ from the ones the weights were
  saved with, when those are known (resuming with ``--set``); else the one config field whose
  other value makes the weights fit (``ngf=8 in the config, the weights fit ngf=4``), found by
  rebuilding the model (a large one on the ``meta`` device: no memory, no computation) with
  candidate values read off the shapes that differ;
* how many tensors differ in shape, are missing or are unexpected, and the first of each.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sketchwidgets.config import plain_config, upgraded

MAX_REBUILDS = 48  # candidate configs tried while looking for the field that explains a mismatch
MAX_SECONDS = 5.0  # ... and at most this long (a paper-sized SketchyGAN takes ~0.8 s to build)
# Larger models are rebuilt on the meta device: no memory, no initialisation, but its first use
# imports torch's reference ops (~1 s); a small one builds faster on the CPU.
META_ABOVE_PARAMETERS = 5_000_000
SHAPE_PAIRS = 4  # distinct (saved, built) sizes of differing tensors the candidates come from


class WeightsMismatch(ValueError):
    """Saved weights do not fit the model (names or shapes); the message says what differs."""


@dataclass(frozen=True)
class Differences:
    """Tensors of a saved state dict that do not fit a model's: ``name (saved) vs (model)``."""

    shapes: list[str]
    missing: list[str]
    unexpected: list[str]
    sizes: list[tuple[int, int]]  # distinct (saved, built) sizes along the differing axes

    def __bool__(self) -> bool:
        return bool(self.shapes or self.missing or self.unexpected)

    def summary(self) -> str:
        """``"3 tensors differ in shape (first: ...), 0 missing, 0 unexpected"``."""
        parts = [
            f"{len(self.shapes)} tensors differ in shape"
            + (f" (first: {self.shapes[0]})" if self.shapes else ""),
            f"{len(self.missing)} missing"
            + (f" (first: {self.missing[0]})" if self.missing else ""),
            f"{len(self.unexpected)} unexpected"
            + (f" (first: {self.unexpected[0]})" if self.unexpected else ""),
        ]
        return ", ".join(parts)


# config fields that describe the data, not the networks: never why weights do not fit
NOT_ARCHITECTURE = frozenset({"line_stats"})


def differences(
    model: nn.Module, saved: Mapping[str, Any], dropped: Sequence[str] = ()
) -> Differences:
    """How ``saved`` differs from ``model.state_dict()`` in names and shapes; tensors of the
    networks named in ``dropped`` may be missing."""
    current = model.state_dict()
    missing = [k for k in current if k not in saved and k.split(".")[0] not in dropped]
    unexpected = [k for k in saved if k not in current]
    shapes, sizes = [], []
    for key, value in current.items():
        if key not in saved:
            continue
        if not isinstance(saved[key], torch.Tensor):
            shapes.append(f"{key} (a {type(saved[key]).__name__}) vs {tuple(value.shape)}")
        elif tuple(saved[key].shape) != tuple(value.shape):
            theirs = tuple(saved[key].shape)
            shapes.append(f"{key} {theirs} vs {tuple(value.shape)}")
            sizes += _differing_sizes(theirs, tuple(value.shape))
    distinct = list(dict.fromkeys(sizes))[:SHAPE_PAIRS]
    return Differences(shapes, missing, unexpected, distinct)


def _differing_sizes(saved: tuple[int, ...], built: tuple[int, ...]) -> list[tuple[int, int]]:
    if len(saved) != len(built):
        return []
    return [(s, b) for s, b in zip(saved, built, strict=True) if s != b]


def load_weights(
    model: nn.Module,
    saved: Mapping[str, Any],
    *,
    source: str,
    stored_config: Mapping[str, Any] | None = None,
    dropped: Sequence[str] = (),
) -> None:
    """Load ``saved`` into ``model``, or raise :class:`WeightsMismatch` in one line that
    starts with ``source`` (a file name) and says what differs (:func:`mismatch_reason`).

    ``stored_config``: the config the weights were saved with, when known; networks named in
    ``dropped`` may be left out of ``saved`` (they keep their initial weights).
    """
    if not isinstance(saved, Mapping):
        raise WeightsMismatch(f"{source}: its weights are a {type(saved).__name__}, not a dict")
    if differences(model, saved, dropped):
        name = getattr(model, "name", "") or type(model).__name__
        reason = mismatch_reason(model, saved, stored_config=stored_config, dropped=dropped)
        raise WeightsMismatch(f"{source}: weights do not fit {name}: {reason}")
    model.load_state_dict(saved, strict=not dropped)


def mismatch_reason(
    model: nn.Module,
    saved: Mapping[str, Any],
    *,
    stored_config: Mapping[str, Any] | None = None,
    dropped: Sequence[str] = (),
) -> str:
    """Why ``saved`` does not fit ``model``, in one line: the config fields that explain it,
    then a count of the tensors that do not fit and the first of them."""
    found = differences(model, saved, dropped)
    config = getattr(model, "config", None)
    ours = plain_config(dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {})
    theirs = plain_config(upgraded(type(config), dict(stored_config or {})))  # in today's names
    changed = {  # a field the stored config lacks is newer than the file: its default holds
        k: (theirs.get(k), ours.get(k))
        for k in sorted(set(theirs) - NOT_ARCHITECTURE)
        if stored_config is not None and theirs.get(k) != ours.get(k)
    }
    if changed:
        return f"config differs (checkpoint, model): {changed}; {found.summary()}"
    field = explaining_field(model, saved, found, dropped)
    hint = field or "no single config field explains it"
    return f"{hint}; {found.summary()}"


def explaining_field(
    model: nn.Module, saved: Mapping[str, Any], found: Differences, dropped: Sequence[str] = ()
) -> str:
    """``"ngf=8 in the config, the weights fit ngf=4"`` for the one config field whose other
    value builds a model ``saved`` fits; ``""`` when none does (or none is found in
    :data:`MAX_REBUILDS` rebuilds and :data:`MAX_SECONDS`)."""
    config = getattr(model, "config", None)
    if not dataclasses.is_dataclass(config):
        return ""
    deadline = time.monotonic() + MAX_SECONDS
    for tries, (field, value) in enumerate(_candidates(config, found)):
        if tries >= MAX_REBUILDS or time.monotonic() > deadline:
            return ""
        rebuilt = _rebuilt(model, config, field, value)
        if rebuilt is not None and not differences(rebuilt, saved, dropped):
            return _describe(field, getattr(config, field), value)
    return ""


def _rebuilt(model: nn.Module, config: Any, field: str, value: Any) -> nn.Module | None:
    """The model with ``config.field = value`` (on the meta device when it is large); None
    when the config or the model refuses that value."""
    large = sum(p.numel() for p in model.parameters()) > META_ABOVE_PARAMETERS
    # on the CPU, the random initialisation leaves the caller's random state as it was
    place = torch.device("meta") if large else torch.random.fork_rng(devices=[])
    try:
        with place, torch.no_grad():
            return type(model)(dataclasses.replace(config, **{field: value}))
    except Exception:  # a candidate value the config or the model refuses
        return None


def _candidates(config: Any, found: Differences) -> list[tuple[str, Any]]:
    """``(field, value)`` pairs worth a rebuild, each once, likeliest first: a field whose
    value is a differing size itself (``latent_dim``), then one that size is a multiple of (a
    width: ``ngf`` for ``ngf * 8`` channels), then other scalings and shifts (a size summed
    from two fields), then switches flipped and, for renamed tensors, sizes halved or doubled.
    """
    ranked: dict[tuple[str, str], tuple[int, str, Any]] = {}
    for field in dataclasses.fields(config):
        old = getattr(config, field.name)
        for rank, value in _values(old, found):
            key = (field.name, repr(value))
            if key not in ranked or rank < ranked[key][0]:
                ranked[key] = (rank, field.name, value)
    ordered = sorted(ranked.values(), key=lambda item: item[0])
    return [(name, value) for _, name, value in ordered]


def _values(old: Any, found: Differences) -> Iterator[tuple[int, Any]]:
    """``(rank, value)``: other values of one field, from the sizes that differ."""
    if isinstance(old, bool):
        yield 3, not old
        return
    names = isinstance(old, tuple) and all(isinstance(item, str) for item in old)
    size = old if isinstance(old, int) else len(old) if names else 0
    if size <= 0:
        return
    options = []
    for saved, built in found.sizes:
        if (size * saved) % built == 0:
            rank = 0 if built == size else 1 if built % size == 0 else 2
            options.append((rank, size * saved // built))
        options.append((2, size + saved - built))
    if found.missing or found.unexpected:
        options += [(3, size * 2), (3, size // 2)]
    for rank, new in options:
        if new > 0 and new != size:
            yield rank, new if isinstance(old, int) else tuple(f"class {i}" for i in range(new))


def _describe(field: str, old: Any, new: Any) -> str:
    if isinstance(old, tuple):
        return f"{field} has {len(old)} names in the config, the weights fit {len(new)}"
    return f"{field}={old!r} in the config, the weights fit {field}={new!r}"
