"""Settings shared by the whole package: fast mode, dataclass <-> dict, `key=value` overrides.

Fast mode (``SKETCHWIDGETS_FAST=1``) shrinks steps and sizes so that notebooks and CI run
through exactly the same code path as a full run, only smaller.

A config field that names a file (a config class lists them in ``path_fields``, e.g.
SketchyGAN's ``perceptual_weights``) is a setting the user gives each time: a config read back
from a checkpoint never points at a file (:func:`stored_config`).

A config may hold another frozen dataclass (Contextual GAN's ``search``): it is stored as a
nested dict, and ``--set`` reaches its fields by a dotted key (``search.iterations=20``).
A config read back from a file written before a field moved or went away is upgraded first
(:func:`upgraded`, from the class's ``renamed_fields`` and ``retired_fields``).
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


def plain_config(value: Any) -> Any:
    """Tuples as lists, recursively: a config (or one of its values) as a checkpoint stores it
    (JSON-like), so that a stored value and a live one compare equal."""
    if isinstance(value, dict):
        return {k: plain_config(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_config(v) for v in value]
    return value


def config_from_dict(cls: type[T], values: dict[str, Any]) -> T:
    """Build ``cls`` from a (possibly nested) dict, rejecting unknown keys with a message that
    lists known ones; a dict stored by an older version is read through :func:`upgraded`."""
    values = upgraded(cls, values)
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


class RetiredSetting(ValueError):
    """A stored config sets a field this version no longer has to a value it cannot honour."""


def upgraded(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a config as an older version stored it) in the form ``cls`` reads.

    ``cls.renamed_fields`` maps an old key to where the field lives now, a name or a dotted
    path into a nested config (``{"search_iters": "search.iterations"}``); a key stored under
    both names keeps the new one. ``cls.retired_fields`` maps a removed field to the value that
    behaves as this version does: a stored key with that value is dropped, any other value
    raises :class:`RetiredSetting` naming it.
    """
    renamed: dict[str, str] = getattr(cls, "renamed_fields", {})
    retired: dict[str, Any] = getattr(cls, "retired_fields", {})
    if not isinstance(values, dict) or not (set(values) & (set(renamed) | set(retired))):
        return values
    current = {k: v for k, v in values.items() if k not in renamed and k not in retired}
    for key in sorted(set(values) & set(retired)):
        if values[key] != retired[key]:
            raise RetiredSetting(
                f"{key}={values[key]!r}: this setting was removed from {cls.__name__} "
                f"(only {retired[key]!r}, what this version does, can be read)"
            )
    for key in sorted(set(values) & set(renamed)):
        *parents, name = renamed[key].split(".")
        node = current
        for parent in parents:
            inner = node.get(parent, {})
            if not isinstance(inner, dict):  # the nested config given whole: it wins
                break
            node[parent] = dict(inner)  # a copy: the caller's dict stays as it was
            node = node[parent]
        else:
            node.setdefault(name, values[key])
    return current


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

    ``overrides`` is a list of ``"key=value"`` strings (from ``--set``) or a dict. A dotted key
    sets a field of a nested config (``search.iterations=20``). An unknown key raises
    ``KeyError`` naming the known keys (or the new name of a renamed one).
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
    changes: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in pairs:
        head, dot, rest = key.partition(".")
        _check_key(config, head if dot else key, hints, nested=bool(dot))
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            changes[key] = _coerce(value, hints[key], key) if isinstance(value, str) else value
    for head, inner in nested.items():
        changes[head] = apply_overrides(changes.get(head, getattr(config, head)), inner)
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


def _check_key(config: Any, key: str, hints: dict[str, Any], nested: bool) -> None:
    """Raise ``KeyError`` unless ``key`` is a field of ``config`` (one holding a nested config,
    when ``nested``), naming the field's new key when it was renamed."""
    cls = type(config)
    renamed = getattr(cls, "renamed_fields", {})
    if key in renamed:
        raise KeyError(f"{cls.__name__} key {key!r} is now {renamed[key]!r}")
    fields = {f.name for f in dataclasses.fields(config)}
    if key not in fields or (nested and not dataclasses.is_dataclass(hints[key])):
        raise KeyError(f"unknown {cls.__name__} key {key!r}; known keys: {known_keys(config)}")


def known_keys(config: Any) -> list[str]:
    """The keys ``--set`` takes for ``config``, sorted: its fields, and a nested config's
    fields as dotted keys (``search.iterations``)."""
    keys = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            keys += [f"{f.name}.{inner}" for inner in known_keys(value)]
        else:
            keys.append(f.name)
    return sorted(keys)
