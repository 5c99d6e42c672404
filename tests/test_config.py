from dataclasses import dataclass

import pytest

from sketchwidgets.config import apply_overrides, config_from_dict, fast_mode_enabled, pick


@dataclass(frozen=True)
class Example:
    steps: int = 10
    lr: float = 1e-3
    name: str = "a"
    flip: bool = True


def test_fast_mode_follows_environment(monkeypatch):
    monkeypatch.setenv("SKETCHWIDGETS_FAST", "1")
    assert fast_mode_enabled() and pick(100, 2) == 2
    monkeypatch.setenv("SKETCHWIDGETS_FAST", "0")
    assert not fast_mode_enabled() and pick(100, 2) == 100


def test_overrides_are_type_checked():
    config = apply_overrides(Example(), ["steps=5", "lr=0.5", "name=b", "flip=false"])
    assert config == Example(steps=5, lr=0.5, name="b", flip=False)
    with pytest.raises(ValueError, match="steps='x'"):
        apply_overrides(Example(), ["steps=x"])
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(Example(), ["steps"])


def test_unknown_key_names_the_known_ones():
    with pytest.raises(KeyError, match="known keys: .*'lr'"):
        apply_overrides(Example(), ["lrr=1"])
    with pytest.raises(KeyError, match="unknown Example key"):
        config_from_dict(Example, {"bogus": 1})
