"""Crafted files for the "nothing runs from a file" tests: each writes a marker file if its
code ever runs, so a test asserts that the marker never appears.

* :func:`torchscript_writing`: a TorchScript feature network (images -> 8 features) whose
  ``__setstate__`` writes ``marker`` while ``torch.jit.load`` reads the archive, and whose
  ``forward`` writes ``marker.forward`` on every call;
* :func:`pickle_writing`: a ``torch.save`` file whose unpickling opens ``marker`` for writing;
* :func:`plain_inception_weights`: what *is* accepted, plain weights of the package's
  TF-InceptionV3 (randomly initialised, stored as float16).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn


class _WritesOnLoad(nn.Module):
    """Writes ``marker`` when loaded (``__setstate__``) and ``marker.forward`` when called."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(torch.zeros(1), self.marker + ".forward")
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.marker, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.marker = state[0]
        self.training = state[1]
        torch.save(torch.zeros(1), self.marker)


class _EvilFeatures(nn.Module):
    def __init__(self, marker: str) -> None:
        super().__init__()
        self.trigger = _WritesOnLoad(marker)
        self.conv = nn.Conv2d(3, 8, 5, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(self.trigger(x))).mean(dim=(2, 3))


def torchscript_writing(path: Path, marker: Path) -> Path:
    """A TorchScript feature network at ``path`` that writes ``marker`` if it is loaded."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(_EvilFeatures(str(marker))).save(str(path))
    assert not marker.exists()
    return path


class _OpensOnUnpickle:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickle_writing(path: Path, marker: Path, *, around: dict | None = None) -> Path:
    """A torch file at ``path`` whose unpickling would create ``marker``; ``around`` puts the
    object under the key ``"payload"`` of that dict (e.g. a checkpoint's other keys)."""
    payload = _OpensOnUnpickle(marker)
    torch.save(payload if around is None else {**around, "payload": payload}, path)
    assert not marker.exists()
    return path


def plain_inception_weights(path: Path) -> Path:
    """Plain (float16) weights of :class:`~sketchwidgets.models.features.inception.TFInceptionV3`,
    seed 0."""
    from sketchwidgets.models.features.inception import TFInceptionV3

    torch.manual_seed(0)
    state = {k: v.half() for k, v in TFInceptionV3().state_dict().items()}
    torch.save(state, path)
    return path


def ran(marker: Path) -> list[Path]:
    """The marker files that exist (empty when nothing ran)."""
    return [p for p in (marker, Path(f"{marker}.forward")) if p.exists()]
