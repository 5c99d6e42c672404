"""Sketch augmentation shared by every model: pen width, lost strokes, warps, pencil.

:func:`augment_sketch` takes a sketch array (uint8, black ink on white) and, each with its
own chance, changes what a drawing varies in and a machine edge map does not:

* **pen width**: the ink is thinned to a skeleton (:func:`~sketchwidgets.drawing.skeleton.thin`)
  and redrawn with a round pen of a random width (:func:`~sketchwidgets.drawing.skeleton.redraw`);
* **stroke dropout**: whole connected strokes are left out, and a few short gaps cut;
* **affine warp**: a small turn, scale and shift of the drawing;
* **elastic warp**: a smooth random displacement of a pixel or two;
* **pencil**: ink drawn lighter (grey) with paper grain;
* **shading**: light grey tone where the photo is dark, as an artist shades hair and shadows.

The result is again a sketch array of the same size: white paper, darker ink, values in
0..255. :func:`augment_pair` also returns the photo: with ``paired_warps`` the two warps
move the photo with the drawing, so sketch and photo stay in register (a sketch moved alone
teaches a pixel loss to blur). Lengths in :class:`SketchAugment` are canvas pixels of a
256 px canvas, so the same settings suit any sketch size; every random number comes from
the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sketchwidgets.drawing.skeleton import redraw, thin
from sketchwidgets.io import to_gray

CANVAS = 256.0


@dataclass(frozen=True)
class SketchAugment:
    """Chances and ranges of :func:`augment_sketch` (lengths in 256 px canvas pixels)."""

    rewidth_chance: float = 0.6
    pen_width: tuple[float, float] = (3.0, 12.0)  # log-uniform
    dropout_chance: float = 0.5
    dropout: tuple[float, float] = (0.05, 0.25)  # share of connected strokes left out
    gaps: tuple[int, int] = (0, 6)  # short cuts through the ink
    gap_radius: tuple[float, float] = (3.0, 8.0)
    affine_chance: float = 0.5
    turn: float = 4.0  # degrees, uniform in +-turn
    scale: float = 0.05  # uniform in 1 +- scale
    shift: float = 6.0  # uniform in +-shift
    elastic_chance: float = 0.4
    elastic: tuple[float, float] = (2.0, 6.0)  # largest displacement
    pencil_chance: float = 0.5
    darkness: tuple[float, float] = (0.45, 0.9)  # ink strength of a pencil line
    grain: tuple[float, float] = (0.0, 0.3)
    shading_chance: float = 0.3
    shading: tuple[float, float] = (0.1, 0.35)  # strongest tone of the shading
    # move the photo with the sketch (augment_pair): a warp of the sketch alone leaves the
    # pair out of register by up to a pixel or two at 64 px, and an L1-trained model
    # answers that with blurred, flat pictures even on unwarped sketches
    paired_warps: bool = True


DEFAULT_AUGMENT = SketchAugment()


def _ink(sketch: np.ndarray) -> np.ndarray:
    """Ink coverage in [0, 1] of a uint8 sketch array (1 = black)."""
    return 1.0 - to_gray(np.asarray(sketch, np.uint8)).astype(np.float32) / 255.0


def rewidth(ink: np.ndarray, width: float) -> np.ndarray:
    """The ink thinned to its skeleton and redrawn with a pen ``width`` pixels wide."""
    return redraw(thin(ink >= 0.5), width) if (ink >= 0.5).any() else ink


def drop_strokes(
    ink: np.ndarray, rng: np.random.Generator, share: float, gaps: int, radius: float
) -> np.ndarray:
    """Leave out about ``share`` of the connected strokes and cut ``gaps`` round gaps."""
    count, labels = cv2.connectedComponents((ink >= 0.25).astype(np.uint8), connectivity=8)
    dropped = np.flatnonzero(rng.random(count) < share)
    keep = ~np.isin(labels, dropped[dropped > 0])
    out = ink * keep
    ys, xs = np.nonzero(out >= 0.5)
    if len(ys) and gaps:
        cut = np.ones(ink.shape, np.uint8)
        for index in rng.integers(0, len(ys), gaps):
            centre = (int(xs[index]), int(ys[index]))
            cv2.circle(cut, centre, max(1, round(radius)), 0, -1)
        out = out * cut
    return out


def affine_matrix(
    shape: tuple[int, int], rng: np.random.Generator, turn: float, scale: float, shift: float
) -> np.ndarray:
    """A random 2x3 turn, scale and shift about the centre (degrees, factor, pixels)."""
    height, width = shape
    angle = float(rng.uniform(-turn, turn))
    factor = 1.0 + float(rng.uniform(-scale, scale))
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), angle, factor)
    matrix[:, 2] += rng.uniform(-shift, shift, 2)
    return matrix


def affine_warp(
    ink: np.ndarray, rng: np.random.Generator, turn: float, scale: float, shift: float
) -> np.ndarray:
    """Turn, scale and shift the ink about the centre (degrees, factor, pixels)."""
    return warp_ink(ink, affine_matrix(ink.shape, rng, turn, scale, shift))


def warp_ink(ink: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The ink under an affine ``matrix``; what comes in from outside is paper."""
    height, width = ink.shape
    return cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0)


