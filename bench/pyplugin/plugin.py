"""The Python benchmark twin of bench/goplugin: the same hooks doing the same work.

Behaviour (keep the Go twin identical):

- ``on_activate`` does nothing: activation time is the runtime's own cost.
- ``message_will_be_posted`` returns the post with its message upper-cased.
- ``message_has_been_posted`` does nothing (no reply).
- ``execute_command`` "/bench noop" answers "ok"; "/bench <API method> <n>" calls the API method
  n times from inside the hook, timing each call, and answers with the durations in nanoseconds
  as JSON (``{"ns": [...]}``). Methods: KVGet (key "bench"), GetUser (the command's user),
  CreatePost (in the command's channel, as the command's user).
- ``serve_http``: GET /hello → a small JSON body; POST /upload → reads the body and answers
  ``{"bytes": n}``; GET /download?bytes=n → n bytes written in 64 KiB pieces.

Every handler is a plain ``def`` using the blocking ``self.api``: what most plugin authors write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from mmplugin import AppError, Context, Plugin
from mmplugin.http import SyncHTTPRequest, SyncResponseWriter
from mmplugin.models import CommandArgs, CommandResponse, Post

CHUNK = 64 * 1024


class BenchPlugin(Plugin):
    def on_activate(self) -> None:
        pass

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:
        post.message = post.message.upper()
        return post

    def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        pass

    def execute_command(self, ctx: Context, args: CommandArgs) -> CommandResponse | None:
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
            call()
            ns.append(clock() - start)
        return CommandResponse(text=json.dumps({"ns": ns}))

    def _api_calls(self, args: CommandArgs) -> dict[str, Callable[[], object]]:
        api = self.api

        def kv_get() -> object:
            return api.kv_get("bench")

        def get_user() -> object:
            return api.get_user(args.user_id)

        def create_post() -> object:
            return api.create_post(
                Post(user_id=args.user_id, channel_id=args.channel_id, message="bench")
            )

        return {"KVGet": kv_get, "GetUser": get_user, "CreatePost": create_post}

    def serve_http(self, ctx: Context, w: SyncResponseWriter, r: SyncHTTPRequest) -> None:
        url = urlsplit(r.url)
        if url.path == "/hello" and r.method == "GET":
            w.start(200, {"Content-Type": "application/json"})
            w.write(b'{"hello":"world"}')
        elif url.path == "/upload" and r.method == "POST":
            n = 0
            for data in r.body:
                n += len(data)
            w.start(200, {"Content-Type": "application/json"})
            w.write(b'{"bytes":%d}' % n)
        elif url.path == "/download" and r.method == "GET":
            try:
                n = int(parse_qs(url.query).get("bytes", [""])[0])
            except ValueError:
                n = -1
            if n < 0:
                w.start(400, {"Content-Type": "text/plain"})
                w.write(b"bytes must be a non-negative integer")
                return
            w.start(200, {"Content-Type": "application/octet-stream"})
            buf = bytes(CHUNK)
            while n > 0:
                size = min(n, CHUNK)
                w.write(buf if size == CHUNK else buf[:size])
                n -= size
        else:
            w.start(404, {"Content-Type": "text/plain"})
            w.write(b"404 page not found")
