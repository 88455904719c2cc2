"""``mmplugin.Plugin``: the base class of a Python Mattermost plugin.

::

    class Greeter(Plugin):
        config: GreeterSettings                       # optional typed configuration

        def on_activate(self) -> None:
            self.bot_id = self.ensure_bot("greeter", display_name="Greeter")

        def message_will_be_posted(self, ctx: Context, post: Post) -> Post | Reject | None:
            ...

        @command("hello", description="Say hello")
        def hello(self, call: CommandCall) -> str:
            return "Hello!"

Hooks are methods named after Mattermost's hooks in snake_case (``on_activate``,
``message_will_be_posted``, ``execute_command``, ... — the full list with signatures is in
docs/sdk/hooks.md), ``def`` (run in a worker thread) or ``async def`` (run on the plugin's event
loop). The server calls only the hooks the class defines. The SDK adds the hooks its features
need: ``execute_command`` for ``@command``, ``on_configuration_change`` for typed settings,
``on_activate`` to register commands, ``message_has_been_posted`` for ``@on_message``,
``on_plugin_cluster_event`` for ``@on_cluster_event`` — running the plugin's own method of the
same name too, if it has one.

As in a Go plugin, ``on_configuration_change`` runs before ``on_activate``, and ``self.api`` and
the helpers work from then on (they are set right after the plugin object is created, so not
in ``__init__``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from mmplugin import bot as _bot
from mmplugin import cluster as _cluster
from mmplugin.commands import CommandRouter, collect_commands
from mmplugin.config import Settings
from mmplugin.messages import MessageRoute, collect_message_routes
from mmplugin.models import PluginClusterEventSendOptions

if TYPE_CHECKING:
    from mmplugin.api import API, AsyncAPI
    from mmplugin.db import Store
    from mmplugin.kv import AsyncKVStore, KVStore
    from mmplugin.logging import PluginLogger

_SDK_ATTRIBUTES = frozenset(
    {
        "api",
        "async_api",
        "log",
        "kv",
        "async_kv",
        "store",
        "config",
        "plugin_id",
        "bundle_path",
        "manifest",
    }
)


@dataclasses.dataclass
class PluginState:
    """What the SDK keeps per plugin object (``plugin._mm``); not part of the public API."""

    loop: asyncio.AbstractEventLoop | None = None
    bot_ids: set[str] = dataclasses.field(default_factory=set)
    jobs: list[_cluster.Job] = dataclasses.field(default_factory=list)
    job_clock: _cluster.JobClock | None = None  # the test harness's clock; None: the real one


class Plugin:
    """Subclass this; the entry point in plugin.json names the subclass.

    Set by the SDK before any hook runs:

    - ``api`` / ``async_api``: every Mattermost plugin API method (``mmplugin.api``), for
      ``def`` and ``async def`` code respectively;
    - ``log``: a logger whose keyword arguments become key/values in the server log;
    - ``kv`` / ``async_kv``: the KV store with JSON values (``mmplugin.kv``);
    - ``store``: the Mattermost database through the server's connections, like Go's
      ``pluginapi.Store`` (``mmplugin.db``: ``with self.store.connect() as conn: ...``);
    - ``config``: the plugin's configuration — an instance of the class ``config`` is annotated
      with (a ``mmplugin.Settings`` subclass), else a read-only mapping of the manifest's
      settings; refreshed before ``on_configuration_change`` runs;
    - ``plugin_id``, ``bundle_path``, ``manifest`` (plugin.json as a dict).
    """

    api: API
    async_api: AsyncAPI
    log: PluginLogger
    kv: KVStore
    async_kv: AsyncKVStore
    store: Store
    config: Any
    plugin_id: str
    bundle_path: str
    manifest: dict[str, Any]
    _mm: PluginState

    _mm_commands: ClassVar[CommandRouter]
    _mm_cluster_handlers: ClassVar[dict[str, str]]
    _mm_message_routes: ClassVar[list[MessageRoute]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Collected at class creation so that mistakes (two handlers for one command) fail
        # when the module is imported, with the class named, not on the first call.
        cls._mm_commands = collect_commands(cls)
        cls._mm_cluster_handlers = _cluster.collect_cluster_handlers(cls)
        cls._mm_message_routes = collect_message_routes(cls)

    if not TYPE_CHECKING:  # mypy must keep flagging misspelt attributes

        def __getattr__(self, name: str) -> Any:
            if name in _SDK_ATTRIBUTES:
                raise AttributeError(
                    f"self.{name} is not set yet: the SDK sets it right after creating the "
                    f"{type(self).__name__} object, so use it from on_configuration_change / "
                    "on_activate on (not in __init__)"
                )
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # --- helpers ------------------------------------------------------------------------------

    def ensure_bot(
        self,
        username: str,
        *,
        display_name: str = "",
        description: str = "",
        profile_image: _bot.ProfileImage | None = None,
    ) -> str:
        """Create or update the plugin's bot (under a cluster mutex) and return its user id.

        ``profile_image`` is a path in the bundle or the image bytes. Posts by this bot are
        ignored by ``@on_message`` handlers.
        """
        bot_id = _bot.ensure_bot(
            self.api,
            username,
            display_name=display_name,
            description=description,
            profile_image=profile_image,
        )
        self._mm.bot_ids.add(bot_id)
        return bot_id

    async def aensure_bot(
        self,
        username: str,
        *,
        display_name: str = "",
        description: str = "",
        profile_image: _bot.ProfileImage | None = None,
    ) -> str:
        """``ensure_bot`` for ``async def`` code."""
        bot_id = await _bot.async_ensure_bot(
            self.async_api,
            username,
            display_name=display_name,
            description=description,
            profile_image=profile_image,
        )
        self._mm.bot_ids.add(bot_id)
        return bot_id

    def mutex(self, key: str) -> _cluster.Mutex:
        """A cluster-wide mutex: ``with self.mutex(key):`` or ``async with self.mutex(key):``."""
        return _cluster.Mutex(key, api=self.api, async_api=self.async_api)

    def schedule(
        self,
        key: str,
        interval: dt.timedelta | Callable[..., dt.timedelta],
        callback: _cluster.JobCallback,
        *,
        rounded: bool = False,
        run_immediately: bool = True,
    ) -> _cluster.Job:
        """Run ``callback`` every ``interval``, on one node of the cluster at a time.

        ``interval``: a ``timedelta``, a function returning one (asked again whenever the job
        decides and after ``on_configuration_change``, so it can follow the settings), or a
        ``(now, metadata) -> timedelta`` function such as ``mmplugin.cluster.daily_at(time)``.
        A job that never ran anywhere runs at once; ``run_immediately=False`` waits one
        interval first. The job stops when the plugin stops (or on ``job.close()`` /
        ``await job.aclose()``). ``callback`` may be ``def`` (run in a worker thread) or
        ``async def``. See docs/sdk/cluster.md.
        """
        loop = self._mm.loop
        if loop is None:
            raise RuntimeError("schedule() needs the plugin's event loop: call it from a hook")
        job = _cluster.schedule(
            key,
            interval,
            callback,
            api=self.async_api,
            loop=loop,
            rounded=rounded,
            run_immediately=run_immediately,
            clock=self._mm.job_clock,
        )
        self._mm.jobs.append(job)
        return job

    def publish_cluster_event(
        self, event_id: str, data: Any = None, *, send_type: str = "reliable", target_id: str = ""
    ) -> None:
        """Send an event to the plugin on the other nodes (``@on_cluster_event(event_id)``).

        ``data``: bytes as they are, anything else as JSON. ``send_type``: ``"reliable"`` or
        ``"best_effort"``; ``target_id`` a node id (empty: every other node).
        """
        self.api.publish_plugin_cluster_event(
            _cluster.cluster_event(event_id, data),
            PluginClusterEventSendOptions(send_type=send_type, target_id=target_id),
        )

    async def apublish_cluster_event(
        self, event_id: str, data: Any = None, *, send_type: str = "reliable", target_id: str = ""
    ) -> None:
        """``publish_cluster_event`` for ``async def`` code."""
        await self.async_api.publish_plugin_cluster_event(
            _cluster.cluster_event(event_id, data),
            PluginClusterEventSendOptions(send_type=send_type, target_id=target_id),
        )


def settings_class(cls: type) -> type[Settings] | None:
    """The ``Settings`` subclass a plugin class annotates ``config`` with, if any."""
    for klass in cls.__mro__:
        if klass is Plugin or klass is object:
            break
        ann = inspect.get_annotations(klass).get("config")
        if ann is None:
            continue
        if isinstance(ann, str):
            module = sys.modules.get(klass.__module__)
            try:
                ann = eval(ann, vars(module) if module else {}, dict(vars(klass)))
            except Exception as e:
                raise TypeError(
                    f"cannot resolve the annotation config: {ann} of {klass.__qualname__}: "
                    f"{type(e).__name__}: {e} (define the settings class at module level, "
                    "before the plugin class or in an imported module)"
                ) from None
        if isinstance(ann, type) and issubclass(ann, Settings):
            return ann
        raise TypeError(
            f"{klass.__qualname__}.config is annotated {ann!r}: annotate it with a subclass of "
            "mmplugin.Settings (or leave it out to read the manifest's settings as a mapping)"
        )
    return None


HookHandler = Callable[..., Any]

__all__ = ["HookHandler", "Plugin", "PluginState", "settings_class"]

# Defining a Plugin subclass is what makes a process an SDK plugin: registering the runtime
# binder here (not in mmplugin/__init__) keeps `import mmplugin` light for the CLI.
from mmplugin import _bind  # noqa: E402, F401
