"""Contextual GAN's search run from its exported TorchScript files: a reference loop.

Self-contained on purpose (torch, numpy and the standard library; from sketchwidgets only the
sketch normaliser, imported when ``normalise=True`` and the side file holds the model's
``line_stats``, so that a drawing is redrawn in the training sketches' style exactly as
``generate`` does; ``normalise=False`` runs without sketchwidgets): copy it beside
``cgan.pt``, ``cgan.discriminator.pt``, ``cgan.encoder.pt`` (written for a model with a
sketch encoder) and ``cgan.pt.json`` written by
``sketchwidgets.export.export(model, "cgan.pt", format="torchscript")`` and run::

    photos = search("cgan.pt", sketches)["photo"]  # uint8 (N, S, S) sketches -> uint8 RGB

The same steps as :meth:`sketchwidgets.models.contextual_gan.ContextualGAN.search` (Lu et al.,
ECCV 2018, Sec. 3.3), with the settings stored in the side file. The start: when the side file
names an encoder, its code for each sketch (one candidate a sketch, as the model's search
starts); else the paper's refined initialisation, keeping, of ``n_init`` codes uniform in
[-t, t] (or of one shared pool of ``init_pool`` codes), the one whose sketch half is closest to
the sketch (by KL divergence of grey-level distributions, or by the contextual loss). Then
Nesterov descent over ``z`` (clipped to [-t, t]; t = ``truncation``, 1 in the paper) on
``||M*G(z) - M*x||_1 + lambda * log(1 - D(G(z)))``, the L1 optionally ink-balanced and taken
between blurred halves; the photo is the right half of ``G(z)``, passed with the sketch
through ``cgan.refiner.pt`` when the side file names a refiner. The gradients come from
torch autograd through the loaded graphs, which is why this needs TorchScript files: an ONNX
runtime only runs them forward (it can encode with ``E``, sample ``G`` and score ``D``, not
descend).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

KL_EPS = 1e-4  # as latent_search.KL_EPS: added to brightness in [0, 1] before normalising
INK_SPLIT = 0.0  # as latent_search.INK_SPLIT: a known pixel darker than this is ink
# A float sketch lies in [-1, 1] (black ink -1, white paper 1); float rounding may overshoot by
# this much (an eighth of a grey level), more is a sketch in another range (0..255, 0..1 scaled)
FLOAT_SKETCH_SLACK = 1e-3


def check_sketch_values(values: np.ndarray | torch.Tensor, what: str = "the sketch") -> None:
    """Refuse a float sketch holding NaN or inf or values outside [-1, 1] (``ValueError``
    naming the expected range); integer sketches (uint8 0..255) pass untouched.

    The one rule for float sketches: ``generate()`` (:mod:`sketchwidgets.sketch_input`), the
    widgets and :func:`search` all call this function (it lives here because this file must
    run without the package).
    """
    if isinstance(values, torch.Tensor):
        tensor = values.detach()
    else:
        array = np.asarray(values)
        if array.dtype.kind != "f":
            return
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{what} holds NaN or inf values: pass finite values in [-1, 1]")
    low, high = float(tensor.min()), float(tensor.max())
    if low < -1.0 - FLOAT_SKETCH_SLACK or high > 1.0 + FLOAT_SKETCH_SLACK:
        raise ValueError(
            f"{what} holds float values from {low:g} to {high:g}: a float sketch must lie in "
            "[-1, 1] (black ink -1, white paper 1); pass uint8 values 0..255 instead, or "
            "rescale it (e.g. x / 127.5 - 1 for 0..255)"
        )


def sketch_values(sketches: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, S, S)`` 0..255, or float in [-1, 1] (:func:`check_sketch_values`) ->
    float32 ``(N, S, S)`` in [-1, 1]; any other dtype raises ``TypeError``."""
    if isinstance(sketches, torch.Tensor):
        values = sketches.detach().cpu()
    else:
        values = torch.from_numpy(np.ascontiguousarray(np.asarray(sketches)))
    if values.is_floating_point():
        check_sketch_values(values, "the sketches")
        return values.float().clamp(-1.0, 1.0)
    if values.dtype != torch.uint8:
        raise TypeError(f"sketches must be uint8 (0..255) or float in [-1, 1], got {values.dtype}")
    return values.float() / 127.5 - 1.0


