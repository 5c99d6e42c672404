"""CompareView: N sketch-to-image generators side by side on the same sketch.

Each model's tile shows its image (and any extra outputs the model has, e.g. EdgeGAN's edge
map, next to it) over its latency (ms); the ground truth, when given, comes first. The view
can follow a :class:`~sketchwidgets.widgets.sketch_canvas.SketchCanvas`
(:meth:`CompareView.connect`: the row updates, debounced, whenever a stroke ends) or be driven
directly with :meth:`CompareView.update`.

What the controls offer follows the model contract (:mod:`sketchwidgets.models.base`):

* one shared **class picker** when any model needs a class (``model.needs_label``), listing
  the class names those models know (``model.class_names``); every such model generates for
  the chosen class, and a model that does not know it says so in its tile;
* a **re-roll** button per tile for a model with noise (``model.has_noise``: a latent code or
  another documented noise source), giving that model alone the next seed (so a new z), and
  one re-roll-all button (the view's ``seed`` + 1) while any shown model has noise;
* "what the model sees" in each tile: the model's input, small, beside its outputs -- with
  ``normalise`` on (the default; the checkbox), the sketch redrawn in that model's training
  style (:mod:`sketchwidgets.drawing.normaliser`); with it off, the sketch merely resized, as
  the model takes it raw. Under the tile, one line when the raw sketch is far from that
  model's training sketches (:func:`~sketchwidgets.drawing.style_gap.gap_hint`);
* a **progress bar** in the tile of a model whose generation is a search (Contextual GAN's
  latent search, through ``model.search_progress``): "search 40/100" while it runs, its
  latency when done. Such models run after the others, so a stroke shows the forward-pass
  models' images first.

Bad drawings are reported, never raised: an empty sketch generates nothing and says so in
the status line; a model that raises shows its traceback in the Output area while the other
models still render. What is no model or no sketch at all (a path, None, a float sketch
outside [-1, 1]) raises ``TypeError`` / ``ValueError`` in one line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ipywidgets import Button, Checkbox, Dropdown, HBox, Image, Label, Layout, Output, VBox
from traitlets import Bool, Int, List, Unicode, link, observe

from sketchwidgets.data.strokes import Sketch
from sketchwidgets.drawing.line_stats import line_stats
from sketchwidgets.drawing.style_gap import gap_hint
from sketchwidgets.io import write_image
from sketchwidgets.sketch_input import has_strokes, sketch_gray
from sketchwidgets.widgets._images import (
    StaticFallback,
    format_exception,
    labelled_strip,
    placeholder,
    to_png,
)
from sketchwidgets.widgets._model_tile import (
    ModelTile,
    checked_models,
    reports_progress,
    shared_class_names,
    slug,
)

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.models.base import SketchModel

__all__ = ["CompareView", "slug"]

EMPTY_MESSAGE = "empty sketch: draw something to generate"
UNKNOWN_CLASS = "does not know class"


class CompareView(StaticFallback, VBox):
    """Generators side by side on one sketch, with latency, class, re-roll and PNG export.

    Parameters
    ----------
    models
        ``{name: SketchModel}``; each runs through ``model.generate(..., outputs=True)``.
    canvas
        A SketchCanvas to follow (same as calling :meth:`connect`).
    ground_truth
        A uint8 image shown first, as "ground truth".
    seed
        Seed passed to every model (re-roll all adds one; a tile's re-roll adds one for it).
    class_name
        The class chosen at first in the class picker (default: the first one).
    tile
        Displayed image size in pixels.
    """

    seed = Int(0, help="Seed passed to every model's generate().").tag(sync=True)
    shown = List(Unicode(), help="Names of the models shown, in order.").tag(sync=True)
    generation = Int(0, read_only=True, help="Bumped after every update.").tag(sync=True)
    normalise = Bool(
        True, help="Redraw the sketch in each model's training style before it runs."
    ).tag(sync=True)

    def __init__(
        self,
        models: Mapping[str, SketchModel],
        *,
        canvas: Any = None,
        ground_truth: np.ndarray | None = None,
        seed: int = 0,
        class_name: str | None = None,
        tile: int = 160,
        **kwargs: Any,
    ) -> None:
        self.models = checked_models(models)
        if not self.models:
            raise ValueError("CompareView needs at least one model: {name: SketchModel}")
        self.tile = int(tile)
        self.tiles = {n: ModelTile(n, m, self.tile) for n, m in self.models.items()}
        self._outputs: dict[str, dict[str, np.ndarray]] = {}
        self._latency: dict[str, float] = {}
        self._notes: dict[str, str | None] = {}
        self._sketch: np.ndarray | None = None
        self.ground_truth = None if ground_truth is None else np.asarray(ground_truth)
        self.status = Label(EMPTY_MESSAGE)
        self.status.add_class("sketchwidgets-compare-status")
        self.output = Output(layout=Layout(max_height="12em", overflow="auto"))
        self.class_picker = self._build_class_picker(class_name)
        self.reroll_button = Button(
            description="re-roll all", icon="dice", tooltip="Next seed for every model with noise"
        )
        self.reroll_button.on_click(lambda _b: self.reroll())
        self.normalise_box = Checkbox(True, description="normalise", indent=False)
        self.normalise_box.add_class("sketchwidgets-normalise")
        self.row = HBox(layout=Layout(flex_flow="row wrap"))
        controls: list[Any] = [self.reroll_button, self.normalise_box, self.status]
        if self.class_picker is not None:
            controls.insert(0, self.class_picker)
        super().__init__([self.row, HBox(controls), self.output], seed=seed, **kwargs)
        self.add_class("sketchwidgets-compare-view")
        for name, tile_widget in self.tiles.items():
            if tile_widget.reroll_button is not None:
                tile_widget.reroll_button.on_click(lambda _b, name=name: self.reroll(name))
        self.shown = list(self.models)
        link((self, "normalise"), (self.normalise_box, "value"))
        if canvas is not None:
            self.connect(canvas)

    def _build_class_picker(self, class_name: str | None) -> Dropdown | None:
        """One dropdown of every class the label-needing models know (None if none needs one)."""
        names = shared_class_names(self.models.values())
        if not names:
            return None
        if class_name is not None and class_name not in names:
            raise ValueError(f"unknown class {class_name!r}; the models know: {names}")
        picker = Dropdown(options=names, value=class_name or names[0], description="class")
        picker.add_class("sketchwidgets-class-picker")
        picker.observe(lambda _c: self.refresh(self._labelled_names()), "value")
        return picker

    # ----- layout ---------------------------------------------------------------------------
    @observe("shown")
    def _shown_changed(self, change: dict[str, Any]) -> None:
        self._layout_row()

    def set_ground_truth(self, image: np.ndarray | None) -> None:
        """Show ``image`` (uint8) first in the row as the ground truth (None hides it)."""
        self.ground_truth = None if image is None else np.asarray(image)
        self._layout_row()

    def _layout_row(self) -> None:
        unknown = [n for n in self.shown if n not in self.models]
        if unknown:
            raise KeyError(f"unknown model(s) {unknown}; known: {list(self.models)}")
        children: list[Any] = []
        if self.ground_truth is not None:
            truth = Image(
                value=to_png(self.ground_truth), format="png", width=self.tile, height=self.tile
            )
            children.append(VBox([truth, Label("ground truth")]))
        children.extend(self.tiles[n] for n in self.shown)
        self.row.children = children
        noisy = any(self.models[n].has_noise for n in self.shown)
        self.reroll_button.layout.display = None if noisy else "none"
        self.refresh()

    # ----- inputs ---------------------------------------------------------------------------
    def connect(self, canvas: Any, *, wait: float = 0.0) -> None:
        """Follow ``canvas``: regenerate after each finished change (next loop tick; ``wait`` s
        later when given, so rapid edits coalesce); update now."""
        canvas.on_change(self.update, wait=wait)
        self.update(canvas)

    @property
    def class_names(self) -> list[str]:
        """The class picker's choices (empty when no model needs a class)."""
        return [] if self.class_picker is None else list(self.class_picker.options)

    @property
    def class_name(self) -> str | None:
        """The class chosen in the picker (None when no model needs a class)."""
        return None if self.class_picker is None else self.class_picker.value

    def select_class(self, label: str | int) -> None:
        """Choose the class by name or by its index in the picker (the dropdown's twin)."""
        if self.class_picker is None:
            raise ValueError("no model here needs a class: there is no class picker")
        names = self.class_names
        if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(names):
            label = names[label]
        if label not in names:
            raise ValueError(f"unknown class {label!r}; choose one of {names}")
        self.class_picker.value = label

    def reroll(self, name: str | None = None) -> None:
        """A new seed, and regenerate: every model with noise, or model ``name`` alone."""
        if name is None:
            self.seed += 1
            return
        if not self.models[name].has_noise:
            raise ValueError(f"model {name!r} has no noise: another seed gives the same image")
        self.tiles[name].rolls += 1
        self.refresh([name])

    def seed_for(self, name: str) -> int:
        """The seed model ``name`` runs with: the view's seed plus its tile's re-rolls."""
        return self.seed + self.tiles[name].rolls

    @observe("normalise")
    def _normalise_changed(self, change: dict[str, Any]) -> None:
        self.refresh()

    @observe("seed")
    def _seed_changed(self, change: dict[str, Any]) -> None:
        self.refresh([n for n in self.shown if self.models[n].has_noise])

    def update(self, sketch: Any) -> None:
        """Generate every shown model's image from ``sketch``.

        ``sketch``: a :class:`Sketch`, a SketchCanvas (anything with ``.sketch``) or a sketch
        as ``model.generate`` takes one (a uint8 array, black ink on white; a float array or
        tensor in [-1, 1]). Anything else (None, a file path, floats outside [-1, 1]) raises
        ``TypeError`` / ``ValueError`` with the reason (``sketch_input.sketch_gray``).
        """
        self._sketch = self._as_array(sketch)
        self.refresh()

    @staticmethod
    def _as_array(sketch: Any) -> np.ndarray | None:
        """A uint8 HxW sketch array, or None when there is no ink at all."""
        if hasattr(sketch, "sketch") and isinstance(sketch.sketch, Sketch):
            sketch = sketch.sketch
        if isinstance(sketch, Sketch):
            return None if sketch.is_empty else sketch.to_array(256)
        array = sketch_gray(sketch)  # generate()'s rules for types and float values
        return array if has_strokes(array) else None  # sketch_input's one empty-sketch rule

    # ----- generation -----------------------------------------------------------------------
    def _labelled_names(self) -> list[str]:
        return [n for n in self.shown if self.models[n].needs_label]

    def refresh(self, names: Iterable[str] | None = None) -> None:
        """Regenerate ``names`` (default: every shown model) from the last sketch."""
        names = list(self.shown if names is None else names)
        names.sort(key=lambda n: reports_progress(self.models[n]))  # searches last (stable)
        if self._sketch is None:
            self._show_empty()
        else:
            for name in names:
                self._notes[name] = self._generate(name)
            self._report()
        self.set_trait("generation", self.generation + 1)

    def _report(self) -> None:
        """The status line: how many shown models have an image, and why the others not."""
        done = sum(n in self._outputs for n in self.shown)
        problems = "; ".join(note for n in self.shown if (note := self._notes.get(n)))
        self.status.value = f"{done} of {len(self.shown)} generated, seed {self.seed}" + (
            f" ({problems})" if problems else ""
        )

    def _show_empty(self) -> None:
        self._outputs.clear()
        self._latency.clear()
        self._notes.clear()
        for name in self.shown:
            self.tiles[name].show_placeholder(placeholder("no sketch", self.tile), "")
            self.tiles[name].show_input(None, None)
        self.status.value = EMPTY_MESSAGE

    def _generate(self, name: str) -> str | None:
        """Run one model; returns None on success or a short note on why not."""
        model = self.models[name]
        self._outputs.pop(name, None)
        self._latency.pop(name, None)
        label = self.class_name if model.needs_label else None
        if label is not None and label not in model.class_names:
            note = f"{name} {UNKNOWN_CLASS} {label!r}"
            self._show_problem(name, f"{UNKNOWN_CLASS} {label!r}", note)
            return note
        start = time.perf_counter()
        try:
            seen = self._show_input(name)
            with self.tiles[name].searching():
                outputs = model.generate(
                    seen, seed=self.seed_for(name), label=label, outputs=True, invert=False,
                    normalise=False,
                )  # fmt: skip
        except Exception as error:  # one failing model must not hide the others
            self.output.append_stderr(f"model {name!r} failed:\n{format_exception(error)}")
            self._show_problem(name, "error (see below)", f"{name}: error")
            return f"{name} failed"
        latency = (time.perf_counter() - start) * 1000.0
        self._outputs[name], self._latency[name] = outputs, latency
        self.tiles[name].show(outputs, f"{name}: {latency:.0f} ms")
        return None

    def _show_input(self, name: str) -> np.ndarray:
        """Show what model ``name`` sees of the sketch and its gap hint; return that input."""
        model = self.models[name]
        assert self._sketch is not None
        seen = model.model_input(self._sketch, normalise=self.normalise)
        self.tiles[name].show_input(seen, self.gap_hint(name))
        return seen

    def gap_hint(self, name: str) -> str | None:
        """How the sketch differs from model ``name``'s training sketches (one line), or None."""
        trained = self.models[name].line_stats
        if self._sketch is None or trained is None:
            return None
        return gap_hint(line_stats(self._sketch, trained.size), trained)

    def _show_problem(self, name: str, text: str, caption: str) -> None:
        self.tiles[name].show_placeholder(placeholder(text, self.tile), caption)

    # ----- results --------------------------------------------------------------------------
    @property
    def images(self) -> dict[str, np.ndarray]:
        """The last generated images by model name (uint8 HxWx3); failed models are absent."""
        return {name: outputs["image"] for name, outputs in self._outputs.items()}

    @property
    def outputs(self) -> dict[str, dict[str, np.ndarray]]:
        """Every output of the last generation: ``{model: {"image": ..., "edge": ...}}``."""
        return {name: dict(outputs) for name, outputs in self._outputs.items()}

    @property
    def last_latency_ms(self) -> dict[str, float]:
        """Milliseconds each model took in its last generation."""
        return dict(self._latency)

    def row_image(self, *, tile: int | None = None) -> np.ndarray:
        """The row as one RGB image: sketch, ground truth, then each model's outputs, captioned."""
        size = tile or self.tile
        images: list[np.ndarray] = []
        labels: list[str] = []
        if self._sketch is not None:
            images.append(self._sketch)
            labels.append("sketch")
        if self.ground_truth is not None:
            images.append(self.ground_truth)
            labels.append("ground truth")
        for name in self.shown:
            made = self._outputs.get(name, {})
            for output in self.tiles[name].output_names:
                images.append(made[output] if output in made else placeholder("no image", size))
                labels.append(self._tile_label(name, output))
        return labelled_strip(images, labels, tile=size)

    def _tile_label(self, name: str, output: str) -> str:
        if output != "image":
            return f"{name}: {output}"
        if name in self._latency:
            return f"{name} ({self._latency[name]:.0f} ms)"
        return name

    def export_png(
        self, path: str | os.PathLike, *, tile: int | None = None, overwrite: bool = False
    ) -> Path:
        """Write :meth:`row_image` as a PNG; refuses to replace a file unless asked."""
        return write_image(path, self.row_image(tile=tile), overwrite=overwrite)

    # ----- static fallback ------------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """The row as exported, at 96 px tiles."""
        return self.row_image(tile=96)

    def summary(self) -> str:
        """E.g. ``CompareView: 2 models (a, b), seed 0, 2 images`` (plus the class, if any)."""
        names = ", ".join(self.shown)
        chosen = "" if self.class_picker is None else f", class {self.class_name!r}"
        return (
            f"CompareView: {len(self.shown)} models ({names}), seed {self.seed}{chosen}, "
            f"{len(self._outputs)} images"
        )
