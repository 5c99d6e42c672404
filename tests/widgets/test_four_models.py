"""One sketch through all four systems in SketchStudio / CompareView (tiny untrained models).

The row a classroom sees: pix2pix (no class, no noise), Contextual GAN (a latent search with
its progress bar), SketchyGAN and EdgeGAN (one shared class picker; EdgeGAN's edge too).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchwidgets.models import build_model
from sketchwidgets.widgets import SketchStudio
from sketchwidgets.widgets._images import from_png
from tests.models.tiny_configs import TINY_CONFIGS

CLASSES = ("apple", "cup", "tree")
SEARCH_STEPS = 4
CLASS_MODELS = {"sketchygan", "edgegan"}


def _four_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    overrides = {
        "pix2pix": {"image_size": 64},  # another size: each model gets the sketch at its own
        # the paper's random start: a re-roll draws other codes (an encoder start has one)
        "contextual_gan": {
            "search.iterations": SEARCH_STEPS,
            "encoder_width": 0,
            "reconstruction_weight": 0.0,
        },  # fmt: skip
        "sketchygan": {"class_names": CLASSES},
        "edgegan": {"class_names": CLASSES},
    }
    return {
        name: build_model(name, **{**TINY_CONFIGS[name], **extra}).eval()
        for name, extra in overrides.items()
    }


@pytest.fixture
def studio(monkeypatch):
    """A studio over the four tiny models; ``studio.calls`` lists every generate() in order
    and ``studio.labels`` the class each was asked for."""
    models = _four_models()
    calls: list[str] = []
    labels: list[str | None] = []
    for name, model in models.items():
        original = model.generate

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            labels.append(kwargs.get("label"))
            return _original(*args, **kwargs)

        monkeypatch.setattr(model, "generate", spy)
    studio = SketchStudio(models, size=96)
    studio.calls, studio.labels = calls, labels
    studio.compare.tiles["contextual_gan"].throttle.interval = 0.0  # every step shows
    return studio


def draw_a_cup(canvas) -> None:
    """Two strokes with the mouse's events: the body, then the handle."""
    for points in ([(30, 20), (30, 75), (65, 75), (65, 20)], [(65, 35), (80, 45), (65, 60)]):
        canvas.begin_stroke(*points[0])
        for point in points[1:]:
            canvas.extend_stroke(*point)
        canvas.end_stroke()
    canvas.flush()


def shown(tile, output="image") -> np.ndarray:
    return from_png(tile.images[output].value)[..., :3]


def test_one_sketch_reaches_all_four_models_each_at_its_own_size(studio):
    compare = studio.compare
    assert set(compare.images) == set()
    draw_a_cup(studio.canvas)
    assert set(compare.images) == {"pix2pix", "contextual_gan", "sketchygan", "edgegan"}
    assert compare.images["pix2pix"].shape == (64, 64, 3)
    assert compare.images["contextual_gan"].shape == (32, 32, 3)
    assert set(compare.outputs["edgegan"]) == {"image", "edge"}
    for name, tile in compare.tiles.items():
        for output in tile.output_names:  # every output is displayed and is not flat grey
            pixels = shown(tile, output)
            np.testing.assert_array_equal(pixels, compare.outputs[name][output])
            assert pixels.std() > 0, (name, output)
        assert tile.caption.value.endswith(" ms"), name
    assert "4 of 4 generated" in compare.status.value
    assert studio.calls[-1] == "contextual_gan"  # the search runs after the forward passes


def test_the_contextual_gan_tile_shows_the_search_until_it_ends(studio):
    tile = studio.compare.tiles["contextual_gan"]
    assert tile.progress is not None
    assert all(studio.compare.tiles[n].progress is None for n in ("pix2pix", "edgegan"))
    values, captions = [], []
    tile.progress.observe(lambda change: values.append(change["new"]), "value")
    tile.caption.observe(lambda change: captions.append(change["new"]), "value")
    draw_a_cup(studio.canvas)  # two strokes, two generations (no event loop to coalesce them)
    one_search = list(range(1, SEARCH_STEPS + 1))
    assert values == one_search + [0] + one_search
    assert tile.progress.max == SEARCH_STEPS
    counts = [f"contextual_gan: search {i}/{SEARCH_STEPS}" for i in range(SEARCH_STEPS + 1)]
    assert [c for c in captions if "search" in c] == counts + counts
    assert captions[-1].endswith(" ms")  # the latency replaces the count when it is done
    studio.canvas.clear()
    studio.canvas.flush()
    assert tile.progress.value == 0 and studio.compare.images == {}


def test_changing_the_class_regenerates_only_the_class_models(studio):
    compare = studio.compare
    draw_a_cup(studio.canvas)
    assert compare.class_names == list(CLASSES)
    assert dict(zip(studio.calls, studio.labels, strict=True)) == {
        "pix2pix": None,
        "contextual_gan": None,
        "sketchygan": "apple",  # the picker's first class
        "edgegan": "apple",
    }
    before = shown(compare.tiles["edgegan"])
    studio.calls.clear()
    studio.labels.clear()
    compare.class_picker.value = "tree"  # the user picks another class
    assert sorted(studio.calls) == sorted(CLASS_MODELS) and studio.labels == ["tree", "tree"]
    assert not np.array_equal(shown(compare.tiles["edgegan"]), before)


def test_reroll_is_offered_where_there_is_noise_and_reruns_that_model_only(studio):
    compare = studio.compare
    draw_a_cup(studio.canvas)
    with_reroll = {n for n, tile in compare.tiles.items() if tile.reroll_button is not None}
    assert with_reroll == {"contextual_gan", "sketchygan", "edgegan"}
    tile = compare.tiles["contextual_gan"]
    before = shown(tile)
    studio.calls.clear()
    values: list[int] = []
    tile.progress.observe(lambda change: values.append(change["new"]), "value")
    tile.reroll_button.click()
    assert studio.calls == ["contextual_gan"]
    assert values[0] == 0 and values[-1] == SEARCH_STEPS  # a new search, run to its end
    assert not np.array_equal(shown(tile), before)  # other initial codes, another completion
    studio.calls.clear()
    compare.reroll_button.click()  # re-roll all: every model with noise, pix2pix not
    assert sorted(studio.calls) == sorted(with_reroll)


def test_a_diverging_search_leaves_the_other_tiles_working(studio):
    model = studio.compare.models["contextual_gan"]
    model.discriminator.forward = lambda images: torch.full((len(images), 1), float("nan"))
    draw_a_cup(studio.canvas)
    compare = studio.compare
    assert set(compare.images) == {"pix2pix", "sketchygan", "edgegan"}
    errors = "".join(o["text"] for o in compare.output.outputs)
    assert "model 'contextual_gan' failed" in errors and "NaN or inf" in errors
    assert "3 of 4 generated" in compare.status.value
    assert compare.tiles["contextual_gan"].caption.value == "contextual_gan: error"
