"""``PluginTestHarness``: run a plugin against the in-memory server, the way Mattermost would.

::

    def test_hello() -> None:
        with PluginTestHarness(Greeter, config={"Greeting": "Hi"}) as h:
            h.activate()                                  # on_configuration_change, on_activate
            assert h.command("/hello").text == "Hi!"      # routed like the server does
            post = h.post(h.user, h.channel, "hello there")   # message_will_be_posted & co
            assert post.message == "hello there!"

The harness creates the plugin object, attaches the SDK to it exactly as the plugin process does
(with ``FakeAPI`` / ``FakeAsyncAPI`` instead of the gRPC clients) and serves the same hook
table, so ``@command`` routing, typed settings, ``@on_message`` and the rest run as in
production. ``async def`` hooks run on the harness's event loop (a background thread, like the
plugin process's loop); plain ``def`` hooks run in the calling thread.

A world to start with is ready: ``h.team``, ``h.channel`` (its town square) and ``h.user``, a
member of both. Unlike the server, a hook that raises fails the test (``raise_hook_errors=False``
applies the server's defaults and logs the error instead).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import json as _json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from mmplugin import _hookresults
from mmplugin._bind import (
    attach,
    hook_handlers,
    is_async,
    own_hooks,
    read_manifest,
    stop_jobs,
)
from mmplugin._gen import hooks as _hooks
from mmplugin.cluster import Job
from mmplugin.errors import AppError
from mmplugin.models import (
    Channel,
    ChannelMember,
    CommandArgs,
    CommandResponse,
    PluginContext,
    Post,
    Reaction,
    Team,
    TeamMember,
    User,
)
from mmplugin.plugin import Plugin

from . import _http
from ._http import HTTPResult
from ._store import command_crashed, new_id
from .fake import FakeAPI, FakeAsyncAPI, NotSupportedByFake

if TYPE_CHECKING:
    from mmplugin.db import Store

P = TypeVar("P")

_log = logging.getLogger("mmplugin.testing")
_SPECS = {s.py_name: s for s in _hooks.HOOKS}
_NOT_IMPLEMENTED = object()


class PluginTestHarness(Generic[P]):
    """A plugin, its hooks and an in-memory server (see the module docstring).

    ``plugin``: the plugin class (or any factory returning the plugin object). ``config``: the
    plugin's settings as an admin would save them. ``manifest``: plugin.json as a dict (default:
    the one in ``bundle_path``, if any), whose ``settings_schema`` defaults apply as on
    the server. ``store``: what ``self.store`` is (a ``mmplugin.db.Store`` over a test database
    driver; without one, using ``self.store`` raises). ``bundle_path``: the plugin's directory
    (default: the nearest directory with a plugin.json above the plugin's module, else the
    current one). ``timeout``: seconds an ``async def`` hook may take.
    """

    def __init__(
        self,
        plugin: type[P] | Callable[[], P],
        *,
        config: Mapping[str, Any] | None = None,
        plugin_id: str | None = None,
        manifest: Mapping[str, Any] | None = None,
        bundle_path: str | None = None,
        raise_hook_errors: bool = True,
        timeout: float = 30.0,
        store: Store | None = None,
    ) -> None:
        self.raise_hook_errors = raise_hook_errors
        self.timeout = timeout
        bundle = bundle_path or _find_bundle(plugin)
        self.manifest: dict[str, Any] = dict(
            manifest if manifest is not None else read_manifest(bundle)
        )
        pid = plugin_id or self.manifest.get("id") or "com.example.plugin"
        self.api = FakeAPI(plugin_id=pid, bundle_path=bundle, config=config, manifest=self.manifest)
        self.async_api = FakeAsyncAPI(self.api)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="mmplugin-test-loop", daemon=True
        )
        self._thread.start()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="mmplugin-test")
        self._job_clock = _HarnessJobClock(self.api)
        self.plugin: P = plugin()
        if isinstance(self.plugin, Plugin):
            attach(
                self.plugin,
                api=self.api,
                async_api=self.async_api,
                plugin_id=pid,
                bundle_path=bundle,
                loop=self.loop,
                manifest=self.manifest,
            )
            self.plugin.store = store if store is not None else cast("Store", _NoDatabase())
            # Scheduled jobs follow the fake server's clock: they run in activate(),
            # advance_time() and run_due_jobs(), never on their own.
            self.plugin._mm.job_clock = self._job_clock
            self.handlers = hook_handlers(self.plugin)
        else:
            self.handlers = own_hooks(self.plugin)
        self._async = {name: is_async(fn) for name, fn in self.handlers.items()}
        self.active = False
        self.api.store.hooks = self
        self.team: Team = self.api.add_team("test")
        self.channel: Channel = self.api.add_channel(self.team, "town-square")
        self.user: User = self.api.add_user("alice")
        self.api.add_to_team(self.user, self.team)
        self.api.add_to_channel(self.user, self.channel)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def implemented(self) -> list[str]:
        """What the plugin answers to ``Implemented()``: Go hook names in table order."""
        return [s.go_name for s in _hooks.HOOKS if s.go_name in self.handlers]

    def activate(self) -> None:
        """Activate like the server: ``on_configuration_change``, then ``on_activate``."""
        self._run("OnConfigurationChange")
        self._run("OnActivate")
        self.active = True
        self.run_due_jobs()

    def deactivate(self) -> None:
        """``on_deactivate``, then stop the plugin's scheduled jobs (as the process stop does)."""
        try:
            if self.active:
                self._run("OnDeactivate")
        finally:
            self.active = False
            if isinstance(self.plugin, Plugin):
                self._await(stop_jobs(self.plugin))

    def close(self) -> None:
        """Deactivate (if active) and stop the event loop."""
        try:
            self.deactivate()
        finally:
            # Tasks the plugin left (its own asyncio tasks) end here, so that none is
            # destroyed while pending ("Task was destroyed but it is pending!").
            with contextlib.suppress(Exception):
                self._await(_cancel_other_tasks())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(self.timeout)
            self._executor.shutdown(wait=False, cancel_futures=True)
            if not self.loop.is_running():
                self.loop.close()

    def __enter__(self) -> PluginTestHarness[P]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- driving the plugin ------------------------------------------------------------------

    def post(
        self,
        user: str | User,
        channel: str | Channel,
        message: str,
        *,
        root_id: str = "",
        props: Mapping[str, Any] | None = None,
    ) -> Post:
        """Post as ``user``: runs ``message_will_be_posted`` and ``message_has_been_posted``.

        Returns the saved post (as the plugin changed it); a rejected or dismissed post raises
        the ``AppError`` (``BadRequestError``) the server would answer with.
        """
        return self.api.submit_post(
            Post(
                user_id=_id(user),
                channel_id=_id(channel),
                message=message,
                root_id=root_id,
                props=dict(props) if props is not None else None,
            )
        )

    def command(
        self,
        command: str,
        *,
        user: str | User | None = None,
        channel: str | Channel | None = None,
        root_id: str = "",
    ) -> CommandResponse:
        """Type a slash command (``"/hello world"``): the plugin's ``execute_command`` answers,
        and its reply is posted like the server does (ephemeral replies end up in
        ``api.ephemeral_posts``). A handler's ``AppError`` is raised."""
        channel_id = _id(channel) if channel is not None else self.channel.id
        team_id = self.api.get_channel(channel_id).team_id or self.team.id
        return self.api.run_command(
            CommandArgs(
                user_id=_id(user) if user is not None else self.user.id,
                channel_id=channel_id,
                team_id=team_id,
                root_id=root_id,
                command=command,
                trigger_id=new_id(),
            )
        )

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Save new settings as an admin would; ``on_configuration_change`` runs."""
        self.api.set_plugin_config(config)
        self.configuration_changed()

    def cluster_event(self, event_id: str, data: bytes | Any = b"") -> None:
        """Deliver a plugin cluster event as if another node had published it."""
        from mmplugin.cluster import cluster_event

        self._run("OnPluginClusterEvent", self.context(), cluster_event(event_id, data))

    def http(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        user: str | User | None = None,
    ) -> HTTPResult:
        """A request to ``<site>/plugins/<plugin id><path>``, served by the plugin's
        ``serve_http`` (an ``mmplugin.http`` app or a handler) through the SDK's real streaming
        code. ``user`` sets the ``Mattermost-User-Id`` header, as the server does for a logged-in
        user; ``json`` is encoded as the body. A handler that fails before answering raises."""
        handler = self.handlers.get("ServeHTTP")
        if handler is None:
            raise NotImplementedError("the plugin does not implement serve_http")
        all_headers = dict(headers or {})
        if json is not None:
            body = _json.dumps(json).encode()
            all_headers.setdefault("Content-Type", "application/json")
        if user is not None:
            all_headers["Mattermost-User-Id"] = _id(user)
        result: HTTPResult = self._await(
            _http.serve(
                handler,
                self._async["ServeHTTP"],
                self._executor,
                method,
                path,
                all_headers.items(),
                body,
                self.context(),
            )
        )
        return result

    def http_get(self, path: str, **options: Any) -> HTTPResult:
        """``http("GET", path, ...)``."""
        return self.http("GET", path, **options)

    def http_post(self, path: str, **options: Any) -> HTTPResult:
        """``http("POST", path, ...)``."""
        return self.http("POST", path, **options)

    def advance_time(self, delta: timedelta | float) -> None:
        """Move the fake server's clock (KV expiry, timestamps, scheduled jobs), then run the
        scheduled jobs that are due by it (``run_due_jobs``)."""
        self.api.advance_time(delta)
        self.run_due_jobs()

    def run_due_jobs(self) -> None:
        """Run the plugin's scheduled jobs that are due by the fake clock, and return when each
        is waiting again. Jobs never run on the real clock in the harness: only here (called by
        ``activate`` and ``advance_time``)."""
        if not isinstance(self.plugin, Plugin):
            return

        async def run_due(jobs: list[Job]) -> None:
            for job in jobs:
                await job.run_due()

        self._await(run_due(list(self.plugin._mm.jobs)))

    def now(self) -> datetime:
        """The scheduled jobs' clock (UTC): the real time when the harness was created plus
        what ``advance_time`` added."""
        return self._job_clock.now()

    def hook(self, name: str, *args: Any) -> Any:
        """Call any hook by its Python name; the ``ctx`` argument is added for hooks that take
        one. Returns what the plugin returned (``NotImplementedError`` if it has no such hook).
        """
        spec = _SPECS.get(name)
        if spec is None:
            raise ValueError(f"{name!r} is not a hook; see docs/sdk/hooks.md for the names")
        if spec.context:
            args = (self.context(), *args)
        result = self._run(spec.go_name, *args)
        if result is _NOT_IMPLEMENTED:
            raise NotImplementedError(f"the plugin does not implement {name}")
        return result

    def wait_until(
        self, condition: Callable[[], object], timeout: float = 5.0, what: str = ""
    ) -> None:
        """Wait until ``condition()`` is true: for work the plugin finishes in the background
        (an ``asyncio`` task it started, a delayed message). ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {timeout}s: {what or condition!r}")
            time.sleep(0.005)

    @staticmethod
    def context() -> PluginContext:
        return PluginContext(session_id=new_id(), request_id=new_id())

    # --- the fake server's view of the plugin (ServerHooks) -------------------------------------

    def message_will_be_posted(self, post: Post) -> tuple[Post | None, str]:
        result = self._run("MessageWillBePosted", self.context(), post)
        if result is _NOT_IMPLEMENTED:
            return None, ""
        return _hookresults.replace_or_reject(
            _hooks.MESSAGE_WILL_BE_POSTED, result, Post, _hooks.DISMISS_POST_ERROR
        )

    def message_has_been_posted(self, post: Post) -> None:
        self._notify("MessageHasBeenPosted", self.context(), post)

    def message_will_be_updated(self, new: Post, old: Post) -> tuple[Post | None, str]:
        result = self._run("MessageWillBeUpdated", self.context(), new, old)
        if result is _NOT_IMPLEMENTED:
            return new, ""
        replacement, reason = _hookresults.replace_or_reject(
            _hooks.MESSAGE_WILL_BE_UPDATED, result, Post, None
        )
        if reason:
            return None, reason
        return (replacement if replacement is not None else new), ""

    def message_has_been_updated(self, new: Post, old: Post) -> None:
        self._notify("MessageHasBeenUpdated", self.context(), new, old)

    def message_has_been_deleted(self, post: Post) -> None:
        self._notify("MessageHasBeenDeleted", self.context(), post)

    def reaction_has_been_added(self, reaction: Reaction) -> None:
        self._notify("ReactionHasBeenAdded", self.context(), reaction)

    def reaction_has_been_removed(self, reaction: Reaction) -> None:
        self._notify("ReactionHasBeenRemoved", self.context(), reaction)

    def user_has_been_created(self, user: User) -> None:
        self._notify("UserHasBeenCreated", self.context(), user)

    def channel_has_been_created(self, channel: Channel) -> None:
        self._notify("ChannelHasBeenCreated", self.context(), channel)

    def user_has_joined_team(self, member: TeamMember, actor: User | None) -> None:
        self._notify("UserHasJoinedTeam", self.context(), member, actor)

    def user_has_left_team(self, member: TeamMember, actor: User | None) -> None:
        self._notify("UserHasLeftTeam", self.context(), member, actor)

    def user_has_joined_channel(self, member: ChannelMember, actor: User | None) -> None:
        self._notify("UserHasJoinedChannel", self.context(), member, actor)

    def user_has_left_channel(self, member: ChannelMember, actor: User | None) -> None:
        self._notify("UserHasLeftChannel", self.context(), member, actor)

    def execute_command(self, args: CommandArgs) -> CommandResponse | None:
        try:
            result = self._run("ExecuteCommand", self.context(), args, errors_as_server=False)
        except AppError:
            raise
        except Exception:
            if self.raise_hook_errors:
                raise
            _log.exception("hook execute_command failed")
            trigger = args.command.split(" ")[0].removeprefix("/").lower()
            raise command_crashed(trigger, self.api.plugin_id) from None
        if result is _NOT_IMPLEMENTED:
            return None
        checked: CommandResponse | None = _hookresults.expect_value(
            _hooks.EXECUTE_COMMAND, result, (CommandResponse,), allow_none=True
        )
        return checked

    def configuration_changed(self) -> None:
        self._run("OnConfigurationChange")
        if self.active:
            self.run_due_jobs()  # the SDK wakes jobs after the hook: an interval may follow it

    # --- running hooks -------------------------------------------------------------------------

    def _notify(self, go_name: str, *args: Any) -> None:
        if self.active:
            self._run(go_name, *args)

    def _run(self, go_name: str, *args: Any, errors_as_server: bool = True) -> Any:
        handler = self.handlers.get(go_name)
        if handler is None:
            return _NOT_IMPLEMENTED
        try:
            if self._async[go_name]:
                return self._await(handler(*args))
            return handler(*args)
        except Exception:
            if self.raise_hook_errors or not errors_as_server:
                raise
            # What the server does when a hook fails: log it, apply the hook's default.
            _log.exception("hook %s failed", _hooks_py_name(go_name))
            return _NOT_IMPLEMENTED

    def _await(self, coro: Any) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            coro.close()
            raise RuntimeError(
                "a blocking API call was made on the plugin's event loop: in async def code "
                "use self.async_api / self.async_kv (await them), not self.api / self.kv"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"an async hook did not finish within {self.timeout}s") from None


