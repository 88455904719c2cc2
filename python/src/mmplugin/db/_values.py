"""Python values ⇄ Go ``driver.Value`` (nil, int64, float64, bool, []byte, string, time.Time).

The server runs a plugin's statement on its own Go driver connection (lib/pq) without
``database/sql``'s argument conversion, so parameters must already be one of the seven
``driver.Value`` types. Results come back as lib/pq produces them: ``string`` for
char/varchar/text, int64, float64, bool, ``time.Time`` for date/time types, and ``[]byte``
for everything else (bytea parsed, other types in PostgreSQL's text format). Where the Go type
alone is ambiguous the column's database type name (one ``RowsColumnTypeDatabaseTypeName`` call,
made only for such columns) decides, so results look like psycopg's: ``numeric`` → Decimal,
``json``/``jsonb`` → parsed JSON, ``uuid`` → UUID, enums/intervals/arrays → their text,
``timestamp`` → naive datetime, ``timestamptz`` → aware datetime (UTC), ``date`` → date,
``time`` → time.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from dataclasses import dataclass
from typing import Any

from .exceptions import DataError, NotSupportedError, ProgrammingError

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


@dataclass(frozen=True)
class WireTime:
    """A Go ``time.Time`` as it crossed: an instant in UTC (seconds and nanoseconds since the
    Unix epoch). Kept raw because lib/pq returns ``time`` columns on year 0, which Python's
    datetime cannot hold."""

    seconds: int
    nanos: int

    @staticmethod
    def from_datetime(value: dt.datetime) -> WireTime:
        delta = value.astimezone(_UTC) - _EPOCH
        seconds = delta.days * 86400 + delta.seconds
        return WireTime(seconds, delta.microseconds * 1000)

    def to_datetime(self) -> dt.datetime:
        try:
            return _EPOCH + dt.timedelta(seconds=self.seconds, microseconds=self.nanos // 1000)
        except OverflowError:
            raise DataError(
                f"the database returned a time outside Python's datetime range "
                f"({self.seconds} s from the Unix epoch; 'infinity'?): cast it to text in SQL"
            ) from None

    def time_of_day(self) -> dt.time:
        seconds = self.seconds % 86400
        return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, self.nanos // 1000)


class Json:
    """Wraps a value to send as JSON text (for ``json``/``jsonb`` columns)::

    cur.execute("INSERT INTO t (props) VALUES (%s)", (Json({"a": 1}),))
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def dumps(self) -> str:
        return json.dumps(self.value, separators=(",", ":"))


DriverValue = None | bool | int | float | str | bytes | WireTime
"""What crosses the wire (see mmplugin.db._transport)."""


def to_driver(value: object) -> DriverValue:
    """A parameter as a ``driver.Value``; types lib/pq cannot take are sent as PostgreSQL text."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise DataError(f"integer parameter {value} does not fit in a 64-bit integer")
        return int(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive datetime is a wall-clock value: as text, PostgreSQL reads it per the
            # column's type (timestamp keeps it; timestamptz uses the session time zone).
            return value.isoformat(sep=" ")
        return WireTime.from_datetime(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Json):
        return value.dumps()
    if isinstance(value, (list, tuple, dict, set)):
        raise NotSupportedError(
            f"cannot send a {type(value).__name__} as a parameter: wrap JSON values in "
            "mmplugin.db.Json(...), and pass arrays as a PostgreSQL array literal string "
            "('{a,b}') or one parameter per element"
        )
    raise ProgrammingError(
        f"cannot send a {type(value).__name__} as a parameter: use None, bool, int, float, str, "
        "bytes, datetime, date, time, timedelta, Decimal, UUID or mmplugin.db.Json"
    )


# Type names (lib/pq's oid names; MySQL's for older servers) whose []byte is binary data.
_BINARY_TYPES = frozenset(
    {"BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "BIT"}
)
_DECIMAL_TYPES = frozenset({"NUMERIC", "DECIMAL"})
_JSON_TYPES = frozenset({"JSON", "JSONB"})
_NAIVE_TYPES = frozenset({"TIMESTAMP", "DATETIME"})


def needs_type_name(value: DriverValue) -> bool:
    """Whether a result value's Python type depends on its column's database type."""
    return isinstance(value, (bytes, WireTime))


def from_driver(value: DriverValue, type_name: str) -> object:
    """A result value as Python data; ``type_name`` is the column's database type name."""
    if isinstance(value, WireTime):
        if type_name in ("TIME", "TIMETZ"):
            t = value.time_of_day()
            return t.replace(tzinfo=_UTC) if type_name == "TIMETZ" else t
        moment = value.to_datetime()
        if type_name == "DATE":
            return moment.date()
        if type_name in _NAIVE_TYPES:
            return moment.replace(tzinfo=None)
        return moment
    if isinstance(value, bytes):
        if type_name in _BINARY_TYPES or (not type_name and not _is_text(value)):
            return value
        text = value.decode("utf-8", errors="surrogateescape")
        if type_name in _DECIMAL_TYPES:
            return decimal.Decimal(text)
        if type_name in _JSON_TYPES:
            return json.loads(text)
        if type_name == "UUID":
            return uuid.UUID(text)
        return text
    return value


def _is_text(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
