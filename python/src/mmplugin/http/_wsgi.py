"""Serving a WSGI app (Flask, Django, …) from the ServeHTTP / ServeMetrics hook.

A WSGI app blocks, so it runs in one of the SDK's worker threads (the blocking flavour of the
hook: ``SyncHTTPRequest`` / ``SyncResponseWriter``). ``wsgi.input`` reads the request body
chunk by chunk as the host streams it, and the response goes out through a bounded queue that
makes the thread wait while the host is behind: neither side ever holds a whole body.

Each block the app's iterable yields is sent at once (PEP 3333 forbids delaying it) and, when
the iterable is a generator, flushed, so streamed responses reach the client block by block.
The head waits for the first non-empty block, as the PEP requires, so an exception before it
still becomes a clean 500. When the client goes away, the next write raises
``StreamClosedError`` in the app's thread and the iterable is closed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from mmplugin._streams import SyncHTTPRequest, SyncResponseWriter

from ._request import (
    body_allowed,
    client,
    from_native,
    header,
    mattermost_info,
    native_str,
    scheme,
    server,
    target,
    wsgi_str,
)
from ._types import OptExcInfo, WSGIApp

_log = logging.getLogger("mmplugin.http")

_ERROR_BODY = b"Internal Server Error"


class WSGIInput(io.RawIOBase):
    """``wsgi.input``: the request body as a binary file, read from the stream on demand."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buf]
            self._buf = b""
            while not self._eof:
                chunk = next(self._chunks, None)
                if chunk is None:
                    self._eof = True
                else:
                    parts.append(chunk)
            return b"".join(parts)
        while len(self._buf) < size and self._fill():
            pass
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        while b"\n" not in self._buf and (limit < 0 or len(self._buf) < limit) and self._fill():
            pass
        end = self._buf.find(b"\n") + 1 or len(self._buf)
        if limit >= 0:
            end = min(end, limit)
        out, self._buf = self._buf[:end], self._buf[end:]
        return out


class _ErrorStream:
    """``wsgi.errors``: lines the app writes go to the plugin log at error level."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._buf = ""

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            if line:
                _log.error("%s: %s", self._name, line)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._buf:
            _log.error("%s: %s", self._name, self._buf)
            self._buf = ""


def build_environ(
    request: SyncHTTPRequest, ctx: Any, plugin: Any, plugin_id: str | None, name: str
) -> dict[str, Any]:
    t = target(request, plugin_id)
    url_scheme = scheme(request.headers)
    server_name, server_port = server(request, url_scheme)
    remote = client(request)
    mm = mattermost_info(request, ctx, plugin, t.path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method.upper(),
        "SCRIPT_NAME": wsgi_str(t.escaped_root),
        "PATH_INFO": wsgi_str(t.escaped_path),
        "QUERY_STRING": native_str(t.query),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{request.proto_major or 1}.{request.proto_minor}",
        "REQUEST_URI": t.escaped_root
        + t.escaped_path
        + ("?" + native_str(t.query) if t.query else ""),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.input": WSGIInput(request.body),
        # The body ends where the stream ends, so apps may read to EOF without Content-Length.
        "wsgi.input_terminated": True,
        "wsgi.errors": _ErrorStream(name),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "mattermost": mm,
        "mattermost.user_id": mm["user_id"],
        "mattermost.context": ctx,
        "mattermost.plugin": plugin,
    }
    if remote is not None:
        environ["REMOTE_ADDR"], port = remote
        environ["REMOTE_PORT"] = str(port)
    content_type = header(request.headers, "Content-Type")
    if content_type is not None:
        environ["CONTENT_TYPE"] = native_str(content_type)
    content_length = header(request.headers, "Content-Length")
    if content_length is None and request.content_length >= 0:
        content_length = str(request.content_length)
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    for key, value in request.headers:
        name = key.upper().replace("-", "_")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            continue
        name = "HTTP_" + name
        if name in environ:
            environ[name] += ("; " if name == "HTTP_COOKIE" else ",") + native_str(value)
        else:
            environ[name] = native_str(value)
    return environ


class _Response:
    """start_response and the body for one request."""

    def __init__(self, writer: SyncResponseWriter, method: str, name: str) -> None:
        self.writer = writer
        self.method = method
        self.name = name
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
    ) -> Any:
        if exc_info is not None and exc_info[1] is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle (PEP 3333)
        elif self.status is not None:
            raise RuntimeError(
                f"{self.name} called start_response twice without exc_info: the response "
                f"already started with status {self.status}"
            )
        code = status.split(" ", 1)[0]
        if not (code.isdigit() and 100 <= int(code) <= 999):
            raise RuntimeError(f"{self.name} gave an invalid status line {status!r}")
        self.status = int(code)
        self.headers = [(str(k), from_native(str(v))) for k, v in headers]
        return self.write

    def write(self, data: bytes) -> None:
        """Send a block of the body (also the legacy ``write`` callable of start_response)."""
        if self.status is None:
            raise RuntimeError(f"{self.name} wrote body data before calling start_response")
        if not data and self.head_sent:
            return
        self.send_head()
        if data and body_allowed(self.method, self.status):
            self.writer.write(data)

    def flush(self) -> None:
        if self.head_sent:
            self.writer.flush()

    def send_head(self) -> None:
        if not self.head_sent:
            assert self.status is not None
            self.head_sent = True
            self.writer.start(self.status, self.headers)

    def send_error(self) -> None:
        if self.head_sent:
            return
        self.head_sent = True
        self.writer.start(
            500,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(_ERROR_BODY))),
            ],
        )
        if self.method != "HEAD":
            self.writer.write(_ERROR_BODY)


class WSGIBridge:
    """Serves one WSGI app for one plugin object (in a worker thread)."""

    def __init__(self, app: WSGIApp, name: str) -> None:
        self.app = app
        self.name = name

    def serve(
        self,
        ctx: Any,
        writer: SyncResponseWriter,
        request: SyncHTTPRequest,
        plugin: Any,
        plugin_id: str | None,
    ) -> None:
        environ = build_environ(request, ctx, plugin, plugin_id, self.name)
        response = _Response(writer, environ["REQUEST_METHOD"], self.name)
        try:
            result = self.app(environ, response.start_response)
            try:
                # A list/tuple is the whole body at once; anything else is a stream whose
                # blocks must reach the client as they come.
                stream = not isinstance(result, (list, tuple))
                for block in result:
                    response.write(bytes(block))
                    if stream:
                        response.flush()
                if response.status is None:
                    raise RuntimeError(f"{self.name} returned without calling start_response")
                response.send_head()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ConnectionError:
            raise  # the client went away (StreamClosedError): nothing left to answer
        except Exception as exc:
            if response.head_sent:
                raise  # the host ends the stream with the error and logs it
            _log.error(
                "%s raised %s before responding: answering 500",
                self.name,
                type(exc).__name__,
                exc_info=exc,
            )
            response.send_error()
        finally:
            environ["wsgi.errors"].flush()


__all__ = ["WSGIBridge", "WSGIInput", "build_environ"]
