"""The library's records as JSON documents and back: one encoding for the CLI's ``--json``,
the service's answers and the client that reads them.

A record says how it is written through its ``to_dict``; :func:`from_doc` reads
such a document back into the record by the record's own field types, so the
CLI prints the same thing whether the farm answered in this process or over HTTP.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def to_doc(value: Any) -> Any:
    """``value`` as JSON types; the library's records say how through their ``to_dict``."""
    if hasattr(value, "to_dict"):
        return to_doc(value.to_dict())
    if isinstance(value, dict):
        return {k: to_doc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_doc(v) for v in value]
    return value


def from_doc(cls: type[T], doc: Any) -> T:
    """The record of type ``cls`` that ``doc`` (its ``to_dict``) describes.

    Keys the record lacks are ignored (a newer server may say more); a field
    the document leaves out takes the record's default.

    Raises:
        ValueError: ``doc`` does not describe a ``cls``.
    """
    return _convert(cls, doc, cls.__name__)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                try:
                    return _convert(option, value, where)
                except ValueError:
                    continue
        raise ValueError(f"{where}: {value!r} is none of {kind}")
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
        hints = _hints(kind)
        fields = {f.name: _convert(hints[f.name], value[f.name], f"{where}.{f.name}")
                  for f in dataclasses.fields(kind) if f.name in value}
        try:
            return kind(**fields)
        except TypeError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if origin in (list, tuple, Sequence) or kind in (list, tuple):
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
        args = [a for a in typing.get_args(kind) if a is not Ellipsis] or [Any]
        items = [_convert(args[0], v, f"{where}[]") for v in value]
        return tuple(items) if origin is tuple or kind is tuple else items
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
        args = typing.get_args(kind) or (Any, Any)
        return {str(k): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind in (int, str, bool):
        if type(value) is kind:
            return value
    elif isinstance(kind, type) and isinstance(value, kind):
        return value
    raise ValueError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
