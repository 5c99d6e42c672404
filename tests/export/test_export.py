"""Export of every registered model to ONNX and TorchScript, checked against eager generate().

For each name in ``MODELS`` (tiny config from ``tests/models/tiny_configs.py``, trained one
step so batch norm holds real statistics): the exported file, run by onnxruntime or
``torch.jit.load``, must give ``generate``'s uint8 images within 1 grey level on at least
99.9 % of the values, on real sketches of the embedded set, for batches of 1 and 4. A model
that cannot be exported makes its tests fail (the export raises), never skip. Contextual GAN
exports G, D and its sketch encoder E (G and D only in the paper's configuration, which has no
encoder); its search from the exported files must match the in-package search, started from
E's code or from the same random candidates.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch

import sketchwidgets as sw
from sketchwidgets import cli
from sketchwidgets.config import apply_overrides
from sketchwidgets.data.builtin import embedded_pairs
from sketchwidgets.device import torch_threads
from sketchwidgets.export.exporter import (
    ExportError,
    MissingDependencyError,
    discriminator_path,
    encoder_path,
    export,
    exported_inputs,
    refiner_path,
    run_exported,
    share_within,
    side_file_path,
)
from sketchwidgets.export.graph import portable_copy
from sketchwidgets.export.search import search
from sketchwidgets.io import image_to_tensor, tensor_to_image
from sketchwidgets.models import MODELS, build_model
from sketchwidgets.models.contextual_gan import ContextualGAN, ContextualGANConfig
from sketchwidgets.models.latent_encoder import SketchEncoder
from tests.models.tiny_configs import TINY_CONFIGS

EXPORT_MODULE = importlib.import_module("sketchwidgets.export.exporter")
CLASSES = ("apple", "ball", "mug")
SIZE = 32
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
ONE_SHOT = sorted(name for name in MODELS if not issubclass(MODELS[name], ContextualGAN))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def pairs():
    """4 real embedded pairs at 32 px, one of each of three classes and an apple again."""
    return embedded_pairs(4, size=SIZE, seed=5, classes=CLASSES, workers=1)


def _trained(name: str, pairs) -> torch.nn.Module:
    """The model's tiny config, trained one step on the pairs (batch norm statistics move)."""
    if name not in TINY_CONFIGS:
        pytest.fail(f"no tiny config for registered model {name!r} in tests/models/tiny_configs.py")
    torch.manual_seed(0)
    return _trained_one_step(build_model(name, **TINY_CONFIGS[name], class_names=CLASSES), pairs)


def _trained_one_step(model: torch.nn.Module, pairs) -> torch.nn.Module:
    batch = {
        "sketch": image_to_tensor(pairs.sketches[..., None]),
        "photo": image_to_tensor(pairs.photos),
        "label": torch.as_tensor(pairs.labels),
    }
    model.train_step(batch, model.configure_optimizers())
    return model.eval()


@pytest.fixture(scope="module", params=[(n, f) for n in ONE_SHOT for f in FORMATS], ids="-".join)
def exported(request, pairs, tmp_path_factory):
    """(model, exported file) for every one-shot model and format; export fails loudly."""
    name, format = request.param
    model = _trained(name, pairs)
    path = tmp_path_factory.mktemp(name) / f"{name}{FORMATS[format]}"
    export(model, path, format=format, check=False)  # the tests below do the checking
    return model, path


@pytest.mark.parametrize("batch", [1, 4])
def test_exported_graph_matches_generate(exported, pairs, batch) -> None:
    model, path = exported
    sketches, labels = pairs.sketches[:batch], pairs.labels[:batch].tolist()
    label = labels if model.needs_label else None
    expected = model.generate(sketches, seed=7, label=label, outputs=True)
    actual = run_exported(path, exported_inputs(model, sketches, seed=7, label=label))
    assert list(actual) == list(model.output_names)
    for name in model.output_names:
        assert actual[name].dtype == np.uint8 and actual[name].shape == (batch, SIZE, SIZE, 3)
        assert share_within(actual[name], expected[name]) >= 0.999, name
    assert len(np.unique(actual["image"])) > 1  # an image, not a constant


