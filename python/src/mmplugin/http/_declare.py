"""``serve_http = mmplugin.http.asgi(app)``: how a plugin class declares its HTTP app.

The hooks ServeHTTP and ServeMetrics are methods named ``serve_http`` / ``serve_metrics``, like
every hook. ``asgi(...)`` and ``wsgi(...)`` make such a method out of an app, so the plugin
implements the hook exactly when it declares an app (the server only routes requests to plugins
that implement it), and a plain ``async def serve_http(self, ctx, w, r)`` stays possible.

The app is either an app object (shared by every instance of the plugin class) or a factory
method taking the plugin, called once per plugin object before its first request, so the app
can close over ``self``::

    class MyPlugin(Plugin):
        serve_http = mmplugin.http.asgi(app)

        @mmplugin.http.asgi
        def serve_metrics(self) -> ASGIApp:
            return make_metrics_app(self)
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast, overload

from mmplugin._streams import HTTPRequest, ResponseWriter, SyncHTTPRequest, SyncResponseWriter

from ._asgi import ASGIBridge
from ._lifespan import Lifespan, LifespanMode
from ._types import ASGIApp, WSGIApp
from ._wsgi import WSGIBridge

_log = logging.getLogger("mmplugin.http")

HOOKS = {"serve_http": "ServeHTTP", "serve_metrics": "ServeMetrics"}
"""The attribute names an app can be assigned to, and the Go hooks they implement."""

_live_lifespans: weakref.WeakSet[Lifespan] = weakref.WeakSet()

_AppT = TypeVar("_AppT")
_HandlerT = TypeVar("_HandlerT")


def _positional_arity(fn: Callable[..., Any]) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds and p.default is p.empty)


class _AppHook(Generic[_AppT, _HandlerT]):
    """A descriptor that becomes the plugin's serve_http / serve_metrics handler."""

    kind = ""

    def __init__(self, app: _AppT | None, factory: Callable[[Any], _AppT] | None) -> None:
        self._app = app
        self._factory = factory
        self._name = ""
        self._where = ""

    def __set_name__(self, owner: type, name: str) -> None:
        if name not in HOOKS:
            raise TypeError(
                f"{owner.__qualname__}.{name} = mmplugin.http.{self.kind}(...) would never be "
                "called: assign the app to serve_http (the ServeHTTP hook: requests to "
                "/plugins/<plugin id>/...) or serve_metrics (the ServeMetrics hook: the "
                "metrics listener's /plugins/<plugin id>/metrics)"
            )
        self._name = name
        self._where = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(self, instance: None, owner: type) -> _AppHook[_AppT, _HandlerT]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> _HandlerT: ...

    def __get__(
        self, instance: object | None, owner: type
    ) -> _AppHook[_AppT, _HandlerT] | _HandlerT:
        if instance is None:
            return self
        handler = self._handler(instance)
        # Cache the bound handler on the object (this is a non-data descriptor).
        if hasattr(instance, "__dict__"):
            instance.__dict__[self._name] = handler
        return handler

    def _handler(self, plugin: object) -> _HandlerT:
        raise NotImplementedError

    def _make_app(self, plugin: object) -> _AppT:
        if self._factory is None:
            assert self._app is not None
            return self._app
        app = self._factory(plugin)
        if app is None:
            raise TypeError(f"{self._where} returned None instead of an app")
        return app

    @property
    def app(self) -> _AppT | None:
        """The app object (None when a factory makes one per plugin object)."""
        return self._app


class ASGIHandler:
    """The bound ``serve_http`` / ``serve_metrics`` of a plugin object serving an ASGI app."""

    def __init__(self, hook: ASGIHook, plugin: object) -> None:
        self._hook = hook
        self._plugin = plugin
        self._bridge: ASGIBridge | None = None

    async def __call__(self, ctx: Any, w: ResponseWriter, r: HTTPRequest) -> None:
        if self._bridge is None:  # made on the loop without awaiting: no race
            self._bridge = self._hook._bridge_for(self._plugin)
        await self._bridge.serve(ctx, w, r, self._plugin, _plugin_id(self._plugin))

    async def aclose(self) -> None:
        """Run the app's lifespan shutdown now (the SDK does it when the plugin stops)."""
        if self._bridge is not None and self._bridge.lifespan is not None:
            await self._bridge.lifespan.shutdown()


class ASGIHook(_AppHook[ASGIApp, ASGIHandler]):
    """``serve_http = mmplugin.http.asgi(app)``: see ``asgi``."""

    kind = "asgi"

    def __init__(
        self,
        app: ASGIApp | None,
        factory: Callable[[Any], ASGIApp] | None,
        lifespan: LifespanMode,
    ) -> None:
        super().__init__(app, factory)
        self._lifespan_mode: LifespanMode = lifespan
        self._shared: ASGIBridge | None = None

    def _handler(self, plugin: object) -> ASGIHandler:
        return ASGIHandler(self, plugin)

    def _bridge_for(self, plugin: object) -> ASGIBridge:
        if self._factory is None and self._shared is not None:
            return self._shared
        app = self._make_app(plugin)
        name = f"the ASGI app of {self._where}"
        lifespan = None
        if self._lifespan_mode != "off":
            lifespan = Lifespan(app, self._lifespan_mode, name)
            _live_lifespans.add(lifespan)
        bridge = ASGIBridge(app, lifespan, name)
        if self._factory is None:
            self._shared = bridge
        return bridge


