"""Go ``any`` values (the ``Value`` message) as plain Python data, and back.

Go → Python:

- nil → ``None``; bool, string, ``[]byte`` → ``bool``, ``str``, ``bytes``;
- int64 → ``int``, float64 → ``float``, ``[]any`` → ``list``, ``map[string]any`` → ``dict``;
- the other Go types keep their identity in a subclass that behaves like the builtin, so that a
  value passed through a plugin unchanged goes back with the same Go type: Go ``int`` →
  ``GoInt``, ``int32`` → ``GoInt32``, ``uint64`` → ``GoUint64``, ``float32`` → ``GoFloat32``,
  ``[]string`` → ``GoStringList``, ``map[string]string`` → ``GoStringMap``;
- ``time.Time`` → an aware ``datetime`` in UTC; when the time has nanoseconds below the
  microsecond, a ``GoTime`` (a ``datetime`` that also carries them in ``nanosecond``);
- a model type Mattermost registers with gob (``[]*model.SlackAttachment``,
  ``*model.AutocompleteTextArg``, ...) → the generated dataclass, or for a slice type a
  ``GoTypedList`` of them (a ``list`` that remembers its Go type, so an empty one keeps it);
- a typed nil (``[]string(nil)``, ``map[string]any(nil)``, ``*model.PreviewPost(nil)``, ...) →
  ``GoNil`` naming the Go type (falsy, like ``None``).

Python → Go: ``int`` → int64 (``uint64`` above the int64 range), ``float`` → float64, ``str``,
``bytes``/``bytearray``/``memoryview`` → ``[]byte``, ``list``/``tuple`` → ``[]any``, ``dict`` with
``str`` keys → ``map[string]any``, ``datetime`` → ``time.Time`` (a naive datetime is taken as UTC),
the subclasses and ``GoNil`` above → their Go type, registered dataclasses (or a list of one
registered dataclass) → their Go type. Anything else raises ``TypeError`` naming the type
(Mattermost's gob RPC rejects such values too).

Lists and dicts cross flat (``Value.nodes``, see docs/protocol.md), converted without recursion,
so a value nested thousands of levels deep (a post prop, say) reaches the plugin and goes back.

Model fields of type ``*[]T`` or ``*[]byte`` (a pointer to a slice) that hold a pointer to a nil
slice read as ``GoNilList()`` / ``GoNilBytes()``: empty, but telling Go's ``&nilSlice`` apart
from ``&[]T{}`` (``[]``) and from the nil pointer (``None``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from itertools import repeat
from typing import Any, SupportsIndex

from google.protobuf.timestamp_pb2 import Timestamp

from mmplugin.v1 import models_pb2 as _m

__all__ = [
    "GO_ZERO_TIME",
    "GoFloat32",
    "GoInt",
    "GoInt32",
    "GoNil",
    "GoNilBytes",
    "GoNilList",
    "GoNilMap",
    "GoStringList",
    "GoStringMap",
    "GoTime",
    "GoTypedList",
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


class GoTypedList(list[Any]):
    """A slice of a registered model type inside an ``any`` (``[]*model.SlackAttachment``,
    ``model.PropertyOptions[*model.PluginPropertyOption]``, ...): the dataclasses, and in
    ``go_type`` the Go type they go back as, even when the list is empty."""

    __slots__ = ("go_type",)

    def __init__(self, go_type: str, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self.go_type = go_type

    def __repr__(self) -> str:
        return f"GoTypedList({self.go_type!r}, {list.__repr__(self)})"


class GoNil:
    """A Go typed nil inside an ``any``: ``GoNil("[]string")`` is ``[]string(nil)``.

    ``go_type`` is ``[]byte``, ``[]any``, ``map[string]any``, ``[]string``,
    ``map[string]string`` or a registered model type (``*model.PreviewPost``,
    ``[]*model.SlackAttachment``, ...). It is falsy like ``None``, and goes back as the same
    typed nil (``None`` goes back as an untyped nil).
    """

    __slots__ = ("go_type",)

    def __init__(self, go_type: str) -> None:
        self.go_type = go_type

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return type(other) is GoNil and other.go_type == self.go_type

    def __hash__(self) -> int:
        return hash((GoNil, self.go_type))

    def __repr__(self) -> str:
        return f"GoNil({self.go_type!r})"


class GoNilList(list[Any]):
    """An empty list standing for a Go nil slice where ``None`` means something else: a
    ``*[]T`` field holding a pointer to a nil slice (``None`` is the nil pointer, ``[]`` a
    pointer to an empty slice). Appending to it makes it an ordinary non-nil slice."""

    __slots__ = ()


class GoNilMap(dict[Any, Any]):
    """``GoNilList`` for maps: a ``*map[K]V`` field holding a pointer to a nil map."""

    __slots__ = ()


class GoNilBytes(bytes):
    """``GoNilList`` for ``*[]byte`` fields: a pointer to a nil ``[]byte`` (``b""`` is a pointer
    to an empty one, ``None`` the nil pointer)."""

    __slots__ = ()


# -- time ---------------------------------------------------------------------------------------


class GoTime(datetime):
    """A Go ``time.Time`` with nanoseconds below the microsecond, which ``datetime`` cannot
    hold: ``nanosecond`` (0-999) is added to ``microsecond``. It is a ``datetime`` everywhere;
    arithmetic and ``replace()`` return times without the extra nanoseconds. Equal to another
    time only when the nanoseconds match too."""

    # Not a slot: datetime's C methods (replace, arithmetic) make instances without __new__,
    # which then read this class default.
    _nanosecond: int = 0

    def __new__(cls, *args: Any, nanosecond: int = 0, **kwargs: Any) -> GoTime:
        if not 0 <= nanosecond <= 999:
            raise ValueError(f"nanosecond must be in 0..999 (below microsecond), got {nanosecond}")
        self = super().__new__(cls, *args, **kwargs)
        self._nanosecond = nanosecond
        return self

    @property
    def nanosecond(self) -> int:
        """The nanoseconds below ``microsecond`` (0-999)."""
        return self._nanosecond

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        return datetime.__eq__(self, other) is True and self._nanosecond == _nanos_of(other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = datetime.__hash__

    def __repr__(self) -> str:
        return f"{datetime.__repr__(self)[:-1]}, nanosecond={self._nanosecond})"

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        plain = datetime(
            self.year, self.month, self.day, self.hour, self.minute, self.second,
            self.microsecond, self.tzinfo, fold=self.fold,
        )  # fmt: skip
        return (_go_time, (plain, self._nanosecond))


def _nanos_of(value: datetime) -> int:
    return value._nanosecond if isinstance(value, GoTime) else 0


def _go_time(value: datetime, nanosecond: int) -> GoTime:
    return GoTime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, value.tzinfo, fold=value.fold, nanosecond=nanosecond,
    )  # fmt: skip


def time_to_pb(value: datetime) -> Timestamp:
    """A datetime (``GoTime``: with its nanoseconds) as a Timestamp; naive is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    delta = value - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return Timestamp(seconds=seconds, nanos=delta.microseconds * 1000 + _nanos_of(value))


