"""Class-name lists that models and data readers share (plain data, no imports)."""

from __future__ import annotations

# README of sysu-imsl/EdgeGAN: the label order of its 14-class pretrained model (SketchyCOCO
# objects); flags.json num_classes 14.
SKETCHYCOCO_CLASSES: tuple[str, ...] = (
    "airplane",
    "cat",
    "giraffe",
    "zebra",
    "dog",
    "elephant",
    "fire hydrant",
    "horse",
    "bicycle",
    "car",
    "traffic light",
    "cow",
    "motorcycle",
    "sheep",
)