def test_white_on_black_sketches_are_flipped_inside_the_graph(exported, pairs) -> None:
    model, path = exported
    label = [0, 1] if model.needs_label else None
    inverted = 255 - pairs.sketches[:2]
    as_drawn = run_exported(path, exported_inputs(model, pairs.sketches[:2], seed=1, label=label))
    flipped = run_exported(path, exported_inputs(model, inverted, seed=1, label=label))
    assert share_within(flipped["image"], as_drawn["image"]) >= 0.999


def test_side_file_names_inputs_outputs_size_classes_version(exported) -> None:
    model, path = exported
    spec = json.loads(side_file_path(path).read_text())
    assert spec["format"] == ("onnx" if path.suffix == ".onnx" else "torchscript")
    assert spec["model"] == model.name and spec["image_size"] == SIZE
    assert spec["classes"] == list(CLASSES) and spec["sketchwidgets_version"] == sw.__version__
    names = [entry["name"] for entry in spec["inputs"]]
    assert names[0] == "sketch" and ("label" in names) == model.needs_label
    assert spec["inputs"][0] == {
        "name": "sketch",
        "dtype": "uint8",
        "shape": ["batch", SIZE, SIZE],
        "meaning": spec["inputs"][0]["meaning"],
    }
    assert [entry["name"] for entry in spec["outputs"]] == list(model.output_names)
    if model.latent_dim and model.has_noise:
        assert any(n in ("z", "noise") for n in names[1:]), "a noisy model exports its noise"


# ------------------------------------------------------------------------- Contextual GAN


@pytest.fixture(scope="module")
def contextual(pairs, tmp_path_factory):
    model = _trained("contextual_gan", pairs)
    assert model.encoder is not None  # the tiny config keeps the default encoder
    folder = tmp_path_factory.mktemp("cgan")
    results = {f: export(model, folder / f"cgan{s}", format=f) for f, s in FORMATS.items()}
    return model, {f: result.files for f, result in results.items()}


@pytest.fixture(scope="module")
def paper_contextual(pairs, tmp_path_factory):
    """The paper's configuration (no encoder, random candidates) at the tiny sizes."""
    sizes = ("image_size", "z_dim", "gf_dim", "df_dim", "search.n_init", "search.iterations")
    tiny = {k: TINY_CONFIGS["contextual_gan"][k] for k in sizes}
    torch.manual_seed(0)
    model = _trained_one_step(ContextualGAN(apply_overrides(ContextualGANConfig(), tiny)), pairs)
    assert model.encoder is None
    result = export(model, tmp_path_factory.mktemp("paper_cgan") / "cgan.pt", format="torchscript")
    return model, result


@pytest.mark.parametrize("format", list(FORMATS))
def test_contextual_gan_exports_g_d_and_its_encoder(contextual, pairs, format) -> None:
    model, files = contextual
    g_path, d_path, e_path = files[format]
    assert d_path == discriminator_path(g_path) and d_path.is_file()
    assert e_path == encoder_path(g_path) and e_path.is_file()
    z = model.sample_z(4, torch.Generator().manual_seed(2))
    with torch.no_grad():
        joint = model.search_generator()(z)
        logit = model.discriminator(joint)
    got_joint = run_exported(g_path, {"z": z.numpy()})["joint"]
    got_logit = run_exported(d_path, {"joint": joint.numpy()}, ["logit"])["logit"]
    np.testing.assert_allclose(got_joint, joint.numpy(), atol=1e-3)
    np.testing.assert_allclose(got_logit, logit.numpy(), atol=1e-3, rtol=1e-3)
    sketches = image_to_tensor(pairs.sketches[..., None])  # real sketches, batch 4
    known = sketches.expand(-1, 3, -1, -1).contiguous()  # as the search prepares them
    got_code = run_exported(e_path, {"known": known.numpy()}, ["z"])["z"]
    np.testing.assert_allclose(got_code, model.encode(sketches).numpy(), atol=1e-4)
    assert (
        np.abs(got_code).max() <= model.config.search.truncation + 1e-6
    )  # E's codes lie in [-t, t]


def test_side_file_names_the_encoder(contextual) -> None:
    model, files = contextual
    for g_path, _, e_path in files.values():
        spec = json.loads(side_file_path(g_path).read_text())
        encoder = spec["encoder"]
        assert encoder["file"] == e_path.name and encoder["bound"] == model.config.search.truncation
        assert encoder["inputs"][0]["shape"] == ["batch", 3, SIZE, SIZE]
        assert encoder["outputs"][0]["shape"] == ["batch", model.latent_dim]


