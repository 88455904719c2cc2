"""The calls socket: unary RPCs as length-prefixed protobuf frames (runtime.proto, ``CallHello``).

A unary gRPC call costs this process several times the work of a frame on a plain unix socket
(docs/benchmarks.md), and that work was most of a hook's round trip. So the host listens on a
third socket, ``calls.sock``, next to the gRPC ones, and this process dials it:

- one *hooks* connection, on which the host sends the unary PluginHooksService calls.
  ``HookServer`` runs each plain ``def`` hook on the thread that read its call, with no hand-off,
  and hands the reading on to another thread when a hook blocks (an API call that runs this
  plugin's hooks again, a slow hook), so hooks still run side by side as in Go;
- one *API* connection per thread that calls the host (``CallsClient``): a call writes its frame
  and reads the reply on that thread's own socket, no demultiplexing thread in between;
  ``AsyncCallsClient`` does the same for coroutines on the event loop, with a pool of
  connections (one per call in flight).

Streaming RPCs (ServeHTTP, uploads, PluginHTTP), the async API client, Handshake and Shutdown stay
on gRPC. A frame is a 4-byte big-endian length and one serialized ``CallHello``, ``CallFrame`` or
``ReplyFrame``; the first frame of a connection is the ``CallHello`` with the launch secret.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import BinaryIO, cast

import grpc

from mmplugin.v1 import runtime_pb2

__all__ = [
    "MAX_FRAME_BYTES",
    "AsyncCallsClient",
    "CallError",
    "CallsClient",
    "HookServer",
    "dial",
    "release_hook_reader",
]

MAX_FRAME_BYTES = 64 << 20
"""The largest frame either side accepts (the gRPC sockets' message limit too)."""

DEFAULT_MAX_HOOK_THREADS = 32
"""Threads answering hooks at most (hooks that block run side by side, as in Go)."""

DEFAULT_TAKEOVER = 0.001
"""How long a hook may run on the reader thread before another thread takes over reading."""

_log = logging.getLogger("mmplugin.runtime")

_CODES = {code.value[0]: code for code in grpc.StatusCode}


class CallError(grpc.RpcError):
    """A call answered with a gRPC status instead of a response (either direction).

    It is a ``grpc.RpcError`` with ``code()`` and ``details()``, so code that handles failed gRPC
    calls handles failed framed calls alike.
    """

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    @classmethod
    def from_reply(cls, reply: runtime_pb2.ReplyFrame) -> CallError:
        return cls(_CODES.get(reply.code, grpc.StatusCode.UNKNOWN), reply.message)


def _frame(payload: bytes) -> bytes:
    """``payload`` as one frame: its 4-byte big-endian length, then the bytes."""
    if len(payload) > MAX_FRAME_BYTES:
        raise CallError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"a message of {len(payload)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit",
        )
    return len(payload).to_bytes(4, "big") + payload


def _wrong_reply(reply: runtime_pb2.ReplyFrame, call_id: int) -> CallError | None:
    """The error for a reply that does not answer call ``call_id`` (the connection cannot be
    used any further), or None."""
    if reply.id == call_id:
        return None
    if reply.id == 0 and reply.code:  # the host refused the connection
        return CallError.from_reply(reply)
    return CallError(
        grpc.StatusCode.INTERNAL,
        f"the mmplugin host answered call {reply.id} instead of {call_id}",
    )


