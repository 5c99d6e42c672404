"""Run folders by mode, and reuse of a saved run only when its steps (and settings) match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sketchwidgets.models import build_model
from sketchwidgets.train.runs import (
    differing_settings,
    reuse_or_train,
    runs_folder,
    save_run,
    steps_record,
    trained_steps,
)


def tiny_trainer(calls: list[int], **settings):
    def train(steps: int):
        calls.append(steps)
        torch.manual_seed(steps)
        return build_model("pix2pix", **{"image_size": 32, "ngf": 4, "ndf": 4, **settings})

    return train


def test_fast_and_full_runs_go_to_their_own_folders(monkeypatch) -> None:
    monkeypatch.setenv("SKETCHWIDGETS_FAST", "1")
    assert runs_folder() == Path("runs/fast") and runs_folder("x") == Path("x/fast")
    monkeypatch.setenv("SKETCHWIDGETS_FAST", "0")
    assert runs_folder() == Path("runs/full")


def test_a_run_is_reused_only_for_the_same_steps(tmp_path, capsys) -> None:
    path, calls = tmp_path / "p2p" / "model.pt", []
    first = reuse_or_train(path, 4, tiny_trainer(calls))
    assert (
        calls == [4] and trained_steps(path) == 4 and "trained 4 steps" in capsys.readouterr().out
    )
    again = reuse_or_train(path, 4, tiny_trainer(calls))
    assert calls == [4] and f"loaded {path} (4 steps" in capsys.readouterr().out
    for mine, theirs in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(mine.cpu(), theirs.cpu())
    reuse_or_train(path, 200, tiny_trainer(calls))  # the other mode's steps: trained again
    assert calls == [4, 200] and trained_steps(path) == 200


@pytest.mark.parametrize("record", ["{not json", '{"steps": "4"}', "[]", None])
def test_a_missing_or_unreadable_record_means_training_again(tmp_path, record) -> None:
    path, calls = tmp_path / "model.pt", []
    save_run(tiny_trainer([])(4), path, 4)
    if record is None:
        steps_record(path).unlink()
    else:
        steps_record(path).write_text(record)
    assert trained_steps(path) is None
    reuse_or_train(path, 4, tiny_trainer(calls))
    assert calls == [4] and json.loads(steps_record(path).read_text())["steps"] == 4


def test_a_record_without_its_model_is_not_trusted(tmp_path) -> None:
    path = tmp_path / "model.pt"
    save_run(tiny_trainer([])(4), path, 4)
    path.unlink()
    assert trained_steps(path) is None


def test_a_run_saved_with_other_settings_is_trained_again(tmp_path, capsys) -> None:
    """A run an older notebook saved with another setting is not reused for this one; with the
    settings it was saved with, it is."""
    path, calls = tmp_path / "model.pt", []
    reuse_or_train(path, 4, tiny_trainer(calls, use_dropout=False))
    capsys.readouterr()
    asked = {"use_dropout": True, "ngf": 4}
    model = reuse_or_train(path, 4, tiny_trainer(calls, **asked), settings=asked)
    out = capsys.readouterr().out
    assert calls == [4, 4] and model.config.use_dropout
    assert f"{path} was trained with other settings (use_dropout=False): training again" in out
    reuse_or_train(path, 4, tiny_trainer(calls, **asked), settings=asked)
    assert calls == [4, 4] and f"loaded {path}" in capsys.readouterr().out


def test_a_dotted_setting_is_compared_with_the_nested_config() -> None:
    model = build_model("contextual_gan", image_size=32, gf_dim=4, df_dim=4)
    iterations = model.config.search.iterations
    assert differing_settings(model, {"search.iterations": iterations}) == []
    assert differing_settings(model, {"search.iterations": iterations + 1}) == [
        f"search.iterations={iterations!r}"
    ]
