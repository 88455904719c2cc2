"""Plain async handlers for the host stream tests (internal/host/streams_test.go).

/upload hashes the request body as it arrives, /download streams a deterministic body out,
/sse sends an event and waits for the test to release it, /endless writes until the client
goes away and records its cancellation in KV; file_will_be_uploaded rejects, replaces or keeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from mmplugin import Context, Plugin, Reject
from mmplugin.http import HTTPRequest, ResponseWriter
from mmplugin.models import FileInfo

# 64 KiB of bytes 0..255 repeated: the test generates the same pattern.
PATTERN = bytes(range(256)) * 256


class TestPlugin(Plugin):
    async def serve_http(self, ctx: Context, w: ResponseWriter, r: HTTPRequest) -> None:
        path, _, query = r.url.partition("?")
        if path == "/upload":
            digest = hashlib.sha256()
            count = 0
            async for chunk in r.body:
                digest.update(chunk)
                count += len(chunk)
            source = r.header("Mattermost-Plugin-ID") or ""
            await w.start(
                200, [("Content-Type", "text/plain"), ("X-Source-Plugin", source)]
            )
            await w.write(f"{count} {digest.hexdigest()}".encode())
        elif path == "/download":
            size = int(query.removeprefix("bytes="))
            await w.start(200, [("Content-Type", "application/octet-stream")])
            sent = 0
            while sent < size:
                chunk = PATTERN[: min(len(PATTERN), size - sent)]
                await w.write(chunk)
                sent += len(chunk)
        elif path == "/sse":
            await w.start(
                200,
                [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")],
            )
            await w.write(b"event: first\ndata: hello\n\n")
            await w.flush()
            # Finish only after the test, having read the first event, sets "release".
            deadline = time.monotonic() + 30
            while await self.async_api.kv_get("release") is None:
                if time.monotonic() > deadline:
                    await w.write(b"event: timeout\ndata: never released\n\n")
                    return
                await asyncio.sleep(0.02)
            await w.write(b"event: second\ndata: released\n\n")
        elif path == "/endless":
            await w.start(200, [("Content-Type", "application/octet-stream")])
            try:
                while True:
                    await w.write(PATTERN)
                    await w.flush()
                    await asyncio.sleep(0.005)
            except asyncio.CancelledError:
                await asyncio.shield(self.async_api.kv_set("endless", b"cancelled"))
                raise
            except ConnectionError as exc:
                await self.async_api.kv_set("endless", f"closed: {exc}".encode())
        else:
            await w.start(404)
            await w.write(b"no such path: " + path.encode())

    def file_will_be_uploaded(
        self, ctx: Context, info: FileInfo, file: object, output: object
    ) -> FileInfo | Reject | None:
        if info.name.endswith(".exe"):
            return Reject(f"{info.name}: executables are not allowed")
        if info.name.startswith("shout-"):
            data = file.read()  # type: ignore[attr-defined]
            output.write(data.upper())  # type: ignore[attr-defined]
            info.name = info.name.removeprefix("shout-")
            info.extension = "txt"
            return info
        return None
