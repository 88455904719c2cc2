"""HTTP for Python plugins: ASGI and WSGI apps, or plain handlers, streamed both ways.

Mattermost sends the requests for ``<site>/plugins/<plugin id>/...`` to the plugin's
``serve_http`` hook (and the metrics listener's ``/plugins/<plugin id>/metrics`` to
``serve_metrics``). A plugin declares an app for it::

    from fastapi import FastAPI, Request
    import mmplugin.http

    app = FastAPI()

    @app.get("/hello/{name}")
    async def hello(name: str, request: Request) -> dict[str, str | None]:
        return {"hello": name, "user": mmplugin.http.user_id(request)}

    class MyPlugin(Plugin):
        serve_http = mmplugin.http.asgi(app)          # or mmplugin.http.wsgi(flask_app)

or writes the hook itself: ``async def serve_http(self, ctx, w, r)`` with ``r`` the request
(``r.body`` streams it) and ``w`` the response writer (``start``, ``write``, ``flush``).

See docs/sdk/http.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmplugin._runtime import Binding, RuntimeContext, register_binder
from mmplugin._streams import (
    HTTPRequest,
    ResponseWriter,
    StreamClosedError,
    SyncHTTPRequest,
    SyncResponseWriter,
)

from ._declare import (
    HOOKS,
    ASGIHandler,
    ASGIHook,
    WSGIHandler,
    WSGIHook,
    asgi,
    shutdown_lifespans,
    wsgi,
)
from ._lifespan import LifespanError, LifespanMode
from ._types import ASGIApp, Receive, Scope, Send, StartResponse, WSGIApp, WSGIEnvironment


def mattermost(request: Any) -> Mapping[str, Any]:
    """What Mattermost adds to a request, from an ASGI scope, a WSGI environ, or a framework
    request object holding one (Starlette/FastAPI ``Request``, Flask/Werkzeug ``request``).

    Keys: ``user_id`` (the ``Mattermost-User-Id`` header: set only for a request by an
    authenticated user), ``source_plugin_id`` (set on requests from another plugin),
    ``context`` (the hook's plugin Context), ``plugin`` (the plugin object) and ``path`` (the
    path below ``/plugins/<plugin id>``, Go's ``r.URL.Path``).
    """
    for attr in ("scope", "environ"):
        holder = getattr(request, attr, None)
        if isinstance(holder, Mapping) and "mattermost" in holder:
            request = holder
            break
    info = request.get("mattermost") if isinstance(request, Mapping) else None
    if not isinstance(info, Mapping):
        raise TypeError(
            "not a request served by mmplugin.http: pass the ASGI scope, the WSGI environ or "
            "the framework's request object"
        )
    return info


def user_id(request: Any) -> str | None:
    """The id of the Mattermost user who made the request, or None if not authenticated."""
    value = mattermost(request).get("user_id")
    return value if isinstance(value, str) and value else None


def _bind(plugin: object, ctx: RuntimeContext) -> Binding:
    # Nothing to serve: the apps are reached through the plugin's serve_http/serve_metrics
    # hooks. This binder only runs the apps' lifespan shutdown when the process stops.
    return Binding(on_stop=shutdown_lifespans)


register_binder(_bind)

__all__ = [
    "HOOKS",
    "ASGIApp",
    "ASGIHandler",
    "ASGIHook",
    "HTTPRequest",
    "LifespanError",
    "LifespanMode",
    "Receive",
    "ResponseWriter",
    "Scope",
    "Send",
    "StartResponse",
    "StreamClosedError",
    "SyncHTTPRequest",
    "SyncResponseWriter",
    "WSGIApp",
    "WSGIEnvironment",
    "WSGIHandler",
    "WSGIHook",
    "asgi",
    "mattermost",
    "shutdown_lifespans",
    "user_id",
    "wsgi",
]