class _Connection:
    """One connection to the calls socket: frame reads and writes on a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._rfile = cast("BinaryIO", sock.makefile("rb", buffering=64 * 1024))
        self.next_id = 0
        self.timeout: float | None = None
        # A thread's API connection is dropped with the thread: close its socket then.
        weakref.finalize(self, _close_quietly, sock, self._rfile)

    def read_frame(self) -> bytes:
        """The next frame's payload; EOFError when the peer has closed the connection."""
        head = self._rfile.read(4)
        if len(head) < 4:
            raise EOFError("the mmplugin host closed the calls socket connection")
        size = int.from_bytes(head, "big")
        if size > MAX_FRAME_BYTES:
            raise EOFError(f"a frame of {size} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
        body = self._rfile.read(size)
        if len(body) < size:
            raise EOFError("the mmplugin host closed the calls socket connection mid-frame")
        return body

    def write_frame(self, payload: bytes) -> None:
        self.sock.sendall(_frame(payload))

    def close(self) -> None:
        _close_quietly(self.sock, self._rfile)


def _close_quietly(sock: socket.socket, rfile: BinaryIO) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    rfile.close()
    sock.close()


def dial(path: str, secret: str, role: runtime_pb2.CallHello.Role.ValueType) -> _Connection:
    """Connect to the calls socket and introduce the connection (no answer is sent to a good
    hello; a wrong secret is answered on the first read)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise CallError(
            grpc.StatusCode.UNAVAILABLE, f"cannot connect to the mmplugin host at {path}: {e}"
        ) from None
    conn = _Connection(sock)
    try:
        conn.write_frame(runtime_pb2.CallHello(secret=secret, role=role).SerializeToString())
    except OSError as e:
        conn.close()
        raise CallError(grpc.StatusCode.UNAVAILABLE, f"the mmplugin host went away: {e}") from None
    return conn


class CallsClient:
    """Unary calls to the host's services over the calls socket, from any thread.

    Each thread gets its own connection on first use and keeps it: a call is one frame written
    and one read on that thread's socket. ``timeout`` (seconds) bounds a call; a call that times
    out drops its connection (its reply would arrive late), and the next call opens a new one.
    """

    def __init__(self, path: str, secret: str) -> None:
        self._path = path
        self._secret = secret
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._closed = False

    def call(self, method: str, request: bytes, timeout: float | None = None) -> bytes:
        """Call ``method`` (full gRPC name) with the serialized request; the serialized response.

        Raises CallError with the status the host answered, or UNAVAILABLE / DEADLINE_EXCEEDED
        when the host cannot be reached in time.
        """
        release_hook_reader()
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
        if conn.timeout != timeout:
            conn.sock.settimeout(timeout)
            conn.timeout = timeout
        conn.next_id += 1
        call_id = conn.next_id
        frame = runtime_pb2.CallFrame(id=call_id, method=method, request=request)
        try:
            try:
                conn.write_frame(frame.SerializeToString())
            except OSError:
                # The host may have refused the connection and closed it; its answer says why.
                conn.sock.settimeout(0)
                refusal = runtime_pb2.ReplyFrame.FromString(conn.read_frame())
                raise CallError.from_reply(refusal) if refusal.code else EOFError() from None
            reply = runtime_pb2.ReplyFrame.FromString(conn.read_frame())
        except CallError:
            self._drop(conn)
            raise
        except TimeoutError:
            self._drop(conn)
            raise CallError(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"no answer within {timeout} s"
            ) from None
        except (OSError, EOFError) as e:
            self._drop(conn)
            raise CallError(
                grpc.StatusCode.UNAVAILABLE, f"the mmplugin host went away: {e}"
            ) from None
        if (wrong := _wrong_reply(reply, call_id)) is not None:
            self._drop(conn)
            raise wrong
        if reply.code:
            raise CallError.from_reply(reply)
        return reply.response

    def close(self) -> None:
        """Close every thread's connection; later calls fail with UNAVAILABLE."""
        with self._lock:
            self._closed = True
            conns = list(self._conns)
        for conn in conns:
            conn.close()

    def _open(self) -> _Connection:
        with self._lock:
            if self._closed:
                raise CallError(grpc.StatusCode.UNAVAILABLE, "the plugin process is stopping")
        conn = dial(self._path, self._secret, runtime_pb2.CallHello.ROLE_API)
        with self._lock:
            self._conns.add(conn)
        self._local.conn = conn
        return conn

    def _drop(self, conn: _Connection) -> None:
        conn.close()
        if getattr(self._local, "conn", None) is conn:
            del self._local.conn


class AsyncCallsClient:
    """Unary calls to the host over the calls socket, as coroutines on one event loop.

    Each call in flight has a connection of its own, taken from a pool of idle ones (or dialled)
    and given back when its reply has arrived; the host answers each connection in order, so
    there is nothing to demultiplex. A call that is cancelled or times out closes its connection.
    """

    def __init__(self, path: str, secret: str) -> None:
        self._path = path
        hello = runtime_pb2.CallHello(secret=secret, role=runtime_pb2.CallHello.ROLE_API)
        self._hello = _frame(hello.SerializeToString())  # the first frame of every connection
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._busy: set[asyncio.StreamWriter] = set()
        self._closed = False

    async def call(self, method: str, request: bytes, timeout: float | None = None) -> bytes:
        """As CallsClient.call, awaited."""
        if timeout is None:
            return await self._call(method, request)
        try:
            return await asyncio.wait_for(self._call(method, request), timeout)
        except TimeoutError:
            raise CallError(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"no answer within {timeout} s"
            ) from None

    async def _call(self, method: str, request: bytes) -> bytes:
        reader, writer = await self._acquire()
        ok = False
        try:
            call = runtime_pb2.CallFrame(id=1, method=method, request=request)
            writer.write(_frame(call.SerializeToString()))
            # No drain: a frame fits the socket buffer, and a refused connection's answer (below)
            # must be read even when the write failed.
            head = await reader.readexactly(4)
            size = int.from_bytes(head, "big")
            if size > MAX_FRAME_BYTES:
                raise CallError(grpc.StatusCode.INTERNAL, f"a frame of {size} bytes from the host")
            reply = runtime_pb2.ReplyFrame.FromString(await reader.readexactly(size))
            if (wrong := _wrong_reply(reply, 1)) is not None:
                raise wrong
            ok = True
        except (OSError, asyncio.IncompleteReadError) as e:
            raise CallError(
                grpc.StatusCode.UNAVAILABLE, f"the mmplugin host went away: {e}"
            ) from None
        finally:
            self._release(reader, writer, keep=ok)
        if reply.code:
            raise CallError.from_reply(reply)
        return reply.response

    async def _acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._closed:
            raise CallError(grpc.StatusCode.UNAVAILABLE, "the plugin process is stopping")
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            try:
                reader, writer = await asyncio.open_unix_connection(self._path)
            except OSError as e:
                raise CallError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"cannot connect to the mmplugin host at {self._path}: {e}",
                ) from None
            writer.write(self._hello)
        self._busy.add(writer)
        return reader, writer

    def _release(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, keep: bool
    ) -> None:
        self._busy.discard(writer)
        if keep and not self._closed:
            self._idle.append((reader, writer))
        else:  # a reply may still be on its way: the connection cannot be reused
            writer.close()

    def close(self) -> None:
        """Close every connection; later calls fail with UNAVAILABLE."""
        self._closed = True
        for _, writer in self._idle:
            writer.close()
        for writer in self._busy:
            writer.close()
        self._idle.clear()


