"""An in-process stand-in for mmplugin-host's side of ServeHTTP / ServeMetrics.

The plugin side is the real thing: the generated ``HooksServicer`` with the plugin's handlers
(found by ``discover_handlers``, as the SDK does), served by ``grpc.aio`` on a unix socket. The
host side speaks the protocol as ``internal/hooksclient`` does: the request head (with the
URL Mattermost leaves after stripping ``/plugins/<id>``), body chunks, an end marker; it reads
the response head, body chunks, flush markers and the end, and cancels the call when "the
client goes away".
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grpc import aio

from mmplugin._dispatch import discover_handlers
from mmplugin._gen.hooks import HOOKS, HooksServicer
from mmplugin.http import shutdown_lifespans
from mmplugin.v1 import hooks_pb2 as hpb
from mmplugin.v1 import hooks_pb2_grpc
from mmplugin.v1 import models_pb2 as mpb

if TYPE_CHECKING:
    from mmplugin.v1.hooks_pb2_grpc import PluginHooksServiceAsyncStub

PLUGIN_ID = "com.example.demo"


@dataclass
class Response:
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] = field(default_factory=list)
    flushes: int = 0
    parts: list[str] = field(default_factory=list)
    end_error: str | None = None

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def add(self, msg: Any) -> None:
        part = msg.WhichOneof("part")
        self.parts.append(part)
        if part == "head":
            self.status = msg.head.status_code
            self.headers = [(h.name, v) for h in msg.head.headers for v in h.values]
        elif part == "body":
            self.chunks.append(msg.body.data)
            self.body += msg.body.data
        elif part == "flush":
            self.flushes += 1
        elif part == "end" and msg.end.HasField("error"):
            self.end_error = msg.end.error.message


def _headers(pairs: Iterable[tuple[str, str]]) -> list[mpb.HTTPHeader]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return [mpb.HTTPHeader(name=n, values=v) for n, v in sorted(grouped.items())]


class Host:
    def __init__(self, stub: PluginHooksServiceAsyncStub) -> None:
        self.stub = stub

    def open(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        query: str = "",
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | AsyncIterator[bytes] | None = None,
        hook: str = "ServeHTTP",
        request_uri: str | None = None,
        context: mpb.PluginContext | None = None,
    ) -> Any:
        """Start the call; returns the grpc.aio call (iterate it for the response parts)."""
        url = path + ("?" + query if query else "")
        if request_uri is None:
            request_uri = f"/plugins/{PLUGIN_ID}{url}"
        length = len(body) if isinstance(body, bytes) else -1
        head = mpb.HTTPRequestHead(
            context=context or mpb.PluginContext(request_id="req-1", ip_address="10.0.0.7"),
            method=method,
            url=url,
            proto="HTTP/1.1",
            proto_major=1,
            proto_minor=1,
            headers=_headers(headers),
            host="mm.example.com",
            remote_addr="10.0.0.7:51234",
            request_uri=request_uri,
            content_length=length,
        )
        req = hpb.ServeHTTPRequest if hook == "ServeHTTP" else hpb.ServeMetricsRequest

        async def messages() -> AsyncIterator[Any]:
            yield req(head=head)
            if isinstance(body, bytes):
                for i in range(0, len(body), 64 * 1024):
                    yield req(body=mpb.StreamChunk(data=body[i : i + 64 * 1024]))
            elif body is not None:
                async for chunk in body:
                    yield req(body=mpb.StreamChunk(data=chunk))
            yield req(end=mpb.StreamEnd())

        rpc = self.stub.ServeHTTP if hook == "ServeHTTP" else self.stub.ServeMetrics
        return rpc(messages())

    async def request(self, method: str = "GET", path: str = "/", **kw: Any) -> Response:
        """The whole response (until the plugin ends the stream)."""
        response = Response()
        async for msg in self.open(method, path, **kw):
            response.add(msg)
        return response


async def serve_plugin(plugin: object, directory: Path) -> tuple[aio.Server, Host, aio.Channel]:
    handlers = discover_handlers(plugin, HOOKS)
    servicer = HooksServicer(handlers)
    server = aio.server()
    hooks_pb2_grpc.add_PluginHooksServiceServicer_to_server(servicer, server)
    socket = str(directory / "plugin.sock")
    server.add_insecure_port(f"unix:{socket}")
    await server.start()
    channel = aio.insecure_channel(f"unix:{socket}")
    stub: PluginHooksServiceAsyncStub = hooks_pb2_grpc.PluginHooksServiceStub(channel)
    return server, Host(stub), channel


class Served:
    """``async with Served(plugin) as host:`` serves the plugin for one test."""

    def __init__(self, plugin: object) -> None:
        self.plugin = plugin
        self._tmp = tempfile.TemporaryDirectory(prefix="http")

    async def __aenter__(self) -> Host:
        self.server, host, self.channel = await serve_plugin(self.plugin, Path(self._tmp.name))
        return host

    async def __aexit__(self, *exc: object) -> None:
        # What the SDK does when the plugin stops: apps started here end with the test.
        await shutdown_lifespans()
        await self.channel.close()
        await self.server.stop(None)
        self._tmp.cleanup()


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """Poll ``predicate()`` until it is true (for effects in other tasks or threads)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
