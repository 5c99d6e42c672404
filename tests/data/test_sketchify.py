"""Photo -> sketch styles: formats, where ink lands, batches, registry errors, backgrounds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sketchwidgets.data import sketchify as sk


def disc_photo(size: int = 64, radius: float | None = None) -> np.ndarray:
    """A shaded red disc on a light-gray background (uint8 HxWx3)."""
    radius = radius or size * 0.3
    yy, xx = np.mgrid[0:size, 0:size]
    inside = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= radius**2
    photo = np.full((size, size, 3), 225, np.uint8)
    photo[inside] = (180, 30, 40)
    return photo


def far_from_circle(size: int, radius: float, band: float) -> np.ndarray:
    """Pixels more than ``band`` away from the circle boundary."""
    yy, xx = np.mgrid[0:size, 0:size]
    return np.abs(np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5) - radius) > band


def outline_coverage(sketch: np.ndarray, radius: float, band: float) -> float:
    """Share of 360 points on the circle with ink within ``band`` pixels."""
    distance = cv2.distanceTransform((sketch >= 128).astype(np.uint8), cv2.DIST_L2, 3)
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    centre = sketch.shape[0] / 2 - 0.5
    ys = np.rint(centre + radius * np.sin(angles)).astype(int)
    xs = np.rint(centre + radius * np.cos(angles)).astype(int)
    return float((distance[ys, xs] <= band).mean())


@pytest.mark.parametrize("style", sk.SKETCH_STYLES)
@pytest.mark.parametrize("size", [64, 256])
def test_style_draws_ink_on_the_edge_only(style, size):
    radius = size * 0.3
    sketch = sk.sketchify(disc_photo(size, radius), style)
    assert sketch.shape == (size, size) and sketch.dtype == np.uint8
    band = max(3.0, size / 32)
    assert outline_coverage(sketch, radius, band) > 0.95  # the whole outline is inked
    assert (sketch[far_from_circle(size, radius, 2 * band)] < 128).mean() < 0.005  # flat: paper
    assert sketch.max() == 255


@pytest.mark.parametrize("style", ["xdog", "canny"])
def test_line_styles_are_near_binary(style):
    sketch = sk.sketchify(disc_photo(128), style)
    assert np.isin(sketch, [0, 255]).mean() > 0.95


def test_dodge_threshold_gives_binary_output():
    sketch = sk.pencil_dodge(disc_photo(), threshold=0.9)
    assert set(np.unique(sketch)) <= {0, 255}
    assert (sketch == 0).any()


@pytest.mark.parametrize("style", sk.SKETCH_STYLES)
def test_batch_matches_single_images(style):
    photos = np.stack([disc_photo(64, r) for r in (12, 16, 20)])
    batch = sk.sketchify(photos, style)
    assert batch.shape == (3, 64, 64) and batch.dtype == np.uint8
    for photo, sketch in zip(photos, batch, strict=True):
        np.testing.assert_array_equal(sketch, sk.SKETCHIFIERS[style](photo))
    as_list = sk.sketchify(list(photos), style)
    np.testing.assert_array_equal(as_list, batch)


def test_batch_larger_than_one_conversion_chunk():
    photos = np.repeat(disc_photo(32)[None], 300, axis=0)
    photos[150:] = 255 - photos[150:]
    batch = sk.sketchify(photos, "xdog", upscale=2.0)
    assert batch.shape == (300, 32, 32)
    np.testing.assert_array_equal(batch[0], batch[149])
    np.testing.assert_array_equal(batch[299], sk.xdog(photos[299], upscale=2.0))


@pytest.mark.parametrize("style", sk.SKETCH_STYLES)
def test_gray_and_rgba_inputs(style):
    rgb = disc_photo()
    gray = (rgb.astype(np.float32) @ [0.299, 0.587, 0.114]).round().astype(np.uint8)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    from_rgb = sk.sketchify(rgb, style)
    assert sk.sketchify(gray, style).shape == (64, 64)
    assert np.mean(sk.sketchify(gray, style) != from_rgb) < 0.02
    np.testing.assert_array_equal(sk.sketchify(rgba, style), from_rgb)


def test_transparent_rgba_is_paper():
    rgba = np.dstack([disc_photo(), np.zeros((64, 64), np.uint8)])
    assert (sk.xdog(rgba) == 255).all()


def test_params_change_the_result():
    photo = disc_photo(128)
    thin = sk.xdog(photo, sigma=0.6)
    thick = sk.xdog(photo, sigma=2.5)
    assert (thick < 128).sum() > 1.5 * (thin < 128).sum()
    one = sk.canny(photo)
    three = sk.canny(photo, thickness=3)
    assert (three < 128).sum() > 2 * (one < 128).sum()


def test_contextual_gan_preset_is_accepted():
    sketch = sk.sketchify(disc_photo(), "xdog", **sk.XDOG_CONTEXTUAL_GAN)
    assert outline_coverage(sketch, 64 * 0.3, 3.0) > 0.95
    assert (sketch[far_from_circle(64, 64 * 0.3, 6.0)] < 128).mean() < 0.005


def test_unknown_style_lists_known_styles():
    with pytest.raises(KeyError, match="known styles.*xdog.*canny.*dodge"):
        sk.sketchify(disc_photo(), "charcoal")


def test_unknown_parameter_names_the_style():
    with pytest.raises(TypeError, match="'canny'.*sigma"):
        sk.sketchify(disc_photo(), "canny", sigma=2.0)


def test_bad_inputs_raise():
    with pytest.raises(TypeError, match="uint8"):
        sk.xdog(disc_photo().astype(np.float32))
    with pytest.raises(ValueError, match="one size"):
        sk.sketchify([disc_photo(32), disc_photo(64)])
    with pytest.raises(ValueError, match="at least one"):
        sk.sketchify([])


def test_remove_background_whitens_a_gradient_background():
    size = 64
    photo = disc_photo(size)
    ramp = np.linspace(120, 220, size, dtype=np.float32)[None, :, None]
    background = (np.ones((size, size, 3), np.float32) * ramp).astype(np.uint8)
    inside = (photo != 225).any(axis=2)
    photo[~inside] = background[~inside]
    clean = sk.remove_background(photo)
    assert clean.shape == photo.shape and clean.dtype == np.uint8
    assert (clean[~inside] == 255).mean() > 0.98
    np.testing.assert_array_equal(clean[inside], photo[inside])
    # a plain median estimate cannot follow the ramp
    plain = sk.remove_background(photo, gradient=False, tolerance=10)
    assert (plain[~inside] == 255).mean() < 0.5


def test_remove_background_keeps_enclosed_background_coloured_regions():
    photo = np.full((64, 64, 3), 200, np.uint8)
    photo[16:48, 16:48] = (20, 90, 160)
    photo[28:36, 28:36] = 200  # a hole of background colour, not connected to the border
    clean = sk.remove_background(photo)
    assert (clean[:8] == 255).all()
    assert (clean[30, 30] == 200).all()


def test_contextual_gan_preset_reproduces_the_shared_celeba_sketches(shared_data):
    from sketchwidgets.io import list_images, read_image

    files = list_images(shared_data("celeba_xdog_joint64") / "pairs_64x128")[:40]
    joint = np.stack([read_image(f) for f in files])
    ours = sk.sketchify(joint[:, :, 64:], "xdog", **sk.XDOG_CONTEXTUAL_GAN)
    theirs = joint[:, :, :64, 0]
    agreement = ((ours < 128) == (theirs < 128)).mean()
    assert agreement > 0.95
