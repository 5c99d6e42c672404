"""A config that does not fit its weights is one line on every load path, not torch's dump.

Crafted files: a tiny model's weights saved with one config field changed (``ngf``, a latent
size, the class names). Every way in -- ``load_model``, ``sw.load``, ``Trainer.resume``, the
shipped-file loader and the studio that uses it, ``generate``, ``evaluate``, ``export`` --
names the file, the field and the tensors that differ. A shipped checkpoint's file loaded by
its path says which ``pretrained:`` name loads it, and ``export --checkpoint pretrained:NAME``
exports a shipped model (checked against ``generate``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import sketchwidgets as sw
from sketchwidgets import cli, pretrained
from sketchwidgets.data.builtin import EmbeddedDataset, embedded_pairs
from sketchwidgets.export.exporter import exported_inputs, run_exported, share_within
from sketchwidgets.io import write_image
from sketchwidgets.models import build_model, load_model
from sketchwidgets.models.weights_fit import WeightsMismatch
from sketchwidgets.train import recipes
from sketchwidgets.train.checkpoint import save_checkpoint
from sketchwidgets.train.trainer import Trainer
from tests.models.tiny_configs import TINY_CONFIGS

CLASSES = ("apple", "ball", "mug")
NGF_LINE = "ngf=8 in the config, the weights fit ngf=4"
MAX_LINE = 400  # a sentence or two; torch's dump of a changed width runs to thousands


def _edited(tmp_path: Path, name: str, edit: dict, *, classes=CLASSES, file="edited.pt") -> Path:
    """A tiny model's file whose stored config has ``edit`` applied (the weights unchanged)."""
    torch.manual_seed(0)
    model_classes = classes if name in ("sketchygan", "edgegan") else ()
    model = build_model(name, **TINY_CONFIGS[name], class_names=model_classes)
    state = model.model_state()
    state["config"].update(edit)
    torch.save(state, tmp_path / file)
    return tmp_path / file


@pytest.fixture
def edited_pix2pix(tmp_path) -> Path:
    """pix2pix weights of ngf=4 whose config says ngf=8."""
    return _edited(tmp_path, "pix2pix", {"ngf": 8})


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text[-3000:]
    assert len(lines[0]) < MAX_LINE, lines[0][:3000]
    return lines[0]


# ------------------------------------------------------------------------- the API


@pytest.mark.parametrize(
    "name, edit, explanation",
    [
        ("pix2pix", {"ngf": 8}, NGF_LINE),
        (
            "sketchygan",
            {"latent_dim": 16},
            "latent_dim=16 in the config, the weights fit latent_dim=8",
        ),
        ("contextual_gan", {"z_dim": 12}, "z_dim=12 in the config, the weights fit z_dim=8"),
        (
            "edgegan",
            {"class_names": ["apple", "ball"]},
            "class_names has 2 names in the config, the weights fit 3",
        ),
    ],
)
def test_load_model_names_the_file_the_field_and_the_first_tensor(
    tmp_path, name, edit, explanation
):
    path = _edited(tmp_path, name, edit)
    with pytest.raises(WeightsMismatch) as error:
        load_model(path)
    line = _one_line(str(error.value))
    assert line.startswith(f"{path}: weights do not fit {name}: {explanation}; ")
    assert "tensors differ in shape (first: " in line and isinstance(error.value, ValueError)


def test_a_switch_is_named_when_flipping_it_fits(tmp_path):
    path = _edited(tmp_path, "contextual_gan", {"minibatch_std": False})
    with pytest.raises(
        WeightsMismatch, match="minibatch_std=False in the config, the weights fit "
    ):
        load_model(path)


def test_a_file_older_than_a_config_field_still_gets_its_explanation(tmp_path):
    """A stored config without a field added since (the file is older) builds that field's
    default: the reason names the width that differs, not the missing field."""
    path = _edited(tmp_path, "pix2pix", {"ngf": 8})
    state = torch.load(path, weights_only=True)
    newest = dataclasses.fields(build_model("pix2pix").config)[-1]
    assert state["config"].pop(newest.name) == newest.default
    torch.save(state, path)
    with pytest.raises(WeightsMismatch) as error:
        load_model(path)
    assert f"weights do not fit pix2pix: {NGF_LINE}; " in _one_line(str(error.value))


