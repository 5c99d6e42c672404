"""The completion refiner beside the Contextual GAN's and EdgeGAN's generators: both ways of
doubling its features give a photo of the input's size, and each lets the sketch's strokes
reach the photo; an unknown way is refused by name."""

from __future__ import annotations

import pytest
import torch

from sketchwidgets.models.completion_refiner import UPSAMPLES, CompletionRefiner


@pytest.mark.parametrize("upsample", UPSAMPLES)
def test_the_refined_photo_follows_the_sketch(upsample):
    torch.manual_seed(0)
    refiner = CompletionRefiner(4, upsample)
    photo = torch.rand(1, 3, 32, 32) * 2 - 1
    blank = torch.ones(1, 1, 32, 32)
    stroked = blank.clone()
    stroked[..., 14:18, 4:28] = -1.0  # one dark line across
    with torch.no_grad():
        plain, lined = refiner(photo, blank), refiner(photo, stroked)
    assert plain.shape == (1, 3, 32, 32)
    assert plain.abs().max() <= 1.0
    changed = (lined - plain).abs().mean(1)[0]
    assert changed[10:22].mean() > 3 * changed[:6].mean()  # most change near the line


def test_a_three_channel_sketch_is_read_as_its_grey():
    torch.manual_seed(0)
    refiner = CompletionRefiner(4, "resize")
    photo, sketch = torch.zeros(1, 3, 16, 16), torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(refiner(photo, sketch), refiner(photo, sketch.expand(-1, 3, -1, -1)))


def test_an_unknown_upsample_is_refused_by_name():
    with pytest.raises(ValueError, match="'bilinear'"):
        CompletionRefiner(4, "bilinear")


@pytest.mark.parametrize(("depth", "sees_the_corner"), [(3, False), (5, True)])
def test_depth_sets_how_far_a_stroke_reaches(depth, sees_the_corner):
    """Three levels see about 22 px of the input, five all of a 64 px picture: a stroke in one
    corner changes the opposite corner only with five."""
    torch.manual_seed(0)
    refiner = CompletionRefiner(4, "resize", depth)
    photo = torch.rand(1, 3, 64, 64) * 2 - 1
    blank = torch.ones(1, 1, 64, 64)
    stroked = blank.clone()
    stroked[..., 2:10, 2:10] = -1.0
    with torch.no_grad():
        far = (refiner(photo, stroked) - refiner(photo, blank))[..., 52:, 52:].abs().max()
    assert (far > 1e-6) == sees_the_corner, float(far)


def test_a_depth_below_two_is_refused_by_value():
    with pytest.raises(ValueError, match="depth must be >= 2, got 1"):
        CompletionRefiner(4, "resize", 1)
