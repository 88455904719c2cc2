"""harness.http: requests to serve_http through the SDK's real streaming code."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request

import mmplugin.http
from mmplugin import Context, Plugin
from mmplugin.http import HTTPRequest, ResponseWriter
from mmplugin.testing import HarnessFactory

api = FastAPI()


@api.get("/hello/{name}")
async def hello(name: str, request: Request) -> dict[str, Any]:
    return {"hello": name, "user": mmplugin.http.user_id(request)}


@api.post("/echo")
async def echo(request: Request) -> dict[str, Any]:
    return {"got": await request.json()}


class FastAPIPlugin(Plugin):
    serve_http = mmplugin.http.asgi(api)


flask_app = Flask(__name__)


@flask_app.route("/count", methods=["POST"])
def count() -> dict[str, int]:
    return {"bytes": len(flask_request.get_data())}


class FlaskPlugin(Plugin):
    serve_http = mmplugin.http.wsgi(flask_app)


class Streaming(Plugin):
    async def serve_http(self, ctx: Context, w: ResponseWriter, r: HTTPRequest) -> None:
        if r.url == "/fail":
            raise RuntimeError("handler exploded")
        await w.start(200, [("Content-Type", "text/event-stream")])
        for i in range(3):
            await w.write(f"data: {i}\n\n".encode())
            await w.flush()


def test_an_asgi_app_gets_the_path_the_user_and_the_body(plugin_harness: HarnessFactory) -> None:
    h = plugin_harness(FastAPIPlugin)
    assert h.implemented == ["ServeHTTP"]
    h.activate()
    r = h.http_get("/hello/world", user=h.user)
    assert (r.status_code, r.json()) == (200, {"hello": "world", "user": h.user.id})
    assert r.header("content-type") == "application/json"
    assert h.http_get("/hello/anon").json()["user"] is None
    assert h.http_post("/echo", json={"n": [1, 2]}).json() == {"got": {"n": [1, 2]}}
    assert h.http_get("/missing").status_code == 404


def test_a_wsgi_app_reads_a_large_body(plugin_harness: HarnessFactory) -> None:
    h = plugin_harness(FlaskPlugin)
    h.activate()
    r = h.http_post("/count", body=b"x" * (3 * 65536 + 5))
    assert r.json() == {"bytes": 3 * 65536 + 5}


def test_a_handler_streams_and_flushes(plugin_harness: HarnessFactory) -> None:
    h = plugin_harness(Streaming)
    h.activate()
    r = h.http_get("/events")
    assert r.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert r.flushes == 3
    with pytest.raises(RuntimeError, match="handler exploded"):
        h.http_get("/fail")


def test_http_without_serve_http_is_explained(plugin_harness: HarnessFactory) -> None:
    class NoHTTP(Plugin):
        pass

    with pytest.raises(NotImplementedError, match="does not implement serve_http"):
        plugin_harness(NoHTTP).http_get("/")
