import numpy as np
import pytest
import torch
from PIL import Image

from sketchwidgets.sketch_input import is_white_on_black, prepare_sketch, restore_size


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
    assert prepare_sketch(tensor, 16).tensor.shape == (2, 1, 16, 16)


def test_restore_size_gives_uint8_rgb_at_original_size():
    prepared = prepare_sketch(_line_sketch(), 32)
    out = restore_size(torch.zeros(1, 3, 32, 32), prepared, keep_size=True)
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    assert restore_size(torch.zeros(1, 3, 32, 32), prepared).shape == (32, 32, 3)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="float64"):
        prepare_sketch(np.zeros((8, 8)), 16)
    with pytest.raises(ValueError, match="empty"):
        prepare_sketch([], 16)
