"""One model's tile in a CompareView: every output side by side, its latency, its re-roll.

The tile shows what the model contract (:mod:`sketchwidgets.models.base`) says the model has:
one image per name in ``model.output_names`` ("image" first, then e.g. EdgeGAN's "edge"), and
a re-roll button only when ``model.has_noise`` (another seed can give another image). A model
whose generation is a search that reports its steps (``model.search_progress(on_step)``, as
Contextual GAN's latent search) also gets a progress bar; the caption reads "search 40/100"
while it runs and the latency once it is done.

Under the caption, the path its images take (``show_path``): "kernel" (generated in Python)
or "in the page" (the studio's :class:`~sketchwidgets.widgets.in_page.InPageGenerator`).

Beside the outputs, "what the model sees": the model's input, small, as
:meth:`~sketchwidgets.models.base.SketchModel.model_input` prepares it (the drawing redrawn
in the training sketches' style when the model knows their line statistics), and under them
a one-line gap hint when the raw drawing is far from those sketches
(:func:`~sketchwidgets.drawing.style_gap.gap_hint`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from ipywidgets import Button, HBox, Image, IntProgress, Label, Layout, VBox

from sketchwidgets.widgets._images import Throttle, to_png

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.models.base import SketchModel


def slug(name: str) -> str:
    """A CSS-class-safe version of a model name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "model"


def reports_progress(model: Any) -> bool:
    """True for a model whose generation is a search that reports its steps."""
    return callable(getattr(model, "search_progress", None))


def checked_models(models: Any) -> dict[str, SketchModel]:
    """``{name: SketchModel}`` as a dict; ``TypeError`` naming what is not a model."""
    from sketchwidgets.models.base import SketchModel

    if not isinstance(models, Mapping):
        raise TypeError(
            f"models must be a {{name: SketchModel}} dict, got {type(models).__name__}: e.g. "
            "{'pix2pix': sketchwidgets.load('pretrained:pix2pix/classroom')}"
        )
    for name, model in models.items():
        if not isinstance(model, SketchModel):
            raise TypeError(
                f"models[{name!r}] is a {type(model).__name__}, not a SketchModel: load one "
                "with sketchwidgets.load(path or 'pretrained:<model>/<dataset>')"
            )
    return dict(models)


def shared_class_names(models: Iterable[SketchModel]) -> list[str]:
    """Every class name of the models that need a label, in first-seen order (one picker)."""
    names: dict[str, None] = {}
    for model in models:
        if model.needs_label:
            names.update(dict.fromkeys(model.class_names))
    return list(names)


PATH_TEXT = {
    "kernel": "kernel",
    "page": "in the page",
    "search": "in the page, then the kernel's search",  # the Contextual GAN's start, then D's
}


class ModelTile(VBox):
    """A model's outputs in a row, the caption (name and latency) and, with noise, a re-roll.

    ``images[output]`` is the ``ipywidgets.Image`` of each output; ``image`` is the main one.
    ``rolls`` counts this tile's re-rolls: the model runs with the view's seed + ``rolls``.
    ``progress`` is the search's progress bar (None for a model without a search); the bar
    and caption move at most every ``throttle.interval`` s, and always on the last step.
    """

    def __init__(self, name: str, model: SketchModel, tile: int) -> None:
        self.name = name
        self.model = model
        self.output_names = tuple(model.output_names)
        self.rolls = 0
        self.images: dict[str, Image] = {}
        for output in self.output_names:
            view = Image(format="png", width=tile, height=tile)
            main = output == "image"
            view.add_class(
                "sketchwidgets-compare-image" if main else "sketchwidgets-compare-output"
            )
            view.add_class(f"sketchwidgets-model-{slug(name)}")
            view.add_class(f"sketchwidgets-output-{slug(output)}")
            self.images[output] = view
        self.image = self.images["image"]
        self.input_view = Image(format="png", width=tile // 2, height=tile // 2)
        self.input_view.add_class("sketchwidgets-model-input")
        self.input_view.add_class(f"sketchwidgets-model-{slug(name)}")
        self.caption = Label(name)
        self.path_label = Label(PATH_TEXT["kernel"])
        self.path_label.add_class("sketchwidgets-path")
        self.path_label.add_class(f"sketchwidgets-model-{slug(name)}")
        self.hint = Label("", layout=Layout(display="none", max_width=f"{tile * 2}px"))
        self.hint.add_class("sketchwidgets-gap-hint")
        children: list[Any] = [self._outputs_row(), self.caption, self.path_label, self.hint]
        self.progress: IntProgress | None = None
        self.throttle = Throttle(0.1)
        if reports_progress(model):
            self.progress = IntProgress(0, min=0, max=1, layout=Layout(width=f"{tile}px"))
            self.progress.add_class("sketchwidgets-search-progress")
            children.insert(1, self.progress)
        self.reroll_button: Button | None = None
        if model.has_noise:
            self.reroll_button = Button(
                description="re-roll",
                icon="dice",
                tooltip=f"new z / noise for {name} only",
                layout=Layout(width="auto"),
            )
            self.reroll_button.add_class("sketchwidgets-tile-reroll")
            children.append(self.reroll_button)
        super().__init__(children, layout=Layout(margin="0 6px 0 0"))

    def _outputs_row(self) -> Any:
        """What the model sees, then every output (over its name when there are several)."""
        seen = VBox([self.input_view, Label("sees")], layout=Layout(margin="0 4px 0 0"))
        if len(self.images) == 1:
            return HBox([seen, self.image])
        outputs = [VBox([view, Label(output)]) for output, view in self.images.items()]
        return HBox([seen, *outputs])

    def show_path(self, path: str) -> None:
        """Say which path this tile's images take: ``"kernel"``, ``"page"`` or ``"search"``."""
        self.path_label.value = PATH_TEXT[path]

    def show_input(self, model_input: np.ndarray | None, hint: str | None) -> None:
        """Show the model's input (None: blank) and the gap hint (None: hidden)."""
        self.input_view.value = b"" if model_input is None else to_png(model_input)
        self.hint.value = hint or ""
        self.hint.layout.display = None if hint else "none"

    def show(self, outputs: Mapping[str, np.ndarray], caption: str) -> None:
        """Display each output (uint8) and the caption."""
        for output, view in self.images.items():
            view.value = to_png(outputs[output])
        self.caption.value = caption

    def searching(self) -> contextlib.AbstractContextManager[None]:
        """Around a generation: the search's steps move the bar and the caption."""
        if self.progress is None:
            return contextlib.nullcontext()
        self.throttle.reset()
        return self.model.search_progress(self._on_step)  # type: ignore[operator]

    def _on_step(self, done: int, total: int) -> None:
        assert self.progress is not None
        if done < total and not self.throttle.ready():
            return
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.caption.value = f"{self.name}: search {done}/{total}"

    def show_placeholder(self, image: np.ndarray, caption: str) -> None:
        """The same placeholder in every output slot (and an empty progress bar)."""
        self.show(dict.fromkeys(self.images, image), caption)
        if self.progress is not None:
            self.progress.value = 0
