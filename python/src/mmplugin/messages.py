"""``@on_message``: react to posts that match a pattern, without the boilerplate.

::

    class Echo(Plugin):
        @on_message(r"^!echo (?P<text>.+)")
        def echo(self, post: Post, match: re.Match[str]) -> None:
            self.api.create_post(Post(channel_id=post.channel_id, user_id=self.bot_id,
                                      root_id=post.root_id or post.id, message=match["text"]))

The handlers run from ``MessageHasBeenPosted`` (after the post is saved), in declaration order,
``def`` or ``async def``. Like pluginapi's ``ShouldProcessMessage`` (and Bolt's self-event
filter), they skip system messages and posts by bots — the plugin's own bot included, so a
handler that answers cannot loop — unless ``include_bots=True``. ``channel_types`` limits them
to some channel types (``"O"`` public, ``"P"`` private, ``"D"`` direct, ``"G"`` group), at the cost
of a ``GetChannel`` call per post. A plugin may still define ``message_has_been_posted`` itself;
it runs first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mmplugin._marks import marked_methods
from mmplugin.models import Post

_ATTR = "__mmplugin_on_message__"


@dataclass(frozen=True)
class MessageRoute:
    pattern: re.Pattern[str]
    include_bots: bool
    channel_types: frozenset[str] | None
    handler_name: str = ""


MessageHandler = Callable[..., Any]


def on_message(
    pattern: str | re.Pattern[str] = "",
    *,
    include_bots: bool = False,
    channel_types: Iterable[str] | None = None,
) -> Callable[[MessageHandler], MessageHandler]:
    """Run the decorated method for each new post whose message matches ``pattern``
    (``re.search``; the default matches every post). The method gets ``(post, match)``."""
    compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
    types = frozenset(channel_types) if channel_types is not None else None
    if types is not None and not types <= {"O", "P", "D", "G"}:
        raise ValueError(f"channel_types must be among 'O', 'P', 'D', 'G', got {sorted(types)}")

    def decorate(fn: MessageHandler) -> MessageHandler:
        routes: list[MessageRoute] = list(getattr(fn, _ATTR, ()))
        routes.append(MessageRoute(compiled, include_bots, types))
        setattr(fn, _ATTR, tuple(routes))
        return fn

    return decorate


def collect_message_routes(cls: type) -> list[MessageRoute]:
    """The ``@on_message`` routes of a plugin class and its bases, bases first."""
    return [
        MessageRoute(r.pattern, r.include_bots, r.channel_types, name)
        for name, routes in marked_methods(cls, _ATTR).items()
        for r in reversed(routes)
    ]


def is_from_bot_or_system(post: Post, bot_ids: Iterable[str]) -> bool:
    """pluginapi's ShouldProcessMessage filter: system messages, bot posts, our own bots."""
    if post.type.startswith("system_"):
        return True
    if post.user_id in set(bot_ids):
        return True
    # The server marks posts by bot users "from_bot" (and webhook posts "from_webhook").
    props = post.props or {}
    return any(str(props.get(k, "")).lower() == "true" for k in ("from_bot", "from_webhook"))


__all__ = ["MessageRoute", "collect_message_routes", "is_from_bot_or_system", "on_message"]
