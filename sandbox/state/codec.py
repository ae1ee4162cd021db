"""Dataclass trees to plain JSON and back, guided by their type hints, so the corp and kf state persist as they are."""

from __future__ import annotations

import random
import types
from collections import deque
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints


class StateDecodeError(ValueError):
    """The saved state does not have the shape the sandbox's model needs."""


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names, None for any other type: looked up once per class, not per object (a save walks
    every customer, message and log entry of the corp)."""
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
    return _FIELD_NAMES[cls]


def to_plain(value: object) -> object:
    """Enums become their values, bytes hex, dataclasses objects; dicts keyed by tuples become [key, value] pairs."""
    if isinstance(value, Enum):
        return value.value
    names = None if isinstance(value, type) else _field_names(type(value))
    if names is not None:
        return {name: to_plain(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: to_plain(item) for key, item in value.items()}
        return [[to_plain(key), to_plain(item)] for key, item in value.items()]
    if isinstance(value, list | tuple | deque | set):
        return [to_plain(item) for item in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def from_plain(hint: Any, data: object) -> Any:
    """The inverse of to_plain for a value of type `hint`; anything out of shape raises StateDecodeError."""
    try:
        return _decode(hint, data)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        if isinstance(error, StateDecodeError):
            raise
        raise StateDecodeError(f"{getattr(hint, '__name__', hint)}: {error}") from None


def _decode(hint: Any, data: object) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is object or hint is Any:
        return data
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        return _decode(next(arg for arg in args if arg is not type(None)), data)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(data)
    if isinstance(hint, type) and is_dataclass(hint):
        return _dataclass(hint, data)
    if origin is dict:
        return _dict(args[0], args[1], data)
    if origin in (list, deque, set):
        items = [_decode(args[0], item) for item in _sequence(data)]
        return origin(items)
    if origin is tuple:
        raw = _sequence(data)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in raw)
        if len(raw) != len(args):
            raise StateDecodeError(f"expected {len(args)} items, found {len(raw)}")
        return tuple(_decode(arg, item) for arg, item in zip(args, raw, strict=True))
    return _scalar(hint, data)


def _dataclass(hint: type, data: object) -> Any:
    if not isinstance(data, dict):
        raise StateDecodeError(f"{hint.__name__}: expected an object")
    hints = get_type_hints(hint)
    values = {f.name: _decode(hints[f.name], data[f.name]) for f in fields(hint) if f.name in data}
    return hint(**values)


def _dict(key_hint: Any, value_hint: Any, data: object) -> dict[Any, Any]:
    if key_hint is str:
        if not isinstance(data, dict):
            raise StateDecodeError("expected an object")
        return {key: _decode(value_hint, item) for key, item in data.items()}
    # An empty dict keyed by tuples is written as {} (to_plain cannot tell); anything else is a list of pairs.
    pairs = list(data.items()) if isinstance(data, dict) else _sequence(data)
    decoded: dict[Any, Any] = {}
    for pair in pairs:
        key, item = _sequence(pair)
        decoded[_decode(key_hint, key)] = _decode(value_hint, item)
    return decoded


def _sequence(data: object) -> list[Any]:
    if not isinstance(data, list | tuple):
        raise StateDecodeError("expected a list")
    return list(data)


def _scalar(hint: Any, data: object) -> Any:
    if hint is bytes:
        if not isinstance(data, str):
            raise StateDecodeError("expected hex text")
        return bytes.fromhex(data)
    if hint is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if hint is int and isinstance(data, bool):
        raise StateDecodeError("expected an integer")
    if hint in (int, str, bool) and isinstance(data, hint):
        return data
    raise StateDecodeError(f"expected {getattr(hint, '__name__', hint)}, found {type(data).__name__}")


RngState = tuple[int, tuple[int, ...], float | None]


def rng_snapshot(rng: random.Random, issued: set[str]) -> dict[str, object]:
    """A seeded id stream and the ids it issued, so ids drawn after a restart are new and still deterministic."""
    return {"rng": to_plain(rng.getstate()), "issued": sorted(issued)}


def rng_restore(rng: random.Random, data: object) -> set[str]:
    """Put the stream back where it was; returns the issued ids."""
    if not isinstance(data, dict):
        raise StateDecodeError("id stream: expected an object")
    rng.setstate(from_plain(RngState, data["rng"]))
    issued: list[str] = from_plain(list[str], data["issued"])
    return set(issued)
