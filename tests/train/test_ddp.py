"""DDP: `torchrun --nproc_per_node 2` (gloo, CPU) trains like one process with the same batch.

pix2pix is built with instance norm and without dropout, so that a step depends on the global
batch only: BatchNorm statistics and dropout masks are per rank (see train/distributed.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from sketchwidgets.models import build_model, load_model
from sketchwidgets.train.checkpoint import load_checkpoint
from sketchwidgets.train.history import History
from sketchwidgets.train.trainer import Trainer

STEPS, BATCH = 3, 4
SCRIPT = textwrap.dedent(
    f"""
    import sys, torch
    torch.set_num_threads(1)
    from sketchwidgets.data.builtin import EmbeddedDataset
    from sketchwidgets.models import build_model
    from sketchwidgets.train.trainer import Trainer

    torch.manual_seed(0)
    model = build_model("pix2pix", image_size=32, ngf=8, ndf=8, norm="instance",
                        use_dropout=False)
    train = EmbeddedDataset(24, size=32, val_fraction=0.25, workers=1)
    val = EmbeddedDataset(24, size=32, split="val", val_fraction=0.25, workers=1)
    trainer = Trainer(model, train, steps={STEPS}, batch_size={BATCH}, val_data=val,
                      run_dir=sys.argv[1], checkpoint_every=2, sample_every=2, validate_every=2)
    trainer.fit()
    assert trainer.dist.world_size == 2
    assert type(model.generator).__name__ == "UnetGenerator"  # unwrapped after fit
    """
)


def _model():
    torch.manual_seed(0)
    return build_model("pix2pix", image_size=32, ngf=8, ndf=8, norm="instance", use_dropout=False)


@pytest.mark.timeout(180)
def test_two_gloo_processes_match_one_process(tmp_path, embedded_train, embedded_val):
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(script),
        str(tmp_path / "ddp"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=170)
    assert result.returncode == 0, result.stderr[-4000:]

    single = Trainer(
        _model(),
        embedded_train,
        steps=STEPS,
        batch_size=BATCH,
        val_data=embedded_val,
        run_dir=tmp_path / "one",
        checkpoint_every=2,
        sample_every=2,
        validate_every=2,
    ).fit()
    ddp = History.from_jsonl(tmp_path / "ddp" / "history.jsonl")
    for name in ("G/gan", "G/l1", "D/real", "D/fake", "val/l1"):
        steps, values = ddp.series(name)
        assert steps.tolist() == single.series(name)[0].tolist(), name
        np.testing.assert_allclose(
            values, single.series(name)[1], rtol=1e-4, atol=1e-5, err_msg=name
        )

    # rank 0 alone wrote files; the checkpoint is a plain (unwrapped) model with both ranks' RNG
    assert sorted(p.name for p in (tmp_path / "ddp" / "samples").iterdir()) == [
        "step_000000.png",
        "step_000002.png",
        "step_000003.png",
    ]
    state = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "last.pt")
    assert state["step"] == STEPS and len(state["extra"]["rng_per_rank"]) == 2
    assert state["extra"]["trainer"]["world_size"] == 2
    # Same function, compared through outputs: the conv biases in front of instance norm get
    # gradients that are pure rounding noise, which Adam turns into +-lr steps on either side.
    sketches = torch.stack([embedded_val[i]["sketch"] for i in range(len(embedded_val))])
    outputs = [
        load_model(tmp_path / run / "checkpoints" / "last.pt").generate_tensor(sketches)
        for run in ("ddp", "one")
    ]
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-4)


def test_optional_networks_are_wrapped_when_built_and_skipped_when_not(tmp_path):
    """EdgeGAN's edge skips and image refiner and the Contextual GAN's encoder and refiner are
    wrapped like the other networks when the config builds them; a network the config leaves
    out stays None."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from sketchwidgets.train.distributed import unwrap_networks, wrap_networks

    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        tiny = {"image_size": 32, "gf_dim": 4, "df_dim": 4}
        models = {
            "with": build_model(
                "edgegan",
                **tiny,
                class_names=("a",),
                image_reads_edge=True,
                image_refiner_width=4,
                pair_l1_weight=1.0,
            ),  # fmt: skip
            "without": build_model("edgegan", **tiny, class_names=("a",)),
            "refined": build_model(
                "contextual_gan",
                **tiny,
                encoder_width=4,
                reconstruction_weight=1.0,
                refiner_width=4,
            ),  # fmt: skip
        }
        for model in models.values():
            wrap_networks(model, torch.device("cpu"))
        assert isinstance(models["with"].edge_skips, DistributedDataParallel)
        assert isinstance(models["with"].image_refiner, DistributedDataParallel)
        assert models["without"].edge_skips is None
        assert models["without"].image_refiner is None
        assert isinstance(models["refined"].refiner, DistributedDataParallel)
        assert isinstance(models["refined"].encoder, DistributedDataParallel)
        unwrap_networks(models["refined"])
        assert not isinstance(models["refined"].refiner, DistributedDataParallel)
    finally:
        dist.destroy_process_group()
