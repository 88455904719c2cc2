"""The Python twin of e2e/goplugin/hookres: the same hooks answered the same way, in Python's
idiom (None keeps, Reject rejects, AppError fails a command, an exception is a crash)."""

from __future__ import annotations

import dataclasses

from mmplugin import CommandCall, Context, Plugin, Reject, command
from mmplugin._streams import SyncHTTPRequest, SyncResponseWriter
from mmplugin.errors import AppError
from mmplugin.models import Post

TRIGGER = "hookres-py"
NO_EDIT_MARKER = "noedit"
NO_EDIT_REASON = "edits containing noedit are not allowed"
CONSUME_MARKER = "consume-replace"
CONSUMED_MESSAGE = "replaced by the plugin when read"


class HookResults(Plugin):
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
        if r.url.split("?")[0] == "/crash":
            raise RuntimeError("secret detail of the crash")
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
