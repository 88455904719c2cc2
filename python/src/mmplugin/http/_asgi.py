"""Serving an ASGI app (FastAPI, Starlette, …) from the ServeHTTP / ServeMetrics hook.

The request body is handed to the app as it arrives (``http.request`` messages with
``more_body``) and every ``http.response.body`` message goes to the host as soon as it is sent,
followed by a flush while more is to come, so streamed responses (server-sent events, long
downloads) reach the client chunk by chunk. Nothing is buffered whole.

When the client goes away, the host cancels the call: a ``receive()`` the app is waiting on
returns ``http.disconnect``, then the app's task is cancelled. ``send()`` after that raises
``StreamClosedError`` (a ``ConnectionError``, as ASGI 2.4 servers raise ``OSError``).

An exception before the response head went out becomes a 500 answer and a log record with
the traceback. After that the response cannot be changed: the exception ends the stream with
an error (the host logs it) unless the response was already complete (Starlette re-raises
after sending its own 500), in which case it is only logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from mmplugin._streams import HTTPRequest, ResponseWriter, wire_bytes

from ._lifespan import Lifespan, LifespanError
from ._request import (
    body_allowed,
    client,
    http_version,
    mattermost_info,
    scheme,
    server,
    target,
)
from ._types import ASGIApp, Message, Scope

_log = logging.getLogger("mmplugin.http")

_ERROR_BODY = b"Internal Server Error"


def build_scope(
    request: HTTPRequest, ctx: Any, plugin: Any, plugin_id: str | None, state: dict[str, Any]
) -> Scope:
    t = target(request, plugin_id)
    url_scheme = scheme(request.headers)
    mm = mattermost_info(request, ctx, plugin, t.path)
    return {
        "type": "http",
        # 2.3: apps learn of a disconnect from receive() (Starlette listens for it while
        # streaming), and send() after a disconnect raises instead of being ignored.
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version(request),
        "method": request.method.upper(),
        "scheme": url_scheme,
        # Like uvicorn/hypercorn behind --root-path: path is the full path, root_path the
        # mount point; frameworks route on path minus root_path (Go's r.URL.Path).
        "path": t.root_path + t.path,
        "raw_path": t.raw_path,
        "query_string": wire_bytes(t.query),
        "root_path": t.root_path,
        "headers": [
            (name.lower().encode("latin-1"), wire_bytes(value)) for name, value in request.headers
        ],
        "client": client(request),
        "server": server(request, url_scheme),
        "state": dict(state),
        "extensions": {"mattermost": mm},
        "mattermost": mm,
    }


class _Exchange:
    """One request: receive() and send() for the app, over the hook's request and writer."""

    def __init__(self, request: HTTPRequest, writer: ResponseWriter, name: str) -> None:
        self._body = request.body
        self._body_lock = asyncio.Lock()
        self._body_done = False
        self._method = request.method.upper()
        self._name = name
        self._over = asyncio.Event()  # disconnected, or the response is complete
        self.writer = writer
        self.disconnected = False
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.complete = False

    def disconnect(self) -> None:
        self.disconnected = True
        self._over.set()

    async def receive(self) -> Message:
        if not self._body_done and not self.disconnected:
            async with self._body_lock:
                if not self._body_done and not self.disconnected:
                    return await self._next_body()
        # After the body, receive() waits for the end of the exchange (ASGI: http.disconnect
        # once the client is gone; like uvicorn, also once the response is complete).
        await self._over.wait()
        return {"type": "http.disconnect"}

    async def _next_body(self) -> Message:
        try:
            chunk = await self._body.__anext__()
        except StopAsyncIteration:
            self._body_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        except Exception as exc:
            # The host could not deliver the rest of the body (the client aborted the upload).
            _log.debug("%s: request body ended early: %s", self._name, exc)
            self._body_done = True
            self.disconnect()
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError(
                    f"{self._name} sent http.response.start twice: the response already "
                    f"started with status {self.status}"
                )
            status = int(message["status"])
            if not 100 <= status <= 999:
                raise RuntimeError(f"{self._name} sent an invalid HTTP status code {status}")
            if message.get("trailers"):
                raise RuntimeError(
                    f"{self._name} asked for HTTP trailers, which Mattermost plugins cannot send"
                )
            self.status = status
            self.headers = [
                (bytes(k).decode("latin-1"), bytes(v).decode("utf-8", "surrogateescape"))
                for k, v in message.get("headers", ())
            ]
        elif kind == "http.response.body":
            if self.status is None:
                raise RuntimeError(
                    f"{self._name} sent http.response.body before http.response.start"
                )
            if self.complete:
                raise RuntimeError(
                    f"{self._name} sent http.response.body after the response was complete "
                    "(a previous body message had more_body=False)"
                )
            body = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            await self._send_head()
            if body and body_allowed(self._method, self.status):
                await self.writer.write(body)
                if more:
                    await self.writer.flush()
            if not more:
                self.complete = True
                self._over.set()
        else:
            raise RuntimeError(f"{self._name} sent an unsupported ASGI message {kind!r}")

    async def _send_head(self) -> None:
        if not self.head_sent:
            assert self.status is not None
            self.head_sent = True
            await self.writer.start(self.status, self.headers)

    async def send_error(self) -> None:
        """A 500 answer, if nothing has gone out yet."""
        if self.head_sent or self.disconnected:
            return
        self.head_sent = True
        self.status = 500
        await self.writer.start(
            500,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(_ERROR_BODY))),
            ],
        )
        if self._method != "HEAD":
            await self.writer.write(_ERROR_BODY)
        self.complete = True


