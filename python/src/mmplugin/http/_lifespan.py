"""The ASGI lifespan protocol for an app served by a plugin.

An app's startup (FastAPI ``lifespan=`` / ``on_startup``) runs before its first request is
served, on the plugin's event loop, and its shutdown when the plugin process stops. "auto" mode
is uvicorn's: an app that raises on the lifespan scope without having said anything does not
support lifespan, which is fine; an app that reports ``lifespan.startup.failed`` makes its
requests fail with 500 (and the reason in the log).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from ._types import ASGIApp, Message

LifespanMode = Literal["auto", "on", "off"]

_log = logging.getLogger("mmplugin.http")


class LifespanError(RuntimeError):
    """The app's lifespan startup failed; its requests cannot be served."""


class Lifespan:
    def __init__(self, app: ASGIApp, mode: LifespanMode, name: str) -> None:
        self._app = app
        self._mode = mode
        self._name = name
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[Message] | None = None
        self._started: asyncio.Future[None] | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._spoke = False
        self._supported = True

    async def ensure_started(self) -> None:
        """Run the startup once (concurrent first requests wait for it); raise if it failed."""
        if self._mode == "off":
            return
        loop = asyncio.get_running_loop()
        if self._started is None or self._loop is not loop:
            # No await between the check and _begin: one event loop, so no lock needed. A new
            # loop (the app served again after its loop ended) starts the app anew.
            self._begin(loop)
        assert self._started is not None
        await asyncio.shield(self._started)

    def _begin(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._spoke = False
        self._supported = True
        self._inbox = asyncio.Queue()
        self._started = loop.create_future()
        self._stopped = loop.create_future()
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = loop.create_task(self._run(), name=f"lifespan of {self._name}")

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "state": self.state,
        }
        try:
            await self._app(scope, self._receive, self._send)
        except BaseException as exc:
            if not self._spoke and self._mode == "auto":
                self._supported = False
                _log.debug(
                    "%s does not support ASGI lifespan (%r); serving without it", self._name, exc
                )
                _resolve(self._started)
            else:
                _log.error("ASGI lifespan of %s failed", self._name, exc_info=exc)
                _fail(self._started, LifespanError(f"the lifespan of {self._name} failed: {exc!r}"))
            _resolve(self._stopped)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        _resolve(self._started)
        _resolve(self._stopped)

    async def _receive(self) -> Message:
        assert self._inbox is not None
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        self._spoke = True
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            _resolve(self._started)
        elif kind == "lifespan.startup.failed":
            reason = message.get("message", "")
            _log.error("ASGI lifespan startup of %s failed: %s", self._name, reason)
            _fail(self._started, LifespanError(f"the startup of {self._name} failed: {reason}"))
        elif kind == "lifespan.shutdown.complete":
            _resolve(self._stopped)
        elif kind == "lifespan.shutdown.failed":
            _log.error(
                "ASGI lifespan shutdown of %s failed: %s", self._name, message.get("message")
            )
            _resolve(self._stopped)
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message {kind!r} from {self._name}")

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Run the app's shutdown (if startup ran) and wait for it, at most ``timeout``."""
        if self._task is None or self._inbox is None or self._stopped is None:
            return
        if self._loop is not asyncio.get_running_loop():
            return  # started on a loop that is gone: nothing left to run it on
        started = self._started
        ran = started is not None and started.done() and started.exception() is None
        if ran and self._supported and not self._task.done():
            await self._inbox.put({"type": "lifespan.shutdown"})
            try:
                await asyncio.wait_for(asyncio.shield(self._stopped), timeout)
            except asyncio.TimeoutError:
                _log.warning("ASGI lifespan shutdown of %s took over %ss", self._name, timeout)
        if not self._task.done():
            self._task.cancel()
        await asyncio.wait({self._task})
        self._task = None
        self._started = None


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None] | None, exc: BaseException) -> None:
    if future is not None and not future.done():
        future.set_exception(exc)
