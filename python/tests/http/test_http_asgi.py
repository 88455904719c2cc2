"""ASGI apps (FastAPI, Starlette, raw ASGI) behind the ServeHTTP hook, through the real servicer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from http_host import PLUGIN_ID, Served, wait_for
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import mmplugin.http
from mmplugin._dispatch import discover_handlers
from mmplugin._gen.hooks import HOOKS
from mmplugin.http import Receive, Scope, Send
from mmplugin.v1 import hooks_pb2 as hpb

# -- a FastAPI app -------------------------------------------------------------------------------

api = FastAPI()
events: dict[str, Any] = {}


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@api.get("/items/{item_id}")
async def get_item(
    item_id: int,
    request: Request,
    q: str | None = None,
    tag: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    mm = mmplugin.http.mattermost(request)
    return {
        "item_id": item_id,
        "q": q,
        "tags": tag or [],
        "user": mmplugin.http.user_id(request),
        "request_id": mm["context"].request_id,
        "go_path": mm["path"],
        "url": str(request.url),
        "root_path": request.scope["root_path"],
        "client": request.client.host if request.client else None,
        "accept": request.headers.getlist("accept"),
    }


@api.post("/items", status_code=201)
def create_item(item: Item, response: Response) -> Item:  # a sync endpoint: FastAPI's threads
    response.headers["X-Item-Name"] = item.name
    return item


@api.api_route("/page", methods=["GET", "HEAD"])
async def page() -> PlainTextResponse:
    response = PlainTextResponse("hello page", headers={"X-Page": "1"})
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@api.get("/teapot")
async def teapot() -> None:
    raise HTTPException(status_code=418, detail="short and stout")


@api.get("/boom")
async def boom() -> None:
    raise ValueError("kaboom")


@api.get("/events")
async def sse() -> StreamingResponse:
    release = asyncio.Event()
    events["release"] = release
    events["finished"] = False

    async def stream() -> AsyncIterator[str]:
        yield "data: first\n\n"
        await release.wait()
        yield "data: second\n\n"
        events["finished"] = True

    return StreamingResponse(stream(), media_type="text/event-stream")


@api.get("/forever")
async def forever() -> StreamingResponse:
    events["stopped"] = False

    async def stream() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick\n"
                await asyncio.sleep(0.01)
        finally:
            events["stopped"] = True

    return StreamingResponse(stream())


class Demo:
    plugin_id = PLUGIN_ID
    serve_http = mmplugin.http.asgi(api)


# -- tests ---------------------------------------------------------------------------------------


async def test_path_query_headers_user_and_context() -> None:
    async with Served(Demo()) as host:
        r = await host.request(
            "GET",
            "/items/42",
            query="q=hi&tag=a&tag=b",
            headers=[
                ("Mattermost-User-Id", "user123"),
                ("Accept", "application/json"),
                ("Accept", "text/plain"),
            ],
        )
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    data = json.loads(r.body)
    assert data == {
        "item_id": 42,
        "q": "hi",
        "tags": ["a", "b"],
        "user": "user123",
        "request_id": "req-1",
        "go_path": "/items/42",
        "url": f"http://mm.example.com/plugins/{PLUGIN_ID}/items/42?q=hi&tag=a&tag=b",
        "root_path": f"/plugins/{PLUGIN_ID}",
        "client": "10.0.0.7",
        "accept": ["application/json", "text/plain"],
    }


async def test_unauthenticated_request_has_no_user() -> None:
    async with Served(Demo()) as host:
        r = await host.request("GET", "/items/1")
    assert json.loads(r.body)["user"] is None


async def test_json_body_status_and_response_header() -> None:
    async with Served(Demo()) as host:
        body = json.dumps({"name": "lamp", "price": 9.5, "tags": ["x"]}).encode()
        r = await host.request(
            "POST", "/items", headers=[("Content-Type", "application/json")], body=body
        )
        assert r.status == 201
        assert r.header("X-Item-Name") == "lamp"
        assert json.loads(r.body) == {"name": "lamp", "price": 9.5, "tags": ["x"]}

        bad = await host.request(
            "POST", "/items", headers=[("Content-Type", "application/json")], body=b"{}"
        )
        assert bad.status == 422
        missing = await host.request("GET", "/nope")
        assert missing.status == 404
        teapot = await host.request("GET", "/teapot")
        assert teapot.status == 418 and b"short and stout" in teapot.body


async def test_multi_valued_response_headers_and_head() -> None:
    async with Served(Demo()) as host:
        r = await host.request("GET", "/page")
        assert r.body == b"hello page"
        assert [c.split(";")[0] for c in r.header_values("Set-Cookie")] == ["a=1", "b=2"]
        head = await host.request("HEAD", "/page")
    assert head.status == 200
    assert head.header("X-Page") == "1" and head.header("Content-Length") == "10"
    assert head.body == b""  # Go's net/http refuses body writes for HEAD: none are sent


async def test_exception_becomes_500_with_traceback_in_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="mmplugin.http")
    async with Served(Demo()) as host:
        r = await host.request("GET", "/boom")
    assert r.status == 500
    assert r.end_error is None  # FastAPI already answered: the stream itself ends cleanly
    records = [rec for rec in caplog.records if rec.exc_info and "kaboom" in str(rec.exc_info[1])]
    assert records, "the traceback must reach the log"


async def test_server_sent_events_arrive_before_the_handler_finishes() -> None:
    async with Served(Demo()) as host:
        call = host.open("GET", "/events")
        parts: list[str] = []
        first = b""
        async for msg in call:
            part = msg.WhichOneof("part")
            parts.append(part)
            if part == "body":
                first = msg.body.data
            if part == "flush":
                break
        assert first == b"data: first\n\n"
        assert parts[0] == "head" and parts[-2:] == ["body", "flush"]
        assert events["finished"] is False  # the client has the first event; the app still runs
        events["release"].set()
        rest = [msg async for msg in call]
        assert [m.body.data for m in rest if m.WhichOneof("part") == "body"] == [
            b"data: second\n\n"
        ]
        assert rest[-1].WhichOneof("part") == "end"
        assert events["finished"] is True


async def test_disconnect_stops_a_streaming_response() -> None:
    async with Served(Demo()) as host:
        call = host.open("GET", "/forever")
        async for msg in call:
            if msg.WhichOneof("part") == "body":
                break
        call.cancel()  # the HTTP client went away: the host cancels the call
        await wait_for(lambda: events["stopped"])


async def test_redirect_stays_under_the_plugin_url() -> None:
    async def page(request: Any) -> JSONResponse:
        return JSONResponse({"url": str(request.url), "path": request.url.path})

    app = Starlette(routes=[Route("/dir/", page)])

    class P:
        plugin_id = PLUGIN_ID
        serve_http = mmplugin.http.asgi(app)

    async with Served(P()) as host:
        r = await host.request("GET", "/dir")
        assert r.status == 307
        assert r.header("Location") == f"http://mm.example.com/plugins/{PLUGIN_ID}/dir/"
        r = await host.request(
            "GET", "/dir/", headers=[("X-Forwarded-Proto", "https")], query="a=%20b"
        )
    assert json.loads(r.body) == {
        "url": f"https://mm.example.com/plugins/{PLUGIN_ID}/dir/?a=%20b",
        "path": f"/plugins/{PLUGIN_ID}/dir/",
    }


async def test_mount_point_from_the_request_uri_with_subpath() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"ignored for 204"})

    class P:
        plugin_id = PLUGIN_ID
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        # The server (under the subpath /chat) leaves Go's escaping of the decoded path.
        r = await host.request("GET", "/a/b%20c", request_uri=f"/chat/plugins/{PLUGIN_ID}/a/b%20c")
        # From another plugin (API.PluginHTTP) there is no client URI: the default mount point.
        await host.request("GET", "/x", request_uri="")
    assert r.status == 204 and r.body == b""
    assert seen[0]["root_path"] == f"/chat/plugins/{PLUGIN_ID}"
    assert seen[0]["path"] == f"/chat/plugins/{PLUGIN_ID}/a/b c"
    assert seen[0]["raw_path"] == f"/chat/plugins/{PLUGIN_ID}/a/b%20c".encode()
    assert seen[0]["mattermost"]["path"] == "/a/b c"
    assert (seen[1]["root_path"], seen[1]["path"]) == (
        f"/plugins/{PLUGIN_ID}",
        f"/plugins/{PLUGIN_ID}/x",
    )


async def test_request_body_is_streamed_to_the_app() -> None:
    received: list[tuple[int, bool]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append((len(message.get("body", b"")), message.get("more_body", False)))
            if not message.get("more_body"):
                break
        total = sum(n for n, _ in received)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(total).encode()})

    class P:
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        r = await host.request("PUT", "/upload", body=b"x" * (200 * 1024 + 5))
    assert r.body == str(200 * 1024 + 5).encode()
    assert len(received) >= 4  # chunk by chunk, never the whole body at once
    assert all(n <= 64 * 1024 for n, _ in received)
    assert received[-1][1] is False


async def test_disconnect_is_delivered_then_the_app_is_cancelled() -> None:
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"started", "more_body": True})
        try:
            while True:
                message = await receive()
                log.append(message["type"])
                if message["type"] == "http.disconnect":
                    await asyncio.sleep(10)  # would run on; the bridge cancels it
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    class P:
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        call = host.open("GET", "/")
        async for msg in call:
            if msg.WhichOneof("part") == "flush":
                break
        call.cancel()
        await wait_for(lambda: "cancelled" in log)
    assert log[-2:] == ["http.disconnect", "cancelled"]


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.start", "status": 201},
            ],
            "http.response.start twice",
        ),
        ([{"type": "http.response.body", "body": b"x"}], "before http.response.start"),
        ([{"type": "http.response.start", "status": 1000}], "invalid HTTP status code 1000"),
        ([{"type": "websocket.accept"}], "unsupported ASGI message 'websocket.accept'"),
    ],
)
async def test_protocol_errors_answer_500_and_say_why(
    messages: list[dict[str, Any]], error: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    class P:
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 500 and r.body == b"Internal Server Error"
    assert any(error in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)


async def test_body_after_the_end_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        await send({"type": "http.response.body", "body": b"more"})

    class P:
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 200 and r.body == b"done"
    assert any(
        "after the response was complete" in str(rec.exc_info[1])
        for rec in caplog.records
        if rec.exc_info
    )


async def test_failure_after_the_head_ends_the_stream_with_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("lost the data source")

    class P:
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 200 and r.body == b"part"
    assert r.end_error is not None and "lost the data source" in r.end_error


async def test_app_that_never_responds_gets_500(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    class P:
        serve_http = mmplugin.http.asgi(app, lifespan="off")

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 500
    assert "without starting a response" in caplog.text


async def test_lifespan_runs_before_the_first_request_and_at_stop() -> None:
    calls: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        calls.append("startup")
        yield {"db": "ready"}
        calls.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def root(request: Request) -> dict[str, Any]:
        return {"db": request.state.db}

    class P:
        serve_http = mmplugin.http.asgi(app)

    plugin = P()
    async with Served(plugin) as host:
        assert calls == []
        r1 = await host.request("GET", "/")
        r2 = await host.request("GET", "/")
        assert calls == ["startup"]
    # Served stops like the plugin process does: the SDK's binder runs shutdown_lifespans.
    assert calls == ["startup", "shutdown"]
    assert json.loads(r1.body) == json.loads(r2.body) == {"db": "ready"}


async def test_failed_lifespan_answers_500() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    class P:
        serve_http = mmplugin.http.asgi(FastAPI(lifespan=lifespan))

    async with Served(P()) as host:
        r = await host.request("GET", "/")
    assert r.status == 500


async def test_factory_method_closes_over_the_plugin_and_serves_metrics() -> None:
    class P:
        plugin_id = PLUGIN_ID
        requests = 0

        @mmplugin.http.asgi
        def serve_metrics(self) -> FastAPI:
            app = FastAPI()

            @app.get("/metrics")
            def metrics() -> PlainTextResponse:
                self.requests += 1
                return PlainTextResponse(f"demo_requests_total {self.requests}\n")

            return app

    plugin = P()
    assert list(discover_handlers(plugin, HOOKS)) == ["ServeMetrics"]
    async with Served(plugin) as host:
        await host.request("GET", "/metrics", hook="ServeMetrics")
        r = await host.request("GET", "/metrics", hook="ServeMetrics")
        assert r.body == b"demo_requests_total 2\n"
        # No ServeHTTP: not implemented, so the server answers 404 without calling the plugin.
        implemented = await host.stub.Implemented(hpb.ImplementedRequest())
        assert list(implemented.result) == ["ServeMetrics"]


async def test_plain_handler_misuse_is_a_clear_error() -> None:
    late: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    class P:
        async def serve_http(self, ctx: Any, w: Any, r: Any) -> None:
            if r.url == "/twice":
                await w.start(200)
                await w.start(201)

            async def write_later() -> None:
                await asyncio.sleep(0.05)
                try:
                    await w.write(b"late")
                except RuntimeError as e:
                    late.append(str(e))

            tasks.append(asyncio.create_task(write_later()))
            await w.write(b"on time")

    async with Served(P()) as host:
        r = await host.request("GET", "/")
        await asyncio.wait(tasks)
        twice = await host.request("GET", "/twice")
    assert r.body == b"on time"
    assert late and "already complete" in late[0]
    assert twice.status == 200
    assert twice.end_error is not None and "already started with status 200" in twice.end_error
