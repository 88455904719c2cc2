"""The seam between the SDK and the runtime: how a plugin object becomes served hooks.

``mmplugin._runtime`` creates the plugin object named by the entry point and calls the binder
registered here (``register_binder(bind)`` runs when ``mmplugin`` is imported, see
docs/runtime.md "SDK extension point"). ``bind``:

1. opens the API clients (``API`` and the DB store, ``AsyncAPI``): unary calls on the host's
   calls socket, streams on a blocking gRPC channel or the runtime's grpc.aio one, all carrying
   the launch secret;
2. ``attach``es the SDK attributes to a ``Plugin`` (``api``, ``kv``, ``log``, ``config``...);
3. builds the hook handler table (``hook_handlers``): the plugin's own hook methods plus the
   SDK's wrappers for the features the class uses (commands, typed settings, ``@on_message``,
   ``@on_cluster_event``);
4. returns the runtime's ``Binding``: the ``PluginHooksService`` servicer over that table, the
   Go names of the implemented hooks (the table's keys), and an ``on_stop`` that stops
   scheduled jobs and closes the channels.

The test harness (``mmplugin.testing``) calls ``attach`` and ``hook_handlers`` too, with the
in-memory API, so tests exercise the same wrappers the server does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, cast

import grpc

from mmplugin import _dispatch
from mmplugin._gen.hooks import HOOKS, UNARY_HOOKS, HooksServicer
from mmplugin._runtime import Binding, RuntimeContext, register_binder
from mmplugin._runtime.auth import CHANNEL_OPTIONS
from mmplugin._runtime.calls import CallError
from mmplugin.api import API, AsyncAPI
from mmplugin.cluster import ClusterEvent
from mmplugin.commands import (
    DYNAMIC_LIST_PATH,
    CommandCall,
    answer_dynamic_list,
    ephemeral,
    to_response,
)
from mmplugin.config import ManifestConfig, manifest_has_settings
from mmplugin.db import plugin_store, set_default_store
from mmplugin.kv import AsyncKVStore, KVStore
from mmplugin.logging import plugin_logger
from mmplugin.messages import is_from_bot_or_system
from mmplugin.models import CommandArgs, CommandResponse, PluginClusterEvent, PluginContext, Post
from mmplugin.plugin import HookHandler, Plugin, PluginState, settings_class
from mmplugin.v1 import hooks_pb2, hooks_pb2_grpc

_log = logging.getLogger("mmplugin.sdk")

HOOK_NAMES: Mapping[str, str] = {s.py_name: s.go_name for s in HOOKS if s.go_name != "Implemented"}
"""Python hook method name → Go hook name."""

_HOOKS_PREFIX = "/" + hooks_pb2.DESCRIPTOR.services_by_name["PluginHooksService"].full_name + "/"
"""The full-method prefix of the hook calls on the calls socket."""


def read_manifest(bundle_path: str) -> dict[str, Any]:
    """plugin.json of the bundle as a dict ({} when there is none)."""
    path = os.path.join(bundle_path, "plugin.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise RuntimeError(f"cannot read the plugin manifest {path}: {e}") from None
    return data if isinstance(data, dict) else {}


def attach(
    plugin: Plugin,
    *,
    api: API,
    async_api: AsyncAPI,
    plugin_id: str,
    bundle_path: str,
    loop: asyncio.AbstractEventLoop | None,
    manifest: Mapping[str, Any] | None = None,
) -> None:
    """Give a plugin object its SDK attributes (before any hook runs)."""
    plugin.api = api
    plugin.async_api = async_api
    plugin.plugin_id = plugin_id
    plugin.bundle_path = bundle_path
    plugin.manifest = dict(manifest if manifest is not None else read_manifest(bundle_path))
    plugin.log = plugin_logger(plugin_id)
    plugin.kv = KVStore(api)
    plugin.async_kv = AsyncKVStore(async_api)
    plugin._mm = PluginState(loop=loop)
    cls = settings_class(type(plugin))
    if cls is not None:
        try:
            plugin.config = cls.from_config(None)  # the defaults, until the server sends values
        except ValueError:
            plugin.config = None
    else:
        plugin.config = ManifestConfig(None, plugin.manifest)


def is_async(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` gives a coroutine: ``async def`` functions and methods, and
    objects with an ``async def __call__`` (``mmplugin.http.asgi(app)``)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004
    )


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a plugin function: ``async def`` on this loop, ``def`` in a worker thread."""
    if is_async(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


def own_hooks(plugin: object) -> dict[str, HookHandler]:
    """The hook methods the plugin class defines: Go hook name → bound method. Methods whose
    names look like a misspelt hook (``on_activte``) are logged as warnings."""
    base = Plugin if isinstance(plugin, Plugin) else None
    _dispatch.warn_misspelled_hooks(plugin, HOOKS, base)
    return _dispatch.discover_handlers(plugin, HOOKS, base)


def hook_handlers(plugin: Plugin) -> dict[str, HookHandler]:
    """The hooks to serve: the plugin's own, wrapped where an SDK feature needs the hook too.

    A hook counts as implemented when the class defines it or uses the feature that needs it,
    so ``Implemented()`` (the keys) tells the server exactly that.
    """
    cls = type(plugin)
    handlers = own_hooks(plugin)

    if settings_class(cls) is not None or manifest_has_settings(plugin.manifest):
        handlers["OnConfigurationChange"] = _on_configuration_change(
            plugin, handlers.get("OnConfigurationChange")
        )
    if cls._mm_commands:
        handlers["OnActivate"] = _on_activate(plugin, handlers.get("OnActivate"))
        handlers["ExecuteCommand"] = _execute_command(plugin, handlers.get("ExecuteCommand"))
    if cls._mm_commands.dynamic_list_methods:
        handlers["ServeHTTP"] = _serve_dynamic_lists(plugin, handlers.get("ServeHTTP"))
    if cls._mm_message_routes:
        handlers["MessageHasBeenPosted"] = _message_has_been_posted(
            plugin, handlers.get("MessageHasBeenPosted")
        )
    if cls._mm_cluster_handlers:
        handlers["OnPluginClusterEvent"] = _on_plugin_cluster_event(
            plugin, handlers.get("OnPluginClusterEvent")
        )
    return handlers


def _on_configuration_change(plugin: Plugin, own: HookHandler | None) -> HookHandler:
    settings = settings_class(type(plugin))

    async def on_configuration_change() -> None:
        raw = await plugin.async_api.load_plugin_configuration()
        # A bad value raises ConfigurationError naming the key; the previous configuration
        # stays in place and the server logs the error, as for a Go plugin's returned error.
        if settings is not None:
            plugin.config = settings.from_config(raw)
        else:
            plugin.config = ManifestConfig(raw, plugin.manifest)
        if own is not None:
            await call(own)
        for job in plugin._mm.jobs:  # an interval may follow the settings
            job.wake()

    return on_configuration_change


def _on_activate(plugin: Plugin, own: HookHandler | None) -> HookHandler:
    async def on_activate() -> None:
        for cmd in type(plugin)._mm_commands.commands():
            await plugin.async_api.register_command(cmd)
        if own is not None:
            await call(own)

    return on_activate


def _execute_command(plugin: Plugin, own: HookHandler | None) -> HookHandler:
    router = type(plugin)._mm_commands

    async def execute_command(ctx: PluginContext, args: CommandArgs) -> CommandResponse | None:
        matched = router.match(args.command)
        if matched is None:
            if own is not None:
                return cast("CommandResponse | None", await call(own, ctx, args))
            word = (args.command.split() or ["?"])[0]
            return ephemeral(f"{plugin.plugin_id or 'This plugin'} has no command {word}")
        node, path, text, words = matched
        if node.spec is None:
            return ephemeral(router.usage(node, path))
        handler = getattr(plugin, node.spec.handler_name)
        result = await call(handler, CommandCall(words, text, args, ctx, path))
        where = f"the handler of /{node.spec.name} ({type(plugin).__name__}.{handler.__name__})"
        return to_response(result, where)

    return execute_command


def _serve_dynamic_lists(plugin: Plugin, own: HookHandler | None) -> HookHandler:
    """ServeHTTP that answers the server's dynamic-list requests for ``@command`` arguments
    (``commands.DYNAMIC_LIST_PATH``) and passes every other request to the plugin's own."""
    if own is not None and not is_async(own):
        sync_own = own
        loop = plugin._mm.loop

        def serve_http_sync(ctx: PluginContext, w: Any, r: Any) -> None:
            if loop is not None and DYNAMIC_LIST_PATH in r.url:
                body = asyncio.run_coroutine_threadsafe(
                    answer_dynamic_list(plugin, r.url, r.user_id), loop
                ).result()
                if body is not None:
                    w.start(200, [("Content-Type", "application/json")])
                    w.write(body)
                    return
            sync_own(ctx, w, r)

        return serve_http_sync

    async def serve_http(ctx: PluginContext, w: Any, r: Any) -> None:
        body = await answer_dynamic_list(plugin, r.url, r.user_id)
        if body is not None:
            await w.start(200, [("Content-Type", "application/json")])
            await w.write(body)
        elif own is not None:
            await own(ctx, w, r)
        else:
            await w.start(404, [("Content-Type", "text/plain")])
            await w.write(b"Not Found")

    return serve_http


def _message_has_been_posted(plugin: Plugin, own: HookHandler | None) -> HookHandler:
    routes = type(plugin)._mm_message_routes

    async def message_has_been_posted(ctx: PluginContext, post: Post) -> None:
        if own is not None:
            await call(own, ctx, post)
        channel_type: str | None = None
        for route in routes:
            if not route.include_bots and is_from_bot_or_system(post, plugin._mm.bot_ids):
                continue
            match = route.pattern.search(post.message)
            if match is None:
                continue
            if route.channel_types is not None:
                if channel_type is None:
                    channel_type = (await plugin.async_api.get_channel(post.channel_id)).type
                if channel_type not in route.channel_types:
                    continue
            try:
                await call(getattr(plugin, route.handler_name), post, match)
            except Exception:
                # One failing handler must not keep the others from seeing the post.
                plugin.log.exception(
                    "@on_message handler failed", handler=route.handler_name, post_id=post.id
                )

    return message_has_been_posted


def _on_plugin_cluster_event(plugin: Plugin, own: HookHandler | None) -> HookHandler:
    routes = type(plugin)._mm_cluster_handlers

    async def on_plugin_cluster_event(ctx: PluginContext, ev: PluginClusterEvent) -> None:
        name = routes.get(ev.id)
        if name is not None:
            await call(getattr(plugin, name), ClusterEvent(ev.id, ev.data or b"", ctx))
        elif own is not None:
            await call(own, ctx, ev)
        else:
            plugin.log.debug("cluster event without a handler", event_id=ev.id)

    return on_plugin_cluster_event


async def stop_jobs(plugin: Plugin) -> None:
    """Stop the plugin's scheduled jobs (when the process stops)."""
    state: PluginState | None = plugin.__dict__.get("_mm")
    if state is None:
        return
    for job in state.jobs:
        with contextlib.suppress(Exception):
            await job.aclose()
    state.jobs.clear()


def bind(plugin: object, ctx: RuntimeContext) -> Binding:
    """The runtime's binder: serve the plugin's hooks (see the module docstring)."""
    aio_channel = ctx.api_channel()
    sync_channel = grpc.insecure_channel(f"unix:{ctx.api_socket}", options=CHANNEL_OPTIONS)
    async_api = AsyncAPI(aio_channel, calls=ctx.async_calls_client())
    calls = ctx.calls_client()  # None from a host without a calls socket: gRPC only
    api = API(sync_channel, metadata=ctx.auth_metadata(), calls=calls)
    store = plugin_store(sync_channel, ctx.auth_metadata(), api, calls)
    set_default_store(store)  # mmplugin.db.connect() and SQLAlchemy URLs without creator=
    if isinstance(plugin, Plugin):
        attach(
            plugin,
            api=api,
            async_api=async_api,
            plugin_id=ctx.plugin_id,
            bundle_path=ctx.plugin_dir,
            loop=asyncio.get_running_loop(),
        )
        plugin.store = store
        handlers = hook_handlers(plugin)
    else:
        # A class that does not subclass Plugin still gets the hooks it defines, by name.
        handlers = own_hooks(plugin)
    servicer = HooksServicer(handlers)
    loop = asyncio.get_running_loop()

    def call_hook(method: str, payload: bytes) -> bytes | concurrent.futures.Future[bytes]:
        hook = UNARY_HOOKS.get(method[len(_HOOKS_PREFIX) :])
        if hook is None or not method.startswith(_HOOKS_PREFIX):
            raise CallError(
                grpc.StatusCode.UNIMPLEMENTED, f"{method} is not a unary PluginHooksService method"
            )
        return servicer.call_unary(hook, payload, loop)

    async def on_stop() -> None:
        if isinstance(plugin, Plugin):
            await stop_jobs(plugin)
        await asyncio.to_thread(store.close)  # blocking Driver calls: off the loop
        servicer.close()  # the dispatcher's thread pool for plain def hooks
        sync_channel.close()

    def implemented() -> list[str]:
        return [s.go_name for s in HOOKS if s.go_name in handlers]

    return Binding(
        servicers=[
            lambda server: hooks_pb2_grpc.add_PluginHooksServiceServicer_to_server(
                servicer, server
            ),
        ],
        implemented_hooks=implemented,
        on_stop=on_stop,
        # The unary hooks, when the host sends them on the calls socket (_runtime.calls).
        call_hook=call_hook,
    )


register_binder(bind)

__all__ = [
    "HOOK_NAMES",
    "attach",
    "bind",
    "call",
    "hook_handlers",
    "is_async",
    "own_hooks",
    "stop_jobs",
]
