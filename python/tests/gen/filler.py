"""Random instances of the generated model dataclasses, driven by their type annotations and
the protobuf field descriptors (which say the Go integer width, float32 vs float64, map key types).

Values are chosen so that a Python → protobuf → Python round trip must reproduce them exactly:
None (Go nil) and empty containers both occur, Value fields hold nested lists and dicts with the
Go-typed wrappers (GoInt, GoStringList, ...), typed nils (GoNil), typed values (MessageAttachment
lists, empty GoTypedLists) and times (GoTime with nanoseconds too). Not generated, because the
protocol documents them as not kept: tuples inside ``any`` (they go back as lists), NaN, and
times outside datetime's range.
"""

from __future__ import annotations

import dataclasses
import random
import struct
import types
import typing
from datetime import datetime, timedelta, timezone
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from mmplugin import _values
from mmplugin._gen import models as md
from mmplugin.errors import AppError, ErrorCode, NotFoundError, PluginAPIError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MIN_SECONDS = -62135596800  # 0001-01-01
_MAX_SECONDS = 253402300799  # 9999-12-31 23:59:59

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    FieldDescriptor.TYPE_SINT64: (-(1 << 63), (1 << 63) - 1),
    FieldDescriptor.TYPE_UINT32: (0, (1 << 32) - 1),
    FieldDescriptor.TYPE_UINT64: (0, (1 << 64) - 1),
}

_TEXT = ["", "a", "hello world", "ünïcödé", "日本語", "emoji 🎉 𝄞", "line\nbreak", "x" * 300]


