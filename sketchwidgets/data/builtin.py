"""The embedded default dataset: procedural photos of 8 object classes and their sketches.

The package draws its own photo set, so the quickstart, the notebooks and the tests need no
download.  Each photo is rendered at the target size (2x supersampled, area-averaged) from
signed-distance shapes with Lambert shading, a Blinn-Phong highlight, smooth texture noise,
a soft ground shadow and a plain or gradient background; size, pose (rotation, offset,
mirror) and colours vary within each class.  Every image is a pure function of
``(seed, index)``, so the set is identical for any worker count.

Sketches come from :func:`sketchwidgets.data.sketchify.sketchify`, and :func:`example_sketch`
traces a rendered photo's edges into :class:`~sketchwidgets.data.strokes.Sketch` strokes, a
stand-in for a drawing made on the canvas.
"""

from __future__ import annotations

import colorsys
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sketchwidgets.data.pool import process_pool
from sketchwidgets.data.sketchify import canny, remove_background, sketchify
from sketchwidgets.data.strokes import Sketch, Stroke
from sketchwidgets.io import image_to_tensor, write_image

CLASSES: tuple[str, ...] = ("apple", "ball", "mug", "house", "tree", "car", "fish", "bottle")
SPLITS = ("train", "val", "all")
_SUPERSAMPLE = 2
_CHUNK = 128  # pairs per pool task; fixed, so outputs never depend on the worker count
_POOL_MIN = 1024  # fewer pairs render inline: starting the pool (imports torch) costs more


# --------------------------------------------------------------------------- scene


@dataclass
class _Scene:
    """Render state: object-space grid, pixel size, light, RNG and the image being painted."""

    x: np.ndarray  # (S, S) object-space x of each render pixel (right = +)
    y: np.ndarray  # (S, S) object-space y (down = +)
    px: float  # object units per render pixel (anti-aliasing width)
    light: np.ndarray  # (3,) unit vector towards the light
    rng: np.random.Generator
    image: np.ndarray  # (S, S, 3) float RGB in [0, 1]
    shadows: bool = True  # draw contact shadows (off for example_sketch tracing)

    def u(self, low: float, high: float) -> float:
        """A uniform random number in [low, high)."""
        return float(self.rng.uniform(low, high))


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """An RGB colour in [0, 1] from hue (turns, wraps), saturation and value."""
    rgb = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1))
    return np.array(rgb, np.float32)


def _noise(rng: np.random.Generator, side: int, cells: int) -> np.ndarray:
    """Smooth zero-mean noise of unit-ish amplitude: a random ``cells`` grid, bicubic-upscaled."""
    grid = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator, side: int) -> np.ndarray:
    """A plain or linear-gradient background, light or mid-toned, with faint texture."""
    hue = rng.uniform()
    top = _hsv(hue, rng.uniform(0.0, 0.35), rng.uniform(0.55, 0.97))
    bottom = (
        top
        if rng.uniform() < 0.35
        else _hsv(hue + rng.uniform(-0.15, 0.15), rng.uniform(0.0, 0.4), rng.uniform(0.45, 0.95))
    )
    angle = rng.uniform(0, 2 * np.pi)
    cells = 8  # built on a coarse grid, then resized: a linear ramp survives interpolation
    t = np.linspace(-1, 1, cells, dtype=np.float32)
    ramp = (math.cos(angle) * t[None, :] + math.sin(angle) * t[:, None]) * 0.5 + 0.5
    coarse = top * (1 - ramp[..., None]) + bottom * ramp[..., None]
    coarse += 0.015 * rng.standard_normal((cells, cells, 1)).astype(np.float32)
    return cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)


def _new_scene(rng: np.random.Generator, side: int, spin: float) -> _Scene:
    """A background and a random pose: rotation up to ``spin`` degrees, scale, offset, mirror."""
    image = _background(rng, side)
    angle = float(np.deg2rad(rng.uniform(-spin, spin)))
    scale = rng.uniform(0.7, 0.92)
    ox, oy = (float(v) for v in rng.uniform(-0.1, 0.1, size=2))
    t = (np.arange(side, dtype=np.float32) + 0.5) / side * 2 - 1
    u, v = t[None, :] - ox, t[:, None] - oy
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = (cos * u + sin * v) / scale, (cos * v - sin * u) / scale
    if rng.uniform() < 0.5:
        x = -x
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.8, -0.3), 0.8])
    light = (light / np.linalg.norm(light)).astype(np.float32)
    return _Scene(x, y, 2.0 / side / scale, light, rng, image.astype(np.float32))


