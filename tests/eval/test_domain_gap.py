"""The domain-gap report: the mean-photo baseline, the report's rows, the printed table."""

from __future__ import annotations

import math

import pytest
import torch

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.eval import baselines
from sketchwidgets.eval.domain_gap import (
    format_table,
    gap_markdown,
    gap_report,
    gap_rows,
    mean_photo_metrics,
)
from sketchwidgets.eval.sketch_following import following_scores
from sketchwidgets.models import build_model


def _constant_photos(values: list[float]) -> list[dict]:
    return [
        {"sketch": torch.zeros(1, 8, 8), "photo": torch.full((3, 8, 8), v), "label": -1}
        for v in values
    ]


def test_mean_photo_is_the_average_training_photo():
    train = _constant_photos([-1.0, 1.0])  # mean 0.0 = grey 0.5 on [0, 1]
    scores = mean_photo_metrics(train, _constant_photos([-1.0, -1.0]))
    assert scores["l1"] == pytest.approx(0.5)
    assert scores["psnr"] == pytest.approx(10 * math.log10(1 / 0.25), abs=1e-3)
    same = mean_photo_metrics(train, _constant_photos([0.0]))
    assert same["l1"] == pytest.approx(0.0, abs=1e-6) and same["ssim"] > 0.999


def test_report_scores_the_model_and_both_baselines_on_every_set():
    torch.manual_seed(0)
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4).eval()
    train = EmbeddedDataset(12, size=32, split="all", workers=1)
    held = EmbeddedDataset(4, size=32, seed=3, split="all", workers=1)
    report = gap_report(model, {"machine": (train, held), "again": (train, held)}, seed=0)
    assert set(report) == {"machine", "again"}
    assert report["machine"]["model"] == baselines.heldout_metrics(model, held, seed=0)
    assert report["machine"]["nearest_neighbour"] == baselines.nearest_neighbour_metrics(
        train, held
    )
    assert report["machine"]["mean_photo"] == mean_photo_metrics(train, held)
    table = format_table(report, "title")
    lines = table.splitlines()
    assert lines[0] == "title" and len(lines) == 2 + 2 * 3
    assert lines[2].startswith("machine    model")
    assert f"{report['again']['mean_photo']['psnr']:.4f}" in lines[-1]


def test_gap_rows_put_models_and_baselines_on_the_same_hold_outs():
    torch.manual_seed(0)
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4).eval()
    train = EmbeddedDataset(12, size=32, split="all", workers=1)
    held = EmbeddedDataset(16, size=32, seed=3, split="all", workers=1)
    sets = {"machine": (train, held), "drawn": (train, held)}
    rows = gap_rows({"tiny": model}, sets, seed=0)
    assert [row["name"] for row in rows] == ["tiny", "nearest neighbour", "mean photo"]
    assert rows[0]["machine"] == pytest.approx(baselines.heldout_metrics(model, held, seed=0))
    assert rows[0]["dependence"] == pytest.approx(following_scores(model, held)["dependence"])
    assert rows[2]["drawn"] == mean_photo_metrics(train, held)
    table = gap_markdown(rows, ["machine", "drawn"]).splitlines()
    assert len(table) == 2 + 3 and table[0].count("|") == 6
    assert table[3].startswith("| nearest neighbour |") and table[3].endswith("| – | – |")


def _benchmark():
    """benchmarks/drawn_holdout.py imported as a module (the folder is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "drawn_holdout.py"
    spec = importlib.util.spec_from_file_location("drawn_holdout", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_prints_the_table_and_writes_the_grid(tmp_path, capsys):
    from sketchwidgets.io import read_image

    grid = tmp_path / "gap.png"
    args = ["pretrained:pix2pix/classroom", "--smoke", "--grid", str(grid), "--styles"]
    assert _benchmark().main(args) == 0
    out = capsys.readouterr().out
    for row in ("machine    model", "drawn      nearest_neighbour", "drawn      mean_photo"):
        assert row in out
    assert "augmented" in out and "ink share" in out
    image = read_image(grid)
    # two hold-outs x (sketches, pictures, photos) rows of eight 64 px tiles, 2 px gutters
    assert image.shape == (6 * 66 + 2, 8 * 66 + 2, 3)


def test_benchmark_names_a_checkpoint_without_card_or_recipe(tmp_path, capsys):
    bare = tmp_path / "weights.pt"
    bare.write_bytes(b"")
    assert _benchmark().main([str(bare)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {bare} has no card beside it: name its recipe with --recipe"
