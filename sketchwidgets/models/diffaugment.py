"""Differentiable augmentation of joint sketch|photo images (DiffAugment).

Zhao, Liu, Lin, Zhu, Han, "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020, https://arxiv.org/abs/2006.10738. D sees every image, real or fake, through the
same random differentiable transform ``T``; G's gradient flows through ``T``. The policy names
and ranges are the paper's (Sec. 3, "color,translation,cutout"):

* ``color``: brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5);
* ``translation``: integer shift of up to 1/8 of the side, zero (mid-grey) padding;
* ``cutout``: one zeroed square of half the side at a random place.

For a joint image the two halves must stay aligned, so translation and cutout move or cut
*both halves alike* (the halves are stacked as six channels first); colour is applied to the
whole joint image, so the grey sketch half stays grey (its saturation is nil).
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # DiffAugment: shift up to 1/8 of the image side
CUTOUT_RATIO = 0.5  # DiffAugment: cut a square of half the side


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ``("color", "translation")``; unknown names raise ValueError."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"augment={policy!r}: unknown {unknown}; expected names from {POLICIES}")
    return names


def _uniform(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness, saturation and contrast per image ``(N, 3, H, W)``."""
    x = x + _uniform(x, -0.5, 0.5)
    gray = x.mean(dim=1, keepdim=True)
    x = (x - gray) * _uniform(x, 0.0, 2.0) + gray
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, 0.5, 1.5) + mean


def translation(x: torch.Tensor, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by whole pixels (up to ``ratio`` of its side), zeros shifted in."""
    n, _, height, width = x.shape
    shift = [int(side * ratio + 0.5) for side in (height, width)]
    offsets = [
        torch.randint(-s, s + 1, (n, 1, 1), device=x.device) for s in shift
    ]  # (N, 1, 1) each
    rows = torch.arange(height, device=x.device)[None, :, None] + offsets[0]  # (N, H, 1)
    cols = torch.arange(width, device=x.device)[None, None, :] + offsets[1]  # (N, 1, W)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)  # (N, H, W)
    flat = (rows.clamp(0, height - 1) * width + cols.clamp(0, width - 1)).flatten(1)
    moved = x.flatten(2).gather(2, flat[:, None].expand(-1, x.shape[1], -1))
    return moved.view_as(x) * inside[:, None].to(x.dtype)


def cutout(x: torch.Tensor, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero one square of ``ratio`` x the side per image, centred anywhere in the image."""
    n, _, height, width = x.shape
    size = [int(side * ratio + 0.5) for side in (height, width)]
    centre_y = torch.randint(0, height + (1 - size[0] % 2), (n, 1, 1), device=x.device)
    centre_x = torch.randint(0, width + (1 - size[1] % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device)[None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, :]
    cut = ((rows - centre_y).abs() <= size[0] // 2) & ((cols - centre_x).abs() <= size[1] // 2)
    return x * (~cut)[:, None].to(x.dtype)


def augment_joint(joint: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """DiffAugment of joint images ``(N, 3, S, 2S)``, the halves moved and cut alike."""
    if not policy:
        return joint
    if "color" in policy:
        joint = color(joint)
    size = joint.shape[-2]
    halves = torch.cat([joint[..., :size], joint[..., size:]], dim=1)  # (N, 6, S, S)
    if "translation" in policy:
        halves = translation(halves)
    if "cutout" in policy:
        halves = cutout(halves)
    return torch.cat([halves[:, :3], halves[:, 3:]], dim=3).contiguous()
