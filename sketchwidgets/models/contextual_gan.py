"""PLACEHOLDER: being written by a helper; replaced wholesale."""

from sketchwidgets.models.base import SketchModel


class ContextualGAN(SketchModel):
    name = "contextual_gan"
