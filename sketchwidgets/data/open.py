"""Open a dataset from a short description: ``embedded[:N]`` or a folder in any known format."""

from __future__ import annotations

import json
from pathlib import Path

from torch.utils.data import Dataset

from sketchwidgets.io import list_images, read_image


def _detect_format(root: Path) -> str:
    """'paired', 'side_by_side' or 'joint' for a folder (build.json wins when present)."""
    manifest = root / "build.json"
    if manifest.is_file():
        return json.loads(manifest.read_text())["format"]
    if (root / "sketch").is_dir() and (root / "photo").is_dir():
        return "paired"
    images = list_images(root)
    if not images:
        raise ValueError(
            f"no images found in {root}; expected sketch/ + photo/ folders or A|B files"
        )
    height, width = read_image(images[0]).shape[:2]
    if width != 2 * height:
        raise ValueError(
            f"{images[0]} is {width}x{height}; side-by-side A|B files must be twice as wide as tall"
        )
    return "joint" if height == 64 else "side_by_side"


def open_dataset(
    spec: str | Path, *, size: int | None = None, split: str = "all", direction: str = "AtoB"
) -> Dataset:
    """A dataset from ``"embedded"``, ``"embedded:2000"`` or a folder path (format detected)."""
    from sketchwidgets.data import datasets

    text = str(spec)
    if text == "embedded" or text.startswith("embedded:"):
        from sketchwidgets.data.builtin import EmbeddedDataset

        count = int(text.split(":", 1)[1]) if ":" in text else 512
        return EmbeddedDataset(count, size=size or 64, split=split)
    root = Path(text)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    kind = _detect_format(root)
    if kind == "paired":
        return datasets.PairedFolderDataset(root, size=size)
    if kind == "joint":
        return datasets.JointImageDataset(root, size=size or 64)
    return datasets.SideBySideDataset(root, direction=direction, size=size)
