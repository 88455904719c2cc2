"""Requests to a plugin's ``serve_http`` in tests, through the SDK's real HTTP stream code.

The harness builds the request stream the host would send (head, body chunks, end), runs the
same ``mmplugin._streams.serve_http`` the plugin process runs, and collects the response
stream into an ``HTTPResult``.
"""

from __future__ import annotations

import json as _json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from mmplugin import _streams
from mmplugin._gen.convert import plugin_context_from_pb, plugin_context_to_pb
from mmplugin.errors import exception_from_pb
from mmplugin.models import PluginContext
from mmplugin.v1 import hooks_pb2, models_pb2

_log = logging.getLogger("mmplugin.testing")


@dataclass
class HTTPResult:
    """What the plugin answered: status, headers (in order, names as sent), body."""

    status_code: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    flushes: int = 0
    """How many times the handler flushed (server-sent events and other streams)."""

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return _json.loads(self.body)


def _requests(
    method: str,
    path: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    ctx: PluginContext,
) -> list[hooks_pb2.ServeHTTPRequest]:
    head = models_pb2.HTTPRequestHead(
        context=plugin_context_to_pb(ctx),
        method=method.upper(),
        url=path,
        proto="HTTP/1.1",
        proto_major=1,
        proto_minor=1,
        headers=_streams.headers_to_pb(sorted(headers)),
        host="localhost:8065",
        remote_addr="127.0.0.1:50000",
        request_uri=path,
        content_length=len(body),
    )
    out = [hooks_pb2.ServeHTTPRequest(head=head)]
    out += [
        hooks_pb2.ServeHTTPRequest(body=models_pb2.StreamChunk(data=chunk))
        for chunk in _streams.iter_chunks(body)
    ]
    out.append(hooks_pb2.ServeHTTPRequest(end=models_pb2.StreamEnd()))
    return out


async def serve(
    handler: Callable[..., Any],
    is_async: bool,
    executor: Executor,
    method: str,
    path: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    ctx: PluginContext,
) -> HTTPResult:
    """Run ``handler`` (a ``serve_http`` hook) on one request and collect its response."""
    requests = _requests(method, path, headers, body, ctx)

    async def stream() -> AsyncIterator[hooks_pb2.ServeHTTPRequest]:
        for message in requests:
            yield message

    result = HTTPResult(status_code=0)
    chunks: list[bytes] = []
    async for msg in _streams.serve_http(
        handler,
        is_async,
        executor,
        stream(),
        hooks_pb2.ServeHTTPResponse,
        plugin_context_from_pb,
        _log,
        "serve_http",
    ):
        part = msg.WhichOneof("part")
        if part == "head":
            result.status_code = msg.head.status_code
            result.headers = _streams.headers_from_pb(msg.head.headers)
        elif part == "body":
            chunks.append(msg.body.data)
        elif part == "flush":
            result.flushes += 1
        elif part == "end" and msg.end.HasField("error"):
            raise exception_from_pb(msg.end.error)
    result.body = b"".join(chunks)
    return result