def test_a_config_of_another_model_names_the_file(tmp_path):
    path = _edited(tmp_path, "pix2pix", {})
    state = torch.load(path, weights_only=True)
    state["model_name"] = "edgegan"
    torch.save(state, path)
    with pytest.raises(KeyError, match=f"{path}: unknown EdgeGANConfig key"):
        load_model(path)


def test_two_changed_fields_are_not_put_on_one(tmp_path):
    path = _edited(tmp_path, "pix2pix", {"ngf": 8, "ndf": 8})
    with pytest.raises(
        WeightsMismatch, match="pix2pix: no single config field explains it; 56 tensors"
    ):
        load_model(path)


def test_weights_that_are_not_tensors_by_name_are_one_line(tmp_path):
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    state = model.model_state()
    key = next(k for k in state["state_dict"] if k.endswith("num_batches_tracked"))
    state["state_dict"][key] = "three"  # a scalar tensor's place
    torch.save(state, tmp_path / "text.pt")
    with pytest.raises(
        WeightsMismatch, match=rf"1 tensors differ in shape \(first: {key} \(a str\)"
    ):
        load_model(tmp_path / "text.pt")
    state["state_dict"] = [1, 2, 3]
    torch.save(state, tmp_path / "list.pt")
    with pytest.raises(WeightsMismatch, match="list.pt: its weights are a list, not a dict"):
        load_model(tmp_path / "list.pt")


def test_sw_load_says_it_in_one_line(edited_pix2pix):
    with pytest.raises(WeightsMismatch) as error:
        sw.load(edited_pix2pix, device="cpu")
    assert NGF_LINE in _one_line(str(error.value))


def test_trainer_resume_says_it_in_one_line(tmp_path):
    torch.manual_seed(0)
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    path = save_checkpoint(
        tmp_path / "last.pt", model=model, optimizers=model.configure_optimizers(), step=1
    )
    state = torch.load(path, weights_only=True)
    state["config"]["ngf"] = 8
    torch.save(state, path)
    with pytest.raises(WeightsMismatch) as error:
        Trainer.resume(path, EmbeddedDataset(8, size=32), steps=2, batch_size=4)
    assert _one_line(str(error.value)).startswith(f"{path}: weights do not fit pix2pix: {NGF_LINE}")


def test_a_generation_only_file_with_an_edited_config_says_it_in_one_line(tmp_path):
    """The loader of the shipped format (pretrain's files): left-out networks are allowed,
    a config that does not fit is not."""
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    path = recipes.save_float16(model, tmp_path / "p2p.pt", drop=("discriminator",))
    state = torch.load(path, weights_only=True)
    state["config"]["ngf"] = 8
    torch.save(state, path)
    with pytest.raises(WeightsMismatch) as error:
        pretrained.load_shipped(path)
    assert _one_line(str(error.value)).startswith(f"{path}: weights do not fit pix2pix: {NGF_LINE}")