def warp_photo(photo: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The photo under an affine ``matrix``; its border is mirrored in."""
    height, width = photo.shape[:2]
    return cv2.warpAffine(
        photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def elastic_field(
    shape: tuple[int, int], rng: np.random.Generator, amount: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(map_x, map_y)`` for ``cv2.remap``: a smooth random field whose largest
    displacement is ``amount`` px."""
    height, width = shape
    smoothness = max(height, width) / 6.0
    fields = []
    for _ in range(2):
        field = cv2.GaussianBlur(rng.uniform(-1, 1, shape).astype(np.float32), (0, 0), smoothness)
        fields.append(field * (amount / max(float(np.abs(field).max()), 1e-6)))
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    return grid_x + fields[0], grid_y + fields[1]


def elastic_warp(ink: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Move the ink by a smooth random field whose largest displacement is ``amount`` px."""
    map_x, map_y = elastic_field(ink.shape, rng, amount)
    return cv2.remap(ink, map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0)


def _grain(shape: tuple[int, ...], rng: np.random.Generator, amount: float) -> np.ndarray:
    """Paper grain: 1 minus up to ``amount`` of fine noise."""
    noise = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 0.7)
    noise = (noise - noise.min()) / max(float(np.ptp(noise)), 1e-6)
    return 1.0 - amount * noise


def pencil(ink: np.ndarray, rng: np.random.Generator, darkness: float, grain: float) -> np.ndarray:
    """The ink drawn as grey pencil: ``darkness`` times its strength, with paper grain."""
    return ink * darkness * _grain(ink.shape, rng, grain)


def shading(photo: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Light grey tone (up to ``strength``) where the photo is darker than its middle tone."""
    gray = to_gray(np.asarray(photo, np.uint8)).astype(np.float32) / 255.0
    gray = cv2.GaussianBlur(gray, (0, 0), max(gray.shape) / 64.0)
    middle = float(np.median(gray))
    tone = np.clip((middle - gray) / max(middle, 1e-3), 0.0, 1.0)
    return strength * tone * _grain(tone.shape, rng, 0.6)


def augment_sketch(
    sketch: np.ndarray,
    photo: np.ndarray | None,
    rng: np.random.Generator,
    settings: SketchAugment = DEFAULT_AUGMENT,
) -> np.ndarray:
    """A randomly augmented copy of a uint8 sketch array (see the module notes).

    ``photo`` (uint8, same height and width) is needed for shading only; None skips it.
    """
    return augment_pair(sketch, photo, rng, settings)[0]


def augment_pair(
    sketch: np.ndarray,
    photo: np.ndarray | None,
    rng: np.random.Generator,
    settings: SketchAugment = DEFAULT_AUGMENT,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(augmented sketch, photo)``: the photo warped with the sketch when
    ``settings.paired_warps``, else as given (None stays None)."""
    ink = _ink(sketch)
    unit = max(ink.shape) / CANVAS  # sketch pixels per canvas pixel
    s = settings
    moves_photo = s.paired_warps and photo is not None
    if rng.random() < s.rewidth_chance:
        ink = rewidth(ink, unit * float(np.exp(rng.uniform(*np.log(s.pen_width)))))
    if rng.random() < s.dropout_chance:
        gaps = int(rng.integers(s.gaps[0], s.gaps[1] + 1))
        radius = unit * float(rng.uniform(*s.gap_radius))
        ink = drop_strokes(ink, rng, float(rng.uniform(*s.dropout)), gaps, radius)
    if rng.random() < s.affine_chance:
        matrix = affine_matrix(ink.shape, rng, s.turn, s.scale, unit * s.shift)
        ink = warp_ink(ink, matrix)
        photo = warp_photo(photo, matrix) if moves_photo else photo
    if rng.random() < s.elastic_chance:
        map_x, map_y = elastic_field(ink.shape, rng, unit * float(rng.uniform(*s.elastic)))
        ink = cv2.remap(ink, map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0)
        if moves_photo:
            photo = cv2.remap(
                photo, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
            )
    if rng.random() < s.pencil_chance:
        ink = pencil(ink, rng, float(rng.uniform(*s.darkness)), float(rng.uniform(*s.grain)))
    if photo is not None and rng.random() < s.shading_chance:
        tone = shading(photo, rng, float(rng.uniform(*s.shading)))
        ink = 1.0 - (1.0 - ink) * (1.0 - tone)
    return np.clip(np.rint(255.0 * (1.0 - ink)), 0, 255).astype(np.uint8), photo
