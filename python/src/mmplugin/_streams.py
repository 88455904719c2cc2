"""Streamed bodies: the Python side of the protocol's stream RPCs.

Client side (the API): ``iter_chunks`` / ``aiter_chunks`` cut what a plugin passes for an
``io.Reader`` (bytes, a binary file, an iterable of bytes, or an async iterable) into 64 KiB
chunks.

Hook side: ServeHTTP / ServeMetrics and FileWillBeUploaded give the plugin's handler Python
objects over the gRPC streams, in two flavours. An ``async def`` handler gets ``HTTPRequest``
(``body`` is an async iterator of bytes), ``ResponseWriter``, ``UploadReader`` and
``UploadWriter`` with async methods; a plain ``def`` handler, which runs in a worker thread, gets
``SyncHTTPRequest``, ``SyncResponseWriter``, ``SyncUploadReader`` and ``SyncUploadWriter`` whose
methods block. Bodies are streamed both ways (never buffered whole), with backpressure: a
writer waits while the host has not taken the previous chunks. mmplugin's ASGI/WSGI adapters are
built on these objects.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

from mmplugin import errors as _errors
from mmplugin.v1 import models_pb2 as _m

__all__ = [
    "CHUNK_SIZE",
    "AsyncBinaryData",
    "BinaryData",
    "HTTPRequest",
    "HeadersLike",
    "Readable",
    "ResponseWriter",
    "StreamClosedError",
    "SyncHTTPRequest",
    "SyncResponseWriter",
    "SyncUploadReader",
    "SyncUploadWriter",
    "UploadReader",
    "UploadWriter",
    "aiter_chunks",
    "headers_to_pb",
    "iter_chunks",
    "wire_bytes",
    "wire_fields",
    "wire_str",
]

CHUNK_SIZE = 64 * 1024
"""Bytes per stream message (32-64 KiB keeps per-chunk overhead low; see docs/protocol.md)."""

MERGE_LIMIT = 1024 * 1024
"""Largest ServeHTTP response body message made by merging chunks that are already waiting
(fewer, larger messages for large responses; well under gRPC's 4 MiB default limit)."""

_log = logging.getLogger("mmplugin.hooks")

_T = TypeVar("_T")


class Readable(Protocol):
    """A binary file-like object: ``read(size)`` returns up to size bytes, ``b""`` at the end."""

    def read(self, size: int = ..., /) -> bytes: ...


BinaryData: TypeAlias = bytes | bytearray | memoryview | Readable | Iterable[bytes]
"""What an API method accepts for a Go io.Reader."""

AsyncBinaryData: TypeAlias = BinaryData | AsyncIterable[bytes]
"""What an AsyncAPI method accepts for a Go io.Reader."""

HeadersLike: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
"""HTTP headers: a mapping, or (name, value) pairs (repeat a name for several values)."""


class StreamClosedError(ConnectionError):
    """The other side stopped reading (the HTTP client went away or the host cancelled)."""


# -- chunking ------------------------------------------------------------------------------------


def iter_chunks(data: BinaryData, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Cut data into chunks of at most ``size`` bytes (empty chunks are skipped)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data).cast("B")
        for i in range(0, len(view), size):
            yield bytes(view[i : i + size])
        return
    read = getattr(data, "read", None)
    if callable(read):
        while chunk := read(size):
            if not isinstance(chunk, (bytes, bytearray)):
                raise TypeError(
                    f"read() returned {type(chunk).__name__}: open the file in binary mode ('rb')"
                )
            yield bytes(chunk)
        return
    if isinstance(data, str):
        raise TypeError("a str is not binary data: encode it first (e.g. text.encode())")
    for piece in data:  # type: ignore[union-attr]
        if not isinstance(piece, (bytes, bytearray, memoryview)):
            raise TypeError(f"an iterable of bytes yielded {type(piece).__name__}")
        yield from iter_chunks(piece, size)


async def aiter_chunks(data: AsyncBinaryData, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """iter_chunks for the async API: also accepts an async iterable of bytes."""
    if isinstance(data, AsyncIterable):
        async for piece in data:
            for chunk in iter_chunks(piece, size):
                yield chunk
        return
    for chunk in iter_chunks(data, size):
        yield chunk


def content_length(data: object) -> int:
    """The body length when known without reading it, else -1 (Go's unknown ContentLength)."""
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, memoryview):
        return data.nbytes
    return -1


# -- headers -------------------------------------------------------------------------------------


def headers_to_pb(headers: HeadersLike) -> list[_m.HTTPHeader]:
    """Header pairs grouped by name in order of first appearance, values in order. A header with
    a value that is not UTF-8 (from ``wire_str``) travels as raw bytes."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        names.setdefault(key, name)
        grouped.setdefault(key, []).append(value)
    out = []
    for key, values in grouped.items():
        if all(_is_utf8(v) for v in values):
            out.append(_m.HTTPHeader(name=names[key], values=values))
        else:
            out.append(_m.HTTPHeader(name=names[key], raw_values=[wire_bytes(v) for v in values]))
    return out


def headers_from_pb(headers: Iterable[_m.HTTPHeader]) -> list[tuple[str, str]]:
    """Header pairs; a value that is not UTF-8 decoded as ``wire_str`` does."""
    return [
        (h.name, v)
        for h in headers
        for v in (*h.values, *(raw.decode("utf-8", "surrogateescape") for raw in h.raw_values))
    ]


def wire_str(text: str, raw: bytes = b"") -> str:
    """A value a client sent (header, URL, host): the wire's string field, or its raw bytes when
    they are not UTF-8, decoded with ``surrogateescape`` so that ``wire_bytes`` gives back
    exactly the bytes the client sent, as a Go plugin sees them."""
    return raw.decode("utf-8", "surrogateescape") if raw else text


def wire_bytes(text: str) -> bytes:
    """The bytes of a value from ``wire_str`` (or any str: its UTF-8)."""
    return text.encode("utf-8", "surrogateescape")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def wire_fields(text: str) -> tuple[str, bytes]:
    """A str for the wire: (the string field, b"") or, when it is not UTF-8, ("", its bytes)."""
    return (text, b"") if _is_utf8(text) else ("", wire_bytes(text))


def _find_header(headers: list[tuple[str, str]], name: str) -> str | None:
    key = name.lower()
    for n, v in headers:
        if n.lower() == key:
            return v
    return None


# -- the hook side: request and upload bodies ----------------------------------------------------


class _BodySource:
    """Reads body chunks from a request stream until its end marker (or half-close)."""

    def __init__(self, messages: AsyncIterator[Any], chunk_field: str) -> None:
        self._messages = messages
        self._field = chunk_field
        self._done = False

    async def next_chunk(self) -> bytes | None:
        while not self._done:
            try:
                msg = await self._messages.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            part = msg.WhichOneof("part")
            if part == self._field:
                data: bytes = getattr(msg, self._field).data
                if data:
                    return data
                continue
            if part == "end":
                self._done = True
                if msg.end.HasField("error"):
                    raise _errors.exception_from_pb(msg.end.error)
                break
            raise _errors.ProtocolError(f"unexpected {part!r} message in the request stream")
        return None


class _Outbox:
    """The response stream: a queue between the handler and the gRPC generator.

    It holds at most ``maxsize`` messages from coroutines (``put``) and ``maxsize`` from worker
    threads (``put_blocking``). A plain ``def`` handler's write does not wait for the event loop
    to take the message, only for room, so the handler produces the next chunk while the loop
    sends the last one; the generator then sends the body chunks already waiting as one message
    (``merge_following``). Together they made a 50 MB response from a plain handler about twice
    as fast (docs/benchmarks.md).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int = 8) -> None:
        self.loop = loop
        self._maxsize = maxsize
        self._items: collections.deque[tuple[Any, bool]] = collections.deque()
        self._ready = asyncio.Event()
        self._room = asyncio.Semaphore(maxsize)
        self._thread_room = threading.Semaphore(maxsize)
        self.closed = False
        self.ended = False

    def _check_open(self) -> None:
        if self.closed:
            raise StreamClosedError("the response stream is closed: the client went away")
        if self.ended:
            # A task or thread the handler left behind: without this the data would vanish.
            raise RuntimeError(
                "the response is already complete (the hook handler returned): start, write "
                "and flush must happen before the handler returns"
            )

    def _append(self, msg: Any, threaded: bool) -> None:
        if self.closed or self.ended:
            self._release(threaded)
        if self.closed:
            return
        if self.ended:
            # A write from a thread that raced the handler's return: say so, do not lose it
            # silently.
            _log.error(
                "a response write from a worker thread arrived after the hook handler returned "
                "and was dropped: start, write and flush must happen before the handler returns"
            )
            return
        if msg is _END:
            self.ended = True
        self._items.append((msg, threaded))
        self._ready.set()

    async def put(self, msg: Any) -> None:
        self._check_open()
        await self._room.acquire()
        if self.closed:
            self._room.release()  # pass abandon()'s wake-up on to the next waiting writer
            self._check_open()
        self._append(msg, False)

    def put_blocking(self, msg: Any) -> None:
        """put() from a worker thread: waits only while the queue holds maxsize of its messages."""
        self._check_open()
        self._thread_room.acquire()
        if self.closed:
            self._thread_room.release()  # pass abandon()'s wake-up on
            self._check_open()
        self.loop.call_soon_threadsafe(self._append, msg, True)

    def _release(self, threaded: bool) -> None:
        (self._thread_room if threaded else self._room).release()

    async def get(self) -> Any:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        msg, threaded = self._items.popleft()
        self._release(threaded)
        return msg

    def merge_following(self, msg: Any, part: str, limit: int = MERGE_LIMIT) -> Any:
        """Append to msg's ``part`` chunk the data of the ``part`` messages right behind it in
        the queue, up to limit bytes: messages that are already waiting, so nothing is delayed."""
        chunk = getattr(msg, part)
        parts = [chunk.data]
        size = len(chunk.data)
        while size < limit and self._items:
            nxt, threaded = self._items[0]
            if nxt is _END or isinstance(nxt, _Failure) or nxt.WhichOneof("part") != part:
                break
            data = getattr(nxt, part).data
            if size + len(data) > limit:
                break
            self._items.popleft()
            self._release(threaded)
            parts.append(data)
            size += len(data)
        if len(parts) > 1:
            chunk.data = b"".join(parts)
        return msg

    def abandon(self) -> None:
        """The consumer is gone: refuse further writes and wake the writers waiting for room."""
        self.closed = True
        for _, threaded in self._items:
            self._release(threaded)
        self._items.clear()
        self._room.release()
        self._thread_room.release()


