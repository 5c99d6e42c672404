"""PLACEHOLDER: being written by a helper; replaced wholesale."""

from sketchwidgets.models.base import SketchModel


class Pix2Pix(SketchModel):
    name = "pix2pix"
