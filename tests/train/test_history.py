"""History: a pure record with a JSON-lines run log that survives a killed run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sketchwidgets.train.history import History, RunLogReader, RunLogWriter, ema, group_of


def _history() -> History:
    history = History()
    for step in range(1, 4):
        history.append(step, {"G/gan": 1.0 / step, "G/l1": 0.5, "D/real": 0.7}, time=float(step))
    history.append(3, {"val/l1": 0.25, "lr": 1e-3}, time=3.5)
    return history


def test_series_last_names_and_groups():
    history = _history()
    steps, values = history.series("G/gan")
    assert steps.dtype == np.int64 and steps.tolist() == [1, 2, 3]
    np.testing.assert_allclose(values, [1.0, 0.5, 1 / 3])
    assert history.series("val/l1")[0].tolist() == [3]
    assert history.series("unknown")[0].size == 0
    assert history.last("G/gan") == pytest.approx(1 / 3)
    assert history.names() == ["G/gan", "G/l1", "D/real", "val/l1", "lr"]
    assert history.groups() == {
        "G": ["G/gan", "G/l1"],
        "D": ["D/real"],
        "val": ["val/l1"],
        "other": ["lr"],
    }
    assert history.last_step == 3 and len(history) == 4


def test_last_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="'G/l2'.*G/l1"):
        _history().last("G/l2")


def test_reserved_names_are_rejected():
    with pytest.raises(ValueError, match="'step' is reserved"):
        History().append(1, {"step": 3.0})


def test_group_of():
    assert group_of("G/gan") == "G" and group_of("val/l1") == "val"
    assert group_of("loss") == "other" and group_of("/x") == "other"


def test_until_keeps_records_up_to_a_step():
    assert [r["step"] for r in _history().until(2)] == [1, 2]


def test_ema_smooths_and_skips_non_finite_values():
    np.testing.assert_allclose(ema([1.0, 2.0, 3.0], 0.0), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(ema([0.0, 1.0, 1.0], 0.5), [0.0, 0.5, 0.75])
    smoothed = ema([math.nan, 2.0, math.inf, 4.0], 0.5)
    assert math.isnan(smoothed[0])
    np.testing.assert_allclose(smoothed[1:], [2.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="alpha"):
        ema([1.0], 1.0)


def test_jsonl_round_trip_keeps_every_record_including_nan(tmp_path):
    history = _history()
    history.append(4, {"G/gan": math.nan}, time=4.0)
    path = history.to_jsonl(tmp_path / "history.jsonl")
    lines = path.read_text().splitlines()
    first = {"step": 1, "time": 1.0, "G/gan": 1.0, "G/l1": 0.5, "D/real": 0.7}
    assert json.loads(lines[0]) == first
    again = History.from_jsonl(path)
    assert again == history and again != _history()


def test_a_truncated_last_line_is_skipped_with_a_warning(tmp_path):
    path = _history().to_jsonl(tmp_path / "history.jsonl")
    with open(path, "a") as file:
        file.write('{"step": 4, "time": 4.0, "G/ga')  # the process died mid-write
    with pytest.warns(RuntimeWarning, match="truncated last line 5"):
        history = History.from_jsonl(path)
    assert history == _history()


def test_a_corrupt_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"step": 1, "a": 1}\nnot json\n{"step": 3, "a": 1}\n')
    with pytest.raises(ValueError, match=r"history.jsonl: line 2 is not valid JSON"):
        History.from_jsonl(path)
    path.write_text('{"a": 1}\n')
    with pytest.raises(ValueError, match="line 1 is not a history record"):
        History.from_jsonl(path)


def test_missing_run_log_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        History.from_jsonl(tmp_path / "nowhere.jsonl")


def test_writer_flushes_each_record_so_the_log_can_be_reread_while_open(tmp_path):
    path = tmp_path / "run" / "history.jsonl"
    history = History()
    with RunLogWriter(path) as writer:
        for step in (1, 2):
            writer.write(history.append(step, {"G/l1": float(step)}))
            assert History.from_jsonl(path) == history  # readable after every write


def test_writer_continues_a_log_and_cuts_a_truncated_last_line(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"step": 1, "time": 0.0, "a": 1.0}\n{"step": 2, "ti')
    with RunLogWriter(path) as writer:
        writer.write({"step": 2, "time": 0.0, "a": 2.0})
    assert History.from_jsonl(path).series("a")[1].tolist() == [1.0, 2.0]


def test_reader_polls_only_new_complete_lines(tmp_path):
    path = tmp_path / "history.jsonl"
    reader = RunLogReader(path)
    assert reader.poll() == []  # no file yet
    path.write_text('{"step": 1, "a": 1.0}\n{"step": 2, "a"')
    assert [r["step"] for r in reader.poll()] == [1]
    assert reader.poll() == []  # the half-written line waits
    with open(path, "a") as file:
        file.write(': 2.0}\n{"step": 3, "a": 3.0}\n')
    assert [r["step"] for r in reader.poll()] == [2, 3]
    with open(path, "a") as file:
        file.write("garbage\n")
    with pytest.raises(ValueError, match="line 4"):
        reader.poll()