class ExportFileError(ValueError):
    """An exported graph or its JSON side file is missing, corrupt or incomplete; the message
    names the file."""


# The side file's search settings this loop reads, and what each may be: the smallest whole
# number, "number" (finite), or the known choices (latent_search.CONTEXTUAL_KINDS, ...)
SEARCH_KEYS: dict[str, Any] = {
    "iterations": 0,
    "n_init": 1,
    "z_dim": 1,
    "lr": "number",
    "momentum": "number",
    "lambda_perceptual": "number",
    "contextual": ("l1", "kl", "ink_l1"),
    "perceptual": ("paper", "nonsaturating"),
}
OPTIONAL_SEARCH_KEYS: dict[str, Any] = {
    "blur": "number",
    "truncation": "number",
    "init_pool": 0,
    "init_score": ("kl", "contextual"),
}


def read_side_file(path: str | os.PathLike, *, search: bool = False) -> dict[str, Any]:
    """The JSON side file of graph ``path`` (``<path>.json``), checked to hold what a runner
    reads (with ``search``: what :func:`search` reads); else :class:`ExportFileError`."""
    side = Path(path).with_name(Path(path).name + ".json")
    try:
        spec = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        message = f"side file not found: {side} (export writes it beside the graph)"
        raise ExportFileError(message) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        message = f"cannot read side file {side} (corrupt or truncated?): {error}"
        raise ExportFileError(message) from error
    problem = _side_file_problem(spec, search)
    if problem:
        raise ExportFileError(f"side file {side} is incomplete or malformed: {problem}")
    return spec


def _side_file_problem(spec: Any, search: bool) -> str | None:
    """What is missing or of the wrong type in a side file's content (None when fine)."""
    if not isinstance(spec, dict):
        return f"holds a {type(spec).__name__}, not a JSON object"
    wanted: list[tuple[Any, str, Any]] = [(spec, "file", str), (spec, "outputs", list)]
    if search:
        wanted += [(spec, "discriminator", dict), (spec, "search", dict)]
    for parent, key, kind in wanted:
        if not isinstance(parent.get(key), kind):
            return f"{key!r} missing or not a {getattr(kind, '__name__', kind)}"
    outputs = spec["outputs"]
    if not outputs or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        return "'outputs' must list one or more objects with a 'name'"
    if search:
        return _search_problem(spec)
    return None


def _search_problem(spec: dict[str, Any]) -> str | None:
    """What the search part of a side file lacks: D's (and E's) file, the settings."""
    for part in ("discriminator", "encoder", "refiner"):
        if part not in spec:
            continue
        if not isinstance(spec[part], dict) or not isinstance(spec[part].get("file"), str):
            return f"{part!r} names no 'file'"
    settings = spec["search"]
    wanted = SEARCH_KEYS | {k: v for k, v in OPTIONAL_SEARCH_KEYS.items() if k in settings}
    for key, rule in wanted.items():
        value = settings.get(key)
        if not _fits(value, rule):
            return f"search setting {key}={value!r} (missing, or not {_rule_text(rule)})"
    return None


def _fits(value: Any, rule: Any) -> bool:
    """Whether a side-file setting follows its rule (see :data:`SEARCH_KEYS`)."""
    if isinstance(rule, tuple):
        return value in rule
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if rule == "number":
        return math.isfinite(value)
    return isinstance(value, int) and value >= rule


def _rule_text(rule: Any) -> str:
    if isinstance(rule, tuple):
        return f"one of {list(rule)}"
    return "a finite number" if rule == "number" else f"a whole number >= {rule}"


