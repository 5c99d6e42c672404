import functools

import numpy as np
import pytest
import torch
from PIL import Image

from sketchwidgets.io import MIN_IMAGE_SIDE, ImageTooSmallError
from sketchwidgets.models import MODELS
from sketchwidgets.sketch_input import (
    EMPTY_SKETCH,
    is_white_on_black,
    prepare_sketch,
    restore_size,
)


def _line_sketch(h=40, w=60, ink=0, paper=255):
    image = np.full((h, w), paper, np.uint8)
    image[h // 2, 5:-5] = ink
    return image


def test_single_array_any_size_becomes_model_tensor():
    prepared = prepare_sketch(_line_sketch(), 32)
    assert prepared.tensor.shape == (1, 1, 32, 32) and not prepared.batched
    assert prepared.original_sizes == [(40, 60)]
    assert prepared.tensor.min() < 0 and prepared.tensor.max() == 1.0


def test_white_on_black_is_detected_and_flipped():
    dark = _line_sketch(ink=255, paper=0)
    assert is_white_on_black(dark) and not is_white_on_black(_line_sketch())
    a = prepare_sketch(dark, 32).tensor
    b = prepare_sketch(_line_sketch(), 32).tensor
    assert torch.allclose(a, b)
    assert not torch.allclose(prepare_sketch(dark, 32, invert=False).tensor, b)


def test_pil_rgb_batch_and_tensor_inputs():
    pil = Image.fromarray(_line_sketch()).convert("RGB")
    assert prepare_sketch(pil, 16).tensor.shape == (1, 1, 16, 16)
    batch = np.stack([_line_sketch()] * 3)
    prepared = prepare_sketch(batch, 16)
    assert prepared.batched and prepared.tensor.shape == (3, 1, 16, 16)
    tensor = torch.ones(2, 1, 16, 16)
    tensor[:, :, 8, 2:14] = -1.0  # a line of ink
    assert prepare_sketch(tensor, 16).tensor.shape == (2, 1, 16, 16)


def test_restore_size_gives_uint8_rgb_at_original_size():
    prepared = prepare_sketch(_line_sketch(), 32)
    out = restore_size(torch.zeros(1, 3, 32, 32), prepared, keep_size=True)
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    assert restore_size(torch.zeros(1, 3, 32, 32), prepared).shape == (32, 32, 3)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="int64"):
        prepare_sketch(np.zeros((32, 32), np.int64), 16)
    with pytest.raises(ValueError, match="empty"):
        prepare_sketch([], 16)


@pytest.mark.parametrize("side", [1, 3, MIN_IMAGE_SIDE - 1])
def test_too_small_sketch_names_its_size_and_the_minimum(side):
    tiny = np.full((side, side), 255, np.uint8)
    tiny[side // 2, :] = 0
    with pytest.raises(
        ImageTooSmallError, match=rf"sketch 0 is {side}x{side} px.*{MIN_IMAGE_SIDE} px"
    ):
        prepare_sketch(tiny, 32)
    with pytest.raises(ImageTooSmallError, match=f"sketch 1 is {side}x{side}"):
        prepare_sketch([_line_sketch(), tiny], 32)
    assert prepare_sketch(_line_sketch(MIN_IMAGE_SIDE, MIN_IMAGE_SIDE), 32).tensor.min() < 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_tensor_is_rejected(bad):
    tensor = torch.ones(2, 1, 32, 32)
    tensor[:, :, 16, 4:28] = -1.0
    tensor[1, 0, 3, 3] = bad
    with pytest.raises(ValueError, match="sketch 1 holds NaN or inf"):
        prepare_sketch(tensor, 32)
    with pytest.raises(ValueError, match="sketch 0 holds NaN or inf"):
        prepare_sketch(tensor[1], 32)
    with pytest.raises(ValueError, match="sketch 0 holds NaN or inf"):
        prepare_sketch(tensor[1, 0].numpy(), 32)  # a float array: NaN named before its dtype


@pytest.mark.parametrize("value", [255, 0, 128])
def test_uniform_sketch_is_empty(value):
    with pytest.raises(ValueError, match=f"{EMPTY_SKETCH}.*one grey level"):
        prepare_sketch(np.full((40, 40), value, np.uint8), 32)
    with pytest.raises(ValueError, match=EMPTY_SKETCH):
        prepare_sketch(torch.full((1, 40, 40), value / 127.5 - 1.0), 32)
    noisy = np.random.default_rng(0).integers(245, 256, (40, 40)).astype(np.uint8)
    with pytest.raises(ValueError, match=EMPTY_SKETCH):  # scanner noise on blank paper
        prepare_sketch(noisy, 32)


def test_16_bit_sketch_array_is_scaled_not_clipped():
    sketch16 = _line_sketch().astype(np.uint16) * 257
    np.testing.assert_array_equal(
        prepare_sketch(sketch16, 32).tensor, prepare_sketch(_line_sketch(), 32).tensor
    )


@functools.cache
def _weightless(name: str):
    """Model ``name`` at its paper config on the meta device (no memory, no weights)."""
    cls = MODELS[name]
    with torch.device("meta"):  # class names for the models that need a label
        return cls(cls.config_class(class_names=("cat", "dog")))


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("paper", [255, 0], ids=["all-white", "all-black"])
def test_every_registered_model_refuses_an_empty_sketch(name, paper):
    """One policy, checked in prepare_sketch before any network runs (so a weightless model
    on the meta device is enough, and models added later are covered)."""
    model = _weightless(name)
    label = 0 if model.needs_label else None
    with pytest.raises(ValueError, match=f"^{EMPTY_SKETCH}"):
        model.generate(np.full((48, 48), paper, np.uint8), label=label)
    with pytest.raises(ValueError, match=f"^{EMPTY_SKETCH}.*sketch 1 is blank"):
        model.generate([_line_sketch(), np.full((48, 48), paper, np.uint8)], label=label)
