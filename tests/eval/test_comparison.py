"""The comparison notebook's rows: diversity, the photo classifier, the table."""

from __future__ import annotations

import pytest
import torch

import sketchwidgets as sw
from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.eval.baselines import heldout_metrics, nearest_neighbour_metrics
from sketchwidgets.eval.comparison import (
    NEAREST,
    class_accuracy,
    comparison_rows,
    diversity,
    markdown_table,
    photo_classifier,
    seed_diversity,
)


@pytest.fixture(scope="module")
def tiny_split():
    parts = [
        EmbeddedDataset(40, size=64, seed=0, split=s, val_fraction=0.2, workers=1)
        for s in ("train", "val")
    ]
    return parts[0], parts[1]


def test_diversity_is_the_mean_pairwise_l1_in_unit_range():
    black, white = torch.full((2, 3, 4, 4), -1.0), torch.ones(2, 3, 4, 4)
    assert diversity([black, black]) == 0.0
    assert diversity([black, white]) == pytest.approx(1.0)
    # pairs (b,w)=1, (b,b)=0, (w,b)=1 -> 2/3
    assert diversity([black, white, black]) == pytest.approx(2 / 3)
    assert diversity([black]) == 0.0


def two_colour_photos(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: reddish images, class 1: bluish, with noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    photos = torch.rand(n, 3, 64, 64, generator=g) * 0.6 - 0.8
    photos[labels == 0, 0] += 1.2
    photos[labels == 1, 2] += 1.2
    return photos, labels


@pytest.mark.slow
@pytest.mark.guards_default
def test_photo_classifier_learns_two_separable_classes():
    photos, labels = two_colour_photos(32, seed=0)
    classifier = photo_classifier(photos, labels, 2, steps=30)
    fresh, fresh_labels = two_colour_photos(16, seed=1)
    assert class_accuracy(classifier, fresh, fresh_labels) == 1.0
    assert class_accuracy(classifier, fresh, 1 - fresh_labels) == 0.0


def test_rows_reuse_the_card_metrics_and_end_with_the_baselines(tiny_split):
    train, held_out = tiny_split
    torch.manual_seed(0)
    model = sw.build_model("pix2pix", image_size=64, ngf=4, ndf=4).eval()
    photos = torch.stack([train[i]["photo"] for i in range(len(train))])
    labels = torch.tensor([train[i]["label"] for i in range(len(train))])
    classifier = photo_classifier(photos, labels, 8, steps=2)
    rows = comparison_rows({"pix2pix": model}, train, held_out, classifier=classifier, seeds=2)
    assert [r["name"] for r in rows] == ["pix2pix", NEAREST, "real held-out photos"]
    card = heldout_metrics(model, held_out)
    assert {k: rows[0][k] for k in card} == pytest.approx(card)
    nearest = nearest_neighbour_metrics(train, held_out)
    assert {k: rows[1][k] for k in nearest} == pytest.approx(nearest)
    assert rows[0]["diversity"] == 0.0  # pix2pix without its noise channel is deterministic
    assert 0.0 <= rows[0]["class accuracy"] <= 1.0
    assert set(rows[2]) == {"name", "class accuracy"}


def test_unpaired_rows_leave_out_the_photo_metrics(tiny_split):
    train, held_out = tiny_split
    model = sw.build_model("pix2pix", image_size=64, ngf=4, ndf=4).eval()
    rows = comparison_rows({"m": model}, train, held_out, paired=False)
    assert [set(r) - {"name"} for r in rows] == [{"diversity", "seconds"}, {"diversity"}]


def test_a_model_with_noise_gives_different_images_per_seed(tiny_split):
    _, held_out = tiny_split
    torch.manual_seed(0)
    model = sw.build_model("sketchygan", ngf=4, ndf=4, latent_dim=8).eval()
    sketch = torch.stack([held_out[i]["sketch"] for i in range(2)])
    assert seed_diversity(model, sketch, torch.tensor([0, 1]), seeds=3) > 0.0


def test_markdown_table_shows_a_dash_where_a_metric_does_not_apply():
    rows = [{"name": "a", "ssim": 0.5, "class accuracy": 0.25}, {"name": "b", "ssim": 0.25}]
    lines = markdown_table(rows).splitlines()
    assert lines[0] == "| model | SSIM ↑ | class accuracy ↑ |"
    assert lines[2] == "| a | 0.500 | 25.0% |"
    assert lines[3] == "| b | 0.250 | – |"
