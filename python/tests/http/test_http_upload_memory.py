"""A 50 MB upload streams through ASGI and WSGI apps with memory far below the body size.

Both the "host" (sending 64 KiB chunks from a generator) and the plugin run in this process,
so the measurements bound the two together: Python allocations with tracemalloc (exact, per
test) and the process's peak RSS growth (includes gRPC's C buffers).
"""

from __future__ import annotations

import hashlib
import resource
import sys
import threading
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from flask import Flask, request
from http_host import Served

import mmplugin.http
from mmplugin.http import Receive, Scope, Send

SIZE = 50 * 1024 * 1024
CHUNK = 64 * 1024
MiB = 1024 * 1024


def _block(i: int) -> bytes:
    return i.to_bytes(4, "big") * (CHUNK // 4)


async def _upload() -> AsyncIterator[bytes]:
    for i in range(SIZE // CHUNK):
        yield _block(i)


def _expected_digest() -> str:
    h = hashlib.sha256()
    for i in range(SIZE // CHUNK):
        h.update(_block(i))
    return h.hexdigest()


def _rss_bytes() -> int:
    """The resident set size now (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class RSSSampler:
    """Samples the RSS every few milliseconds in a thread: the peak growth during a block."""

    def __init__(self) -> None:
        self.start = _rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> RSSSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start


async def asgi_hasher(scope: Scope, receive: Receive, send: Send) -> None:
    h = hashlib.sha256()
    total = 0
    while True:
        message = await receive()
        body = message.get("body", b"")
        h.update(body)
        total += len(body)
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"{total} {h.hexdigest()}".encode()})


flask_app = Flask(__name__)


@flask_app.put("/upload")
def flask_hasher() -> str:
    h = hashlib.sha256()
    total = 0
    while chunk := request.stream.read(CHUNK):
        h.update(chunk)
        total += len(chunk)
    return f"{total} {h.hexdigest()}"


class ASGIPlugin:
    serve_http = mmplugin.http.asgi(asgi_hasher, lifespan="off")


class WSGIPlugin:
    serve_http = mmplugin.http.wsgi(flask_app)


@pytest.mark.parametrize("plugin", [ASGIPlugin(), WSGIPlugin()], ids=["asgi", "wsgi"])
async def test_50mb_upload_streams_with_bounded_memory(plugin: Any) -> None:
    expected = _expected_digest()
    async with Served(plugin) as host:
        await host.request("PUT", "/upload", body=b"warm-up")  # channel and threads exist
        with RSSSampler() as rss:
            r = await host.request(
                "PUT",
                "/upload",
                headers=[("Content-Type", "application/octet-stream")],
                body=_upload(),
            )
        # Again with tracemalloc, which slows allocation down but sees every Python object.
        tracemalloc.start()
        try:
            r2 = await host.request("PUT", "/upload", body=_upload())
            _, python_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        rss_growth = rss.growth
    assert r.status == 200
    assert r.body.decode() == r2.body.decode() == f"{SIZE} {expected}"
    print(f"python peak {python_peak / MiB:.1f} MiB, peak RSS growth {rss_growth / MiB:.1f} MiB")
    assert python_peak < 8 * MiB, f"Python allocations peaked at {python_peak / MiB:.1f} MiB"
    assert rss_growth < 20 * MiB, f"peak RSS grew by {rss_growth / MiB:.1f} MiB"
