"""Widgets given what they cannot use: one typed error naming it, never a raw traceback from
deep inside; float sketches follow generate()'s rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sketchwidgets.train.history import History
from sketchwidgets.widgets import CompareView, DatasetBrowser, LossPanel, SketchStudio


def line_sketch(size: int = 64) -> np.ndarray:
    sketch = np.full((size, size), 255, np.uint8)
    sketch[:, size // 2 - 2 : size // 2 + 2] = 0
    return sketch


@pytest.mark.parametrize("make", [CompareView, SketchStudio], ids=["CompareView", "SketchStudio"])
def test_a_value_that_is_not_a_model_is_refused(make, echo):
    with pytest.raises(TypeError, match=r"models\['b'\] is a str, not a SketchModel"):
        make({"a": echo, "b": "pretrained:pix2pix/classroom"})
    with pytest.raises(TypeError, match=r"models must be a \{name: SketchModel\} dict, got Echo"):
        make(echo)
    with pytest.raises(TypeError, match="got list"):
        make([echo])


@pytest.mark.parametrize(
    "value, says",
    [
        (None, "sketch 0 is None: pass a drawing"),
        ("sketch.png", r"sketch 0 is a path \('sketch.png'\), not an image: read the file first"),
        (Path("sketch.png"), r"sketch 0 is a path \('sketch.png'\)"),
    ],
    ids=["None", "str", "Path"],
)
def test_compare_view_update_refuses_none_and_paths(echo, value, says):
    view = CompareView({"echo": echo})
    with pytest.raises(TypeError, match=says):
        view.update(value)


def test_compare_view_takes_float_sketches_by_generates_rule(echo):
    view = CompareView({"echo": echo})
    view.update(line_sketch())
    expected = view.images["echo"]
    view.update(line_sketch().astype(np.float32) / 127.5 - 1.0)
    np.testing.assert_array_equal(view.images["echo"], expected)
    view.update(torch.from_numpy(line_sketch().astype(np.float32) / 127.5 - 1.0)[None])
    np.testing.assert_array_equal(view.images["echo"], expected)
    with pytest.raises(ValueError, match=r"from 0 to 255: a float sketch must lie in \[-1, 1\]"):
        view.update(line_sketch().astype(np.float32))
    np.testing.assert_array_equal(view.images["echo"], expected)  # the refused one changed nothing


@pytest.mark.parametrize("path", ["data/pairs", Path("data/pairs")], ids=["str", "Path"])
def test_dataset_browser_refuses_a_path(path):
    with pytest.raises(TypeError, match="takes a dataset, not the path 'data/pairs'.*open_dataset"):
        DatasetBrowser(path)
    with pytest.raises(TypeError, match="got int"):
        DatasetBrowser(3)


def test_loss_panel_refuses_one_string_as_run_dirs(tmp_path):
    History([{"step": 1, "G/l1": 0.5}]).to_jsonl(tmp_path / "history.jsonl")
    with pytest.raises(TypeError, match=r"run_dirs takes a list of run folders.*from_run_dir"):
        LossPanel(run_dirs=str(tmp_path))
    assert list(LossPanel(run_dirs=[str(tmp_path)]).runs) == [tmp_path.name]


def test_loss_panel_names_the_file_and_line_of_a_non_number(tmp_path):
    log = tmp_path / "history.jsonl"
    log.write_text('{"step": 1, "G/l1": 0.5}\n{"step": 2, "G/l1": "oops"}\n')
    with pytest.raises(ValueError, match=rf"{log}: line 2: 'G/l1' is 'oops', not a number"):
        LossPanel(run_dirs=[tmp_path])