@pytest.fixture
def edited_shipped(tmp_path, monkeypatch) -> Path:
    """The shipped edgegan/classroom with its config saying 7 classes (its weights have 8),
    as the only shipped checkpoint, its card's SHA-256 that of the edited file."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    state = torch.load(pretrained.resolve("edgegan/classroom"), weights_only=True)
    state["config"]["class_names"] = state["config"]["class_names"][:7]
    path = folder / "edgegan-classroom.pt"
    torch.save(state, path)
    card = pretrained.read_card("edgegan/classroom")
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(card))
    real = pretrained.checkpoint_path
    monkeypatch.setattr(
        pretrained, "checkpoint_path", lambda name, folder_=None: real(name, folder)
    )
    assert pretrained.shipped_names() == ["edgegan/classroom"]
    return path


def test_a_shipped_name_whose_file_does_not_fit_says_it_in_one_line(edited_shipped):
    with pytest.raises(WeightsMismatch) as error:
        sw.load("pretrained:edgegan/classroom", device="cpu")
    line = _one_line(str(error.value))
    assert line.startswith(f"{edited_shipped}: weights do not fit edgegan: ")
    assert "class_names has 7 names in the config, the weights fit 8" in line


def test_the_studio_loading_the_shipped_models_says_it_in_one_line(edited_shipped):
    pytest.importorskip("ipywidgets")
    from sketchwidgets.widgets import SketchStudio

    with pytest.raises(WeightsMismatch) as error:
        SketchStudio()
    assert "class_names has 7 names in the config, the weights fit 8" in _one_line(str(error.value))


# ------------------------------------------------------------ a shipped file by its path


@pytest.mark.parametrize("name", ["edgegan/classroom", "sketchygan/classroom"])
def test_a_shipped_file_loaded_by_path_names_its_pretrained_name(name):
    path = pretrained.resolve(name)
    with pytest.raises(WeightsMismatch) as error:
        load_model(path)
    line = _one_line(str(error.value))
    assert line.startswith(f"{path} is the shipped checkpoint {name!r}, which leaves out [")
    assert f"sw.load('pretrained:{name}')" in line and f"--checkpoint pretrained:{name}" in line


def test_a_copy_of_a_shipped_file_is_known_by_its_content(tmp_path):
    copy = tmp_path / "my-model.pt"
    shutil.copy(pretrained.resolve("edgegan/classroom"), copy)
    with pytest.raises(WeightsMismatch, match=r"my-model.pt is the shipped checkpoint 'edgegan/"):
        sw.load(copy)
    assert pretrained.shipped_name(copy) == "edgegan/classroom"
    copy.write_bytes(copy.read_bytes() + b"\0")  # other bytes: another file
    assert pretrained.shipped_name(copy) is None


# ----------------------------------------------------------------- the command line


def _sketch_file(tmp_path: Path) -> Path:
    sketch = np.full((32, 32), 255, np.uint8)
    sketch[16, 4:28] = 0
    return write_image(tmp_path / "sketch.png", sketch)


@pytest.mark.parametrize("command", ["generate", "evaluate", "export"])
def test_every_command_says_it_in_one_line_with_exit_2(tmp_path, edited_pix2pix, capsys, command):
    options = {
        "generate": ["--sketch", str(_sketch_file(tmp_path)), "--out", str(tmp_path / "o.png")],
        "evaluate": ["--data", "embedded:4"],
        "export": ["--format", "onnx", "--out", str(tmp_path / "m.onnx")],
    }[command]
    status = cli.main([command, "--checkpoint", str(edited_pix2pix), *options])
    line = _one_line(capsys.readouterr().err)
    assert status == cli.EXIT_BAD_INPUT
    assert line.startswith(f"error: {edited_pix2pix}: weights do not fit pix2pix: {NGF_LINE}; ")


def test_generate_with_a_shipped_file_by_path_names_its_pretrained_name(tmp_path, capsys):
    path = pretrained.resolve("edgegan/classroom")
    args = ["--sketch", str(_sketch_file(tmp_path)), "--out", str(tmp_path / "o.png")]
    assert cli.main(["generate", "--checkpoint", str(path), *args]) == cli.EXIT_BAD_INPUT
    assert "--checkpoint pretrained:edgegan/classroom" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("format, suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_export_takes_a_pretrained_name(tmp_path, capsys, format, suffix):
    """A small shipped model (EdgeGAN, 8 classes, two outputs), exported and checked by the
    command, then run here on other sketches against the shipped model's generate()."""
    out = tmp_path / f"edgegan{suffix}"
    args = ["export", "--checkpoint", "pretrained:edgegan/classroom", "--format", format]
    assert cli.main([*args, "--out", str(out)]) == cli.EXIT_OK
    assert f"wrote {out}" in capsys.readouterr().out
    spec = json.loads(out.with_name(out.name + ".json").read_text())
    model = sw.load("pretrained:edgegan/classroom", device="cpu")
    assert spec["model"] == "edgegan" and spec["classes"] == list(model.class_names)
    pairs = embedded_pairs(3, size=model.image_size, seed=7, workers=1)
    labels = ["mug", "fish", "car"]
    inputs = exported_inputs(model, pairs.sketches, seed=4, label=labels)
    expected = model.generate(pairs.sketches, seed=4, label=labels, outputs=True)
    actual = run_exported(out, inputs)
    for name in ("image", "edge"):
        assert share_within(actual[name], expected[name]) >= 0.999