def float32(x: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", x))[0]
    return result


class Filler:
    """mode "random" mixes everything; "nil" prefers None; "empty" prefers empty containers."""

    def __init__(self, seed: int, mode: str = "random", max_depth: int = 3) -> None:
        self.rng = random.Random(seed)
        self.mode = mode
        self.max_depth = max_depth
        self._hints: dict[type[Any], dict[str, Any]] = {}

    def hints(self, cls: type[Any]) -> dict[str, Any]:
        if cls not in self._hints:
            self._hints[cls] = typing.get_type_hints(cls, vars(md))
        return self._hints[cls]

    def instance(self, cls: type[Any], descriptor: Any, depth: int = 0) -> Any:
        if depth > self.max_depth:
            return cls()
        kwargs: dict[str, Any] = {}
        hints = self.hints(cls)
        for f in dataclasses.fields(cls):
            fd = descriptor.fields_by_name[f.name]
            kwargs[f.name] = self.value(hints[f.name], fd, depth + 1)
        return cls(**kwargs)

    def value(self, tp: Any, fd: Any, depth: int) -> Any:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if self._choose_nil():
                return None
            (inner,) = args
            return self.value(inner, fd, depth)
        if origin is list:
            (elem,) = typing.get_args(tp)
            efd = _Elem(self._items(fd))
            if self._choose_empty():
                return []
            return [self.value(elem, efd, depth + 1) for _ in range(self.rng.randint(1, 3))]
        if origin is dict:
            _, vtp = typing.get_args(tp)
            entry = self._items(fd).message_type
            if self._choose_empty():
                return {}
            out: dict[Any, Any] = {}
            for _ in range(self.rng.randint(1, 3)):
                key = self.scalar(entry.fields_by_name["key"])
                out[key] = self.value(vtp, entry.fields_by_name["value"], depth + 1)
            return out
        if tp is Any:
            return self.any(depth)
        if tp is datetime:
            return self.time()
        if tp is AppError:
            return self.app_error()
        if tp is PluginAPIError:
            code = self.rng.choice(list(ErrorCode))
            return _errors_by_code(code)(self.rng.choice(_TEXT), code=code)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.instance(tp, fd.message_type, depth)
        return self.scalar(fd)

    def _items(self, fd: Any) -> Any:
        """The repeated/map field holding a container: the field itself, or the items field of
        the ListOf.../MapOf... wrapper message that carries it."""
        if fd.is_repeated:
            return fd
        return fd.message_type.fields_by_name["items"]

    def _choose_nil(self) -> bool:
        p = {"nil": 0.9, "empty": 0.1, "random": 0.3}[self.mode]
        return self.rng.random() < p

    def _choose_empty(self) -> bool:
        p = {"nil": 0.2, "empty": 0.9, "random": 0.25}[self.mode]
        return self.rng.random() < p

    def scalar(self, fd: Any) -> Any:
        t = fd.type
        if t in _INT_RANGES:
            lo, hi = _INT_RANGES[t]
            return self.rng.choice([0, 1, -1 if lo < 0 else 2, lo, hi, self.rng.randint(lo, hi)])
        if t == FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        if t == FieldDescriptor.TYPE_STRING:
            return self.rng.choice(_TEXT)
        if t == FieldDescriptor.TYPE_BYTES:
            return self.rng.choice([b"", b"\x00\xff", bytes(range(256)), b"x" * 70_000])
        if t == FieldDescriptor.TYPE_FLOAT:
            return float32(self.rng.choice([0.0, -1.5, 3.25, self.rng.uniform(-1e6, 1e6)]))
        if t == FieldDescriptor.TYPE_DOUBLE:
            return self.rng.choice([0.0, -0.0, 1e-300, 1.7e308, self.rng.uniform(-1e9, 1e9)])
        raise AssertionError(f"no scalar for field {fd.full_name} of type {t}")

    def time(self) -> datetime:
        seconds = self.rng.randint(_MIN_SECONDS, _MAX_SECONDS)
        micros = self.rng.randint(0, 999_999)
        value = _EPOCH + timedelta(seconds=seconds, microseconds=micros)
        if self.rng.random() < 0.3:  # Go's nanoseconds below the microsecond
            return _values.GoTime(
                value.year, value.month, value.day, value.hour, value.minute, value.second,
                value.microsecond, value.tzinfo, nanosecond=self.rng.randint(1, 999),
            )  # fmt: skip
        return value

    def app_error(self) -> AppError:
        params: dict[str, Any] | None = self.rng.choice([None, {}, {"n": 1, "who": "me"}])
        cls = self.rng.choice([AppError, NotFoundError])
        return cls(
            self.rng.choice(_TEXT),
            id="app.some.error",
            detailed_error="details",
            status_code=cls.default_status,
            where="Test.where",
            request_id="r1",
            params=params,
            skip_translation=self.rng.random() < 0.5,
        )

    def any(self, depth: int) -> Any:
        """A Go `any`: every Value kind the SDK maps, nested."""
        r = self.rng
        choices: list[Any] = [
            None,
            True,
            r.randint(-(1 << 63), (1 << 63) - 1),
            (1 << 64) - 1,  # beyond int64: Go uint64
            _values.GoInt(r.randint(-1000, 1000)),
            _values.GoInt32(-7),
            _values.GoUint64(1 << 63),
            float32(2.5) if r.random() < 0.5 else _values.GoFloat32(float32(2.5)),
            r.uniform(-1e9, 1e9),
            r.choice(_TEXT),
            b"raw\x00bytes",
            b"",
            _values.GoStringList(["a", "b"]),
            _values.GoStringMap({"k": "v"}),
            self.time(),
            [md.MessageAttachment(text="att", color="#fff", fields=[])],
            md.AutocompleteTextArg(hint="h", pattern="p"),
            _values.GoTypedList("model.PropertyOptions[*model.PluginPropertyOption]"),
            _values.GoNil(
                r.choice(["[]byte", "[]any", "map[string]any", "[]string", "*model.PreviewPost"])
            ),
        ]
        if depth < self.max_depth + 2:
            choices.append([self.any(depth + 1) for _ in range(r.randint(0, 3))])
            choices.append({f"k{i}": self.any(depth + 1) for i in range(r.randint(0, 3))})
        return r.choice(choices)


class _Elem:
    """One element of a repeated field: its type, never repeated itself."""

    is_repeated = False

    def __init__(self, fd: FieldDescriptor) -> None:
        self.type = fd.type
        self.message_type = fd.message_type
        self.full_name = fd.full_name + "[]"


def _errors_by_code(code: ErrorCode) -> type[PluginAPIError]:
    from mmplugin import errors

    return errors._BY_CODE.get(code, PluginAPIError)