def test_search_from_exported_files_matches_the_package_search(contextual, pairs) -> None:
    model, files = contextual
    candidates = np.random.default_rng(0).uniform(-1, 1, (3, 2, 8)).astype(np.float32)
    sketches = pairs.sketches[:3]
    reference = search(files["torchscript"][0], sketches, candidates=candidates, iterations=3)
    known = image_to_tensor(sketches[..., None])
    result = model.search(known, z_candidates=torch.from_numpy(candidates), iterations=3)
    _assert_same_search(reference, result)
    moved = np.abs(reference["z"][:, None] - candidates).max(axis=2).min(axis=1)
    assert (moved > 1e-6).all()  # the descent moved every code away from its initial candidate


def test_exported_search_starts_from_the_encoders_code_as_the_model(contextual, pairs) -> None:
    """No candidates: both searches start from E(sketch), so they give the same photos."""
    model, files = contextual
    sketches = pairs.sketches
    reference = search(files["torchscript"][0], sketches, iterations=3, seed=11)
    known = image_to_tensor(sketches[..., None])
    result = model.search(known, iterations=3)
    _assert_same_search(reference, result)
    start = search(files["torchscript"][0], sketches, iterations=0)["z"]
    np.testing.assert_allclose(start, model.encode(known).numpy(), atol=1e-5)


def test_paper_config_exports_g_and_d_and_searches_from_random_candidates(
    paper_contextual, pairs
) -> None:
    model, result = paper_contextual
    g_path = result.files[0]
    assert result.files == (g_path, discriminator_path(g_path))
    assert not encoder_path(g_path).exists() and "encoder" not in result.spec
    assert "encoder" not in json.loads(result.side_file.read_text())
    sketches = pairs.sketches[:3]
    reference = search(g_path, sketches, iterations=3, seed=4)
    shape = (3, model.config.search.n_init, model.latent_dim)  # what search() draws from its seed
    candidates = np.random.default_rng(4).uniform(-1, 1, shape).astype(np.float32)
    known = image_to_tensor(sketches[..., None])
    _assert_same_search(
        reference, model.search(known, z_candidates=torch.from_numpy(candidates), iterations=3)
    )
    other_seed = search(g_path, sketches, iterations=0, seed=5)["z"]
    assert not np.allclose(other_seed, search(g_path, sketches, iterations=0, seed=4)["z"])


@pytest.fixture(scope="module")
def refined_contextual(pairs, tmp_path_factory):
    """A tiny Contextual GAN with a completion refiner, exported in both formats."""
    torch.manual_seed(0)
    config = {**TINY_CONFIGS["contextual_gan"], "refiner_width": 4}
    model = _trained_one_step(build_model("contextual_gan", **config), pairs)
    folder = tmp_path_factory.mktemp("refined_cgan")
    results = {f: export(model, folder / f"cgan{s}", format=f) for f, s in FORMATS.items()}
    return model, results


@pytest.mark.parametrize("format", list(FORMATS))
def test_a_refiner_is_exported_beside_e_and_runs_as_the_models(refined_contextual, format):
    model, results = refined_contextual
    g_path, *_, r_path = results[format].files
    assert r_path == refiner_path(g_path) and r_path.is_file()
    spec = json.loads(results[format].side_file.read_text())
    assert spec["refiner"]["file"] == r_path.name
    rng = torch.Generator().manual_seed(3)
    photo_half = torch.rand(2, 3, SIZE, SIZE, generator=rng) * 2 - 1
    known = torch.where(torch.rand(2, 1, SIZE, SIZE, generator=rng) > 0.8, -1.0, 1.0)
    with torch.no_grad():
        want = model.refiner(photo_half, known).numpy()
    feeds = {"photo_half": photo_half.numpy(), "known": known.expand(-1, 3, -1, -1).numpy()}
    got = run_exported(r_path, feeds, ["photo"])["photo"]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_search_from_files_with_a_refiner_matches_the_package_search(refined_contextual, pairs):
    """The exported search passes its photo half with the sketch through the refiner, as the
    model's search does, and the refiner changes the photo."""
    model, results = refined_contextual
    sketches = pairs.sketches
    reference = search(results["torchscript"].files[0], sketches, iterations=3)
    known = image_to_tensor(sketches[..., None])
    result = model.search(known, iterations=3)
    _assert_same_search(reference, result)
    with torch.no_grad():
        unrefined = model.search_generator()(result.z_hat)[..., SIZE:]
    assert (unrefined - result.completion).abs().max() > 1e-2


