"""JSON for values the SDK stores or sends on the plugin's behalf (KV values, cluster events).

Encoding is compact (``,`` and ``:``, like Go's ``json.Marshal``) and deterministic for a given
value, so compare-and-set on encoded values works. Dataclasses (the generated models and the
plugin's own), ``datetime`` (RFC 3339; a ``GoTime`` with its nanoseconds), ``bytes`` (base64, as
Go encodes ``[]byte``), enums, sets and tuples are encoded too; objects with ``model_dump``
(pydantic) are dumped in JSON mode. ``decode_as`` turns JSON back into a requested type:
dataclasses field by field (recursively, by their type hints), pydantic models through
``model_validate``, containers element by element.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import re
import types
import typing
from typing import Any, TypeVar, Union, cast

from mmplugin import _values

_T = TypeVar("_T")


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value, key=repr)]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.datetime):
        return _isoformat(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(
        f"cannot encode a {type(value).__name__} as JSON: use dicts, lists, str, int, float, "
        "bool, None, dataclasses or pydantic models (or pass bytes to store them as they are)"
    )


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``."""
    return json.dumps(
        to_jsonable(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def decode(data: bytes) -> Any:
    return json.loads(data)


def decode_as(data: Any, tp: type[_T] | Any, where: str = "value") -> _T:
    """Plain JSON data converted into ``tp``; ``TypeError`` names ``where`` on a mismatch."""
    return cast(_T, _as(data, tp, where))


def _as(data: Any, tp: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _as(data, arg, where)
            except TypeError:
                continue
        raise _mismatch(where, tp, data)
    if origin in (list, set, frozenset, tuple) or tp in (list, set, frozenset, tuple):
        if not isinstance(data, list):
            raise _mismatch(where, tp, data)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(data) != len(args):
                raise _mismatch(where, tp, data)
            items = enumerate(zip(data, args, strict=True))
            return tuple(_as(v, a, f"{where}[{i}]") for i, (v, a) in items)
        item = args[0] if args else Any
        return (origin or tp)(_as(v, item, f"{where}[{i}]") for i, v in enumerate(data))
    if origin is dict or tp is dict:
        if not isinstance(data, dict):
            raise _mismatch(where, tp, data)
        vt = args[1] if len(args) == 2 else Any
        return {k: _as(v, vt, f"{where}.{k}") for k, v in data.items()}
    if not isinstance(tp, type):
        return data
    if dataclasses.is_dataclass(tp):
        return _dataclass(data, tp, where)
    validate = getattr(tp, "model_validate", None)
    if callable(validate):
        return validate(data)
    if issubclass(tp, enum.Enum):
        return tp(data)
    if tp is bytes:
        if isinstance(data, str):
            return base64.b64decode(data)
        raise _mismatch(where, tp, data)
    if tp is dt.datetime:
        if isinstance(data, str):
            return _fromisoformat(data)
        raise _mismatch(where, tp, data)
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if isinstance(data, tp) and not (tp is int and isinstance(data, bool)):
        return data
    raise _mismatch(where, tp, data)


def _isoformat(value: dt.datetime) -> str:
    """ISO 8601; a GoTime's nanoseconds make the fraction 9 digits (RFC 3339, as Go writes)."""
    text = value.isoformat()
    nanos = getattr(value, "nanosecond", 0)
    if not nanos:
        return text
    head, _, rest = (
        text.partition(".") if "." in text[19:] else (text[:19], "", "000000" + text[19:])
    )
    return f"{head}.{rest[:6]}{nanos:03d}{rest[6:]}"


# A fraction of 7-9 digits (Go's nanoseconds), which datetime.fromisoformat truncates.
_NANO_FRACTION = re.compile(r"(\.\d{6})(\d{1,3})(?!\d)")


def _fromisoformat(text: str) -> dt.datetime:
    text = text.replace("Z", "+00:00")
    match = _NANO_FRACTION.search(text, 19)
    if match is None:
        return dt.datetime.fromisoformat(text)
    value = dt.datetime.fromisoformat(text[: match.start(2)] + text[match.end(2) :])
    nanos = int(match.group(2).ljust(3, "0"))
    return _values.GoTime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, value.tzinfo, nanosecond=nanos,
    ) if nanos else value  # fmt: skip


def _dataclass(data: Any, tp: type, where: str) -> Any:
    if not isinstance(data, dict):
        raise _mismatch(where, tp, data)
    hints = typing.get_type_hints(tp)
    kwargs = {}
    for f in dataclasses.fields(tp):
        if f.name in data and f.init:
            kwargs[f.name] = _as(data[f.name], hints.get(f.name, Any), f"{where}.{f.name}")
    return tp(**kwargs)


def _mismatch(where: str, tp: Any, data: Any) -> TypeError:
    name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
    return TypeError(f"{where}: expected {name}, got {type(data).__name__} {data!r:.80}")