def check_graph_file(path: Path) -> None:
    """:class:`ExportFileError` unless ``path`` is a file (a missing graph named as such)."""
    if not path.is_file():
        what = "is a folder, not a graph file" if path.is_dir() else "not found"
        raise ExportFileError(f"exported graph {what}: {path}")


def graph_load_error(path: Path, error: Exception) -> ExportFileError:
    """The one-line error for a graph file that would not load (corrupt or truncated)."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return ExportFileError(f"cannot load exported graph {path} (corrupt or truncated?): {first}")


def load_networks(path: str | os.PathLike) -> tuple[Any, Any, dict[str, Any]]:
    """``(G, D, side-file dict)`` from the generator file written by the export.

    The side file names the graph files by base name, in its own folder: a name with a folder
    in it (absolute, ``../``, a subfolder, a link out of the folder) is refused, unloaded.
    """
    path = Path(path)
    side_file = path.with_name(path.name + ".json")
    spec = read_side_file(path, search=True)
    generator = _load_graph(side_file, spec, "file")
    discriminator = _load_graph(side_file, spec["discriminator"], "discriminator file")
    return generator, discriminator, spec


def load_companion(path: str | os.PathLike, spec: dict[str, Any], role: str) -> Any | None:
    """The graph the side file ``spec`` of generator file ``path`` names under ``role``: the
    sketch encoder ``"encoder"`` or the completion refiner ``"refiner"``; ``None`` when the
    model has none (the paper's configuration)."""
    if role not in spec:
        return None
    side_file = Path(path).with_name(Path(path).name + ".json")
    return _load_graph(side_file, spec[role], f"{role} file")


def graph_beside(side_file: Path, name: Any, key: str) -> Path:
    """The file ``name`` that ``side_file`` names under ``key``, in the side file's own folder;
    ``ValueError`` naming both when ``name`` is not a bare file name there."""
    bare = isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name
    if not bare or "\\" in name or "\x00" in name:
        raise ValueError(
            f"{side_file}: refusing {key} {name!r}: a side file names graph files only by base "
            "name, in its own folder"
        )
    graph = side_file.parent / name
    if graph.resolve().parent != side_file.parent.resolve():
        raise ValueError(
            f"{side_file}: refusing {key} {name!r}: {graph} links out of the side file's folder"
        )
    return graph


def verified_graph_bytes(path: Path, expected: Any, side_file: Path) -> bytes:
    """The bytes of graph ``path`` once their SHA-256 is ``expected``, the one its side file
    records (a TorchScript graph is code: it is loaded only as the export wrote it, from these
    bytes, so it cannot change in between); :class:`ExportFileError` otherwise."""
    check_graph_file(path)
    if not (isinstance(expected, str) and len(expected) == 64):
        raise ExportFileError(
            f"{side_file} records no sha256 for {path.name}: a graph is loaded only when it "
            "matches what the export wrote; export the model again"
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise ExportFileError(
            f"refusing exported graph {path}: its SHA-256 differs from the one {side_file.name} "
            "records (the file was changed, truncated or replaced after the export)"
        )
    return data


def load_torchscript(data: bytes, path: Path) -> Any:
    """A TorchScript graph from verified bytes, in eval mode; one line naming ``path`` when
    the bytes do not load."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, works
            return torch.jit.load(io.BytesIO(data), map_location="cpu").eval()
    except Exception as error:
        raise graph_load_error(path, error) from error


def _load_graph(side_file: Path, entry: dict[str, Any], key: str) -> Any:
    """The graph a side-file entry names (``file``, ``sha256``): beside the side file, checked."""
    path = graph_beside(side_file, entry["file"], key)
    return load_torchscript(verified_graph_bytes(path, entry.get("sha256"), side_file), path)


def brightness(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> ``(N, H*W)`` grey-level distributions (ITU-R 601)."""
    r, g, b = images.unbind(1)
    mass = ((0.299 * r + 0.587 * g + 0.114 * b).flatten(1) + 1.0) / 2.0 + KL_EPS
    return mass / mass.sum(dim=1, keepdim=True)


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Row-wise ``KL(p || q)``."""
    return (p * (p.log() - q.log())).sum(dim=1)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur (radius 3 sigma, edges replicated), as latent_search.gaussian_blur."""
    if sigma <= 0:
        return images
    radius = max(1, round(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum())[:, None] * (kernel / kernel.sum())[None, :]
    channels = images.shape[1]
    padded = F.pad(images, (radius,) * 4, mode="replicate")
    return F.conv2d(padded, kernel.expand(channels, 1, -1, -1).contiguous(), groups=channels)


def ink_weights(known: torch.Tensor) -> torch.Tensor:
    """Ink and paper of each known half as two equal classes (latent_search's ink-balanced L1)."""
    ink = (known.mean(dim=1, keepdim=True) < INK_SPLIT).float()
    pixels = ink[0].numel()
    n_ink = ink.flatten(1).sum(dim=1).view(-1, 1, 1, 1)
    n_paper = pixels - n_ink
    weights = ink * 0.5 * pixels / n_ink.clamp(min=1) + (1 - ink) * 0.5 * pixels / n_paper.clamp(
        min=1
    )
    both = (n_ink > 0) & (n_paper > 0)
    return torch.where(both, weights, torch.ones_like(weights))


def contextual_loss(half: torch.Tensor, known: torch.Tensor, settings: dict) -> torch.Tensor:
    """Per-sketch contextual loss of generated known halves against the sketches."""
    sigma = settings.get("blur", 0.0)
    if settings["contextual"] == "kl":
        return kl(brightness(blur(half, sigma)), brightness(blur(known, sigma)))
    difference = (blur(half, sigma) - blur(known, sigma)).abs()
    if settings["contextual"] == "ink_l1":
        difference = difference * ink_weights(known)
    return difference.flatten(1).sum(dim=1)


def losses(
    generator: Any, discriminator: Any, known: torch.Tensor, z: torch.Tensor, settings: dict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``G(z)``, the per-sketch contextual loss and the perceptual loss."""
    images = generator(z)
    contextual = contextual_loss(images[..., : known.shape[-1]], known, settings)
    logits = discriminator(images)
    paper = settings["perceptual"] == "paper"
    perceptual = -F.softplus(logits) if paper else F.softplus(-logits)
    return images, contextual, perceptual


def initial_codes(
    generator: Any, known: torch.Tensor, candidates: torch.Tensor, settings: dict
) -> torch.Tensor:
    """The refined initialisation: per sketch, the candidate ``(N, K, z_dim)`` scoring lowest
    (KL(sketch || G(z)) of grey levels, or the contextual loss with init_score "contextual")."""

    def score(k: int) -> torch.Tensor:
        half = generator(candidates[:, k])[..., : known.shape[-1]]
        if settings.get("init_score", "kl") == "contextual":
            return contextual_loss(half, known, settings)
        return kl(brightness(known), brightness(half))

    with torch.no_grad():
        scores = torch.stack([score(k) for k in range(candidates.shape[1])], dim=1)
    return candidates[torch.arange(len(candidates)), scores.argmin(dim=1)]


def starting_candidates(
    encoder: Any | None, known: torch.Tensor, settings: dict, seed: int
) -> torch.Tensor | np.ndarray:
    """``(N, K, z_dim)`` codes the search starts from: ``E(sketch)`` (K = 1) with an encoder,
    else ``n_init`` codes uniform in [-t, t] per sketch, or one shared pool of ``init_pool``."""
    if encoder is not None:
        with torch.no_grad():
            return encoder(known).unsqueeze(1)
    bound = settings.get("truncation", 1.0)
    rng = np.random.default_rng(seed)
    pool = settings.get("init_pool", 0)
    if pool > 0:  # one shared pool, every sketch choosing from all of it
        shared = rng.uniform(-bound, bound, (pool, settings["z_dim"]))
        return np.broadcast_to(shared, (len(known), *shared.shape))
    return rng.uniform(-bound, bound, (len(known), settings["n_init"], settings["z_dim"]))


def normalised_sketches(sketches: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """uint8 ``(N, S, S)`` sketches redrawn to the side file's ``line_stats`` by sketchwidgets'
    one normaliser (unchanged when the side file records none)."""
    array = np.asarray(sketches, dtype=np.uint8)
    if spec.get("line_stats") is None:
        return array
    from sketchwidgets.drawing.line_stats import LineStats
    from sketchwidgets.drawing.normaliser import normalise_sketch

    target = LineStats.from_dict(spec["line_stats"]).at_size(array.shape[-1])
    flat = array.reshape(-1, *array.shape[-2:])
    return np.stack([normalise_sketch(sketch, target) for sketch in flat]).reshape(array.shape)


def refined(refiner: Any | None, joint: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The joint images with the refiner's photo from their photo half and the sketch (the
    joint images as they are without a refiner)."""
    if refiner is None:
        return joint
    size = known.shape[-1]
    with torch.no_grad():
        photo = refiner(joint[..., size:].contiguous(), known)
    return torch.cat([joint[..., :size], photo], 3)


def search(
    path: str | os.PathLike,
    sketches: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    iterations: int | None = None,
    seed: int = 0,
    normalise: bool = True,
) -> dict[str, np.ndarray]:
    """Complete sketches ``(N, S, S)`` (dark ink on white; uint8 0..255 or float in [-1, 1],
    as :func:`sketch_values` takes them) into photos.

    ``normalise``: redraw each sketch in the training sketches' style first
    (:func:`normalised_sketches`) when the side file records their line statistics.

    ``candidates`` ``(N, n_init, z_dim)`` replaces the initial codes: the encoder's code when
    the export has an encoder (``seed`` then unused), else random ones drawn from ``seed``;
    ``iterations`` overrides the side file's. Returns ``photo`` uint8 ``(N, S, S, 3)``,
    ``joint`` float ``(N, 3, S, 2S)``, ``z`` and the ``contextual`` loss per step ``(T+1, N)``.
    """
    gray = sketch_values(sketches)  # refused before any file is read
    generator, discriminator, spec = load_networks(path)
    settings = spec["search"]
    steps = settings["iterations"] if iterations is None else iterations
    if normalise and spec.get("line_stats") is not None:
        as_uint8 = ((gray + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        gray = sketch_values(normalised_sketches(as_uint8, spec))
    known = gray.reshape(-1, 1, *gray.shape[-2:]).expand(-1, 3, -1, -1).contiguous()
    if candidates is None:
        candidates = starting_candidates(
            load_companion(path, spec, "encoder"), known, settings, seed
        )
    z = initial_codes(generator, known, torch.as_tensor(candidates, dtype=torch.float32), settings)
    bound = settings.get("truncation", 1.0)
    velocity, history = torch.zeros_like(z), []
    lr, momentum = settings["lr"], settings["momentum"]
    for step in range(steps + 1):  # the last pass only evaluates the final z
        z = z.detach().requires_grad_(step < steps)
        images, contextual, perceptual = losses(generator, discriminator, known, z, settings)
        history.append(contextual.detach())
        if step == steps:
            break
        objective = (contextual + settings["lambda_perceptual"] * perceptual).sum()
        (grad,) = torch.autograd.grad(objective, z)
        new_velocity = momentum * velocity - lr * grad
        z = (z.detach() - momentum * velocity + (1 + momentum) * new_velocity).clamp(-bound, bound)
        velocity = new_velocity
    joint = refined(load_companion(path, spec, "refiner"), images.detach(), known)
    photo = joint[..., known.shape[-1] :].clamp(-1, 1).add(1).mul(127.5).round()
    return {
        "photo": photo.to(torch.uint8).permute(0, 2, 3, 1).numpy(),
        "joint": joint.numpy(),
        "z": z.detach().numpy(),
        "contextual": torch.stack(history).numpy(),
    }
