"""Procedural painters of the embedded dataset's 8 object classes.

Each photo is rendered (2x supersampled; :mod:`sketchwidgets.data.builtin` area-averages it
down) from signed-distance shapes with Lambert shading, a Blinn-Phong highlight, smooth
texture noise, a soft ground shadow and a plain or gradient background; size, pose (rotation,
offset, mirror) and colours vary within each class. A painter draws one class into a
:class:`_Scene` using only its random generator, so an image is a pure function of the
generator's seed. :data:`PAINTERS` maps each class name to its painter and maximum rotation;
:func:`paint_scene` renders one object.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

SUPERSAMPLE = 2  # render at 2x the output size; the caller area-downsamples


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


PAINTERS: dict[str, tuple[Callable[[_Scene], None], float]] = {  # painter, max rotation (deg)
    "apple": (_apple, 20.0),
    "ball": (_ball, 180.0),
    "mug": (_mug, 10.0),
    "house": (_house, 6.0),
    "tree": (_tree, 6.0),
    "car": (_car, 8.0),
    "fish": (_fish, 25.0),
    "bottle": (_bottle, 12.0),
}


def paint_scene(
    class_name: str, rng: np.random.Generator, size: int, *, shadows: bool = True
) -> np.ndarray:
    """One object of ``class_name``: float RGB in [0, 1] at ``size * SUPERSAMPLE`` px.

    The caller area-downsamples it to ``size``; ``shadows=False`` leaves out contact shadows.
    """
    if class_name not in PAINTERS:
        raise KeyError(f"unknown class {class_name!r}; known classes: {list(PAINTERS)}")
    if size < 8:
        raise ValueError(f"photo size must be at least 8 pixels, got {size}")
    painter, spin = PAINTERS[class_name]
    scene = _new_scene(rng, size * SUPERSAMPLE, spin)
    scene.shadows = shadows
    painter(scene)
    return scene.image