HookHandler = Callable[[str, bytes], "bytes | concurrent.futures.Future[bytes]"]
"""Answers one hook call: (full method name, serialized request) → serialized response, or a
future of it for a call answered elsewhere (an ``async def`` hook on the event loop); raises
(or the future holds) CallError for a status answer. Runs on a HookServer thread."""


_hook_thread = threading.local()
"""``server``: the HookServer whose reader this thread is while it runs a hook inline."""


def release_hook_reader() -> None:
    """Say that the calling thread is about to block (an API call, waiting for the event loop).

    A hook runs on the thread that read its call, and while it runs nobody reads the hooks
    connection; if it blocks, another thread takes over reading at once, so that the hooks the
    blocking call may cause (CreatePost runs this plugin's MessageWillBePosted) and concurrent
    ones are answered. No-op on other threads.
    """
    server: HookServer | None = getattr(_hook_thread, "server", None)
    if server is not None:
        server._hand_off()


class HookServer:
    """Answers the host's hook calls on the hooks connection.

    One thread at a time is the *reader*: it reads a call, runs the hook inline and reads the
    next one, so a busy plugin answers hook after hook on one thread without a thread switch
    (the GIL makes more threads slower, not faster, for hooks that compute). A hook that blocks
    hands the reader role to another thread: at once when it calls the API or waits for the event
    loop (``release_hook_reader``), otherwise when it has run for ``takeover`` seconds (a monitor
    thread watches). Up to ``max_threads`` threads exist; they are started as needed and stay.
    """

    def __init__(
        self,
        conn: _Connection,
        handle: HookHandler,
        *,
        max_threads: int = DEFAULT_MAX_HOOK_THREADS,
        takeover: float = DEFAULT_TAKEOVER,
        log: logging.Logger | None = None,
    ) -> None:
        self._conn = conn
        self._handle = handle
        self._max_threads = max_threads
        self._takeover = takeover
        self._log = log or _log
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()  # guards everything below
        self._idle_cv = threading.Condition(self._lock)  # threads waiting to become the reader
        self._monitor_cv = threading.Condition(self._lock)
        self._reader: threading.Thread | None = None
        self._reading = False  # the reader reads (True) or runs a hook inline (False)
        self._handling_since = 0.0  # when the reader started running its current hook
        self._calls = 0  # calls read so far (the monitor's sign of activity)
        self._threads = 0
        self._idle = 0
        self._busy = 0  # hooks running
        self._closing = False  # no more reading: the connection ended or close() gave up
        self._ended = False  # the reader reached the end of the connection
        self._monitor_asleep = False
        self._warned_full = -3600.0  # when the "all threads busy" warning was last logged

    @classmethod
    def open(
        cls,
        path: str,
        secret: str,
        handle: HookHandler,
        *,
        max_threads: int = DEFAULT_MAX_HOOK_THREADS,
        takeover: float = DEFAULT_TAKEOVER,
    ) -> HookServer:
        """Dial the hooks connection and start answering on it."""
        conn = dial(path, secret, runtime_pb2.CallHello.ROLE_HOOKS)
        server = cls(conn, handle, max_threads=max_threads, takeover=takeover)
        threading.Thread(target=server._monitor, name="mmplugin-hook-monitor", daemon=True).start()
        with server._lock:
            server._spawn()
        return server

    def close(self, grace: float) -> None:
        """Answer the calls the host has sent, then close; give up after ``grace`` seconds.

        The host half-closes the connection before it asks the process to stop, so the reader
        reaches its end after the last call; close waits for that and for the hooks still
        running."""
        deadline = time.monotonic() + grace
        with self._lock:
            while (not self._ended or self._busy) and (left := deadline - time.monotonic()) > 0:
                self._idle_cv.wait(left)
            self._closing = True
            self._idle_cv.notify_all()
            self._monitor_cv.notify_all()
        self._conn.close()

    def _spawn(self) -> None:  # with self._lock held
        self._threads += 1
        threading.Thread(
            target=self._serve, name=f"mmplugin-hook-{self._threads}", daemon=True
        ).start()

    def _hand_off(self) -> None:
        """The reader is about to block in its hook: let another thread read."""
        with self._lock:
            if self._reader is threading.current_thread() and not self._reading:
                self._pass_reader_locked()

    def _pass_reader_locked(self) -> None:
        self._reader = None
        if self._idle:
            self._idle_cv.notify()
        elif self._threads < self._max_threads:
            self._spawn()
        elif time.monotonic() - self._warned_full > 60:
            # Every thread is running a hook; the first to finish reads next. Hooks that wait
            # for other hooks (an API call that runs this plugin's hooks) would wait forever.
            self._warned_full = time.monotonic()
            self._log.warning(
                "all %d hook threads are busy in hooks that block; further hooks wait until "
                "one returns (make slow hooks async def, or do the slow work in a thread of "
                "your own)",
                self._max_threads,
            )

    def _serve(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._lock:
                    while self._reader is not None and not self._closing:
                        self._idle += 1
                        self._idle_cv.wait()
                        self._idle -= 1
                    if self._closing:
                        return
                    self._reader = me
                    self._reading = True
                if not self._read_and_answer(me):
                    return
        finally:
            with self._lock:
                self._threads -= 1
                if self._reader is me:
                    self._reader = None
                self._idle_cv.notify_all()

    def _read_and_answer(self, me: threading.Thread) -> bool:
        """Read and answer calls while this thread stays the reader; False when the connection
        has ended. The role (``_reader is me``, ``_reading``) is set on entry and kept from one
        call to the next under one lock hold, so that no other thread can start reading between
        them."""
        while True:
            try:
                data = self._conn.read_frame()
            except (OSError, EOFError) as e:
                with self._lock:
                    if not self._closing:
                        self._log.debug("the hooks connection ended: %s", e)
                    self._ended = self._closing = True
                    self._reading = False
                    self._monitor_cv.notify_all()
                    self._idle_cv.notify_all()
                return False
            with self._lock:
                self._reading = False
                self._busy += 1
                self._calls += 1
                self._handling_since = time.monotonic()
                if self._monitor_asleep:
                    self._monitor_cv.notify()
            _hook_thread.server = self
            try:
                self._answer(data)
            finally:
                _hook_thread.server = None
                with self._lock:
                    self._busy -= 1
                    if self._closing:
                        self._idle_cv.notify_all()
                    still_reader = self._reader is me
                    if still_reader:
                        self._reading = True
            if not still_reader:
                return True

    def _monitor(self) -> None:
        """Hands the reader role on when the reader's hook has run for ``takeover`` seconds.

        It wakes at most every ``takeover`` seconds while hooks run, every 10 ms while the
        connection is in use, and not at all once no call has come for a while."""
        seen = -1
        quiet = 0
        with self._lock:
            while not self._closing:
                if self._reader is not None and not self._reading:  # running a hook inline
                    left = self._handling_since + self._takeover - time.monotonic()
                    if left <= 0:
                        self._pass_reader_locked()
                    else:
                        self._monitor_cv.wait(left)
                    quiet = 0
                    continue
                if self._calls != seen:
                    seen, quiet = self._calls, 0
                else:
                    quiet += 1
                if quiet >= 10:  # 100 ms without a call: sleep until the next one
                    self._monitor_asleep = True
                    self._monitor_cv.wait()
                    self._monitor_asleep = False
                    quiet = 0
                else:
                    self._monitor_cv.wait(0.01)

    def _answer(self, data: bytes) -> None:
        call = runtime_pb2.CallFrame.FromString(data)
        try:
            result = self._handle(call.method, call.request)
        except Exception as e:
            self._reply(call, None, e)
            return
        if isinstance(result, concurrent.futures.Future):
            # Answered later, by whichever thread completes it (the event loop's).
            with self._lock:
                self._busy += 1
            result.add_done_callback(lambda done: self._reply_later(call, done))
        else:
            self._reply(call, result, None)

    def _reply_later(
        self, call: runtime_pb2.CallFrame, done: concurrent.futures.Future[bytes]
    ) -> None:
        try:
            error = done.exception()
            self._reply(call, None if error else done.result(), error)
        except concurrent.futures.CancelledError as e:
            self._reply(call, None, e)
        finally:
            with self._lock:
                self._busy -= 1
                if self._closing:
                    self._idle_cv.notify_all()

    def _reply(
        self, call: runtime_pb2.CallFrame, response: bytes | None, error: BaseException | None
    ) -> None:
        if error is None:
            reply = runtime_pb2.ReplyFrame(id=call.id, response=response or b"")
        elif isinstance(error, CallError):
            reply = runtime_pb2.ReplyFrame(
                id=call.id, code=error.code().value[0], message=error.details()
            )
        else:  # the handler maps the plugin's failures; this is a bug (or a cancelled call)
            self._log.error(
                "hook call %s failed inside mmplugin, not in the plugin (a bug: please report it "
                "with this traceback): %s",
                call.method,
                error,
                exc_info=error,
            )
            reply = runtime_pb2.ReplyFrame(
                id=call.id,
                code=grpc.StatusCode.UNKNOWN.value[0],
                message=f"{call.method}: {type(error).__name__}: {error}",
            )
        payload = reply.SerializeToString()
        if len(payload) > MAX_FRAME_BYTES:
            payload = runtime_pb2.ReplyFrame(
                id=call.id,
                code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0],
                message=f"{call.method}: the answer of {len(payload)} bytes exceeds the "
                f"{MAX_FRAME_BYTES}-byte limit",
            ).SerializeToString()
        try:
            with self._write_lock:
                self._conn.write_frame(payload)
        except (OSError, CallError) as e:  # the reader sees the connection end
            self._log.debug("cannot answer hook call %s: %s", call.method, e)