def _blocking(loop: asyncio.AbstractEventLoop, coro: Awaitable[_T]) -> _T:
    async def run() -> _T:
        return await coro

    return asyncio.run_coroutine_threadsafe(run(), loop).result()


@dataclass
class _RequestHead:
    method: str = "GET"
    url: str = ""
    proto: str = "HTTP/1.1"
    proto_major: int = 1
    proto_minor: int = 1
    headers: list[tuple[str, str]] = field(default_factory=list)
    """(name, value) pairs as received; a name repeats for several values."""
    host: str = ""
    remote_addr: str = ""
    request_uri: str = ""
    content_length: int = -1
    """-1 when unknown (chunked)."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _find_header(self.headers, name)

    @property
    def user_id(self) -> str | None:
        """The Mattermost-User-Id header: set (only) when an authenticated user made the request."""
        return self.header("Mattermost-User-Id") or None


def _head_fields(head: _m.HTTPRequestHead) -> dict[str, Any]:
    return {
        "method": head.method,
        "url": wire_str(head.url, head.raw_url),
        "proto": head.proto,
        "proto_major": head.proto_major,
        "proto_minor": head.proto_minor,
        "headers": headers_from_pb(head.headers),
        "host": wire_str(head.host, head.raw_host),
        "remote_addr": head.remote_addr,
        "request_uri": wire_str(head.request_uri, head.raw_request_uri),
        "content_length": head.content_length,
    }


@dataclass
class HTTPRequest(_RequestHead):
    """The request of ServeHTTP/ServeMetrics for an ``async def`` handler."""

    _source: _BodySource | None = field(default=None, repr=False)

    @property
    def body(self) -> AsyncIterator[bytes]:
        """The body as it arrives, in chunks."""
        return self._iter_body()

    async def _iter_body(self) -> AsyncIterator[bytes]:
        if self._source is None:
            return
        while (chunk := await self._source.next_chunk()) is not None:
            yield chunk

    async def read(self) -> bytes:
        """The whole body (buffered: prefer iterating ``body`` for large uploads)."""
        return b"".join([c async for c in self._iter_body()])


@dataclass
class SyncHTTPRequest(_RequestHead):
    """The request of ServeHTTP/ServeMetrics for a plain ``def`` handler (blocking body)."""

    _source: _BodySource | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    @property
    def body(self) -> Iterator[bytes]:
        """The body as it arrives, in chunks (blocks while waiting for the next one)."""
        return self._iter_body()

    def _iter_body(self) -> Iterator[bytes]:
        if self._source is None or self._loop is None:
            return
        while (chunk := _blocking(self._loop, self._source.next_chunk())) is not None:
            yield chunk

    def read(self) -> bytes:
        """The whole body (buffered)."""
        return b"".join(self._iter_body())


class _ResponseState:
    def __init__(self, outbox: _Outbox, make: Callable[..., Any]) -> None:
        self.outbox = outbox
        self.make = make
        self.status: int | None = None

    def head(self, status: int, headers: HeadersLike) -> Any:
        if self.status is not None:
            raise RuntimeError(f"the response was already started with status {self.status}")
        if not 100 <= status <= 999:
            raise ValueError(f"invalid HTTP status code {status}")
        self.status = status
        return self.make(
            head=_m.HTTPResponseHead(status_code=status, headers=headers_to_pb(headers))
        )

    def bodies(self, data: bytes) -> list[Any]:
        return [self.make(body=_m.StreamChunk(data=c)) for c in iter_chunks(data)]


class ResponseWriter:
    """The response of ServeHTTP/ServeMetrics for an ``async def`` handler.

    Like Go's http.ResponseWriter: ``start`` sends the status and headers (a ``write`` without
    it starts with 200), ``write`` sends body bytes, ``flush`` asks the host to flush them to
    the client now. A handler that returns without writing answers 200 with an empty body.
    """

    def __init__(self, outbox: _Outbox, make: Callable[..., Any]) -> None:
        self._state = _ResponseState(outbox, make)

    @property
    def status(self) -> int | None:
        """The status sent, or None before ``start``."""
        return self._state.status

    async def start(self, status: int = 200, headers: HeadersLike = ()) -> None:
        await self._state.outbox.put(self._state.head(status, headers))

    async def write(self, data: bytes) -> None:
        if self._state.status is None:
            await self.start()
        for msg in self._state.bodies(data):
            await self._state.outbox.put(msg)

    async def flush(self) -> None:
        if self._state.status is None:
            await self.start()
        await self._state.outbox.put(self._state.make(flush=_m.HTTPFlush()))

    async def _finish(self) -> None:
        if self._state.status is None:
            await self.start()
        await self._state.outbox.put(self._state.make(end=_m.StreamEnd()))


class SyncResponseWriter:
    """ResponseWriter for a plain ``def`` handler: the methods block (backpressure)."""

    def __init__(self, outbox: _Outbox, make: Callable[..., Any]) -> None:
        self._state = _ResponseState(outbox, make)

    @property
    def status(self) -> int | None:
        return self._state.status

    def start(self, status: int = 200, headers: HeadersLike = ()) -> None:
        self._state.outbox.put_blocking(self._state.head(status, headers))

    def write(self, data: bytes) -> None:
        if self._state.status is None:
            self.start()
        for msg in self._state.bodies(data):
            self._state.outbox.put_blocking(msg)

    def flush(self) -> None:
        if self._state.status is None:
            self.start()
        self._state.outbox.put_blocking(self._state.make(flush=_m.HTTPFlush()))

    async def _finish(self) -> None:
        if self._state.status is None:
            await self._state.outbox.put(self._state.head(200, ()))
        await self._state.outbox.put(self._state.make(end=_m.StreamEnd()))


class UploadReader:
    """The uploaded file of FileWillBeUploaded for an ``async def`` handler."""

    def __init__(self, source: _BodySource) -> None:
        self._source = source
        self._buf = b""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._buf:
            buf, self._buf = self._buf, b""
            yield buf
        while (chunk := await self._source.next_chunk()) is not None:
            yield chunk

    async def read(self, size: int = -1) -> bytes:
        """Up to size bytes (all the rest with -1); b"" at the end."""
        while size < 0 or len(self._buf) < size:
            chunk = await self._source.next_chunk()
            if chunk is None:
                break
            self._buf += chunk
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


class SyncUploadReader:
    """The uploaded file for a plain ``def`` handler: a blocking binary file-like object."""

    def __init__(self, source: _BodySource, loop: asyncio.AbstractEventLoop) -> None:
        self._source = source
        self._loop = loop
        self._buf = b""

    def __iter__(self) -> Iterator[bytes]:
        if self._buf:
            buf, self._buf = self._buf, b""
            yield buf
        while (chunk := _blocking(self._loop, self._source.next_chunk())) is not None:
            yield chunk

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            chunk = _blocking(self._loop, self._source.next_chunk())
            if chunk is None:
                break
            self._buf += chunk
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


class UploadWriter:
    """Where an ``async def`` FileWillBeUploaded handler writes a replacement file."""

    def __init__(self, outbox: _Outbox, make: Callable[..., Any]) -> None:
        self._outbox = outbox
        self._make = make
        self.written = 0
        """Bytes written so far (0 keeps the original upload)."""

    async def write(self, data: bytes) -> None:
        for chunk in iter_chunks(data):
            await self._outbox.put(self._make(replacement=_m.StreamChunk(data=chunk)))
            self.written += len(chunk)


class SyncUploadWriter:
    """UploadWriter for a plain ``def`` handler (blocking ``write``)."""

    def __init__(self, outbox: _Outbox, make: Callable[..., Any]) -> None:
        self._outbox = outbox
        self._make = make
        self.written = 0

    def write(self, data: bytes) -> None:
        for chunk in iter_chunks(data):
            self._outbox.put_blocking(self._make(replacement=_m.StreamChunk(data=chunk)))
            self.written += len(chunk)


# -- running a streaming hook --------------------------------------------------------------------

_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _call_handler(
    handler: Callable[..., Any],
    is_async: bool,
    executor: Executor,
    args: tuple[Any, ...],
) -> Any:
    if is_async:
        return await handler(*args)
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    return await loop.run_in_executor(executor, ctx.run, handler, *args)


async def _first(messages: AsyncIterator[Any], part: str) -> Any:
    try:
        msg = await messages.__anext__()
    except StopAsyncIteration:
        raise _errors.ProtocolError("the request stream ended before its head") from None
    if msg.WhichOneof("part") != part:
        raise _errors.ProtocolError(f"the request stream must start with its {part}")
    return getattr(msg, part)


async def _pump(
    outbox: _Outbox, task: asyncio.Task[None], is_async: bool, merge: str | None = None
) -> AsyncIterator[Any]:
    """Yield the outbox's messages until the end marker; re-raise a handler failure. Messages
    whose oneof ``part`` is ``merge`` absorb the same kind waiting right behind them."""
    try:
        while True:
            item = await outbox.get()
            if item is _END:
                break
            if isinstance(item, _Failure):
                raise item.exc
            if merge is not None and item.WhichOneof("part") == merge:
                item = outbox.merge_following(item, merge)
            yield item
    finally:
        if not task.done():
            outbox.abandon()
            if is_async:
                task.cancel()


async def serve_http(
    handler: Callable[..., Any],
    is_async: bool,
    executor: Executor,
    request_iterator: AsyncIterable[Any],
    make: Callable[..., Any],
    make_context: Callable[[Any], Any],
    log: logging.Logger,
    hook: str,
) -> AsyncIterator[Any]:
    """Run an HTTP hook handler over the request stream; yield the response stream.

    A failure before the response started is raised (the caller answers with a gRPC error, and
    the host with Mattermost's default); after it started, the stream ends with an error.
    """
    messages = request_iterator.__aiter__()
    head = await _first(messages, "head")
    loop = asyncio.get_running_loop()
    outbox = _Outbox(loop)
    source = _BodySource(messages, "body")
    ctx = make_context(head.context)
    writer: ResponseWriter | SyncResponseWriter
    request: HTTPRequest | SyncHTTPRequest
    if is_async:
        request, writer = (
            HTTPRequest(**_head_fields(head), _source=source),
            ResponseWriter(outbox, make),
        )
    else:
        request = SyncHTTPRequest(**_head_fields(head), _source=source, _loop=loop)
        writer = SyncResponseWriter(outbox, make)

    async def run() -> None:
        try:
            await _call_handler(handler, is_async, executor, (ctx, writer, request))
            await writer._finish()
            await outbox.put(_END)
        except StreamClosedError:
            pass
        except Exception as exc:
            if outbox.closed:
                log.info("hook %s failed after the client went away: %s", hook, exc)
                return
            if writer.status is None:
                await outbox.put(_Failure(exc))
                return
            log.error("hook %s failed after the response started: %s", hook, exc, exc_info=exc)
            if not outbox.closed:
                await outbox.put(make(end=_m.StreamEnd(error=_errors.error_to_pb(exc))))
                await outbox.put(_END)

    task = asyncio.create_task(run())
    async for msg in _pump(outbox, task, is_async, merge="body"):
        yield msg
    await task


async def file_will_be_uploaded(
    handler: Callable[..., Any],
    is_async: bool,
    executor: Executor,
    request_iterator: AsyncIterable[Any],
    make: Callable[..., Any],
    args_from_head: Callable[[Any], tuple[Any, ...]],
    result_from_value: Callable[[object], Any],
) -> AsyncIterator[Any]:
    """Run a FileWillBeUploaded handler: upload chunks in; replacement chunks, then the result out.

    Failures (the handler's or a result of the wrong type) are raised to the caller.
    """
    messages = request_iterator.__aiter__()
    head = await _first(messages, "head")
    loop = asyncio.get_running_loop()
    outbox = _Outbox(loop)
    source = _BodySource(messages, "chunk")
    args = args_from_head(head)
    file: UploadReader | SyncUploadReader
    output: UploadWriter | SyncUploadWriter
    if is_async:
        file, output = UploadReader(source), UploadWriter(outbox, make)
    else:
        file, output = SyncUploadReader(source, loop), SyncUploadWriter(outbox, make)

    async def run() -> None:
        try:
            value = await _call_handler(handler, is_async, executor, (*args, file, output))
            await outbox.put(make(result=result_from_value(value)))
            await outbox.put(_END)
        except StreamClosedError:
            pass
        except Exception as exc:
            if not outbox.closed:
                await outbox.put(_Failure(exc))

    task = asyncio.create_task(run())
    async for msg in _pump(outbox, task, is_async):
        yield msg
    await task
