"""WSGI apps (Flask, raw WSGI) behind the ServeHTTP hook, run in worker threads."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, request
from http_host import PLUGIN_ID, Served, wait_for

import mmplugin.http
from mmplugin.http import StartResponse

flask_app = Flask(__name__)
state: dict[str, Any] = {}


@flask_app.get("/items/<int:item_id>")
def get_item(item_id: int) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "q": request.args.get("q"),
        "tags": request.args.getlist("tag"),
        "user": mmplugin.http.user_id(request),
        "request_id": request.environ["mattermost.context"].request_id,
        "url": request.url,
        "script_root": request.script_root,
        "path": request.path,
        "remote_addr": request.remote_addr,
        "accept": request.headers.get("Accept"),
        "thread": threading.current_thread().name,
    }


@flask_app.post("/items")
def create_item() -> tuple[dict[str, Any], int, dict[str, str]]:
    data = request.get_json()
    return data, 201, {"X-Item-Name": data["name"]}


@flask_app.route("/page", methods=["GET", "HEAD"])
def page() -> Response:
    response = Response("hello page", headers={"X-Page": "1"})
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@flask_app.get("/boom")
def boom() -> str:
    raise ValueError("kaboom")


@flask_app.get("/stream")
def stream() -> Response:
    release = threading.Event()
    state["release"] = release
    state["finished"] = False

    def generate() -> Iterator[str]:
        yield "data: first\n\n"
        release.wait(5)
        yield "data: second\n\n"
        state["finished"] = True

    return Response(generate(), mimetype="text/event-stream")


@flask_app.get("/forever")
def forever() -> Response:
    state["closed"] = threading.Event()

    def generate() -> Iterator[bytes]:
        try:
            while True:
                yield b"tick\n" * 1000
        finally:
            state["closed"].set()

    return Response(generate())


class FlaskPlugin:
    plugin_id = PLUGIN_ID
    serve_http = mmplugin.http.wsgi(flask_app)


async def test_path_query_headers_user_and_context() -> None:
    async with Served(FlaskPlugin()) as host:
        r = await host.request(
            "GET",
            "/items/7",
            query="q=hi&tag=a&tag=b",
            headers=[
                ("Mattermost-User-Id", "user123"),
                ("Accept", "application/json"),
                ("Accept", "text/plain"),
            ],
        )
    assert r.status == 200
    data = json.loads(r.body)
    assert data.pop("thread").startswith("mmplugin-hook")  # a worker thread, not the loop
    assert data == {
        "item_id": 7,
        "q": "hi",
        "tags": ["a", "b"],
        "user": "user123",
        "request_id": "req-1",
        "url": f"http://mm.example.com/plugins/{PLUGIN_ID}/items/7?q=hi&tag=a&tag=b",
        "script_root": f"/plugins/{PLUGIN_ID}",
        "path": "/items/7",
        "remote_addr": "10.0.0.7",
        "accept": "application/json,text/plain",
    }


async def test_json_body_status_headers_and_head() -> None:
    async with Served(FlaskPlugin()) as host:
        body = json.dumps({"name": "lamp", "price": 9.5}).encode()
        r = await host.request(
            "POST", "/items", headers=[("Content-Type", "application/json")], body=body
        )
        assert r.status == 201
        assert r.header("X-Item-Name") == "lamp"
        assert json.loads(r.body) == {"name": "lamp", "price": 9.5}
        assert (await host.request("GET", "/missing")).status == 404
        assert (await host.request("DELETE", "/items")).status == 405
        page = await host.request("GET", "/page")
        assert [c.split(";")[0] for c in page.header_values("Set-Cookie")] == ["a=1", "b=2"]
        head = await host.request("HEAD", "/page")
    assert head.status == 200 and head.body == b"" and head.header("X-Page") == "1"


async def test_flask_exception_is_500_with_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    async with Served(FlaskPlugin()) as host:
        r = await host.request("GET", "/boom")
    assert r.status == 500
    assert any(rec.exc_info and "kaboom" in str(rec.exc_info[1]) for rec in caplog.records), (
        "the traceback must reach the log"
    )


async def test_raw_app_exception_before_start_is_500(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        raise KeyError("missing")

    class P:
        serve_http = mmplugin.http.wsgi(app)

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 500 and r.body == b"Internal Server Error"
    assert any(rec.exc_info and rec.name == "mmplugin.http" for rec in caplog.records)


async def test_streamed_blocks_arrive_before_the_app_finishes() -> None:
    async with Served(FlaskPlugin()) as host:
        call = host.open("GET", "/stream")
        first = b""
        async for msg in call:
            if msg.WhichOneof("part") == "body":
                first = msg.body.data
            if msg.WhichOneof("part") == "flush":
                break
        assert first == b"data: first\n\n"
        assert state["finished"] is False
        state["release"].set()
        rest = [m async for m in call]
    assert [m.body.data for m in rest if m.WhichOneof("part") == "body"] == [b"data: second\n\n"]
    assert state["finished"] is True


async def test_disconnect_closes_the_app_iterable() -> None:
    async with Served(FlaskPlugin()) as host:
        call = host.open("GET", "/forever")
        async for msg in call:
            if msg.WhichOneof("part") == "body":
                break
        call.cancel()
        await wait_for(state["closed"].is_set)


async def test_start_response_twice_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        start_response("201 Created", [])
        return [b"x"]

    class P:
        serve_http = mmplugin.http.wsgi(app)

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 500
    assert "start_response twice" in caplog.text


async def test_environ_and_input() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        seen.update(environ)
        stream = environ["wsgi.input"]
        lines = [stream.readline(), stream.readline()]
        rest = stream.read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"|".join([*lines, rest])]

    class P:
        @mmplugin.http.wsgi
        def serve_http(self) -> Any:  # a factory method, called once per plugin object
            return app

    body = b"line one\nline two\n" + b"z" * 100_000
    async with Served(P()) as host:
        r = await host.request(
            "POST",
            "/a/b",
            query="x=1",
            body=body,
            headers=[("Cookie", "a=1"), ("Cookie", "b=2"), ("Content-Type", "text/plain")],
            request_uri="/plugins/other.id/a/b?x=1",
        )
    assert r.body == b"line one\n|line two\n|" + b"z" * 100_000
    assert seen["SCRIPT_NAME"] == "/plugins/other.id"
    assert seen["PATH_INFO"] == "/a/b"
    assert seen["QUERY_STRING"] == "x=1"
    assert seen["CONTENT_LENGTH"] == str(len(body))
    assert seen["CONTENT_TYPE"] == "text/plain"
    assert seen["HTTP_COOKIE"] == "a=1; b=2"
    assert seen["SERVER_NAME"] == "mm.example.com" and seen["SERVER_PORT"] == "80"
    assert seen["wsgi.input_terminated"] is True
    assert seen["mattermost.user_id"] is None
