from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from sketchwidgets.config import (
    RetiredSetting,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    fast_mode_enabled,
    pick,
    upgraded,
)


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


@dataclass(frozen=True)
class Inner:
    iterations: int = 10
    blur: float = 1.5


@dataclass(frozen=True)
class Outer:
    lr: float = 1e-3
    search: Inner = field(default_factory=Inner)
    renamed_fields: ClassVar[dict[str, str]] = {
        "search_iters": "search.iterations",
        "contextual_blur": "search.blur",
    }
    retired_fields: ClassVar[dict[str, Any]] = {"old_switch": False}


def test_a_nested_config_round_trips_through_a_dict():
    config = Outer(lr=0.5, search=Inner(iterations=3))
    stored = config_to_dict(config)
    assert stored == {"lr": 0.5, "search": {"iterations": 3, "blur": 1.5}}
    assert config_from_dict(Outer, stored) == config
    with pytest.raises(KeyError, match=r"unknown Inner key\(s\) \['iters'\]"):
        config_from_dict(Outer, {"search": {"iters": 3}})


def test_dotted_overrides_set_a_nested_field_type_checked():
    config = apply_overrides(Outer(), ["search.iterations=20", "lr=0.1"])
    assert config == Outer(lr=0.1, search=Inner(iterations=20))
    assert apply_overrides(config, {"search.blur": 0.0}).search == Inner(iterations=20, blur=0.0)
    with pytest.raises(ValueError, match="iterations='x': expected int"):
        apply_overrides(Outer(), ["search.iterations=x"])
    with pytest.raises(KeyError, match=r"unknown Inner key 'iters'; known keys: \['blur', 'it"):
        apply_overrides(Outer(), ["search.iters=1"])
    with pytest.raises(KeyError, match=r"known keys: \['lr', 'search.blur', 'search.iterations'\]"):
        apply_overrides(Outer(), ["lr.x=1"])  # lr holds no nested config


def test_an_old_flat_name_in_an_override_names_its_new_key():
    with pytest.raises(KeyError, match="Outer key 'search_iters' is now 'search.iterations'"):
        apply_overrides(Outer(), ["search_iters=20"])


def test_a_config_stored_under_old_names_is_read_in_the_new_form():
    stored = {"lr": 0.5, "search_iters": 1000, "contextual_blur": 0.0, "old_switch": False}
    config = config_from_dict(Outer, stored)
    assert config == Outer(lr=0.5, search=Inner(iterations=1000, blur=0.0))
    assert stored["search_iters"] == 1000 and "search" not in stored  # the caller's dict kept
    partly_new = {"search": {"blur": 2.0}, "search_iters": 7}
    assert config_from_dict(Outer, partly_new).search == Inner(iterations=7, blur=2.0)
    assert partly_new == {"search": {"blur": 2.0}, "search_iters": 7}
    both = {"search": {"iterations": 5}, "search_iters": 7}  # both names: the new one wins
    assert config_from_dict(Outer, both).search.iterations == 5


def test_a_retired_field_is_dropped_at_its_value_and_refused_at_any_other():
    assert upgraded(Outer, {"old_switch": False}) == {}
    with pytest.raises(
        RetiredSetting, match="old_switch=True: this setting was removed from Outer"
    ):
        config_from_dict(Outer, {"old_switch": True})
