"""The one gRPC server of the plugin process, on one asyncio event loop.

grpc.aio objects belong to the loop that created them and several loops in one process wake each
other on every event, so everything gRPC in the plugin process (this server, the API channel, the
SDK's servicers) lives on the loop that ``serve`` runs on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from grpc_health.v1.health import aio as health_aio  # type: ignore[import-untyped]

from mmplugin.v1 import runtime_pb2_grpc

from .auth import CHANNEL_OPTIONS, ServerSecretInterceptor
from .binding import ServicerRegistrar, no_hooks
from .bootstrap import Bootstrap
from .calls import CallError, HookHandler, HookServer
from .logs import LoggerWriter
from .service import RuntimeServicer, StopRequest

HEALTH_SERVICE = "plugin"
"""go-plugin's convention: the host checks this service name is SERVING."""

HANDSHAKE_CORE_VERSION = 1
HANDSHAKE_APP_VERSION = 1

_log = logging.getLogger("mmplugin.runtime")


class ServeError(Exception):
    """The server could not start (for example, the socket could not be bound)."""


def handshake_line(socket_path: str) -> str:
    """go-plugin's handshake line: CORE|APP|NETWORK|ADDRESS|PROTOCOL."""
    return f"{HANDSHAKE_CORE_VERSION}|{HANDSHAKE_APP_VERSION}|unix|{socket_path}|grpc"


async def serve(
    bootstrap: Bootstrap,
    servicers: Sequence[ServicerRegistrar] = (),
    implemented_hooks: Callable[[], Sequence[str]] = no_hooks,
    *,
    stop: StopRequest | None = None,
    stdout: TextIO | None = None,
    redirect_stdout: bool = True,
    call_hook: HookHandler | None = None,
) -> StopRequest:
    """Serve until the host calls Shutdown (or ``stop`` is requested), then stop gracefully.

    Binds ``bootstrap.plugin_socket``, registers health (service "plugin" SERVING),
    RuntimeService and ``servicers`` behind the secret interceptor, prints the handshake line on
    ``stdout`` (default: the real stdout) and flushes it, then points ``sys.stdout`` at logging.
    With ``call_hook`` and a calls socket in the bootstrap, the unary hooks are answered on the
    calls socket's hooks connection (opened before the handshake line; Handshake says so).
    On stop, refuses new calls, waits up to the grace period for calls in flight and returns.
    """
    stop = stop or StopRequest()
    hooks: HookServer | None = None
    if call_hook is not None and bootstrap.calls_socket:
        try:
            hooks = HookServer.open(bootstrap.calls_socket, bootstrap.secret, call_hook)
        except CallError as e:
            raise ServeError(f"cannot open the hooks connection: {e.details()}") from None
    server = aio.server(
        interceptors=[ServerSecretInterceptor(bootstrap.secret)],
        options=CHANNEL_OPTIONS,
    )
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    runtime_pb2_grpc.add_RuntimeServiceServicer_to_server(
        RuntimeServicer(implemented_hooks, stop, framed_hooks=hooks is not None), server
    )
    for register in servicers:
        register(server)

    path = bootstrap.plugin_socket
    if os.path.exists(path):
        os.unlink(path)  # a socket left by a previous process of this plugin
    try:
        bound = server.add_insecure_port(f"unix:{path}")
    except RuntimeError as e:
        raise ServeError(f"cannot listen on {path}: {e}") from None
    if not bound:
        raise ServeError(f"cannot listen on {path}")
    await server.start()
    await health.set(HEALTH_SERVICE, health_pb2.HealthCheckResponse.SERVING)

    out = stdout if stdout is not None else sys.stdout
    out.write(handshake_line(path) + "\n")
    out.flush()
    if redirect_stdout:
        sys.stdout = LoggerWriter(logging.getLogger("stdout"))
    _log.debug("serving", extra={"socket": path})

    try:
        await stop.wait()
    finally:
        _log.info("stopping", extra={"reason": stop.reason or "cancelled", "grace_s": stop.grace})
        await health.enter_graceful_shutdown()
        if hooks is not None:
            await asyncio.gather(
                server.stop(stop.grace), asyncio.to_thread(hooks.close, stop.grace)
            )
        else:
            await server.stop(stop.grace)
    return stop