# --------------------------------------------------------------------------- shapes (SDFs)


def _ellipse(sc: _Scene, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse (negative inside)."""
    r = np.hypot((sc.x - cx) / rx, (sc.y - cy) / ry)
    return (r - 1.0) * min(rx, ry)


def _box(sc: _Scene, cx: float, cy: float, hw: float, hh: float, round_: float = 0.0) -> np.ndarray:
    """Signed distance to a box with half sizes (hw, hh) and corner radius ``round_``."""
    dx = np.abs(sc.x - cx) - (hw - round_)
    dy = np.abs(sc.y - cy) - (hh - round_)
    outside = np.hypot(np.maximum(dx, 0), np.maximum(dy, 0))
    return outside + np.minimum(np.maximum(dx, dy), 0) - round_


def _poly(sc: _Scene, points: Sequence[tuple[float, float]]) -> np.ndarray:
    """Signed distance (exact inside, approximate outside) to a convex polygon."""
    pts = np.asarray(points, np.float32)
    (ax, ay), (bx, by) = pts[1] - pts[0], pts[2] - pts[1]
    if ax * by - ay * bx < 0:
        pts = pts[::-1]  # make the winding counter-clockwise in (x right, y down) space
    dist = np.full(sc.x.shape, -np.inf, np.float32)
    for a, b in zip(pts, np.concatenate([pts[1:], pts[:1]]), strict=True):
        edge = (b - a) / np.linalg.norm(b - a)
        dist = np.maximum(dist, (sc.x - a[0]) * edge[1] - (sc.y - a[1]) * edge[0])
    return dist


def _coverage(sc: _Scene, sdf: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of the region ``sdf < 0``."""
    return np.clip(0.5 - sdf / sc.px, 0.0, 1.0)


# --------------------------------------------------------------------------- shading


def _sphere(sc: _Scene, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Unit normals (S, S, 3) of an ellipsoid bulging towards the viewer."""
    nx, ny = (sc.x - cx) / rx, (sc.y - cy) / ry
    r2 = np.minimum(nx**2 + ny**2, 0.98)
    scale = np.sqrt(r2 / np.maximum(nx**2 + ny**2, 1e-9))
    return np.stack([nx * scale, ny * scale, np.sqrt(1 - r2)], axis=-1)


def _cylinder(sc: _Scene, cx: float, rx: float) -> np.ndarray:
    """Unit normals of a vertical cylinder of radius ``rx`` centred at ``cx``."""
    nx = np.clip((sc.x - cx) / rx, -0.99, 0.99)
    return np.stack([nx, np.zeros_like(nx), np.sqrt(1 - nx**2)], axis=-1)


def _flat(sc: _Scene, tilt: float = 0.0) -> np.ndarray:
    """Normals of a plane, tilted sideways by ``tilt``."""
    n = np.array([tilt, 0.0, 1.0], np.float32) / np.hypot(tilt, 1.0)
    return np.broadcast_to(n, (*sc.x.shape, 3))


def _bbox(cover: np.ndarray) -> tuple[slice, slice] | None:
    """The smallest (rows, cols) slices holding every covered pixel (None when empty)."""
    rows, cols = np.flatnonzero(cover.any(axis=1)), np.flatnonzero(cover.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _paint(
    sc: _Scene,
    sdf: np.ndarray,
    colour: np.ndarray,
    normals: np.ndarray | None = None,
    *,
    shine: float = 0.0,
    texture: float = 0.04,
    cells: int = 12,
) -> None:
    """Composite one shaded part over the scene: Lambert + ambient, Blinn-Phong highlight."""
    cover = _coverage(sc, sdf)
    noise = _noise(sc.rng, sc.x.shape[0], cells)
    box = _bbox(cover)
    if box is None:
        return
    normals = (_flat(sc) if normals is None else normals)[box]
    shade = 0.42 + 0.68 * np.clip(normals @ sc.light, 0, 1) + texture * noise[box]
    colour = colour[box] if colour.ndim == 3 else colour
    rgb = colour.astype(np.float32) * shade[..., None]
    if shine > 0:
        half = sc.light + np.array([0.0, 0.0, 1.0], np.float32)
        spec = np.clip(normals @ (half / np.linalg.norm(half)), 0, 1) ** 40
        rgb += shine * spec[..., None]
    region = sc.image[box]
    region += (rgb - region) * cover[box][..., None]


def _shadow(sc: _Scene, cx: float, cy: float, rx: float, ry: float) -> None:
    """A soft elliptical contact shadow on the background."""
    if not sc.shadows:
        return
    falloff = np.clip(1.0 - np.hypot((sc.x - cx) / rx, (sc.y - cy) / ry), 0, 1)
    sc.image *= 1.0 - 0.35 * (falloff**1.5)[..., None]


# --------------------------------------------------------------------------- classes


def _apple(sc: _Scene) -> None:
    """Round red/green/yellow apple with a top dimple, a stem and a leaf."""
    _shadow(sc, 0.0, 0.82, 0.8, 0.18)
    rx, ry = sc.u(0.74, 0.86), sc.u(0.68, 0.78)
    body = np.minimum(_ellipse(sc, -0.2, 0.08, rx * 0.8, ry), _ellipse(sc, 0.2, 0.08, rx * 0.8, ry))
    body = np.maximum(body, -_ellipse(sc, 0.0, 0.08 - ry, 0.14, 0.12))  # dimple at the stem
    hue = sc.rng.choice([0.0, 0.02, 0.97, 0.25, 0.13])
    _paint(
        sc,
        body,
        _hsv(hue + sc.u(-0.02, 0.02), sc.u(0.7, 0.95), sc.u(0.6, 0.9)),
        _sphere(sc, 0.0, 0.1, rx, ry),
        shine=0.55,
        texture=0.06,
        cells=20,
    )
    top = 0.08 - ry + 0.05
    lean = sc.u(-0.12, 0.12)
    _paint(
        sc,
        _poly(sc, [(-0.04, top), (0.04, top), (0.05 + lean, top - 0.3), (lean, top - 0.3)]),
        _hsv(0.08, 0.6, 0.35),
    )
    leaf = _ellipse(sc, 0.2 + lean, top - 0.2, 0.2, 0.08)
    _paint(sc, leaf, _hsv(sc.u(0.25, 0.33), 0.75, sc.u(0.45, 0.7)), _flat(sc, 0.3))


def _ball(sc: _Scene) -> None:
    """A sphere with beach-ball sectors, stripes or dark patches, and a strong highlight."""
    _shadow(sc, 0.0, 0.85, 0.75, 0.15)
    r = sc.u(0.78, 0.9)
    normals = _sphere(sc, 0.0, 0.0, r, r)
    base = _hsv(sc.u(0, 1), sc.u(0.6, 0.9), sc.u(0.75, 0.95))
    other = _hsv(sc.u(0, 1), sc.u(0.0, 0.9), sc.u(0.85, 1.0))
    kind = sc.rng.integers(3)
    nx, ny = normals[..., 0], normals[..., 1]
    if kind == 0:  # beach ball: coloured sectors around the view axis
        pattern = (np.floor((np.arctan2(ny, nx) + sc.u(0, 1)) / (np.pi / 3)) % 2)[..., None]
    elif kind == 1:  # stripes around a tilted axis
        axis = np.array([sc.u(-0.5, 0.5), 1.0, sc.u(-0.3, 0.3)], np.float32)
        pattern = (np.abs(normals @ (axis / np.linalg.norm(axis))) < 0.25)[..., None]
    else:  # patches: caps around a few directions on the sphere
        centres = sc.rng.normal(size=(6, 3)) * [1, 1, 0.5] + [0, 0, 0.6]
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        pattern = ((normals @ centres.T.astype(np.float32)).max(-1) > 0.9)[..., None]
    colour = np.where(pattern > 0, other * 0.25 if kind == 2 else other, base)
    _paint(sc, _ellipse(sc, 0.0, 0.0, r, r), colour, normals, shine=0.7, texture=0.03)


def _mug(sc: _Scene) -> None:
    """A cylindrical mug with a ring handle, a rim and sometimes a coloured band."""
    _shadow(sc, -0.1, 0.78, 0.75, 0.12)
    hw, hh, cx = sc.u(0.45, 0.55), sc.u(0.55, 0.68), -0.12
    colour = _hsv(sc.u(0, 1), sc.u(0.0, 0.85), sc.u(0.7, 0.98))
    ring = np.abs(_ellipse(sc, cx + hw, 0.05, 0.3, 0.3)) - 0.075
    _paint(sc, np.maximum(ring, cx + hw - 0.05 - sc.x), colour * 0.9, _flat(sc, 0.5), shine=0.2)
    body = _box(sc, cx, 0.1, hw, hh, 0.08)
    normals = _cylinder(sc, cx, hw)
    _paint(sc, body, colour, normals, shine=0.5, texture=0.02)
    if sc.rng.uniform() < 0.6:
        band = np.maximum(body, np.abs(sc.y - sc.u(-0.1, 0.35)) - sc.u(0.06, 0.14))
        _paint(sc, band, _hsv(sc.u(0, 1), 0.8, 0.8), normals, shine=0.5, texture=0.02)
    rim_y = 0.1 - hh + 0.02
    _paint(sc, _ellipse(sc, cx, rim_y, hw, 0.09), colour * 1.05, _flat(sc))
    _paint(sc, _ellipse(sc, cx, rim_y + 0.01, hw - 0.06, 0.06), colour * 0.35, _flat(sc))


def _house(sc: _Scene) -> None:
    """Walls, a triangular roof, a door and windows (with crossbars), sometimes a chimney."""
    _shadow(sc, 0.0, 0.86, 0.95, 0.1)
    hw, top = sc.u(0.55, 0.7), sc.u(-0.2, 0.0)
    roof_colour = _hsv(sc.rng.choice([0.0, 0.05, 0.6, 0.08]), sc.u(0.4, 0.8), sc.u(0.3, 0.6))
    if sc.rng.uniform() < 0.6:
        _paint(sc, _box(sc, hw * 0.5, top - 0.45, 0.08, 0.2), _hsv(0.03, 0.5, 0.5))
    wall = _hsv(sc.u(0.05, 0.15), sc.u(0.1, 0.5), sc.u(0.7, 0.95))
    _paint(
        sc,
        _box(sc, 0.0, (top + 0.82) / 2, hw, (0.82 - top) / 2),
        wall,
        _flat(sc, -0.2),
        texture=0.05,
        cells=24,
    )
    peak = top - sc.u(0.5, 0.7)
    _paint(
        sc,
        _poly(sc, [(-hw - 0.12, top), (hw + 0.12, top), (0.0, peak)]),
        roof_colour,
        _flat(sc, 0.3),
        texture=0.06,
        cells=24,
    )
    door_x = sc.u(-hw * 0.4, hw * 0.4)
    _paint(sc, _box(sc, door_x, 0.62, 0.13, 0.2, 0.02), _hsv(sc.u(0, 1), 0.6, 0.4))
    glass = _hsv(0.58, 0.35, 0.9)
    for wx in (-hw * 0.55, hw * 0.55):
        if abs(wx - door_x) > 0.3:
            _paint(sc, _box(sc, wx, top + 0.35, 0.13, 0.12), glass, _flat(sc, 0.4), shine=0.4)
            bars = np.maximum(
                _box(sc, wx, top + 0.35, 0.13, 0.12),
                np.minimum(np.abs(sc.x - wx), np.abs(sc.y - top - 0.35)) - 0.015,
            )
            _paint(sc, bars, wall * 0.6)


def _tree(sc: _Scene) -> None:
    """A brown trunk under a leafy foliage blob (round or conifer)."""
    _shadow(sc, 0.0, 0.88, 0.6, 0.1)
    _paint(
        sc,
        _poly(sc, [(-0.12, 0.88), (0.12, 0.88), (0.07, 0.0), (-0.07, 0.0)]),
        _hsv(0.07, sc.u(0.4, 0.7), sc.u(0.3, 0.5)),
        _cylinder(sc, 0.0, 0.12),
        cells=30,
    )
    green = _hsv(sc.u(0.22, 0.36), sc.u(0.5, 0.85), sc.u(0.35, 0.7))
    if sc.rng.uniform() < 0.3:  # conifer: stacked triangles
        for i, y0 in enumerate((0.25, -0.15, -0.5)):
            w = 0.7 - 0.17 * i
            _paint(
                sc,
                _poly(sc, [(-w, y0), (w, y0), (0.0, y0 - 0.55)]),
                green * (1 + 0.1 * i),
                _cylinder(sc, 0.0, w),
                texture=0.12,
                cells=40,
            )
        return
    blobs = [(0.0, -0.35, sc.u(0.45, 0.55))] + [
        (sc.u(-0.4, 0.4), sc.u(-0.6, -0.1), sc.u(0.25, 0.38)) for _ in range(sc.rng.integers(2, 5))
    ]
    foliage = np.min([_ellipse(sc, cx, cy, r, r * 0.9) for cx, cy, r in blobs], axis=0)
    _paint(sc, foliage, green, _sphere(sc, 0.0, -0.35, 0.8, 0.7), shine=0.1, texture=0.18, cells=48)


def _car(sc: _Scene) -> None:
    """A side-view car: body, cabin with windows, two wheels with hubs, a headlight."""
    _shadow(sc, 0.0, 0.62, 1.0, 0.1)
    colour = _hsv(sc.u(0, 1), sc.u(0.5, 0.95), sc.u(0.5, 0.95))
    body_normals = _cylinder(sc, 0.0, 2.0) * np.float32([1, 0, 1]) + np.float32([0, -0.25, 0])
    body_normals /= np.linalg.norm(body_normals, axis=-1, keepdims=True)
    roof = sc.u(-0.45, -0.35)
    _paint(
        sc,
        _poly(sc, [(-0.55, 0.05), (0.5, 0.05), (0.28, roof), (-0.32, roof)]),
        colour,
        body_normals,
        shine=0.6,
        texture=0.02,
    )
    _paint(
        sc,
        _poly(sc, [(-0.44, 0.02), (0.38, 0.02), (0.22, roof + 0.07), (-0.26, roof + 0.07)]),
        _hsv(0.58, 0.3, 0.85),
        _flat(sc, 0.5),
        shine=0.6,
    )
    _paint(sc, _box(sc, -0.03, -0.1, 0.025, 0.2), colour * 0.8)  # door pillar
    _paint(
        sc,
        _box(sc, 0.0, 0.25, 0.95, sc.u(0.2, 0.25), 0.1),
        colour,
        body_normals,
        shine=0.6,
        texture=0.02,
    )
    _paint(sc, _ellipse(sc, -0.9, 0.18, 0.06, 0.05), _hsv(0.15, 0.3, 1.0), shine=0.5)
    for wx in (-0.55, 0.55):
        _paint(
            sc,
            _ellipse(sc, wx, 0.45, 0.23, 0.23),
            _hsv(0, 0, 0.12),
            _sphere(sc, wx, 0.45, 0.3, 0.3),
        )
        _paint(sc, _ellipse(sc, wx, 0.45, 0.1, 0.1), _hsv(0, 0, 0.75), shine=0.5)


def _fish(sc: _Scene) -> None:
    """An ellipse body with stripes, a tail fin, a dorsal fin and an eye."""
    colour = _hsv(sc.rng.choice([0.07, 0.12, 0.55, 0.95, 0.8]), sc.u(0.6, 0.95), sc.u(0.7, 0.95))
    fin = colour * 0.75
    rx, ry = sc.u(0.55, 0.7), sc.u(0.3, 0.42)
    _paint(
        sc,
        _poly(sc, [(rx - 0.15, 0.0), (rx + 0.35, -ry - 0.05), (rx + 0.28, ry + 0.05)]),
        fin,
        _flat(sc, 0.2),
        texture=0.08,
    )
    _paint(sc, _poly(sc, [(-0.25, -ry + 0.1), (0.2, -ry + 0.1), (0.05, -ry - 0.25)]), fin)
    body = _ellipse(sc, -0.15, 0.0, rx, ry)
    normals = _sphere(sc, -0.15, 0.0, rx, ry)
    _paint(sc, body, colour, normals, shine=0.5, texture=0.05)
    if sc.rng.uniform() < 0.6:
        stripes = np.maximum(body, np.abs(((sc.x + sc.u(0, 1)) % 0.35) - 0.175) - 0.05)
        _paint(sc, stripes, _hsv(sc.u(0, 1), 0.2, 0.95), normals, shine=0.5)
    eye_x = -0.15 - rx * 0.62
    _paint(sc, _ellipse(sc, eye_x, -0.08, 0.085, 0.085), np.ones(3))
    _paint(sc, _ellipse(sc, eye_x - 0.02, -0.08, 0.045, 0.045), np.zeros(3) + 0.05)


def _bottle(sc: _Scene) -> None:
    """A glass bottle: body, shoulder, neck, cap and a paper label."""
    _shadow(sc, 0.0, 0.9, 0.45, 0.1)
    hw = sc.u(0.26, 0.36)
    glass = _hsv(sc.rng.choice([0.33, 0.08, 0.6, 0.5]), sc.u(0.4, 0.9), sc.u(0.3, 0.7))
    normals = _cylinder(sc, 0.0, hw)
    shoulder = _ellipse(sc, 0.0, -0.1, hw, 0.3)
    body = np.minimum(_box(sc, 0.0, 0.4, hw, 0.5, 0.06), shoulder)
    neck = _box(sc, 0.0, -0.45, 0.1, 0.3, 0.02)
    _paint(sc, np.minimum(body, neck), glass, normals, shine=0.9, texture=0.02)
    _paint(
        sc,
        _box(sc, 0.0, -0.78, 0.12, 0.08, 0.02),
        _hsv(sc.u(0, 1), 0.6, sc.u(0.5, 0.9)),
        _cylinder(sc, 0.0, 0.12),
        shine=0.4,
    )
    label_y = sc.u(0.3, 0.5)
    label = np.maximum(body, np.abs(sc.y - label_y) - sc.u(0.14, 0.22))
    _paint(sc, label, _hsv(sc.u(0, 1), sc.u(0.0, 0.3), sc.u(0.85, 1.0)), normals, texture=0.03)
    _paint(
        sc, np.maximum(label, np.abs(sc.y - label_y) - 0.03), _hsv(sc.u(0, 1), 0.7, 0.5), normals
    )


_PAINTERS: dict[str, tuple[Callable[[_Scene], None], float]] = {  # painter, max rotation (deg)
    "apple": (_apple, 20.0),
    "ball": (_ball, 180.0),
    "mug": (_mug, 10.0),
    "house": (_house, 6.0),
    "tree": (_tree, 6.0),
    "car": (_car, 8.0),
    "fish": (_fish, 25.0),
    "bottle": (_bottle, 12.0),
}


def _render(
    class_name: str, rng: np.random.Generator, size: int, *, shadows: bool = True
) -> _Scene:
    """Paint one scene at the supersampled size (the caller downsamples)."""
    if class_name not in _PAINTERS:
        raise KeyError(f"unknown class {class_name!r}; known classes: {list(CLASSES)}")
    if size < 8:
        raise ValueError(f"photo size must be at least 8 pixels, got {size}")
    painter, spin = _PAINTERS[class_name]
    scene = _new_scene(rng, size * _SUPERSAMPLE, spin)
    scene.shadows = shadows
    painter(scene)
    return scene


def _to_uint8(image: np.ndarray, size: int) -> np.ndarray:
    """Area-downsample a float render to ``size`` and quantise to uint8."""
    small = cv2.resize(image.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(small * 255), 0, 255).astype(np.uint8)


def render_photo(class_name: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A procedural photo of one object of ``class_name`` -> uint8 ``size`` x ``size`` x 3."""
    return _to_uint8(_render(class_name, rng, size).image, size)


# --------------------------------------------------------------------------- pairs


@dataclass
class EmbeddedPairs:
    """Photos, sketches and labels of the embedded dataset."""

    photos: np.ndarray  # (N, H, W, 3) uint8
    sketches: np.ndarray  # (N, H, W) uint8, black ink on white
    labels: np.ndarray  # (N,) int64, index into class_names
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def _item_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of item ``index``: depends only on (seed, index)."""
    return np.random.default_rng([seed, index])


def _render_chunk(
    indices: Sequence[int],
    classes: Sequence[str],
    size: int,
    seed: int,
    style: str,
    params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Photos and sketches of the given item indices (runs in a pool worker or inline)."""
    photos = np.stack(
        [render_photo(classes[i % len(classes)], _item_rng(seed, i), size) for i in indices]
    )
    return photos, sketchify(photos, style, **params)


def _default_workers() -> int:
    """min(2, CPU count)."""
    return max(1, min(2, os.cpu_count() or 1))


def _generate(
    indices: Sequence[int],
    classes: Sequence[str],
    size: int,
    seed: int,
    style: str,
    params: dict[str, Any],
    workers: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render items in fixed chunks, over a process pool when it pays off."""
    chunks = [list(indices[i : i + _CHUNK]) for i in range(0, len(indices), _CHUNK)]
    workers = min(_default_workers() if workers is None else max(1, workers), len(chunks))
    args = (classes, size, seed, style, params)
    if workers <= 1 or len(indices) < _POOL_MIN:
        results = [_render_chunk(c, *args) for c in chunks]
    else:
        with process_pool(workers, preload=__name__) as pool:
            results = list(pool.map(_render_chunk, chunks, *[[a] * len(chunks) for a in args]))
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def _check_classes(classes: Sequence[str] | None) -> list[str]:
    """The chosen class names (default: all), validated."""
    chosen = list(CLASSES if classes is None else classes)
    unknown = [c for c in chosen if c not in CLASSES]
    if unknown or not chosen:
        raise KeyError(f"unknown or no classes {unknown}; known classes: {list(CLASSES)}")
    return chosen


def embedded_pairs(
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
    style: str = "xdog",
    classes: Sequence[str] | None = None,
    workers: int | None = None,
    **params: Any,
) -> EmbeddedPairs:
    """``n`` procedural photo/sketch pairs, classes in round-robin order (balanced).

    Parameters
    ----------
    n:
        Number of pairs.
    size:
        Side of the square images in pixels.
    seed:
        Item ``i`` depends only on ``(seed, i)``: the same seed gives identical arrays.
    style:
        Sketch style of :func:`~sketchwidgets.data.sketchify.sketchify`; ``params`` go to it.
    classes:
        Subset (and order) of :data:`CLASSES`; labels index into it.
    workers:
        Processes to render with (default ``min(2, CPU count)``; used from 1,024 pairs on,
        below that starting the pool costs more than it saves); the result does not depend
        on it.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    chosen = _check_classes(classes)
    if n == 0:
        empty = np.zeros((0, size, size), np.uint8)
        return EmbeddedPairs(
            np.zeros((0, size, size, 3), np.uint8), empty, np.zeros(0, np.int64), chosen
        )
    photos, sketches = _generate(range(n), chosen, size, seed, style, params, workers)
    labels = np.arange(n, dtype=np.int64) % len(chosen)
    return EmbeddedPairs(photos, sketches, labels, chosen)


class EmbeddedDataset(Dataset):
    """The embedded pairs as a torch Dataset returning the package's item dict.

    Items are ``{"sketch": (1, H, W), "photo": (3, H, W)`` in [-1, 1], ``"label"``, ``"path":
    "embedded://<class>/<index>"}``.  ``split="val"`` holds the last ``round(n *
    val_fraction)`` of the ``n`` pairs, ``"train"`` the others, ``"all"`` every pair.
    ``transform(sketch, photo, rng) -> (sketch, photo)`` (uint8 arrays) runs per item, with
    ``rng`` seeded from torch's global generator.
    """

    def __init__(
        self,
        n: int = 512,
        *,
        size: int = 64,
        seed: int = 0,
        style: str = "xdog",
        split: str = "train",
        val_fraction: float = 0.1,
        classes: Sequence[str] | None = None,
        transform: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
        workers: int | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n_val = round(n * val_fraction)
        bounds = {"train": (0, n - n_val), "val": (n - n_val, n), "all": (0, n)}[split]
        self.indices = list(range(*bounds))
        self.class_names = _check_classes(classes)
        self.size, self.seed, self.style, self.transform = size, seed, style, transform
        if self.indices:
            self.photos, self.sketches = _generate(
                self.indices, self.class_names, size, seed, style, {}, workers
            )
        else:
            self.photos = np.zeros((0, size, size, 3), np.uint8)
            self.sketches = np.zeros((0, size, size), np.uint8)
        self.labels = [i % len(self.class_names) for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def path(self, item: int) -> str:
        """The item's pseudo path, ``embedded://<class>/<index>``."""
        return f"embedded://{self.class_names[self.labels[item]]}/{self.indices[item]:04d}"

    def __getitem__(self, item: int) -> dict[str, Any]:
        if not -len(self) <= item < len(self):
            raise IndexError(f"index {item} out of range for {len(self)} items")
        item %= len(self)
        sketch, photo = self.sketches[item], self.photos[item]
        if self.transform is not None:
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
            sketch, photo = self.transform(sketch, photo, rng)
        return {
            "sketch": image_to_tensor(np.ascontiguousarray(sketch)),
            "photo": image_to_tensor(np.ascontiguousarray(photo)),
            "label": self.labels[item],
            "path": self.path(item),
        }


def write_embedded_photos(
    folder: str | os.PathLike,
    n: int,
    *,
    size: int = 128,
    seed: int = 0,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``n`` embedded photos as PNGs in class subfolders (``<class>/<index>.png``)."""
    root = Path(folder)
    written = []
    for i in range(n):
        name = CLASSES[i % len(CLASSES)]
        photo = render_photo(name, _item_rng(seed, i), size)
        written.append(write_image(root / name / f"{i:04d}.png", photo, overwrite=overwrite))
    return written


# --------------------------------------------------------------------------- example sketch


def _walk_open_curves(contour: np.ndarray) -> list[np.ndarray]:
    """Split a contour traced around a 1-pixel-thin curve into single-pass open pieces."""
    seen: set[tuple[int, int]] = set()
    pieces, current = [], []
    for x, y in contour.reshape(-1, 2):
        key = (int(x), int(y))
        if key in seen:
            if len(current) > 1:
                pieces.append(np.array(current, np.float32))
            current = []
            continue
        seen.add(key)
        current.append(key)
    if len(current) > 1:
        pieces.append(np.array(current, np.float32))
    return pieces


def example_sketch(class_name: str, *, size: int = 256, seed: int = 0) -> Sketch:
    """A hand-drawn-looking :class:`Sketch` of one object, traced from a rendered photo.

    The photo (drawn without shadows) has its background removed; its Canny edges in any
    colour channel are traced with ``cv2.findContours``, split into single-pass curves,
    simplified with ``cv2.approxPolyDP`` and jittered a little, so notebooks and tests get a
    realistic canvas drawing without a browser.
    """
    rng = np.random.default_rng([seed, CLASSES.index(class_name) if class_name in CLASSES else 0])
    photo = _to_uint8(_render(class_name, rng, size, shadows=False).image, size)
    photo = remove_background(photo, tolerance=30)
    channels = [canny(photo[..., c], blur=size / 128, low=40, high=100) for c in range(3)]
    edges = np.min(channels, axis=0) < 128  # edges of any colour channel (hue changes too)
    contours, _ = cv2.findContours(edges.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    width, min_len = max(1.5, size / 110), size / 25
    strokes = []
    for contour in contours:
        for piece in _walk_open_curves(contour):
            if len(piece) < min_len:
                continue
            simple = cv2.approxPolyDP(piece[:, None, :], size / 200, False)[:, 0, :]
            simple = simple + 0.5 + rng.normal(0.0, size / 400, simple.shape)
            strokes.append(Stroke([tuple(p) for p in simple.tolist()], width=width))
    return Sketch(size, size, strokes)
