"""API sweep plugin: calls every method of the SDK's generated ``API`` client through the host.

Installed by internal/host/sweep_test.go as the bundle's ``plugin.py``. Two ServeHTTP endpoints:

- ``/spot?user_id=..&channel_id=..&team_name=..`` calls a few methods the in-memory server
  implements and answers the values it got back (the Go test compares them with what it set up);
- ``/sweep`` calls every method listed in the SDK's surface.json (``api``), with arguments built
  from the method's type hints, and answers ``{GoName: {"outcome": ..., "detail": ...}}``.

A call crossed when it returned ("value") or the server answered an error ("app_error",
"api_error"); anything else (ProtocolError, a conversion error in the SDK) is a "failure".
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import urllib.parse
from importlib import resources
from typing import Any

from mmplugin import Context, Plugin
from mmplugin._gen.api import API
from mmplugin.errors import AppError, PluginAPIError
from mmplugin.models import Post

# A 26-character id, as Mattermost ids are; no object on the server has it.
SWEEP_ID = "sweepsweepsweepsweepsweep1"

# Parameters whose name calls for something more useful than SWEEP_ID.
BY_NAME: dict[str, Any] = {
    "method": "GET",
    "url": "/sweep.nonexistent/path",
    "email": "sweep@example.com",
    "name": "sweep",
    "username": "sweep",
    "key": "sweep-key",
}


def model_instance(cls: type) -> Any:
    """A default instance of a generated model with its id-like string fields set."""
    obj = cls()
    for f in dataclasses.fields(obj):
        if f.type in ("str", str) and (f.name == "id" or f.name.endswith("_id")):
            setattr(obj, f.name, SWEEP_ID)
        elif f.type in ("str", str) and f.name in ("message", "name", "username"):
            setattr(obj, f.name, "sweep")
    return obj


def value_for(name: str, tp: Any) -> Any:
    """An argument for a parameter annotated tp (resolved type hints)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        # BinaryData (bytes | bytearray | ... | Iterable[bytes]): small bytes.
        if bytes in members:
            return b"sweep bytes"
        if len(members) == 1:
            return value_for(name, members[0])
        raise TypeError(f"no sweep value for {tp!r}")
    if origin is list:
        (item,) = typing.get_args(tp)
        return [value_for(name, item)]
    if origin is dict or tp is dict:
        return {"sweep": "1"}
    if tp is str:
        return BY_NAME.get(name, SWEEP_ID)
    if tp is bool:
        return False
    if tp is int:
        return 1
    if tp is bytes:
        return b"sweep bytes"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return model_instance(tp)
    if tp is Any:
        return {"sweep": "1"}
    raise TypeError(f"no sweep value for {name}: {tp!r}")


def call_args(method: Any) -> list[Any]:
    """Positional arguments for every parameter without a default (keyword ones keep theirs)."""
    import inspect

    hints = typing.get_type_hints(method)
    args = []
    for p in list(inspect.signature(method).parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD or p.default is not p.empty:
            continue
        args.append(value_for(p.name, hints[p.name]))
    return args


def surface() -> list[dict[str, Any]]:
    text = resources.files("mmplugin._gen").joinpath("surface.json").read_text(encoding="utf-8")
    return list(json.loads(text)["api"])


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class TestPlugin(Plugin):
    def serve_http(self, ctx: Context, w: Any, r: Any) -> None:
        url = urllib.parse.urlsplit(r.url)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/sweep":
            answer: Any = self.sweep()
        elif url.path == "/spot":
            answer = self.spot(query)
        else:
            w.start(404)
            return
        w.start(200, {"Content-Type": "application/json"})
        w.write(json.dumps(answer).encode())

    def spot(self, q: dict[str, str]) -> dict[str, Any]:
        api = self.api
        api.kv_set("spot", b"\x00spot\xff")
        got = api.kv_get("spot")
        post = api.create_post(
            Post(channel_id=q["channel_id"], user_id=q["user_id"], message="spot")
        )
        return {
            "kv": list(got) if got is not None else None,
            "username": api.get_user(q["user_id"]).username,
            "user_by_name": api.get_user_by_username(api.get_user(q["user_id"]).username).id,
            "post_message": api.get_post(post.id).message,
            "post_channel": api.get_post(post.id).channel_id,
            "channel_id": api.get_channel(q["channel_id"]).id,
            "team_id": api.get_team_by_name(q["team_name"]).id,
            "plugin_config": api.get_plugin_config(),
            "server_version": api.get_server_version(),
            "missing_user_status": self.status_of(lambda: api.get_user(SWEEP_ID)),
        }

    @staticmethod
    def status_of(call: Any) -> int:
        try:
            call()
        except AppError as e:
            return e.status_code
        return 200

    def sweep(self) -> dict[str, dict[str, str]]:
        results: dict[str, dict[str, str]] = {}
        for entry in surface():
            go, py = entry["go"], entry["python"]
            method = getattr(API, py, None)
            if method is None:
                results[go] = {"outcome": "failure", "detail": f"API has no method {py}"}
                continue
            try:
                args = call_args(method)
            except Exception as e:
                results[go] = {"outcome": "failure", "detail": f"arguments: {e}"}
                continue
            try:
                value = getattr(self.api, py)(*args)
                if go == "PluginHTTP":
                    with value as response:
                        detail = f"status {response.status_code}: {response.read()[:80]!r}"
                else:
                    detail = describe(value)
                results[go] = {"outcome": "value", "detail": detail}
            except AppError as e:
                results[go] = {"outcome": "app_error", "detail": f"{e.status_code} {e}"}
            except PluginAPIError as e:
                results[go] = {"outcome": "api_error", "detail": str(e)}
            except Exception as e:
                results[go] = {"outcome": "failure", "detail": f"{type(e).__name__}: {e}"}
        return results
