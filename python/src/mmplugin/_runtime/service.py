"""RuntimeService: the host's handshake and shutdown calls."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from grpc import aio

from mmplugin import __version__
from mmplugin.v1 import runtime_pb2, runtime_pb2_grpc

SUPPORTED_PROTOCOL_VERSIONS: tuple[int, ...] = (1,)
"""Versions of the mmplugin.v1 protocol this SDK speaks."""

SDK_NAME = f"mmplugin-python {__version__}"


def runtime_version() -> str:
    """E.g. "CPython 3.11.7"."""
    return f"{platform.python_implementation()} {platform.python_version()}"


def choose_protocol(offered: Sequence[int]) -> int | None:
    """The highest version both sides speak, or None."""
    common = set(offered) & set(SUPPORTED_PROTOCOL_VERSIONS)
    return max(common) if common else None


class StopRequest:
    """Set once, by Shutdown or by the watchdog; the serving coroutine waits for it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.grace: float = 0.0
        self.reason: str = ""

    def request(self, grace: float, reason: str) -> None:
        if not self._event.is_set():
            self.grace, self.reason = grace, reason
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


class RuntimeServicer(runtime_pb2_grpc.RuntimeServiceServicer):
    def __init__(
        self,
        implemented_hooks: Callable[[], Sequence[str]],
        stop: StopRequest,
        *,
        framed_hooks: bool = False,
    ) -> None:
        self._implemented_hooks = implemented_hooks
        self._stop = stop
        self._framed_hooks = framed_hooks

    async def Handshake(
        self,
        request: runtime_pb2.HandshakeRequest,
        context: aio.ServicerContext[Any, Any],
    ) -> runtime_pb2.HandshakeResponse:
        version = choose_protocol(request.protocol_versions)
        if version is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the host speaks mmplugin protocol versions {list(request.protocol_versions)} "
                f"but this SDK ({SDK_NAME}) speaks {list(SUPPORTED_PROTOCOL_VERSIONS)}: "
                "install matching versions of mmplugin-host and the mmplugin package",
            )
        return runtime_pb2.HandshakeResponse(
            protocol_version=version,
            sdk=SDK_NAME,
            implemented_hooks=list(self._implemented_hooks()),
            runtime_version=runtime_version(),
            framed_hooks=self._framed_hooks,
        )

    async def Shutdown(
        self,
        request: runtime_pb2.ShutdownRequest,
        context: aio.ServicerContext[Any, Any],
    ) -> runtime_pb2.ShutdownResponse:
        self._stop.request(request.grace_period_ms / 1000.0, "the host asked the plugin to stop")
        return runtime_pb2.ShutdownResponse()
