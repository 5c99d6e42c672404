"""Where the public data sets are looked for, hiding them, and the lesson line."""

from __future__ import annotations

import pytest

from sketchwidgets.data.shared import data_roots, find_shared_data, shared_data_folder
from sketchwidgets.train.lesson import device_description, lesson_setup


def test_the_environment_folder_is_searched_first(tmp_path, monkeypatch) -> None:
    (tmp_path / "edges2shoes_subset").mkdir()
    monkeypatch.setenv("SKETCHWIDGETS_DATA", str(tmp_path))
    assert data_roots()[0] == tmp_path
    assert find_shared_data("edges2shoes_subset") == (tmp_path / "edges2shoes_subset").resolve()
    unknown = "no_such_set"  # a name, not a data set (docs/data.md lists the real ones)
    assert find_shared_data(unknown) is None


def test_none_hides_every_folder(monkeypatch) -> None:
    monkeypatch.setenv("SKETCHWIDGETS_DATA", "none")
    assert data_roots() == [] and find_shared_data("cufs_train") is None
    with pytest.raises(FileNotFoundError, match=r"'cufs_train' not found.*docs/data.md"):
        shared_data_folder("cufs_train")


def test_the_lesson_line_names_device_mode_and_data(tmp_path, monkeypatch, capsys) -> None:
    missing, present = "not_here", "made_here"  # names of this test's own folders
    (tmp_path / present).mkdir()
    monkeypatch.setenv("SKETCHWIDGETS_DATA", str(tmp_path))
    monkeypatch.setenv("SKETCHWIDGETS_FAST", "1")
    assert lesson_setup(missing, present) == (tmp_path / present).resolve()
    line = capsys.readouterr().out.strip()
    assert (
        line.startswith(f"device: {device_description()} |")
        and "| mode: fast (SKETCHWIDGETS_FAST=1) |" in line
    )
    assert line.endswith(f"| data: {present}")
    monkeypatch.setenv("SKETCHWIDGETS_DATA", "none")
    monkeypatch.delenv("SKETCHWIDGETS_FAST")
    assert lesson_setup(present) is None
    line = capsys.readouterr().out.strip()
    assert (
        "| mode: full |" in line and f"{present} not found, so the embedded set stands in" in line
    )
