"""Call plumbing shared by the generated API and Driver clients.

``SyncClient`` wraps a ``grpc.Channel`` (usable from any thread) and, in the plugin process, the
host's calls socket (``mmplugin._runtime.calls``), which carries its unary calls at a fraction of
a gRPC call's cost; ``AsyncClient`` a ``grpc.aio.Channel`` (more throughput with many calls in
flight, only on the event loop that created the channel). Both add the call metadata (the launch
secret) and turn gRPC failures into mmplugin.errors exceptions. The HTTP responses of PluginHTTP are
streamed: read them with ``iter_body``/``read`` (sync) or ``aiter_body``/``read`` (async).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc import aio

from mmplugin import _serverversion, _streams
from mmplugin import errors as _errors
from mmplugin._runtime.calls import AsyncCallsClient, CallsClient, release_hook_reader
from mmplugin.v1 import models_pb2 as _m

__all__ = [
    "AsyncCallsClient",
    "AsyncClient",
    "AsyncHTTPResponse",
    "CallsClient",
    "HTTPResponse",
    "SyncClient",
]

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def _http_head(
    method: str, url: str, headers: _streams.HeadersLike, body: object
) -> _m.HTTPRequestHead:
    text, raw = _streams.wire_fields(url)
    return _m.HTTPRequestHead(
        method=method.upper(),
        url=text,
        raw_url=raw,
        proto="HTTP/1.1",
        proto_major=1,
        proto_minor=1,
        headers=_streams.headers_to_pb(headers),
        request_uri=text,
        raw_request_uri=raw,
        content_length=_streams.content_length(body),
    )


class _ResponseBase:
    def __init__(self, rpc: str, head: _m.HTTPResponseHead) -> None:
        self._rpc = rpc
        self.status_code: int = head.status_code
        self.headers: list[tuple[str, str]] = _streams.headers_from_pb(head.headers)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _streams._find_header(self.headers, name)

    def _chunk(self, msg: Any) -> bytes | None:
        """The body bytes of one response message; None at the end marker."""
        part = msg.WhichOneof("part")
        if part == "body":
            data: bytes = msg.body.data
            return data
        if part == "flush":
            return b""
        if part == "end":
            if msg.end.HasField("error"):
                raise _errors.exception_from_pb(msg.end.error)
            return None
        raise _errors.ProtocolError(f"{self._rpc}: unexpected {part!r} in the response stream")


class HTTPResponse(_ResponseBase):
    """The streamed answer of API.plugin_http; use as a context manager or call close()."""

    def __init__(
        self, rpc: str, head: _m.HTTPResponseHead, rest: Iterator[Any], cancel: Callable[[], Any]
    ) -> None:
        super().__init__(rpc, head)
        self._rest = rest
        self._cancel = cancel

    def iter_body(self) -> Iterator[bytes]:
        """The body in chunks as they arrive."""
        try:
            for msg in self._rest:
                chunk = self._chunk(msg)
                if chunk is None:
                    return
                if chunk:
                    yield chunk
        except grpc.RpcError as exc:
            raise _errors.rpc_error("PluginAPIService", "PluginHTTP", exc) from None

    def read(self) -> bytes:
        """The whole body."""
        return b"".join(self.iter_body())

    def close(self) -> None:
        """Stop receiving the body (cancels the stream)."""
        self._cancel()

    def __enter__(self) -> HTTPResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHTTPResponse(_ResponseBase):
    """The streamed answer of AsyncAPI.plugin_http."""

    def __init__(self, rpc: str, head: _m.HTTPResponseHead, call: Any) -> None:
        super().__init__(rpc, head)
        self._call = call

    async def aiter_body(self) -> AsyncIterator[bytes]:
        """The body in chunks as they arrive."""
        try:
            while True:
                msg = await self._call.read()
                if msg is aio.EOF:
                    return
                chunk = self._chunk(msg)
                if chunk is None:
                    return
                if chunk:
                    yield chunk
        except grpc.RpcError as exc:
            raise _errors.rpc_error("PluginAPIService", "PluginHTTP", exc) from None

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([c async for c in self.aiter_body()])

    def close(self) -> None:
        """Stop receiving the body (cancels the stream)."""
        self._call.cancel()

    async def __aenter__(self) -> AsyncHTTPResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


_Calls = TypeVar("_Calls", CallsClient, AsyncCallsClient)


class _Client(Generic[_Calls]):
    """What both client flavours keep: the service name, the call metadata, the timeout and the
    calls socket client of their flavour (None: everything over gRPC)."""

    __slots__ = ("_calls", "_metadata", "_service", "_timeout")

    def __init__(
        self,
        service: str,
        metadata: Sequence[tuple[str, str]],
        timeout: float | None,
        calls: _Calls | None = None,
    ) -> None:
        self._service = service
        self._metadata = tuple(metadata)
        self._timeout = timeout
        self._calls: _Calls | None = calls


_PACKAGE = "mmplugin.v1"
_API_SERVICE = "PluginAPIService"


@functools.cache
def framed_method(service: str, name: str) -> tuple[str, Callable[[bytes], Any]]:
    """The full gRPC name of ``service.name`` and its response parser (for the calls socket)."""
    desc = descriptor_pool.Default().FindServiceByName(f"{_PACKAGE}.{service}")
    response = message_factory.GetMessageClass(desc.methods_by_name[name].output_type)
    return f"/{_PACKAGE}.{service}/{name}", response.FromString


class SyncClient(_Client[CallsClient]):
    """Base of the generated sync clients: unary calls on the calls socket when there is one,
    else (and streams always) on a grpc.Channel."""

    __slots__ = ()

    def _unary(
        self, name: str, rpc: grpc.UnaryUnaryMultiCallable[_Req, _Resp], request: _Req
    ) -> _Resp:
        try:
            if self._calls is not None:
                response: _Resp = self._framed_call(self._calls, name, request)
            else:
                release_hook_reader()  # a blocking call: a hook's thread lets another read hooks
                response = rpc(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise _errors.rpc_error(self._service, name, exc) from None
        if self._service == _API_SERVICE and (detail := _serverversion.not_on_server(response)):
            raise _serverversion.error_for(self, name, detail)
        return response

    def _framed_call(self, calls: CallsClient, name: str, request: Any) -> Any:
        path, parse = framed_method(self._service, name)
        return parse(calls.call(path, request.SerializeToString(), self._timeout))

    def _upload(
        self,
        name: str,
        rpc: grpc.StreamUnaryMultiCallable[_Req, _Resp],
        make: Callable[..., _Req],
        head: object,
        data: _streams.BinaryData,
    ) -> _Resp:
        def requests() -> Iterator[_Req]:
            yield make(head=head)
            for chunk in _streams.iter_chunks(data):
                yield make(chunk=_m.StreamChunk(data=chunk))

        release_hook_reader()
        try:
            return rpc(requests(), metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise _errors.rpc_error(self._service, name, exc) from None

    def _plugin_http(
        self,
        name: str,
        rpc: grpc.StreamStreamMultiCallable[_Req, Any],
        make: Callable[..., _Req],
        method: str,
        url: str,
        headers: _streams.HeadersLike,
        body: _streams.BinaryData,
    ) -> HTTPResponse:
        def requests() -> Iterator[_Req]:
            yield make(head=_http_head(method, url, headers, body))
            for chunk in _streams.iter_chunks(body):
                yield make(body=_m.StreamChunk(data=chunk))
            yield make(end=_m.StreamEnd())

        rpc_name = f"{self._service}.{name}"
        release_hook_reader()
        try:
            call = rpc(requests(), metadata=self._metadata, timeout=self._timeout)
            first = next(call, None)
        except grpc.RpcError as exc:
            raise _errors.rpc_error(self._service, name, exc) from None
        return HTTPResponse(rpc_name, _response_head(rpc_name, first), call, call.cancel)


def _response_head(rpc: str, first: Any) -> _m.HTTPResponseHead:
    if first is None or first is aio.EOF:
        raise _errors.ProtocolError(f"{rpc}: the response stream ended before its head")
    part = first.WhichOneof("part")
    if part == "end" and first.end.HasField("error"):
        raise _errors.exception_from_pb(first.end.error)
    if part != "head":
        raise _errors.ProtocolError(f"{rpc}: the response stream must start with its head")
    head: _m.HTTPResponseHead = first.head
    return head


class AsyncClient(_Client[AsyncCallsClient]):
    """Base of the generated asyncio clients: unary calls on the calls socket when there is one,
    else (and streams always) on a grpc.aio.Channel."""

    __slots__ = ()

    async def _unary(
        self, name: str, rpc: aio.UnaryUnaryMultiCallable[_Req, _Resp], request: _Req
    ) -> _Resp:
        try:
            if self._calls is not None:
                path, parse = framed_method(self._service, name)
                data = await self._calls.call(
                    path,
                    request.SerializeToString(),  # type: ignore[attr-defined]
                    self._timeout,
                )
                response: _Resp = parse(data)
            else:
                response = await rpc(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise _errors.rpc_error(self._service, name, exc) from None
        if self._service == _API_SERVICE and (detail := _serverversion.not_on_server(response)):
            raise await _serverversion.async_error_for(self, name, detail)
        return response

    async def _upload(
        self,
        name: str,
        rpc: aio.StreamUnaryMultiCallable[_Req, _Resp],
        make: Callable[..., _Req],
        head: object,
        data: _streams.AsyncBinaryData,
    ) -> _Resp:
        async def requests() -> AsyncIterator[_Req]:
            yield make(head=head)
            async for chunk in _streams.aiter_chunks(data):
                yield make(chunk=_m.StreamChunk(data=chunk))

        try:
            return await rpc(requests(), metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise _errors.rpc_error(self._service, name, exc) from None

    async def _plugin_http(
        self,
        name: str,
        rpc: aio.StreamStreamMultiCallable[_Req, Any],
        make: Callable[..., _Req],
        method: str,
        url: str,
        headers: _streams.HeadersLike,
        body: _streams.AsyncBinaryData,
    ) -> AsyncHTTPResponse:
        async def requests() -> AsyncIterator[_Req]:
            yield make(head=_http_head(method, url, headers, body))
            async for chunk in _streams.aiter_chunks(body):
                yield make(body=_m.StreamChunk(data=chunk))
            yield make(end=_m.StreamEnd())

        rpc_name = f"{self._service}.{name}"
        try:
            call = rpc(requests(), metadata=self._metadata, timeout=self._timeout)
            first = await call.read()
        except grpc.RpcError as exc:
            raise _errors.rpc_error(self._service, name, exc) from None
        return AsyncHTTPResponse(rpc_name, _response_head(rpc_name, first), call)