def time_from_pb(ts: Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime, a ``GoTime`` when it has sub-microsecond nanos."""
    micros, nanos = divmod(ts.nanos, 1000)
    value = _EPOCH + timedelta(seconds=ts.seconds, microseconds=micros)
    return _go_time(value, nanos) if nanos else value


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


def _typed_to_pb(value: Any) -> _m.TypedValue | None:
    _ensure_registry()
    if isinstance(value, GoTypedList):
        codec = _by_name.get(value.go_type)
        if codec is None or not codec.is_list:
            raise TypeError(f"GoTypedList type {value.go_type!r} is not a registered slice type")
        return _m.TypedValue(type=codec.name, data=codec.encode(list(value)))
    codec = _by_class.get(type(value))
    if codec is None and isinstance(value, list) and value:
        codec = _by_elem_class.get(type(value[0]))
        if codec is not None and not all(type(v) is codec.cls for v in value):
            codec = None
    if codec is None:
        return None
    return _m.TypedValue(type=codec.name, data=codec.encode(value))


def _typed_from_pb(tv: _m.TypedValue, is_nil: bool) -> Any:
    _ensure_registry()
    codec = _by_name.get(tv.type)
    if codec is None:
        known = ", ".join(sorted(_by_name))
        raise ValueError(
            f"unknown TypedValue type {tv.type!r} (known: {known}); "
            "the host is newer than this SDK: upgrade the mmplugin package"
        )
    value = None if is_nil else codec.decode(tv.data)
    if value is None:
        return GoNil(codec.name)
    return GoTypedList(codec.name, value) if codec.is_list else value


# -- Value ⇄ Python ------------------------------------------------------------------------------

# The oneof field (of Value and ValueNode alike) of each typed nil's Go type, with its empty value.
_NIL_FIELDS: dict[str, tuple[str, Any]] = {
    "[]byte": ("bytes_value", b""),
    "[]string": ("string_list_value", _m.StringList()),
    "map[string]string": ("string_map_value", _m.StringMap()),
}
_LIST, _MAP = "list", "map"


def _field(value: Any) -> tuple[str, Any, bool]:
    """The oneof field name, proto value and is_nil of a non-container value, or (_LIST /
    _MAP, the elements, is_nil) for a value that crosses as a flat []any / map[string]any."""
    # Subclasses first: they name a specific Go type.
    if isinstance(value, bool):
        return "bool_value", bool(value), False
    if isinstance(value, GoInt):
        return "int_value", int(value), False
    if isinstance(value, GoInt32):
        return "int32_value", int(value), False
    if isinstance(value, GoUint64):
        return "uint64_value", int(value), False
    if isinstance(value, int):
        return _int_field(int(value))
    if isinstance(value, GoFloat32):
        return "float32_value", float(value), False
    if isinstance(value, float):
        return "float64_value", float(value), False
    if isinstance(value, str):
        return "string_value", str(value), False
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes_value", bytes(value), False
    if isinstance(value, GoNil):
        return _nil_field(value.go_type)
    if isinstance(value, GoStringList) and all(type(v) is str for v in value):
        return "string_list_value", _m.StringList(values=value), False
    if isinstance(value, GoStringMap) and all(type(v) is str for v in value.values()):
        return "string_map_value", _m.StringMap(values=value), False
    if isinstance(value, datetime):
        return "time_value", time_to_pb(value), False
    if isinstance(value, Mapping):
        return _MAP, value, False
    if isinstance(value, (list, tuple)):
        typed = _typed_to_pb(value) if value or isinstance(value, GoTypedList) else None
        if typed is not None:
            return "typed_value", typed, False
        return _LIST, value, False
    typed = _typed_to_pb(value)
    if typed is not None:
        return "typed_value", typed, False
    raise TypeError(
        f"cannot send a {type(value).__module__}.{type(value).__qualname__} as a Go `any`: use "
        "None, bool, int, float, str, bytes, datetime, list, tuple, dict with str keys, GoNil, or "
        "a model type Mattermost registers for `any` values (see mmplugin._values)"
    )


def _int_field(value: int) -> tuple[str, Any, bool]:
    if _INT64_MIN <= value <= _INT64_MAX:
        return "int64_value", value, False
    if 0 <= value <= _UINT64_MAX:
        return "uint64_value", value, False
    raise OverflowError(f"{value} does not fit a Go int64 or uint64")


def _nil_field(go_type: str) -> tuple[str, Any, bool]:
    if go_type == "[]any":
        return _LIST, (), True
    if go_type == "map[string]any":
        return _MAP, {}, True
    known = _NIL_FIELDS.get(go_type)
    if known is not None:
        return known[0], known[1], True
    _ensure_registry()
    if go_type in _by_name:
        return "typed_value", _m.TypedValue(type=go_type), True
    raise ValueError(
        f"GoNil({go_type!r}): not a Go type an `any` may hold; use []byte, []any, "
        f"map[string]any, []string, map[string]string or one of {sorted(_by_name)}"
    )


def to_pb(value: Any) -> _m.Value:
    """Python data → Value, keeping the Go type of the GoInt/... wrappers (see the module doc)."""
    t = type(value)
    if value is None:
        return _m.Value()
    if t is str:
        return _m.Value(string_value=value)
    if t is bool:
        return _m.Value(bool_value=value)
    if t is float:
        return _m.Value(float64_value=value)
    name, pv, is_nil = _int_field(value) if t is int else _field(value)
    if name is _LIST or name is _MAP:
        return _flat_to_pb(value)
    if is_nil:
        return _m.Value(**{name: pv}, is_nil=True)
    return _m.Value(**{name: pv})


def _keyed(mapping: Mapping[Any, Any]) -> Iterator[tuple[str, Any]]:
    for k, v in mapping.items():
        if type(k) is not str and not isinstance(k, str):
            raise TypeError(
                f"a dict sent as a Go map[string]any needs str keys, got {type(k).__name__} "
                f"key {k!r}"
            )
        yield k, v


def _flat_to_pb(root: Any) -> _m.Value:
    """A list or dict (any depth) as a flat Value: nodes in pre-order, no recursion."""
    out = _m.Value()
    add = out.nodes.add
    stack: list[Iterator[tuple[str, Any]]] = [iter((("", root),))]
    while stack:
        for key, v in stack[-1]:
            t = type(v)
            if t is str:
                add(key=key, string_value=v)
            elif t is bool:
                add(key=key, bool_value=v)
            elif t is float:
                add(key=key, float64_value=v)
            elif v is None:
                add(key=key)
            else:
                name, pv, is_nil = _int_field(v) if t is int else _field(v)
                if name is _LIST:
                    add(key=key, list_len=len(pv), is_nil=is_nil)
                    if pv:
                        stack.append(zip(repeat(""), pv))
                        break
                elif name is _MAP:
                    add(key=key, map_len=len(pv), is_nil=is_nil)
                    if pv:
                        stack.append(_keyed(pv))
                        break
                elif is_nil:
                    add(key=key, is_nil=True, **{name: pv})
                else:
                    add(key=key, **{name: pv})
        else:
            stack.pop()
    return out


def from_pb(value: _m.Value) -> Any:
    """Value → Python data (see the module doc)."""
    if value.nodes:
        return _flat_from_pb(value.nodes)
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "string_value":
        return value.string_value
    if kind == "map_value":  # the nested form, still read
        if value.is_nil:
            return GoNil("map[string]any")
        return {k: from_pb(v) for k, v in value.map_value.values.items()}
    if kind == "list_value":
        if value.is_nil:
            return GoNil("[]any")
        return [from_pb(v) for v in value.list_value.values]
    return _kind_from_pb(value, kind)


def _kind_from_pb(m: _m.Value | _m.ValueNode, kind: str) -> Any:
    """A non-container kind of a Value or ValueNode (their oneof fields share names)."""
    if kind == "string_value":
        return m.string_value
    if kind == "int64_value":
        return m.int64_value
    if kind == "float64_value":
        return m.float64_value
    if kind == "bool_value":
        return m.bool_value
    if kind == "int_value":
        return GoInt(m.int_value)
    if kind == "int32_value":
        return GoInt32(m.int32_value)
    if kind == "uint64_value":
        return GoUint64(m.uint64_value)
    if kind == "float32_value":
        return GoFloat32(m.float32_value)
    if kind == "bytes_value":
        return GoNil("[]byte") if m.is_nil else m.bytes_value
    if kind == "string_list_value":
        return GoNil("[]string") if m.is_nil else GoStringList(m.string_list_value.values)
    if kind == "string_map_value":
        return GoNil("map[string]string") if m.is_nil else GoStringMap(m.string_map_value.values)
    if kind == "time_value":
        return time_from_pb(m.time_value)
    if kind == "typed_value":
        return _typed_from_pb(m.typed_value, m.is_nil)
    raise ValueError(f"Value kind {kind!r} is newer than this SDK: upgrade the mmplugin package")


def _flat_from_pb(nodes: Sequence[_m.ValueNode]) -> Any:
    """The value of flat nodes (pre-order), built without recursion."""
    root: Any = None
    parents: list[Any] = []  # the open lists and dicts, innermost last
    remaining: list[int] = []  # how many elements each still expects
    for i, node in enumerate(nodes):
        kind = node.WhichOneof("kind")
        n = 0
        if kind == "list_len":
            if node.is_nil:
                v: Any = GoNil("[]any")
            else:
                v, n = [], node.list_len
        elif kind == "map_len":
            if node.is_nil:
                v = GoNil("map[string]any")
            else:
                v, n = {}, node.map_len
        elif kind is None:
            v = None
        else:
            v = _kind_from_pb(node, kind)
        if parents:
            parent = parents[-1]
            if type(parent) is list:
                parent.append(v)
            else:
                parent[node.key] = v
            remaining[-1] -= 1
        elif i:
            raise ValueError(f"Value.nodes has {len(nodes) - i} nodes after its root value's end")
        else:
            root = v
        if n:
            parents.append(v)
            remaining.append(n)
        else:
            while remaining and not remaining[-1]:
                parents.pop()
                remaining.pop()
    if parents:
        raise ValueError("Value.nodes ends inside a list or map (truncated value)")
    return root


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
