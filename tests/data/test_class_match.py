"""Class names follow the data: training stores the folder's classes, evaluation and training
match a folder's classes to the model's by name, and refuse when they cannot (never by
position). Every test runs on a small folder of real A|B files written in tmp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from sketchwidgets.cli import main
from sketchwidgets.data.builtin import embedded_pairs
from sketchwidgets.data.datasets import SideBySideDataset
from sketchwidgets.data.pairs import join_side_by_side
from sketchwidgets.eval.metrics import evaluate
from sketchwidgets.inference import load
from sketchwidgets.io import write_image
from sketchwidgets.models import build_model, load_model
from sketchwidgets.train.trainer import Trainer
from tests.models.tiny_configs import TINY_CONFIGS

CLASSROOM_SKETCHYGAN = "pretrained:sketchygan/classroom"  # classes apple, ball, mug, house, ...


def class_folder(root: Path, folders: dict[str, str], *, per_class: int = 3, size: int = 32):
    """A|B files (sketch|photo) of embedded classes, each class in the folder named
    ``folders[embedded class]``; returns ``root``."""
    classes = list(folders)
    pairs = embedded_pairs(per_class * len(classes), size=size, seed=0, classes=classes, workers=1)
    for i, (sketch, photo, label) in enumerate(
        zip(pairs.sketches, pairs.photos, pairs.labels, strict=True)
    ):
        folder = folders[classes[int(label)]]
        write_image(root / folder / f"{i:02d}.png", join_side_by_side(sketch, photo))
    return root


def _set(name: str) -> list[str]:
    """``--set`` arguments of the model's tiny config."""
    return [arg for key, value in TINY_CONFIGS[name].items() for arg in ("--set", f"{key}={value}")]


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("name", ["sketchygan", "edgegan"])
def test_training_on_a_folder_stores_the_folders_class_names(name, tmp_path, capsys):
    data = class_folder(tmp_path / "pets", {"apple": "cat", "ball": "dog"})
    run = tmp_path / "run"
    args = ["train", name, "--data", str(data), "--steps", "1", "--batch-size", "2"]
    assert main([*args, "--run-dir", str(run), *_set(name)]) == 0, capsys.readouterr().err
    assert load_model(run / "model.pt").class_names == ("cat", "dog")
    checkpoint = load_model(run / "checkpoints" / "last.pt")
    assert checkpoint.class_names == ("cat", "dog")


def test_evaluating_on_other_classes_is_refused_in_one_line_listing_both(tmp_path, capsys):
    data = class_folder(tmp_path / "pets", {"apple": "cat", "ball": "dog"}, size=64)
    report = tmp_path / "eval.json"
    cmd = ["evaluate", "--checkpoint", CLASSROOM_SKETCHYGAN, "--data", str(data)]
    assert main([*cmd, "--json", str(report)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "['cat', 'dog']" in line and "'apple', 'ball', 'mug', 'house'" in line
    assert "by name" in line and str(data) in line
    assert not report.exists()


def test_evaluating_on_a_subset_in_another_order_maps_classes_by_name(tmp_path, capsys):
    """A folder of trees and apples: its labels (apple 0, tree 1) are the model's 0 and 4."""
    data = class_folder(tmp_path / "fruit", {"tree": "tree", "apple": "apple"}, size=64)
    model = load(CLASSROOM_SKETCHYGAN, device="cpu")
    dataset = SideBySideDataset(data, size=model.image_size)
    assert dataset.class_names == ["apple", "tree"]
    loader = DataLoader(dataset, batch_size=4, shuffle=False)
    model_index = torch.tensor([model.class_names.index(n) for n in dataset.class_names])
    by_name = [{**b, "label": model_index[b["label"]]} for b in loader]
    expected = evaluate(model, by_name).metrics  # a list of batches: labels are the model's
    by_position = evaluate(model, [dict(b) for b in loader]).metrics
    assert by_position != expected  # the check below can tell the two apart
    assert evaluate(model, loader).metrics == expected
    assert evaluate(model, list(loader), class_names=dataset.class_names).metrics == expected

    report = tmp_path / "eval.json"
    cmd = ["evaluate", "--checkpoint", CLASSROOM_SKETCHYGAN, "--data", str(data)]
    assert main([*cmd, "--batch-size", "4", "--json", str(report)]) == 0
    assert json.loads(report.read_text())["metrics"] == pytest.approx(expected)


def test_trainer_maps_a_subset_by_name_and_refuses_unknown_classes(tmp_path):
    data = SideBySideDataset(class_folder(tmp_path / "fruit", {"tree": "tree", "apple": "apple"}))
    classes = ("apple", "ball", "mug", "tree")
    model = build_model("sketchygan", **TINY_CONFIGS["sketchygan"], class_names=classes)
    trainer = Trainer(model, data, steps=1, batch_size=2, callbacks=[], device="cpu")
    seen = [trainer.train_data[i]["label"] for i in range(len(data))]
    assert seen == [classes.index(data.class_names[label]) for label in data.labels]
    assert set(seen) == {0, 3}  # apple stays 0, tree (the folder's 1) is the model's 3
    trainer.fit()  # trains on the mapped labels

    pets = SideBySideDataset(class_folder(tmp_path / "pets", {"apple": "cat", "ball": "dog"}))
    with pytest.raises(ValueError, match=r"\['cat', 'dog'\].*\['apple', 'ball', 'mug', 'tree'\]"):
        Trainer(model, pets, steps=1, batch_size=2, callbacks=[], device="cpu")


def test_a_model_that_needs_classes_refuses_data_without_any(tmp_path):
    flat = tmp_path / "flat"
    for source in class_folder(tmp_path / "pets", {"apple": "cat"}).rglob("*.png"):
        (flat / source.name).parent.mkdir(parents=True, exist_ok=True)
        (flat / source.name).write_bytes(source.read_bytes())
    dataset = SideBySideDataset(flat)
    model = build_model("sketchygan", **TINY_CONFIGS["sketchygan"], class_names=("cat",))
    with pytest.raises(ValueError, match="has no classes"):
        evaluate(model, DataLoader(dataset, batch_size=2))
    with pytest.raises(ValueError, match="has no classes"):
        Trainer(model, dataset, steps=1, batch_size=2, callbacks=[], device="cpu")
