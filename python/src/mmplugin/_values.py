"""Go ``any`` values (the ``Value`` message) as plain Python data, and back.

Go → Python:

- nil → ``None``; bool, string, ``[]byte`` → ``bool``, ``str``, ``bytes``;
- int64 → ``int``, float64 → ``float``, ``[]any`` → ``list``, ``map[string]any`` → ``dict``;
- the other Go types keep their identity in a subclass that behaves like the builtin, so that a
  value passed through a plugin unchanged goes back with the same Go type: Go ``int`` →
  ``GoInt``, ``int32`` → ``GoInt32``, ``uint64`` → ``GoUint64``, ``float32`` → ``GoFloat32``,
  ``[]string`` → ``GoStringList``, ``map[string]string`` → ``GoStringMap``;
- ``time.Time`` → an aware ``datetime`` in UTC (microseconds; Go has nanoseconds);
- a model type Mattermost registers with gob (``[]*model.SlackAttachment``,
  ``*model.AutocompleteTextArg``, ...) → the generated dataclass (or a list of them).

Python → Go: ``int`` → int64 (``uint64`` above the int64 range), ``float`` → float64, ``str``,
``bytes``/``bytearray``/``memoryview`` → ``[]byte``, ``list``/``tuple`` → ``[]any``, ``dict`` with
``str`` keys → ``map[string]any``, ``datetime`` → ``time.Time`` (a naive datetime is taken as UTC),
the subclasses above → their Go type, registered dataclasses → their Go type. Anything else
raises ``TypeError`` naming the type (Mattermost's gob RPC rejects such values too).

A typed nil (``[]any(nil)``, ``map[string]string(nil)``, ...) reads as ``None`` and goes back as an
untyped nil.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from mmplugin.v1 import models_pb2 as _m

__all__ = [
    "GO_ZERO_TIME",
    "GoFloat32",
    "GoInt",
    "GoInt32",
    "GoStringList",
    "GoStringMap",
    "GoUint64",
    "TypedCodec",
    "config_from_json",
    "from_pb",
    "key_values_to_pb",
    "register_typed_codecs",
    "time_from_pb",
    "time_to_pb",
    "to_pb",
]

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)

GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=_UTC)
"""Go's zero ``time.Time`` (January 1, year 1, UTC): the default of time fields."""

_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


class GoInt(int):
    """A Go ``int`` inside an ``any`` (plain Python ints go back as Go int64)."""

    __slots__ = ()


class GoInt32(int):
    """A Go ``int32`` inside an ``any``."""

    __slots__ = ()


class GoUint64(int):
    """A Go ``uint64`` inside an ``any``."""

    __slots__ = ()


class GoFloat32(float):
    """A Go ``float32`` inside an ``any`` (plain Python floats go back as Go float64)."""

    __slots__ = ()


class GoStringList(list[str]):
    """A Go ``[]string`` inside an ``any`` (plain lists go back as Go ``[]any``)."""

    __slots__ = ()


class GoStringMap(dict[str, str]):
    """A Go ``map[string]string`` inside an ``any`` (plain dicts go back as ``map[string]any``)."""

    __slots__ = ()


# -- time ---------------------------------------------------------------------------------------


def time_to_pb(value: datetime) -> Timestamp:
    """A datetime as a Timestamp; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    delta = value - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return Timestamp(seconds=seconds, nanos=delta.microseconds * 1000)


def time_from_pb(ts: Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime (nanoseconds are truncated to microseconds)."""
    return _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)


# -- typed values (the gob registry) ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TypedCodec:
    """One entry of the TypedValue registry (generated in mmplugin._gen.convert)."""

    name: str
    """The Go type as gob names it, e.g. ``[]*model.SlackAttachment`` (TypedValue.type)."""
    cls: type[Any]
    """The dataclass of the value, or of the list's elements when ``is_list``."""
    is_list: bool
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


_by_name: dict[str, TypedCodec] = {}
_by_class: dict[type[Any], TypedCodec] = {}
_by_elem_class: dict[type[Any], TypedCodec] = {}
_registry_lock = threading.Lock()


def register_typed_codecs(codecs: Iterable[TypedCodec]) -> None:
    """Called once by the generated converters when they are imported."""
    with _registry_lock:
        for c in codecs:
            _by_name[c.name] = c
            (_by_elem_class if c.is_list else _by_class)[c.cls] = c


def _ensure_registry() -> None:
    if not _by_name:
        import mmplugin._gen.convert  # noqa: F401  (registers the codecs on import)


def _typed_to_pb(value: Any) -> _m.Value | None:
    _ensure_registry()
    codec = _by_class.get(type(value))
    if codec is None and isinstance(value, list) and value:
        codec = _by_elem_class.get(type(value[0]))
        if codec is not None and not all(type(v) is codec.cls for v in value):
            codec = None
    if codec is None:
        return None
    return _m.Value(typed_value=_m.TypedValue(type=codec.name, data=codec.encode(value)))


def _typed_from_pb(tv: _m.TypedValue, is_nil: bool) -> Any:
    _ensure_registry()
    codec = _by_name.get(tv.type)
    if codec is None:
        known = ", ".join(sorted(_by_name))
        raise ValueError(
            f"unknown TypedValue type {tv.type!r} (known: {known}); "
            "the host is newer than this SDK: upgrade the mmplugin package"
        )
    if is_nil:
        return None
    return codec.decode(tv.data)


# -- Value ⇄ Python ------------------------------------------------------------------------------


