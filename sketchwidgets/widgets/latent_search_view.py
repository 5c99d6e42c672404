"""LatentSearchView: watch a Contextual GAN's latent search complete a sketch.

Lu et al. (ECCV 2018) complete a sketch by searching G's latent space
(:func:`~sketchwidgets.models.latent_search.latent_search`). The view shows the three things
a student needs to see the search converge:

* the ``n_init`` initial candidates ``G(z_k)`` (joint sketch|photo images) with their score
  (KL, or the contextual loss, as the search's ``init_score``), the one kept by the refined
  initialisation framed in red;
* the contextual and perceptual losses over the iterations (matplotlib Agg -> PNG, as
  :class:`~sketchwidgets.widgets.loss_panel.LossPanel` draws);
* a strip of ``G(z)`` every ``snapshot_every`` iterations.

:meth:`LatentSearchView.run` searches live: the search's progress callback feeds the view and
redraws are throttled by time (``redraw_every_s``); the end always redraws.
:meth:`LatentSearchView.replay` shows a finished :class:`SearchResult` (searched with
``keep_candidates=True`` and ``snapshot_every``). For a batch, ``index`` picks the sketch shown.
Bad input (a blank sketch, a diverging search) is reported in the status line and the Output
area, never raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from ipywidgets import HTML, Image, Label, Layout, Output, VBox
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from traitlets import Int, observe

from sketchwidgets.data.strokes import Sketch
from sketchwidgets.io import tensor_to_image
from sketchwidgets.widgets._images import (
    StaticFallback,
    Throttle,
    format_exception,
    labelled_grid,
    labelled_strip,
    placeholder,
    resize,
    to_png,
)

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.models.contextual_gan import ContextualGAN
    from sketchwidgets.models.latent_search import SearchProgress, SearchResult

CHOSEN_COLOR = (220, 30, 30)
BORDER = 3  # pixels of the chosen candidate's frame (on the tile, after resizing)
TILE = (48, 96)  # (h, w) of one joint-image tile


SCORE_LABELS = {"kl": "KL", "contextual": "ctx"}  # init_score -> the tile label


def mark(image: np.ndarray, color: tuple[int, int, int] = CHOSEN_COLOR) -> np.ndarray:
    """A copy of an RGB tile with a ``BORDER``-pixel frame in ``color``."""
    framed = np.array(image, dtype=np.uint8, copy=True)
    framed[:BORDER], framed[-BORDER:] = color, color
    framed[:, :BORDER], framed[:, -BORDER:] = color, color
    return framed


def _joint_tiles(images: torch.Tensor) -> list[np.ndarray]:
    """``(K, 3, S, 2S)`` in [-1, 1] -> K uint8 tiles resized to :data:`TILE`."""
    return [resize(tile, TILE) for tile in tensor_to_image(images)]


class LatentSearchView(StaticFallback, VBox):
    """Initial candidates, losses and ``G(z)`` snapshots of a Contextual GAN latent search.

    Parameters
    ----------
    model
        A trained :class:`~sketchwidgets.models.contextual_gan.ContextualGAN` (for :meth:`run`).
    snapshot_every
        Keep ``G(z)`` every this many iterations (and at the end).
    redraw_every_s
        Minimum seconds between live redraws while searching (0 redraws on every report).
    seed
        Seed of the initial candidates (same seed -> same search).
    search_options
        Keywords for ``model.search`` (``iterations=200``, ``n_init=10``, ``lr=...``).
    """

    index = Int(0, help="Which sketch of the batch is shown.").tag(sync=True)
    iteration = Int(0, read_only=True, help="Iterations of the shown search so far.").tag(sync=True)

    def __init__(
        self,
        model: ContextualGAN | None = None,
        *,
        snapshot_every: int = 10,
        redraw_every_s: float = 0.5,
        seed: int = 0,
        max_snapshots: int = 8,
        **search_options: Any,
    ) -> None:
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be >= 1, got {snapshot_every}")
        self.model = model
        self.snapshot_every = int(snapshot_every)
        self.seed = int(seed)
        self.max_snapshots = int(max_snapshots)
        self.search_options = dict(search_options)
        self.throttle = Throttle(redraw_every_s)
        self.redraw_count = 0
        self.result: SearchResult | None = None
        self._figure: Any = None
        self._clear_state()
        self.candidates_image = Image(format="png")
        self.losses_image = Image(format="png")
        self.snapshots_image = Image(format="png")
        for widget, name in [
            (self.candidates_image, "candidates"),
            (self.losses_image, "losses"),
            (self.snapshots_image, "snapshots"),
        ]:
            widget.add_class(f"sketchwidgets-search-{name}")
        self.status = Label("no search yet")
        self.output = Output(layout=Layout(max_height="12em", overflow="auto"))
        children = [
            HTML("<b>initial candidates</b> (kept: red frame)"),
            self.candidates_image,
            HTML("<b>losses</b>"),
            self.losses_image,
            HTML(f"<b>G(z) every {self.snapshot_every} iterations</b>"),
            self.snapshots_image,
            self.status,
            self.output,
        ]
        super().__init__(children)
        self.add_class("sketchwidgets-latent-search-view")
        self.redraw()

    def _clear_state(self) -> None:
        """Forget the shown search."""
        self.init_scores: torch.Tensor | None = None  # (N, n_init)
        self.init_indices: torch.Tensor | None = None  # (N,)
        self.init_score = "kl"  # what init_scores hold: "kl" or "contextual"
        self.candidates: torch.Tensor | None = None  # (N, n_init, 3, S, 2S)
        self.contextual: list[torch.Tensor] = []  # one (N,) row per iteration
        self.perceptual: list[torch.Tensor] = []
        self.snapshots: list[tuple[int, torch.Tensor]] = []  # (iteration, (N, 3, S, 2S))
        self.iterations = 0

    # ----- running and replaying --------------------------------------------------------
    def run(self, sketch: Any, **options: Any) -> SearchResult | None:
        """Search for ``sketch`` live; returns the result, or None when it failed (see status).

        ``sketch``: a uint8 sketch array (or a batch), a float tensor ``(N, 1, S, S)`` in
        [-1, 1], a :class:`Sketch` or a SketchCanvas. ``options`` override ``search_options``.
        """
        if self.model is None:
            raise ValueError("LatentSearchView.run needs a model: LatentSearchView(model)")
        self._clear_state()
        self.result = None
        self.set_trait("iteration", 0)
        self.output.clear_output()
        self.status.value = "searching ..."
        self.throttle.reset()
        settings = {**self.search_options, **options}
        try:
            known = self._as_tensor(sketch)
            result = self.model.search(
                known,
                callback=self._on_progress,
                snapshot_every=self.snapshot_every,
                keep_candidates=True,
                rng=torch.Generator().manual_seed(self.seed),
                **settings,
            )
        except Exception as error:  # a blank sketch or a diverged search is reported
            self.output.append_stderr(format_exception(error))
            self.status.value = f"search failed: {error}"
            self.redraw()
            return None
        self.replay(result)
        return result

    def _as_tensor(self, sketch: Any) -> torch.Tensor:
        """Any accepted sketch input -> ``(N, 1, S, S)`` at the model's size, as generate()
        prepares it (redrawn in the training style when the model knows it)."""
        if isinstance(sketch, torch.Tensor) and sketch.is_floating_point():
            return sketch if sketch.ndim == 4 else sketch.unsqueeze(0)
        if hasattr(sketch, "sketch") and isinstance(sketch.sketch, Sketch):
            sketch = sketch.sketch
        if isinstance(sketch, Sketch):  # drawn at canvas detail: the normaliser thins it
            sketch = sketch.to_array(max(self.model.image_size, 256))  # type: ignore[union-attr]
        return self.model.prepare(sketch).tensor  # type: ignore[union-attr]

    def replay(self, result: SearchResult) -> None:
        """Show a finished search (candidates need ``keep_candidates=True``)."""
        self._clear_state()
        self.result = result
        self.init_scores, self.init_indices = result.init_scores, result.init_indices
        self.init_score = result.init_score
        self.candidates = result.candidates
        self.contextual = list(result.contextual)
        self.perceptual = list(result.perceptual)
        self.snapshots = list(result.snapshots)
        self.iterations = result.iterations
        self.set_trait("iteration", result.iterations)
        self.index = min(self.index, len(result.init_indices) - 1)
        self.status.value = self._status_text(done=True)
        self.redraw()

    def _on_progress(self, progress: SearchProgress) -> None:
        """The search's callback: record the report; redraw when the throttle allows."""
        if progress.stage == "init":
            self.init_scores, self.init_indices = progress.init_scores, progress.init_indices
            self.init_score = progress.init_score
            self.candidates = progress.candidates
            self.iterations = progress.iterations
            self.redraw()
            return
        self.contextual.append(progress.contextual.cpu())
        self.perceptual.append(progress.perceptual.cpu())
        if progress.images is not None:
            self.snapshots.append((progress.iteration, progress.images.cpu()))
        self.set_trait("iteration", progress.iteration)
        if self.throttle.ready():
            self.status.value = self._status_text(done=False)
            self.redraw(candidates=False)  # the candidates do not change after the init

    # ----- drawing ----------------------------------------------------------------------
    @observe("index")
    def _index_changed(self, change: dict[str, Any]) -> None:
        if self.init_indices is not None:
            self.redraw()

    def redraw(self, *, candidates: bool = True) -> None:
        """Draw the panels now (errors go to the Output area); the candidates only if asked."""
        try:
            if candidates:
                self.candidates_image.value = to_png(self.candidates_panel())
            self.losses_image.value = to_png(self.losses_panel())
            self.snapshots_image.value = to_png(self.snapshots_panel())
        except Exception as error:  # drawing must never kill a search
            self.output.append_stderr(format_exception(error))
        self.redraw_count += 1

    def candidates_panel(self) -> np.ndarray:
        """The initial candidates of the shown sketch, their score under each (KL or the
        contextual loss, as the search ranked them), the kept one framed."""
        if self.candidates is None or self.init_indices is None:
            return placeholder("no candidates yet", (TILE[0] + 16, 4 * TILE[1]))
        chosen = int(self.init_indices[self.index])
        tiles = _joint_tiles(self.candidates[self.index])
        tiles[chosen] = mark(tiles[chosen])
        return labelled_grid(tiles, self.candidate_labels(), ncols=10, tile=TILE)

    def candidate_labels(self) -> list[str]:
        """One label per candidate of the shown sketch, e.g. ``"3: ctx 4.5e+03 *"``: its
        index, the score the initialisation ranked it by, and ``*`` on the kept one."""
        if self.init_indices is None:
            return []
        i = self.index
        scores = self.init_scores[i] if self.init_scores is not None else None
        count = len(scores) if scores is not None else len(self.candidates[i])
        name = SCORE_LABELS.get(self.init_score, self.init_score)
        labels = [f"{k}: {name} {float(scores[k]):.3g}" if scores is not None else str(k)
                  for k in range(count)]  # fmt: skip
        labels[int(self.init_indices[i])] += " *"
        return labels

    def losses_panel(self) -> np.ndarray:
        """Contextual and perceptual loss of the shown sketch over the iterations."""
        if not self.contextual:
            return placeholder("no losses yet", (176, 480))
        figure = self._new_figure()
        names = ("contextual", "perceptual")
        for axis, name, rows in zip(
            figure.axes, names, (self.contextual, self.perceptual), strict=True
        ):
            values = torch.stack(rows)[:, self.index].numpy()
            axis.plot(np.arange(len(values)), values, linewidth=1.2)
            axis.set_title(name, fontsize=9)
            axis.set_xlabel("iteration", fontsize=8)
            axis.set_xlim(0, max(self.iterations, len(values) - 1, 1))
            axis.tick_params(labelsize=7)
        figure.canvas.draw()
        return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()

    def _new_figure(self) -> Any:
        if self._figure is None:
            self._figure = Figure(figsize=(6.0, 2.2), dpi=80)
            FigureCanvasAgg(self._figure)
        self._figure.clear()
        self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.88, wspace=0.3)
        return self._figure

    def shown_snapshots(self) -> list[tuple[int, torch.Tensor]]:
        """At most ``max_snapshots`` snapshots, evenly spread, the newest always included."""
        snaps = self.snapshots
        if len(snaps) <= self.max_snapshots:
            return list(snaps)
        picks = np.linspace(0, len(snaps) - 1, self.max_snapshots).round().astype(int)
        return [snaps[k] for k in sorted(set(picks.tolist()))]

    def snapshots_panel(self) -> np.ndarray:
        """``G(z)`` of the shown sketch at the snapshot iterations, left to right."""
        snaps = self.shown_snapshots()
        if not snaps:
            return placeholder("no snapshots yet", (TILE[0] + 16, 4 * TILE[1]))
        tiles = _joint_tiles(torch.stack([images[self.index] for _, images in snaps]))
        return labelled_strip(tiles, [f"iter {step}" for step, _ in snaps], tile=TILE)

    def _status_text(self, *, done: bool) -> str:
        if not self.contextual:
            return "no search yet"
        last = float(self.contextual[-1][self.index])
        first = float(self.contextual[0][self.index])
        state = "done" if done else "searching"
        return (
            f"{state}: iteration {self.iteration}/{self.iterations}, "
            f"contextual {first:.4g} -> {last:.4g}"
        )

    # ----- static fallback --------------------------------------------------------------
    def static_image(self) -> np.ndarray:
        """The three panels stacked, padded to one width."""
        panels = [self.candidates_panel(), self.losses_panel(), self.snapshots_panel()]
        width = max(p.shape[1] for p in panels)
        padded = [
            np.pad(p, ((0, 6), (0, width - p.shape[1]), (0, 0)), constant_values=255)
            for p in panels
        ]
        return np.concatenate(padded, axis=0)

    def summary(self) -> str:
        """E.g. ``LatentSearchView: 1 sketch, 5 candidates (kept 3), 20 iterations, ...``."""
        if self.init_indices is None:
            return "LatentSearchView: no search yet"
        n = len(self.init_indices)
        count = self.init_scores.shape[1] if self.init_scores is not None else 0
        return (
            f"LatentSearchView: {n} sketch{'es' if n != 1 else ''}, {count} candidates "
            f"(kept {int(self.init_indices[self.index])}), {self.iteration} iterations, "
            f"{len(self.snapshots)} snapshots"
        )
