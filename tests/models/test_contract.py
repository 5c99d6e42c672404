"""Every model in the registry through the whole contract (sketchwidgets/models/base.py).

For each name in ``MODELS`` (a tiny config from ``tiny_configs.TINY_CONFIGS``): build it with
the classes of a small labelled embedded dataset, train 2 steps with the Trainer and its
standard callbacks, save, load, generate with and without a seed, with an explicit z where the
model has one, every output, the class names and the training sketches' line statistics
through the checkpoint, and evaluate().
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from sketchwidgets.data.builtin import EmbeddedDataset
from sketchwidgets.drawing.line_stats import LineStats
from sketchwidgets.eval.metrics import evaluate
from sketchwidgets.models import MODELS, build_model, load_model
from sketchwidgets.models.base import ModelConfig, SketchModel
from sketchwidgets.train.callbacks import SampleGrid, default_callbacks
from sketchwidgets.train.trainer import Trainer, first_batches_line_stats
from tests.models.tiny_configs import TINY_CONFIGS

CLASSES = ("apple", "ball", "mug")
SIZE = 32


@pytest.fixture(scope="module")
def labelled() -> tuple[EmbeddedDataset, EmbeddedDataset]:
    """8 training and 4 held-out pairs of 3 classes at 32 px (labels 0, 1, 2, 0, ...)."""
    options = {"size": SIZE, "seed": 0, "classes": CLASSES, "val_fraction": 1 / 3, "workers": 1}
    return EmbeddedDataset(12, **options), EmbeddedDataset(12, split="val", **options)


def test_every_registered_model_has_a_tiny_config() -> None:
    missing = sorted(set(MODELS) - set(TINY_CONFIGS))
    assert not missing, f"add a tiny config to tests/models/tiny_configs.py for {missing}"
    assert sorted(TINY_CONFIGS) == sorted(MODELS), "tiny configs for unregistered models"


@pytest.fixture(scope="module", params=sorted(MODELS))
def trained(request, labelled, tmp_path_factory) -> tuple[SketchModel, SketchModel, object]:
    """(model trained 2 steps, the same model saved and loaded, the trainer)."""
    name = request.param
    if name not in TINY_CONFIGS:
        pytest.fail(f"no tiny config for registered model {name!r} in tests/models/tiny_configs.py")
    train, val = labelled
    torch.manual_seed(0)
    model = build_model(name, **TINY_CONFIGS[name], class_names=tuple(train.class_names))
    run_dir = tmp_path_factory.mktemp(name)
    callbacks = default_callbacks(run_dir, val_data=val, progress=False)
    trainer = Trainer(
        model, train, steps=2, batch_size=4, val_data=val, run_dir=run_dir,
        callbacks=callbacks, device="cpu", seed=0,
    )  # fmt: skip
    trainer.fit()
    path = model.save(run_dir / "model.pt")
    return model.eval(), load_model(path), trainer


def _sketch(labelled) -> np.ndarray:
    return labelled[1].sketches[0]  # uint8 (32, 32), dark ink on white


def test_training_ran_and_the_callbacks_saw_every_output(trained) -> None:
    model, _, trainer = trained
    assert trainer.step == 2
    steps = [r for r in trainer.history.records if r.get("step") == 2]
    assert steps and any(k.startswith(("G/", "D/")) for r in steps for k in r)
    grid = next(c for c in trainer.callbacks if isinstance(c, SampleGrid))
    rows = 2 + len(model.output_names)  # sketch, every output, photo
    assert grid.latest is not None and grid.latest.shape[0] >= rows * SIZE


def test_checkpoint_round_trip_keeps_weights_config_and_classes(trained) -> None:
    model, loaded, _ = trained
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    assert loaded.class_names == CLASSES and loaded.num_classes == len(CLASSES)
    assert isinstance(loaded.config.class_names, tuple)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, msg=key)


def test_generate_with_and_without_a_seed(trained, labelled) -> None:
    _, model, _ = trained
    sketch = _sketch(labelled)
    first = model.generate(sketch, seed=3, label="ball")
    assert first.shape == (SIZE, SIZE, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(model.generate(sketch, seed=3, label="ball"), first)
    unseeded = model.generate(sketch, label=1)
    assert unseeded.shape == (SIZE, SIZE, 3) and unseeded.dtype == np.uint8
    other_seed = model.generate(sketch, seed=4, label="ball")
    if model.has_noise:  # a re-roll is offered: it must be able to change the image
        assert not np.array_equal(other_seed, first)
    else:
        np.testing.assert_array_equal(other_seed, first)


def test_explicit_z(trained, labelled) -> None:
    _, model, _ = trained
    sketch = _sketch(labelled)
    if model.latent_dim == 0:
        with pytest.raises(ValueError, match="latent"):
            model.generate(sketch, z=torch.zeros(1, 4), label=0)
        return
    z = model.sample_z(1, torch.Generator().manual_seed(0))
    assert z.shape == (1, model.latent_dim)
    image = model.generate(sketch, z=z, label=0, seed=1)
    np.testing.assert_array_equal(model.generate(sketch, z=z, label=0, seed=2), image)
    other = model.generate(sketch, z=model.sample_z(1, torch.Generator().manual_seed(1)), label=0)
    assert not np.array_equal(other, image)
    with pytest.raises(ValueError, match=f"\\(1, {model.latent_dim}\\)"):
        model.generate(sketch, z=torch.zeros(1, model.latent_dim + 1), label=0)


RNG_METHODS = ("generate", "generate_tensor", "generate_outputs", "sample_z", "latent_codes")


def test_random_numbers_come_from_rng_and_generator_names_a_network(trained, labelled) -> None:
    """``rng`` is the torch.Generator every drawing method takes; ``generator`` is a network."""
    _, model, _ = trained
    for method in RNG_METHODS:
        parameters = inspect.signature(getattr(model, method)).parameters
        assert "rng" in parameters and "generator" not in parameters, method
    sketch = _sketch(labelled)
    seeded = model.generate(sketch, seed=3, label="ball")
    drawn = model.generate(sketch, rng=torch.Generator().manual_seed(3), label="ball")
    np.testing.assert_array_equal(drawn, seeded)
    if model.latent_dim:
        codes = [model.sample_z(2, rng=torch.Generator().manual_seed(0)) for _ in range(2)]
        assert torch.equal(*codes)
    networks = [n for n in model.network_names if n.endswith("generator")]
    assert networks, "every model names its generator network"
    for name in networks:
        assert isinstance(getattr(model, name), torch.nn.Module)
        assert any(key.startswith(f"{name}.") for key in model.state_dict())


def test_every_output_by_name(trained, labelled) -> None:
    _, model, _ = trained
    sketch = _sketch(labelled)
    outputs = model.generate(sketch, seed=5, label="mug", outputs=True)
    assert list(outputs) == list(model.output_names) and model.output_names[0] == "image"
    for image in outputs.values():
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(outputs["image"], model.generate(sketch, seed=5, label="mug"))


def test_bad_labels_name_the_known_classes(trained, labelled) -> None:
    _, model, _ = trained
    sketch = _sketch(labelled)
    with pytest.raises(ValueError, match="'apple'.*'ball'.*'mug'"):
        model.generate(sketch, label="zebra")
    with pytest.raises(ValueError, match="out of range.*'mug'"):
        model.generate(sketch, label=len(CLASSES))
    if model.needs_label:
        with pytest.raises(ValueError, match="needs a class label.*'apple'"):
            model.generate(sketch)


def test_evaluate_on_held_out_labelled_pairs(trained, labelled) -> None:
    _, model, _ = trained
    loader = DataLoader(labelled[1], batch_size=2)
    result = evaluate(model, loader, seed=0)
    assert result.protocol["n_images"] == len(labelled[1])
    assert {"ssim", "psnr", "l1"} <= set(result.metrics)
    assert all(np.isfinite(v) for v in result.metrics.values())
    again = evaluate(model, loader, seed=0)
    assert again.metrics == result.metrics


def test_class_names_are_a_tuple_config_field_of_every_model() -> None:
    for name, cls in MODELS.items():
        fields = {f.name: f for f in dataclasses.fields(cls.config_class)}
        assert "class_names" in fields, f"{name}'s config has no class_names"
        default = fields["class_names"].default
        assert isinstance(default, tuple), f"{name}: class_names should default to a tuple"
        assert bool(default) == cls.needs_label, f"{name}: classes by default iff it needs one"


def test_training_records_the_line_statistics_of_the_first_batches(trained, labelled) -> None:
    model, loaded, trainer = trained
    expected = first_batches_line_stats(labelled[0], SIZE, batch_size=4, seed=0, steps=2)
    assert isinstance(model.line_stats, LineStats) and model.line_stats == expected
    assert loaded.line_stats == expected  # saved with the config, loaded back
    thick = np.full((128, 128), 255, np.uint8)
    thick[30:98, 30:98] = 0
    thick[50:78, 50:78] = 255  # a square outline drawn with a pen 20 px wide
    seen = loaded.model_input(thick)
    assert seen.shape == (SIZE, SIZE) and seen.dtype == np.uint8
    assert not np.array_equal(seen, loaded.model_input(thick, normalise=False))


def test_every_config_derives_from_the_common_model_config() -> None:
    for name, cls in MODELS.items():
        assert issubclass(cls.config_class, ModelConfig), name
        assert cls.config_class().line_stats is None, name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cpu_inputs_reach_the_models_device(name) -> None:
    """A model on another device takes CPU sketches, labels and codes through its API.

    A notebook hands CPU tensors to a model the Trainer moved to CUDA; this machine has no
    GPU, so the model goes to PyTorch's ``meta`` device instead (shapes without data): a
    mismatch raises there as it would on CUDA. The Contextual GAN's search reads values (it
    checks the sketch and keeps the best candidate), which a meta tensor has not, so its
    encoder's code stands for it: the search starts from that code on the same device."""
    model = build_model(name, **TINY_CONFIGS[name], class_names=CLASSES).eval().to("meta")
    sketches = torch.zeros(2, 1, SIZE, SIZE)
    if name == "contextual_gan":
        codes = model.encode(sketches)
        assert codes.device.type == "meta" and codes.shape == (2, model.latent_dim)
        return
    label = torch.tensor([0, 1]) if model.needs_label else None
    outputs = model.generate_outputs(sketches, label=label, rng=torch.Generator().manual_seed(0))
    assert sorted(outputs) == sorted(model.output_names)
    assert all(o.device.type == "meta" and o.shape == (2, 3, SIZE, SIZE) for o in outputs.values())
    if model.latent_dim:
        z = torch.zeros(2, model.latent_dim)
        assert model.generate_tensor(sketches, label=label, z=z).device.type == "meta"
