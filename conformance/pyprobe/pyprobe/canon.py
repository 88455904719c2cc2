"""The canonical JSON form of SDK values and errors (docs/protocol.md, "Conformance probes").

The Go probe writes the same form from Go values: dataclasses are objects keyed by their field
names (the generator's snake_case of the Go field), None is null, bytes standard base64,
datetimes RFC 3339 in UTC with microseconds, enums their value.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
from typing import Any

from mmplugin.errors import AppError, ErrorCode, PluginAPIError


def encode(value: Any) -> Any:
    """``value`` as canonical JSON data."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.datetime):
        u = value.astimezone(dt.timezone.utc)
        return (
            f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}.{u.microsecond:06d}Z"
        )
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, AppError):  # a field's AppError: Go's exported fields (params is not)
        return {k: encode(v) for k, v in value._fields().items() if k != "params"}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"no canonical form for a {type(value).__name__}")


def encode_error(exc: BaseException) -> dict[str, Any] | None:
    """The canonical form of an API error, or None if ``exc`` is not one."""
    if isinstance(exc, AppError):
        return {
            "kind": "app_error",
            "id": exc.id,
            "message": exc.message,
            "detailed_error": exc.detailed_error,
            "status_code": exc.status_code,
            "where": exc.where,
        }
    if isinstance(exc, PluginAPIError):
        sentinel = "" if exc.code == ErrorCode.UNSPECIFIED else exc.code.name
        return {"kind": "error", "message": exc.message, "sentinel": sentinel}
    return None