def to_pb(value: Any) -> _m.Value:
    """Python data → Value, keeping the Go type of the GoInt/... wrappers (see the module doc)."""
    t = type(value)
    if value is None:
        return _m.Value()
    if t is str:
        return _m.Value(string_value=value)
    if t is bool:
        return _m.Value(bool_value=value)
    if t is int:
        return _int_to_pb(value)
    if t is float:
        return _m.Value(float64_value=value)
    if t is dict:
        return _map_to_pb(value)
    if t is list:
        typed = _typed_to_pb(value) if value and dataclasses.is_dataclass(value[0]) else None
        return typed if typed is not None else _list_to_pb(value)
    return _other_to_pb(value)


def _int_to_pb(value: int) -> _m.Value:
    if _INT64_MIN <= value <= _INT64_MAX:
        return _m.Value(int64_value=value)
    if 0 <= value <= _UINT64_MAX:
        return _m.Value(uint64_value=value)
    raise OverflowError(f"{value} does not fit a Go int64 or uint64")


def _list_to_pb(value: Iterable[Any]) -> _m.Value:
    return _m.Value(list_value=_m.ValueList(values=[to_pb(v) for v in value]))


def _map_to_pb(value: Mapping[Any, Any]) -> _m.Value:
    values: dict[str, _m.Value] = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise TypeError(
                f"a dict sent as a Go map[string]any needs str keys, got {type(k).__name__} "
                f"key {k!r}"
            )
        values[k] = to_pb(v)
    return _m.Value(map_value=_m.ValueMap(values=values))


def _other_to_pb(value: Any) -> _m.Value:
    # Subclasses first: they name a specific Go type.
    if isinstance(value, bool):
        return _m.Value(bool_value=bool(value))
    if isinstance(value, GoInt):
        return _m.Value(int_value=int(value))
    if isinstance(value, GoInt32):
        return _m.Value(int32_value=int(value))
    if isinstance(value, GoUint64):
        return _m.Value(uint64_value=int(value))
    if isinstance(value, int):
        return _int_to_pb(int(value))
    if isinstance(value, GoFloat32):
        return _m.Value(float32_value=float(value))
    if isinstance(value, float):
        return _m.Value(float64_value=float(value))
    if isinstance(value, str):
        return _m.Value(string_value=str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _m.Value(bytes_value=bytes(value))
    if isinstance(value, GoStringList) and all(type(v) is str for v in value):
        return _m.Value(string_list_value=_m.StringList(values=value))
    if isinstance(value, GoStringMap) and all(type(v) is str for v in value.values()):
        return _m.Value(string_map_value=_m.StringMap(values=value))
    if isinstance(value, datetime):
        return _m.Value(time_value=time_to_pb(value))
    if isinstance(value, Mapping):
        return _map_to_pb(value)
    if isinstance(value, (list, tuple)):
        typed = _typed_to_pb(list(value)) if value else None
        return typed if typed is not None else _list_to_pb(value)
    typed = _typed_to_pb(value)
    if typed is not None:
        return typed
    raise TypeError(
        f"cannot send a {type(value).__module__}.{type(value).__qualname__} as a Go `any`: use "
        "None, bool, int, float, str, bytes, datetime, list, tuple, dict with str keys, or a "
        "model type Mattermost registers for `any` values (see mmplugin._values)"
    )


def from_pb(value: _m.Value) -> Any:
    """Value → Python data (see the module doc)."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "string_value":
        return value.string_value
    if kind == "int64_value":
        return value.int64_value
    if kind == "float64_value":
        return value.float64_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "map_value":
        if value.is_nil:
            return None
        return {k: from_pb(v) for k, v in value.map_value.values.items()}
    if kind == "list_value":
        if value.is_nil:
            return None
        return [from_pb(v) for v in value.list_value.values]
    if kind == "int_value":
        return GoInt(value.int_value)
    if kind == "int32_value":
        return GoInt32(value.int32_value)
    if kind == "uint64_value":
        return GoUint64(value.uint64_value)
    if kind == "float32_value":
        return GoFloat32(value.float32_value)
    if kind == "bytes_value":
        return None if value.is_nil else value.bytes_value
    if kind == "string_list_value":
        return None if value.is_nil else GoStringList(value.string_list_value.values)
    if kind == "string_map_value":
        return None if value.is_nil else GoStringMap(value.string_map_value.values)
    if kind == "time_value":
        return time_from_pb(value.time_value)
    if kind == "typed_value":
        return _typed_from_pb(value.typed_value, value.is_nil)
    raise ValueError(f"Value kind {kind!r} is newer than this SDK: upgrade the mmplugin package")


# -- helpers for generated API methods ----------------------------------------------------------


def key_values_to_pb(key_values: Mapping[str, Any]) -> list[_m.Value]:
    """Logging key/values as Go's alternating ``keyValuePairs ...any``.

    Values that cannot cross as Go values are sent as their ``str()``: losing a value's type is
    better than losing the log line.
    """
    out: list[_m.Value] = []
    for key, value in key_values.items():
        out.append(_m.Value(string_value=key))
        try:
            out.append(to_pb(value))
        except (TypeError, ValueError, OverflowError):
            out.append(_m.Value(string_value=str(value)))
    return out


def config_from_json(data: bytes) -> dict[str, Any]:
    """The plugin configuration JSON (LoadPluginConfiguration) as a dict; ``null`` → ``{}``."""
    if not data:
        return {}
    config = json.loads(data)
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(
            f"the plugin configuration is a JSON {type(config).__name__}, not an object: "
            "check the plugin's settings in the System Console"
        )
    return config
