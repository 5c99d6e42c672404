"""LatentSearchView: live and replayed Contextual GAN searches on a tiny untrained model."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from sketchwidgets.config import apply_overrides
from sketchwidgets.data.builtin import example_sketch
from sketchwidgets.models.contextual_gan import ContextualGAN, ContextualGANConfig
from sketchwidgets.train.recipes import preset
from sketchwidgets.widgets import LatentSearchView, SketchCanvas
from sketchwidgets.widgets._images import from_png
from sketchwidgets.widgets.latent_search_view import CHOSEN_COLOR, TILE

# the shipped models' preset with the paper's random start, so there are candidates to show
# (an encoder gives one code)
TINY = apply_overrides(ContextualGANConfig(), {
    **preset("contextual_gan/data_limited"), "gf_dim": 8, "df_dim": 8, "z_dim": 16,
    "search.n_init": 5, "search.iterations": 8, "encoder_width": 0, "reconstruction_weight": 0.0,
})  # fmt: skip


@pytest.fixture(scope="module")
def model() -> ContextualGAN:
    torch.manual_seed(0)
    return ContextualGAN(TINY)


def line_sketch(size: int = 64) -> np.ndarray:
    sketch = np.full((size, size), 255, np.uint8)
    sketch[10:54, 30:33] = 0
    sketch[40:43, 8:56] = 0
    return sketch


def shown(image_widget) -> np.ndarray:
    return from_png(image_widget.value)[..., :3]


def test_live_search_fills_every_panel_and_marks_the_kept_candidate(model):
    view = LatentSearchView(model, snapshot_every=5, redraw_every_s=0.0)
    empty = {name: shown(getattr(view, name)) for name in ("candidates_image", "losses_image")}
    assert view.summary() == "LatentSearchView: no search yet"
    result = view.run(line_sketch(), iterations=10)
    assert result is not None and view.result is result
    assert view.iteration == 10 and len(view.contextual) == 11
    # every report redrew (interval 0): init + 11 completion reports + the final replay
    assert view.redraw_count >= 13
    for name, before in empty.items():
        assert shown(getattr(view, name)).shape != before.shape or not np.array_equal(
            shown(getattr(view, name)), before
        )
    chosen = int(result.init_indices[0])
    assert chosen == int(result.init_scores[0].argmin())
    grid = shown(view.candidates_image)
    x0 = chosen * (TILE[1] + 4)  # tiles and 4-px gaps in one row of 10
    assert tuple(grid[1, x0 + TILE[1] // 2]) == CHOSEN_COLOR
    other = (chosen + 1) % 5
    assert tuple(grid[1, other * (TILE[1] + 4) + TILE[1] // 2]) != CHOSEN_COLOR
    assert [step for step, _ in view.snapshots] == [0, 5, 10]
    strip = shown(view.snapshots_image)
    assert strip.shape[1] == 3 * TILE[1] + 2 * 4
    assert "contextual" in view.status.value and "done" in view.status.value
    assert view.summary() == (
        f"LatentSearchView: 1 sketch, 5 candidates (kept {chosen}), 10 iterations, 3 snapshots"
    )


def test_throttle_limits_live_redraws(model):
    view = LatentSearchView(model, snapshot_every=5, redraw_every_s=3600.0)
    before = view.redraw_count
    view.run(line_sketch())
    # init, the first completion report (throttle starts open) and the final replay only
    assert view.redraw_count - before == 3


def test_snapshots_change_while_the_search_runs(model):
    seen = []
    view = LatentSearchView(model, snapshot_every=4, redraw_every_s=0.0)
    view.snapshots_image.observe(lambda change: seen.append(change["new"]), "value")
    view.run(line_sketch(), iterations=8)
    assert len(set(seen)) >= 3  # placeholder, then strips of 1, 2, 3 snapshots
    first, last = view.snapshots[0][1], view.snapshots[-1][1]
    assert not torch.equal(first, last)  # G(z) moved during the search


def test_replay_shows_the_same_as_the_live_run(model):
    live = LatentSearchView(model, snapshot_every=5, seed=3)
    result = live.run(line_sketch())
    replayed = LatentSearchView(snapshot_every=5)
    replayed.replay(result)
    for name in ("candidates_image", "losses_image", "snapshots_image"):
        assert np.array_equal(shown(getattr(live, name)), shown(getattr(replayed, name)))
    again = LatentSearchView(model, snapshot_every=5, seed=3).run(line_sketch())
    assert torch.equal(again.z_hat, result.z_hat)  # the seed fixes the search


def test_batch_index_switches_the_shown_sketch(model):
    sketches = np.stack([line_sketch(), np.rot90(line_sketch()).copy()])
    view = LatentSearchView(model, snapshot_every=10)
    result = view.run(sketches)
    assert result.images.shape == (2, 3, 64, 128)
    first = shown(view.candidates_image)
    view.index = 1
    assert not np.array_equal(shown(view.candidates_image), first)
    assert f"kept {int(result.init_indices[1])}" in view.summary()


def test_canvas_and_stroke_sketches_are_accepted(model):
    canvas = SketchCanvas(64, 64)
    canvas.sketch = example_sketch("apple", size=64)
    view = LatentSearchView(model, iterations=4)
    assert view.run(canvas) is not None and view.iteration == 4
    assert view.run(example_sketch("mug")) is not None


def test_blank_sketch_is_reported_not_raised(model):
    view = LatentSearchView(model)
    assert view.run(np.full((64, 64), 255, np.uint8)) is None
    assert "blank" in view.status.value
    assert view.summary() == "LatentSearchView: no search yet"


def test_static_fallback_bundle(model):
    view = LatentSearchView(model, snapshot_every=10)
    view.run(line_sketch())
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == view.summary()
    picture = from_png(base64.b64decode(bundle["image/png"]))
    assert picture.shape[0] > 3 * TILE[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_run_without_a_model_says_what_is_missing():
    with pytest.raises(ValueError, match="needs a model"):
        LatentSearchView().run(line_sketch())


@pytest.mark.parametrize(("init_score", "label"), [("contextual", "ctx"), ("kl", "KL")])
def test_candidate_labels_name_the_score_the_search_ranked_by(model, init_score, label):
    view = LatentSearchView(model, redraw_every_s=0.0)
    result = view.run(line_sketch(), iterations=2, init_score=init_score)
    live = view.candidate_labels()
    chosen = int(result.init_indices[0])
    assert result.init_score == init_score
    assert all(f": {label} " in text for text in live)
    assert live[chosen].endswith(" *") and sum(text.endswith(" *") for text in live) == 1
    replayed = LatentSearchView(model)
    replayed.replay(result)
    assert replayed.candidate_labels() == live