class WSGIHandler:
    """The bound ``serve_http`` / ``serve_metrics`` of a plugin object serving a WSGI app.

    A plain ``def``: the SDK runs it in a worker thread with the blocking request/response.
    """

    def __init__(self, hook: WSGIHook, plugin: object) -> None:
        self._hook = hook
        self._plugin = plugin
        self._bridge: WSGIBridge | None = None
        self._lock = threading.Lock()

    def __call__(self, ctx: Any, w: SyncResponseWriter, r: SyncHTTPRequest) -> None:
        bridge = self._bridge
        if bridge is None:
            with self._lock:
                if self._bridge is None:
                    self._bridge = self._hook._bridge_for(self._plugin)
                bridge = self._bridge
        bridge.serve(ctx, w, r, self._plugin, _plugin_id(self._plugin))


class WSGIHook(_AppHook[WSGIApp, WSGIHandler]):
    """``serve_http = mmplugin.http.wsgi(app)``: see ``wsgi``."""

    kind = "wsgi"

    def _handler(self, plugin: object) -> WSGIHandler:
        return WSGIHandler(self, plugin)

    def _bridge_for(self, plugin: object) -> WSGIBridge:
        return WSGIBridge(self._make_app(plugin), f"the WSGI app of {self._where}")


def _plugin_id(plugin: object) -> str | None:
    value = getattr(plugin, "plugin_id", None)
    return value if isinstance(value, str) and value else None


@overload
def asgi(app: ASGIApp, /, *, lifespan: LifespanMode = "auto") -> ASGIHook: ...


@overload
def asgi(factory: Callable[[Any], ASGIApp], /, *, lifespan: LifespanMode = "auto") -> ASGIHook: ...


@overload
def asgi(*, factory: Callable[[Any], ASGIApp], lifespan: LifespanMode = "auto") -> ASGIHook: ...


def asgi(
    app: ASGIApp | Callable[[Any], ASGIApp] | None = None,
    /,
    *,
    factory: Callable[[Any], ASGIApp] | None = None,
    lifespan: LifespanMode = "auto",
) -> ASGIHook:
    """Serve an ASGI app (FastAPI, Starlette, …) as the plugin's ``serve_http`` or
    ``serve_metrics``.

    ``app`` is the app object, or a factory method ``def make(self) -> app`` (also usable as a
    decorator) called once per plugin object before its first request. ``lifespan``: "auto"
    (run the app's startup before the first request and its shutdown when the plugin stops,
    if the app supports it), "on" (it must) or "off".
    """
    if (app is None) == (factory is None):
        raise TypeError("mmplugin.http.asgi() takes an ASGI app or a factory=, exactly one")
    if app is not None and _positional_arity(app) == 1:
        app, factory = None, app  # a factory method: (self) -> app
    if factory is not None:
        return ASGIHook(None, factory, lifespan)
    if not callable(app):
        raise TypeError(f"mmplugin.http.asgi() needs an ASGI app, got {type(app).__name__}")
    return ASGIHook(cast(ASGIApp, app), None, lifespan)


@overload
def wsgi(app: WSGIApp, /) -> WSGIHook: ...


@overload
def wsgi(factory: Callable[[Any], WSGIApp], /) -> WSGIHook: ...


@overload
def wsgi(*, factory: Callable[[Any], WSGIApp]) -> WSGIHook: ...


def wsgi(
    app: WSGIApp | Callable[[Any], WSGIApp] | None = None,
    /,
    *,
    factory: Callable[[Any], WSGIApp] | None = None,
) -> WSGIHook:
    """Serve a WSGI app (Flask, …) as the plugin's ``serve_http`` or ``serve_metrics``.

    ``app`` is the app object, or a factory method ``def make(self) -> app`` (also usable as a
    decorator). The app runs in a worker thread per request.
    """
    if (app is None) == (factory is None):
        raise TypeError("mmplugin.http.wsgi() takes a WSGI app or a factory=, exactly one")
    if app is not None and _positional_arity(app) == 1:
        app, factory = None, app
    if factory is not None:
        return WSGIHook(None, factory)
    if not callable(app):
        raise TypeError(f"mmplugin.http.wsgi() needs a WSGI app, got {type(app).__name__}")
    return WSGIHook(cast(WSGIApp, app), None)


async def shutdown_lifespans() -> None:
    """Run the shutdown of every ASGI app whose lifespan started (when the plugin stops)."""
    for lifespan in list(_live_lifespans):
        try:
            await lifespan.shutdown()
        except Exception:
            _log.exception("ASGI lifespan shutdown failed")
