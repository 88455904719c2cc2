"""How the SDK plugs its gRPC services into the runtime.

The runtime knows nothing about hooks or API methods. The SDK (the generated PluginHooksService
servicer and everything around it) registers one *binder* at import time::

    from mmplugin._runtime import Binding, RuntimeContext, register_binder

    def bind(plugin: object, ctx: RuntimeContext) -> Binding:
        api = PluginAPIServiceStub(ctx.api_channel())
        servicer = HooksServicer(plugin, api)
        return Binding(
            servicers=[lambda server: add_PluginHooksServiceServicer_to_server(servicer, server)],
            implemented_hooks=servicer.implemented_hooks,
        )

    register_binder(bind)

After importing the entry point and creating the plugin object, the runtime calls the binder on
its event loop, registers the returned servicers on its one ``grpc.aio`` server, answers
``RuntimeService.Handshake`` with ``implemented_hooks()`` and awaits ``on_stop`` after the server
has stopped. Without a binder (a plugin class that does not use the SDK) the process serves only
health and RuntimeService and reports no hooks.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from grpc import aio

from .auth import api_channel, secret_metadata
from .bootstrap import Bootstrap
from .calls import AsyncCallsClient, CallsClient, HookHandler

ServicerRegistrar = Callable[[aio.Server], None]
"""Adds one servicer to the server, e.g. ``lambda s: add_FooServicer_to_server(impl, s)``."""


def no_hooks() -> Sequence[str]:
    """The default ``implemented_hooks``: the plugin implements none."""
    return ()


@dataclass(frozen=True)
class Binding:
    """What a binder hands back to the runtime."""

    servicers: Sequence[ServicerRegistrar] = ()
    implemented_hooks: Callable[[], Sequence[str]] = no_hooks
    on_stop: Callable[[], Awaitable[None]] | None = None
    call_hook: HookHandler | None = None
    """Answers the unary hook calls of the calls socket's hooks connection (on its threads)."""


class RuntimeContext:
    """What the runtime offers the SDK: plugin identity and the channel to the host's API."""

    def __init__(self, bootstrap: Bootstrap) -> None:
        self._bootstrap = bootstrap
        self._channel: aio.Channel | None = None
        self._calls: CallsClient | None = None
        self._async_calls: AsyncCallsClient | None = None

    @property
    def plugin_id(self) -> str:
        return self._bootstrap.plugin_id

    @property
    def plugin_dir(self) -> str:
        return self._bootstrap.plugin_dir

    @property
    def api_socket(self) -> str:
        """The host's API socket, for a blocking channel (pass ``auth_metadata()`` on calls)."""
        return self._bootstrap.api_socket

    @property
    def protocol_versions(self) -> tuple[int, ...]:
        return self._bootstrap.protocol_versions

    def api_channel(self) -> aio.Channel:
        """The one ``grpc.aio`` channel to the host's API/Driver services (created on first use).

        Every call on it carries the launch secret. Use it only on the runtime's event loop.
        """
        if self._channel is None:
            self._channel = api_channel(self._bootstrap.api_socket, self._bootstrap.secret)
        return self._channel

    def calls_client(self) -> CallsClient | None:
        """Unary calls to the host over its calls socket, from any thread (created on first
        use); None when the host offers no calls socket."""
        if self._calls is None and self._bootstrap.calls_socket:
            self._calls = CallsClient(self._bootstrap.calls_socket, self._bootstrap.secret)
        return self._calls

    def async_calls_client(self) -> AsyncCallsClient | None:
        """As calls_client, as coroutines; use it only on the runtime's event loop."""
        if self._async_calls is None and self._bootstrap.calls_socket:
            self._async_calls = AsyncCallsClient(
                self._bootstrap.calls_socket, self._bootstrap.secret
            )
        return self._async_calls

    def auth_metadata(self) -> tuple[tuple[str, str], ...]:
        """The secret as call metadata, for channels made without ``api_channel``."""
        return secret_metadata(self._bootstrap.secret)

    async def close(self) -> None:
        if self._calls is not None:
            self._calls.close()
            self._calls = None
        if self._async_calls is not None:
            self._async_calls.close()
            self._async_calls = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


Binder = Callable[[object, RuntimeContext], "Binding | Awaitable[Binding]"]
"""Called once per process with the plugin object; may be ``async``."""

_binders: list[Binder] = []


def register_binder(binder: Binder) -> None:
    """Register the SDK's binder. Registering the same function twice is a no-op."""
    if binder not in _binders:
        _binders.append(binder)


def registered_binders() -> tuple[Binder, ...]:
    return tuple(_binders)


@dataclass
class _Merged:
    servicers: list[ServicerRegistrar] = field(default_factory=list)
    hooks: list[Callable[[], Sequence[str]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    call_hook: HookHandler | None = None


async def bind_plugin(plugin: object, ctx: RuntimeContext) -> Binding:
    """Run every registered binder and merge their bindings into one."""
    merged = _Merged()
    for binder in _binders:
        result = binder(plugin, ctx)
        binding = await result if inspect.isawaitable(result) else result
        if not isinstance(binding, Binding):
            raise TypeError(f"binder {binder!r} returned {type(binding).__name__}, not Binding")
        merged.servicers.extend(binding.servicers)
        merged.hooks.append(binding.implemented_hooks)
        if binding.on_stop is not None:
            merged.on_stop.append(binding.on_stop)
        if binding.call_hook is not None:
            if merged.call_hook is not None:
                raise ValueError("two binders answer hook calls; only one SDK can serve hooks")
            merged.call_hook = binding.call_hook

    def implemented() -> Sequence[str]:
        names: list[str] = []
        for source in merged.hooks:
            names.extend(n for n in source() if n not in names)
        return names

    async def on_stop() -> None:
        for stop in merged.on_stop:
            await stop()

    return Binding(
        merged.servicers, implemented, on_stop if merged.on_stop else None, merged.call_hook
    )


__all__ = [
    "Binder",
    "Binding",
    "RuntimeContext",
    "ServicerRegistrar",
    "bind_plugin",
    "no_hooks",
    "register_binder",
    "registered_binders",
]
