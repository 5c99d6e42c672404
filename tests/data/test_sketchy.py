"""Sketchy pairs for SketchyGAN: pairs.csv, photo-level splits, unpaired photos, the blend."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.data.sketchy import (
    BlendSchedule,
    EdgeSketchBlend,
    import_sketchy_pairs,
    sketch_share,
    split_by_photo,
    unpaired_photos,
)
from sketchwidgets.io import write_image
from tests.data.helpers import blank, check_item

CLASSES = ["zebra", "cup", "car_(sedan)"]


def test_pairs_csv_of_the_shared_subset(shared_data):
    root = shared_data("sketchy_subset")
    dataset = import_sketchy_pairs(root, classes=CLASSES, size=64)
    assert dataset.class_names == sorted(CLASSES)
    with (root / "pairs.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["class"] in CLASSES]
    assert len(dataset) == len(rows) > 0
    first = rows[0]
    assert dataset.sketch_files[0] == root / first["sketch"]
    assert dataset.photo_ids[0] == first["photo_id"]
    assert dataset.class_names[dataset.labels[0]] == first["class"]
    check_item(dataset[0], (64, 64))
    every = import_sketchy_pairs(root, size=None)
    assert len(every) == 3125 and len(every.class_names) == 125


def test_split_by_photo_keeps_every_sketch_of_a_photo_on_one_side(shared_data):
    dataset = import_sketchy_pairs(shared_data("sketchy_subset"), classes=CLASSES)
    train, val = split_by_photo(dataset, val_fraction=0.25, seed=0)
    train_photos = {dataset.photo_ids[i] for i in train.indices}
    val_photos = {dataset.photo_ids[i] for i in val.indices}
    assert train_photos.isdisjoint(val_photos) and val_photos
    assert len(train) + len(val) == len(dataset)
    assert {dataset.labels[i] for i in train.indices} == {0, 1, 2}  # every class trains
    again = split_by_photo(dataset, val_fraction=0.25, seed=0)[1]
    assert again.indices == val.indices


def test_unpaired_photos_are_the_ones_no_sketch_uses(shared_data):
    root = shared_data("sketchy_subset")
    dataset = import_sketchy_pairs(root, classes=["zebra"])
    photos = unpaired_photos(root, ["zebra"])
    assert len(photos) + len(set(dataset.photo_ids)) == 25  # 25 photos a class
    assert not {p.stem for p, _ in photos} & set(dataset.photo_ids)
    assert {name for _, name in photos} == {"zebra"}


def test_sketchy_naming_without_pairs_csv_and_bad_csv(tmp_path):
    for name, stem in (("cat", "n1_1"), ("dog", "n2_7")):
        write_image(tmp_path / "photo_64" / name / f"{stem}.jpg", blank(16, 16, 90))
        for n in (1, 2):
            write_image(tmp_path / "sketch_64" / name / f"{stem}-{n}.png", blank(16, 16))
    dataset = import_sketchy_pairs(tmp_path, size=16)
    assert len(dataset) == 4 and dataset.class_names == ["cat", "dog"]
    assert dataset.photo_ids == ["n1_1", "n1_1", "n2_7", "n2_7"]
    with pytest.raises(KeyError, match="unknown Sketchy class.*'cat'"):
        import_sketchy_pairs(tmp_path, classes=["cow"])
    (tmp_path / "pairs.csv").write_text("class,photo_id,sketch\ncat,n1_1,x.png\n")
    with pytest.raises(ValueError, match=r"pairs.csv: missing column\(s\) \['photo'\]"):
        import_sketchy_pairs(tmp_path)
    (tmp_path / "pairs.csv").write_text(
        "class,photo_id,sketch,photo\ncat,n1_1,sketch_64/cat/n1_1-9.png,photo_64/cat/n1_1.jpg\n"
    )
    with pytest.raises(FileNotFoundError, match="line 2: file not found: .*n1_1-9.png"):
        import_sketchy_pairs(tmp_path)


def test_sketch_share_follows_the_code_schedule():
    assert sketch_share(0, 100) == pytest.approx(0.2)
    assert sketch_share(50, 100) == pytest.approx(0.5)
    assert sketch_share(100, 100) == pytest.approx(0.8)
    assert sketch_share(500, 100) == pytest.approx(0.8)  # held after the last step


def test_blend_serves_edge_maps_first_and_sketches_last():
    pairs = EmbeddedDataset(4, size=32, split="all", workers=1)
    blend = EdgeSketchBlend(pairs, total_steps=10, edge_style="canny")  # stored: XDoG
    torch.manual_seed(0)
    shares = []
    for step in (0, 5, 10):
        BlendSchedule(blend).on_step_end(None, step, {})
        sources = [blend[i % 4]["source"] for i in range(400)]
        shares.append(sources.count("sketch") / len(sources))
    assert shares == pytest.approx([0.2, 0.5, 0.8], abs=0.07)
    item = blend[0]
    check_item(item, (32, 32))
    edge = blend.edge_map(0, pairs[0]["photo"])
    assert edge.shape == (1, 32, 32) and float(edge.min()) == -1.0  # ink on white
    assert not torch.equal(edge, pairs[0]["sketch"])  # an edge map, not the stored sketch
    served = {}
    for _ in range(40):
        item = blend[0]
        served[item["source"]] = item["sketch"]
    torch.testing.assert_close(served["edge"], edge)
    torch.testing.assert_close(served["sketch"], pairs[0]["sketch"])


def test_blend_rejects_a_share_outside_zero_one():
    with pytest.raises(ValueError, match="start=1.5"):
        EdgeSketchBlend(EmbeddedDataset(2, size=32, split="all"), 10, start=1.5)


def test_blend_schedule_follows_the_trainer(tmp_path):
    from sketchwidgets.models import build_model
    from sketchwidgets.train import Trainer

    pairs = EmbeddedDataset(8, size=32, split="all", classes=("apple", "ball"), workers=1)
    blend = EdgeSketchBlend(pairs, total_steps=3)
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4)
    trainer = Trainer(model, blend, steps=3, batch_size=4, run_dir=tmp_path, overwrite=True)
    trainer.add_callback(BlendSchedule(blend))
    trainer.fit()
    assert blend.step == 3 and blend.share() == pytest.approx(0.8)
    assert np.isfinite(blend.share())
