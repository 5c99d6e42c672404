"""Helpers shared by the data tests."""

from __future__ import annotations

import numpy as np
import torch


def check_item(item: dict, size: tuple[int, int]) -> None:
    """The team item contract: shapes, dtype, range, label type, path."""
    assert item["sketch"].shape == (1, *size) and item["photo"].shape == (3, *size)
    for key in ("sketch", "photo"):
        assert item[key].dtype == torch.float32
        assert -1.0 <= float(item[key].min()) and float(item[key].max()) <= 1.0
    assert isinstance(item["label"], int) and isinstance(item["path"], str)


def blank(height: int, width: int, value: int = 255) -> np.ndarray:
    """A uint8 RGB image of one grey level."""
    return np.full((height, width, 3), value, np.uint8)
