"""The Python benchmark twin written with ``async def`` handlers and ``self.async_api``.

Same behaviour as plugin.py (and the Go twin); only the handler style differs. ``async def``
handlers run on the plugin's event loop, so they skip the thread-pool hop that plain ``def``
handlers take; API calls go through the grpc.aio client instead of the blocking one. `make
bench` reports it as its own column so that authors can see what the style costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from mmplugin import AppError, Context, Plugin
from mmplugin.http import HTTPRequest, ResponseWriter
from mmplugin.models import CommandArgs, CommandResponse, Post

CHUNK = 64 * 1024


class AsyncBenchPlugin(Plugin):
    async def on_activate(self) -> None:
        pass

    async def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:
        post.message = post.message.upper()
        return post

    async def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        pass

    async def execute_command(self, ctx: Context, args: CommandArgs) -> CommandResponse | None:
        fields = args.command.split()
        if len(fields) == 2 and fields[1] == "noop":
            return CommandResponse(text="ok")
        if len(fields) != 3:
            raise AppError(
                "usage: /bench noop | /bench <KVGet|GetUser|CreatePost> <n>", status_code=400
            )
        try:
            n = int(fields[2])
        except ValueError:
            n = 0
        if n < 1:
            raise AppError("n must be a positive integer", status_code=400)
        call = self._api_calls(args).get(fields[1])
        if call is None:
            raise AppError(f"unknown API method {fields[1]}", status_code=400)
        clock = time.perf_counter_ns
        ns = []
        for _ in range(n):
            start = clock()
            await call()
            ns.append(clock() - start)
        return CommandResponse(text=json.dumps({"ns": ns}))

    def _api_calls(self, args: CommandArgs) -> dict[str, Callable[[], Awaitable[object]]]:
        api = self.async_api

        async def kv_get() -> object:
            return await api.kv_get("bench")

        async def get_user() -> object:
            return await api.get_user(args.user_id)

        async def create_post() -> object:
            return await api.create_post(
                Post(user_id=args.user_id, channel_id=args.channel_id, message="bench")
            )

        return {"KVGet": kv_get, "GetUser": get_user, "CreatePost": create_post}

    async def serve_http(self, ctx: Context, w: ResponseWriter, r: HTTPRequest) -> None:
        url = urlsplit(r.url)
        if url.path == "/hello" and r.method == "GET":
            await w.start(200, {"Content-Type": "application/json"})
            await w.write(b'{"hello":"world"}')
        elif url.path == "/upload" and r.method == "POST":
            n = 0
            async for data in r.body:
                n += len(data)
            await w.start(200, {"Content-Type": "application/json"})
            await w.write(b'{"bytes":%d}' % n)
        elif url.path == "/download" and r.method == "GET":
            try:
                n = int(parse_qs(url.query).get("bytes", [""])[0])
            except ValueError:
                n = -1
            if n < 0:
                await w.start(400, {"Content-Type": "text/plain"})
                await w.write(b"bytes must be a non-negative integer")
                return
            await w.start(200, {"Content-Type": "application/octet-stream"})
            buf = bytes(CHUNK)
            while n > 0:
                size = min(n, CHUNK)
                await w.write(buf if size == CHUNK else buf[:size])
                n -= size
        else:
            await w.start(404, {"Content-Type": "text/plain"})
            await w.write(b"404 page not found")
