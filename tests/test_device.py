"""full_precision: autocast off inside, back on outside."""

from __future__ import annotations

import torch

from sketchwidgets.device import full_precision


def test_full_precision_turns_bf16_autocast_off_inside_only() -> None:
    a = torch.randn(8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert (a @ a).dtype == torch.bfloat16
        with full_precision():
            inside = a @ a
            assert not torch.is_autocast_enabled("cpu")
        after = a @ a
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, a.double().matmul(a.double()).float())
    assert after.dtype == torch.bfloat16


def test_full_precision_without_autocast_is_a_no_op() -> None:
    a = torch.randn(4, 4)
    with full_precision():
        assert (a @ a).dtype == torch.float32
    assert not torch.is_autocast_enabled("cpu")