async def _run(app: ASGIApp, scope: Scope, exchange: _Exchange) -> None:
    await app(scope, exchange.receive, exchange.send)


class ASGIBridge:
    """Serves one ASGI app for one plugin object."""

    def __init__(self, app: ASGIApp, lifespan: Lifespan | None, name: str) -> None:
        self.app = app
        self.lifespan = lifespan
        self.name = name

    async def serve(
        self,
        ctx: Any,
        writer: ResponseWriter,
        request: HTTPRequest,
        plugin: Any,
        plugin_id: str | None,
    ) -> None:
        exchange = _Exchange(request, writer, self.name)
        try:
            if self.lifespan is not None:
                await self.lifespan.ensure_started()
        except LifespanError:
            await exchange.send_error()  # already logged by the lifespan
            return
        state = self.lifespan.state if self.lifespan is not None else {}
        scope = build_scope(request, ctx, plugin, plugin_id, state)
        task: asyncio.Task[None] = asyncio.create_task(_run(self.app, scope, exchange))
        try:
            # wait() rather than await: cancelling us must not cancel the app before it has
            # seen http.disconnect.
            await asyncio.wait({task})
        except asyncio.CancelledError:
            exchange.disconnect()
            await asyncio.sleep(0)  # let a pending receive() return http.disconnect
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({task})
            raise
        await self._finish(task, exchange)

    async def _finish(self, task: asyncio.Task[None], exchange: _Exchange) -> None:
        if task.cancelled():
            if not exchange.complete:
                _log.warning("%s was cancelled before completing its response", self.name)
            return
        exc = task.exception()
        if exc is not None:
            if not exchange.head_sent:
                _log.error(
                    "%s raised %s before responding: answering 500",
                    self.name,
                    type(exc).__name__,
                    exc_info=exc,
                )
                await exchange.send_error()
                return
            if exchange.complete:
                _log.error(
                    "%s raised %s after completing its response",
                    self.name,
                    type(exc).__name__,
                    exc_info=exc,
                )
                return
            raise exc
        if exchange.status is None:
            _log.error("%s returned without starting a response: answering 500", self.name)
            await exchange.send_error()
        elif not exchange.complete:
            _log.warning("%s returned without completing its response", self.name)
            await exchange._send_head()
