"""Settings shared by the whole package: fast mode, dataclass <-> dict, `key=value` overrides.

Fast mode (``SKETCHWIDGETS_FAST=1``) shrinks steps and sizes so that notebooks and CI run
through exactly the same code path as a full run, only smaller.

A config field that names a file (a config class lists them in ``path_fields``, e.g.
SketchyGAN's ``perceptual_weights``) is a setting the user gives each time: a config read back
from a checkpoint never points at a file (:func:`stored_config`).
"""

from __future__ import annotations

import dataclasses
import os
import typing
import warnings
from typing import Any, TypeVar

FAST_ENV = "SKETCHWIDGETS_FAST"
T = TypeVar("T")


def fast_mode_enabled() -> bool:
    """True when ``SKETCHWIDGETS_FAST`` is set to a true value (1, true, yes)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise (for notebook parameters)."""
    return fast if fast_mode_enabled() else full


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) config dataclass."""
    return dataclasses.asdict(config)


def config_from_dict(cls: type[T], values: dict[str, Any]) -> T:
    """Build ``cls`` from a dict, rejecting unknown keys with a message that lists known ones."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise KeyError(f"unknown {cls.__name__} key(s) {unknown}; known keys: {sorted(known)}")
    tuples, nested = _tuple_fields(cls), _dataclass_fields(cls)
    built = {}
    for key, value in values.items():
        if key in tuples and isinstance(value, list):
            value = tuple(value)
        elif key in nested and isinstance(value, dict):
            value = config_from_dict(nested[key], value)
        built[key] = value
    return cls(**built)


class StoredPathIgnored(UserWarning):
    """A config read from a file named a file; that setting was left at its default."""


def stored_paths(cls: type, values: Any) -> dict[str, Any]:
    """``{field: value}`` of the file-naming fields (``cls.path_fields``) that ``values`` sets."""
    if not isinstance(values, dict):
        return {}
    return {k: values[k] for k in getattr(cls, "path_fields", ()) if values.get(k)}


def stored_config(cls: type[T], values: dict[str, Any], source: str | os.PathLike) -> T:
    """:func:`config_from_dict` for a config read from ``source`` (a checkpoint): the fields
    that name files are ignored, with a :class:`StoredPathIgnored` warning saying which."""
    named = stored_paths(cls, values)
    if named:
        settings = ", ".join(f"{k}={v!r}" for k, v in named.items())
        warnings.warn(
            f"{source}: ignored {settings} stored in it (a checkpoint may not point at files); "
            f"to use it, give it yourself (train --set {next(iter(named))}=FILE)",
            StoredPathIgnored,
            stacklevel=2,
        )
        values = {k: v for k, v in values.items() if k not in named}
    return config_from_dict(cls, values)


def _tuple_fields(cls: type) -> set[str]:
    """Names of the fields annotated as tuples (a checkpoint or JSON stores them as lists)."""
    hints = typing.get_type_hints(cls)
    return {
        name for name, hint in hints.items() if hint is tuple or typing.get_origin(hint) is tuple
    }


def _dataclass_fields(cls: type) -> dict[str, type]:
    """The fields annotated as a dataclass (or ``X | None``): their dataclass, by name."""
    found = {}
    for name, hint in typing.get_type_hints(cls).items():
        options = typing.get_args(hint) or (hint,)
        kinds = [k for k in options if isinstance(k, type) and dataclasses.is_dataclass(k)]
        if kinds:
            found[name] = kinds[0]
    return found


def _coerce(text: str, annotation: Any, key: str) -> Any:
    """Turn the string ``text`` into the type named by a dataclass field annotation.

    A tuple field takes comma-separated items (``class_names=cat,dog``; empty text: ``()``).
    """
    if typing.get_origin(annotation) is tuple:
        item = next((a for a in typing.get_args(annotation) if a is not Ellipsis), str)
        return tuple(_coerce(part.strip(), item, key) for part in text.split(",") if part.strip())
    kind = annotation if isinstance(annotation, type) else None
    if isinstance(annotation, str):
        kind = {"int": int, "float": float, "bool": bool, "str": str}.get(annotation)
    if kind is None:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        kind = args[0] if args and isinstance(args[0], type) else str
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"{key}={text!r}: expected a boolean (true/false)")
    try:
        return kind(text)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{key}={text!r}: expected {kind.__name__}") from error


def apply_overrides(config: T, overrides: list[str] | dict[str, Any]) -> T:
    """Return a copy of a dataclass ``config`` with ``key=value`` overrides, type-checked.

    ``overrides`` is a list of ``"key=value"`` strings (from ``--set``) or a dict.
    An unknown key raises ``KeyError`` naming the known keys.
    """
    if isinstance(overrides, dict):
        pairs = [(k, v) for k, v in overrides.items()]
    else:
        pairs = []
        for item in overrides:
            if "=" not in item:
                raise ValueError(f"override {item!r} is not of the form key=value")
            key, value = item.split("=", 1)
            pairs.append((key.strip(), value))
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for key, value in pairs:
        if key not in fields:
            raise KeyError(
                f"unknown {type(config).__name__} key {key!r}; known keys: {sorted(fields)}"
            )
        changes[key] = _coerce(value, hints[key], key) if isinstance(value, str) else value
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]
