"""The Python probe's canonical form of SDK values and errors."""

from __future__ import annotations

import datetime as dt

from mmplugin.errors import NoRowsError, NotFoundError
from mmplugin.models import Post, User
from pyprobe.canon import encode, encode_error
from pyprobe.plugin import snake


def test_dataclasses_bytes_and_times() -> None:
    user = encode(User(id="x", props={"a": "b"}))
    assert user["id"] == "x" and user["props"] == {"a": "b"} and user["auth_data"] is None
    assert encode(b"hi") == "aGk="
    assert encode(dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)) == "0001-01-01T00:00:00.000000Z"
    assert encode(Post(message="m"))["metadata"] is None


def test_errors() -> None:
    assert encode_error(NotFoundError("gone", id="x.y")) == {
        "kind": "app_error",
        "id": "x.y",
        "message": "gone",
        "detailed_error": "",
        "status_code": 404,
        "where": "",
    }
    assert encode_error(NoRowsError("none")) == {
        "kind": "error",
        "message": "none",
        "sentinel": "SQL_NO_ROWS",
    }
    assert encode_error(ValueError("x")) is None


def test_snake_names() -> None:
    assert snake("GetUsersByIds") == "get_users_by_ids"
    assert snake("KVSetWithOptions") == "kv_set_with_options"