class _NoDatabase:
    """``self.store`` in a harness without a database: any use says how to give it one."""

    def __getattr__(self, name: str) -> Any:
        raise NotSupportedByFake(
            f"store.{name}",
            "",
            hint="the test harness has no database: pass store=mmplugin.db.Store(<driver>) "
            "to PluginTestHarness, or patch plugin.store",
        )


class HarnessFactory(Protocol):
    """The ``plugin_harness`` fixture: ``plugin_harness(MyPlugin, config={...})``."""

    def __call__(
        self, plugin: type[P] | Callable[[], P], **options: Any
    ) -> PluginTestHarness[P]: ...


class _HarnessJobClock:
    """The harness clock of scheduled jobs: the real time when the harness was created, moved
    only by ``advance_time``; waiting ends only when the harness wakes the job
    (``run_due_jobs``), never after real time."""

    def __init__(self, api: FakeAPI) -> None:
        self._api = api
        self._start = time.time() - api.store.time_offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._start + self._api.store.time_offset, timezone.utc)

    async def sleep(self, seconds: float, wake: asyncio.Event) -> None:
        await wake.wait()


async def _cancel_other_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _find_bundle(plugin: object) -> str:
    """The plugin's directory: the nearest one holding plugin.json above the module that
    defines the plugin class (so tests find the manifest from any working directory)."""
    try:
        start = Path(inspect.getfile(plugin)).resolve().parent  # type: ignore[arg-type]
    except (TypeError, OSError):
        return "."
    for directory in (start, *start.parents):
        if (directory / "plugin.json").is_file():
            return str(directory)
    return "."


def _hooks_py_name(go_name: str) -> str:
    for spec in _hooks.HOOKS:
        if spec.go_name == go_name:
            return spec.py_name
    return go_name


def _id(value: str | User | Channel | Team) -> str:
    return value if isinstance(value, str) else value.id


__all__ = ["HarnessFactory", "PluginTestHarness"]
