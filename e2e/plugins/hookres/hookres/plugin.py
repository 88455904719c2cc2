"""The Python twin of e2e/goplugin/hookres: the same hooks answered the same way, in Python's
idiom (None keeps, Reject rejects, AppError fails a command, an exception is a crash)."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from mmplugin import CommandCall, Context, Plugin, Reject, command
from mmplugin.errors import AppError
from mmplugin.models import Post
from mmplugin.streams import SyncHTTPRequest, SyncResponseWriter, wire_bytes

TRIGGER = "hookres-py"
NO_EDIT_MARKER = "noedit"
NO_EDIT_REASON = "edits containing noedit are not allowed"
CONSUME_MARKER = "consume-replace"
CONSUMED_MESSAGE = "replaced by the plugin when read"
RESTART_MARKER = "restart-probe"  # posts of the restart test: rewritten, and counted when posted


class HookResults(Plugin):
    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:
        if RESTART_MARKER in post.message:
            return dataclasses.replace(post, message="rewritten " + post.message)
        return None

    def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        if RESTART_MARKER in post.message:
            self.kv.set("seen-" + post.id, 1)

    def message_will_be_updated(
        self, ctx: Context, new_post: Post, old_post: Post
    ) -> Post | Reject | None:
        if NO_EDIT_MARKER in new_post.message:
            return Reject(NO_EDIT_REASON)
        return None

    def messages_will_be_consumed(self, posts: list[Post] | None) -> list[Post] | None:
        replaced = [
            dataclasses.replace(p, message=CONSUMED_MESSAGE)
            for p in posts or []
            if CONSUME_MARKER in p.message
        ]
        return replaced or None

    def serve_http(self, ctx: Context, w: SyncResponseWriter, r: SyncHTTPRequest) -> None:
        path = r.url.split("?")[0]
        if path == "/crash":
            raise RuntimeError("secret detail of the crash")
        if path == "/echo":  # the bytes of the X-Raw header and of the query string, as received
            raw = next((v for k, v in r.headers if k.lower() == "x-raw"), "")
            query = urlsplit(r.url).query
            w.write(f"{wire_bytes(raw).hex()}|{wire_bytes(query).hex()}".encode())
            return
        if path == "/seen":  # how many restart-test posts message_has_been_posted saw
            seen = len(self.kv.list_keys(prefix="seen-"))
            w.write(str(seen).encode())
            return
        w.write(b"ok")

    @command(TRIGGER, description="Fails in the ways a command can")
    def hookres(self, call: CommandCall) -> str:
        if call.text == "fail":
            raise AppError("The weather service is down", status_code=503)
        if call.text == "failid":
            raise AppError("nicer text", id="weather.down", status_code=503)
        if call.text == "crash":
            raise KeyError("the command crashed")
        return "ok"
