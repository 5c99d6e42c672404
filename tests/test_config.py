from dataclasses import dataclass

import pytest

from sketchwidgets.config import apply_overrides, config_from_dict, fast_mode_enabled, pick


@dataclass(frozen=True)
class Example:
    steps: int = 10
    lr: float = 1e-3
    name: str = "a"
    flip: bool = True
    class_names: tuple[str, ...] = ()
    sizes: tuple[int, ...] = (1, 2)


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


def test_tuple_fields_come_back_as_tuples_from_lists_and_override_text():
    config = config_from_dict(Example, {"class_names": ["cat", "dog"], "sizes": [3]})
    assert config.class_names == ("cat", "dog") and config.sizes == (3,)
    assert config == Example(class_names=("cat", "dog"), sizes=(3,))  # hashable, comparable
    config = apply_overrides(Example(), ["class_names=cat, dog", "sizes=4,5"])
    assert config.class_names == ("cat", "dog") and config.sizes == (4, 5)
    assert apply_overrides(config, ["class_names="]).class_names == ()
    with pytest.raises(ValueError, match="sizes='x'"):
        apply_overrides(Example(), ["sizes=1,x"])