def test_a_contextual_gan_export_whose_encoder_differs_is_refused(pairs, tmp_path, monkeypatch):
    """An encoder file that does not reproduce the model's E fails the check; nothing is left."""
    model = _trained("contextual_gan", pairs)

    def shifted_encoder(net: torch.nn.Module) -> torch.nn.Module:
        copy = portable_copy(net)
        if isinstance(net, SketchEncoder):
            copy.head.bias.data += 0.5  # before tanh: every code moves
        return copy

    monkeypatch.setattr(EXPORT_MODULE, "portable_copy", shifted_encoder)
    with pytest.raises(ExportError, match="exported E of contextual_gan differs"):
        export(model, tmp_path / "cgan.pt", format="torchscript")
    assert not list(tmp_path.iterdir())  # G, D, E and the side file all removed


def _assert_same_search(reference: dict, result) -> None:
    """The exported search's loss history, final codes and photos equal the package search's."""
    np.testing.assert_allclose(reference["contextual"], result.contextual.numpy(), rtol=1e-4)
    np.testing.assert_allclose(reference["z"], result.z_hat.numpy(), atol=1e-4)
    assert share_within(reference["photo"], tensor_to_image(result.completion)) >= 0.999


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("format", FORMATS)
def test_edgegan_with_a_resize_upsampling_refiner_exports(pairs, format, tmp_path) -> None:
    """``image_refiner_upsample="resize"`` (nearest doubling, then a convolution) exports as
    the transposed refiner does, and the file gives ``generate``'s images."""
    config = {**TINY_CONFIGS["edgegan"], "image_refiner_upsample": "resize"}
    torch.manual_seed(0)
    model = _trained_one_step(build_model("edgegan", **config, class_names=CLASSES), pairs)
    path = tmp_path / f"edgegan{FORMATS[format]}"
    export(model, path, format=format, check=False)
    labels = pairs.labels.tolist()
    expected = model.generate(pairs.sketches, seed=7, label=labels, outputs=True)
    actual = run_exported(path, exported_inputs(model, pairs.sketches, seed=7, label=labels))
    for name in model.output_names:
        assert share_within(actual[name], expected[name]) >= 0.999, name


def test_unknown_format_names_the_choices(tmp_path) -> None:
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    with pytest.raises(ExportError, match=r"'tflite'.*\['onnx', 'torchscript'\]"):
        export(model, tmp_path / "m.tflite", format="tflite")


def test_missing_onnxruntime_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)  # import fails
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    with pytest.raises(MissingDependencyError, match=r"onnxruntime.*sketchwidgets\[export\]"):
        export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_model_drawing_noise_inside_an_op_is_refused(tmp_path) -> None:
    """The paper's test protocol draws dropout masks inside the ops: not exportable.

    At 64 px the U-Net has a dropout level (none at 32 px)."""
    tiny = TINY_CONFIGS["pix2pix"] | {"image_size": 64, "paper_protocol_eval": True}
    model = build_model("pix2pix", **tiny).eval()
    with pytest.raises(ExportError, match="cannot export|does not reproduce generate"):
        export(model, tmp_path / "m.pt", format="torchscript")
    assert not list(tmp_path.iterdir())  # nothing half-made is left behind


# --------------------------------------------------------------------------- command line


def test_cli_export_writes_the_graph_and_its_side_file(tmp_path, capsys) -> None:
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    checkpoint = model.save(tmp_path / "model.pt")
    out = tmp_path / "out" / "p2p.pt"
    args = ["export", "--checkpoint", str(checkpoint), "--format", "torchscript", "--out", str(out)]
    assert cli.main(args) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "p2p.pt.json").read_text())["model"] == "pix2pix"
    assert cli.main([*args[:-1], str(tmp_path / "p2p.json")]) == cli.EXIT_BAD_INPUT
    assert "side file" in capsys.readouterr().err


def test_sw_export_is_the_export_call(tmp_path) -> None:
    model = build_model("pix2pix", **TINY_CONFIGS["pix2pix"])
    result = sw.export.to_torchscript(model, tmp_path / "m.pt", check=False)
    assert result.files == (tmp_path / "m.pt",) and result.side_file == tmp_path / "m.pt.json"
