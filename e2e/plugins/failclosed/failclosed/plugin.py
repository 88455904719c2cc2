"""A gate that must fail closed: while its process is down, posts are rejected, not let through."""

from __future__ import annotations

from mmplugin import Context, Plugin, Reject
from mmplugin.models import Post


class Gate(Plugin):
    def message_will_be_posted(self, ctx: Context, post: Post) -> Reject | None:
        if "forbidden" in post.message:
            return Reject("forbidden word")
        return None
