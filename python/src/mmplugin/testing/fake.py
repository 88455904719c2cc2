"""``FakeAPI``: an in-memory Mattermost server behind the plugin API, for tests.

It implements the parts of ``mmplugin.api.API`` plugins use most — users, teams, channels and
their members, posts (with the message hooks), reactions, ephemeral posts, the KV store with
atomic and expiring values, bots, slash commands, configuration, WebSocket events, cluster
events and logging — with the server's behaviour where it matters to a plugin (ids and
timestamps, not-found errors, the hooks it triggers). Every other API method raises
``NotSupportedByFake`` naming it; patch such a method in the test that needs it::

    fake.get_team_icon = lambda team_id: b"png"           # or monkeypatch.setattr(...)

Set up the world with the ``add_*`` helpers (no hooks run); the API methods behave like the
server, so a plugin calling ``create_post`` sees its own ``message_will_be_posted``, as on a real
server. What the plugin did is on the fake: ``posts``, ``ephemeral_posts``,
``websocket_events``, ``logs``, ``commands``, ``cluster_events``, ``kv_data()``.
``FakeAsyncAPI`` is the same state behind ``AsyncAPI``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from mmplugin.api import API, AsyncAPI

from ._content import ContentMixin
from ._people import BOT_USER_KEY, PeopleMixin
from ._server import ServerMixin


class NotSupportedByFake(NotImplementedError):
    """The fake does not implement this API method: patch it in the test that needs it."""

    def __init__(self, method: str, go_name: str = "", *, hint: str = "") -> None:
        go = f" (Go API.{go_name})" if go_name else ""
        hint = hint or (
            f"patch it in your test, e.g. monkeypatch.setattr(fake, {method!r}, "
            f"lambda *args: ...) or unittest.mock.patch.object(fake, {method!r}, "
            "return_value=...)"
        )
        super().__init__(f"FakeAPI does not implement {method}{go}: {hint}")
        self.method = method


class FakeAPI(PeopleMixin, ContentMixin, ServerMixin):
    """The in-memory server (see the module docstring). Keyword arguments: ``plugin_id``,
    ``bundle_path`` (default: the current directory), ``config`` (the plugin's saved settings),
    ``manifest`` (plugin.json as a dict: its settings defaults apply), ``site_url``,
    ``server_version``."""


def _go_name(fn: object) -> str:
    match = re.search(r"Go: API\.(\w+)\(", inspect.getdoc(fn) or "")
    return match.group(1) if match else ""


def _unsupported(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    go_name = _go_name(real)

    def method(self: object, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedByFake(name, go_name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Not implemented by FakeAPI (raises NotSupportedByFake). {real.__doc__}"
    method.__signature__ = inspect.signature(real)  # type: ignore[attr-defined]
    return method


def _public_methods(cls: type) -> dict[str, Any]:
    return {
        name: fn
        for name, fn in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(fn)
    }


for _name, _fn in _public_methods(API).items():
    if getattr(FakeAPI, _name) is _fn:  # not implemented by one of the parts
        setattr(FakeAPI, _name, _unsupported(_name, _fn))


class FakeAsyncAPI(AsyncAPI):
    """``AsyncAPI`` over a ``FakeAPI``: each call runs the sync fake in a worker thread (as a
    real call would leave the event loop free for the hooks it triggers)."""

    def __init__(self, fake: FakeAPI) -> None:
        # No super().__init__(): there is no channel behind the fake.
        self.fake = fake


def _delegate(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    async def method(self: FakeAsyncAPI, *args: Any, **kwargs: Any) -> Any:
        target = getattr(self.fake, name)
        return await asyncio.to_thread(functools.partial(target, *args, **kwargs))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = real.__doc__
    method.__signature__ = inspect.signature(real)  # type: ignore[attr-defined]
    return method


for _name, _fn in _public_methods(AsyncAPI).items():
    setattr(FakeAsyncAPI, _name, _delegate(_name, _fn))

del _name, _fn

__all__ = ["BOT_USER_KEY", "FakeAPI", "FakeAsyncAPI", "NotSupportedByFake"]
