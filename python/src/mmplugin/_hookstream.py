"""HookStreamService: the unary hooks over one long-lived stream (proto/mmplugin/v1/runtime.proto).

mmplugin-host opens ``HookCalls`` once and sends every unary hook invocation on it as a
``HookCallsRequest`` (an id, the PluginHooksService method name, the serialized request). Each call
runs as its own task through the very servicer that serves the unary RPCs (the generated
``HooksServicer``: same conversions, same thread pool for plain ``def`` handlers, same failure
handling), and its ``HookCallsResponse`` goes back as soon as it is ready, in any order. A message
on an open stream costs this process about half the work of a unary call, which is what the
stream is for (docs/benchmarks.md).

What the unary RPC would have failed with (the servicer's ``context.abort``: a hook that raised,
a result of the wrong type, a hook the plugin does not implement) travels as the reply's status
code and message, so the host applies Mattermost's defaults exactly as for a unary call.

The host half-closes the stream when it stops; the calls in flight are answered, then the stream
ends. If the stream is cancelled instead (the host went away), the calls in flight are cancelled,
as a cancelled unary call's handler would be.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, cast

import grpc
from google.protobuf import message_factory
from grpc import aio

from mmplugin.v1 import hooks_pb2, runtime_pb2, runtime_pb2_grpc

__all__ = ["HookStream"]

_log = logging.getLogger("mmplugin.hooks")

_Handler = Callable[[Any, Any], Awaitable[Any]]


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _CallContext:
    """What the servicer's methods use of a ServicerContext for a call carried on the stream."""

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: object = ()
    ) -> NoReturn:
        raise _Aborted(code, details)


def _code(code: grpc.StatusCode) -> int:
    value: tuple[int, str] = code.value
    return value[0]


class HookStream(runtime_pb2_grpc.HookStreamServiceServicer):
    """Serves HookCalls with ``hooks``, a PluginHooksService servicer (its unary methods)."""

    def __init__(self, hooks: object) -> None:
        service = hooks_pb2.DESCRIPTOR.services_by_name["PluginHooksService"]
        self._methods: dict[str, tuple[_Handler, Callable[[bytes], Any]]] = {}
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                continue
            handler = getattr(hooks, method.name, None)
            if handler is None:
                continue
            request_class = message_factory.GetMessageClass(method.input_type)
            self._methods[method.name] = (handler, request_class.FromString)

    async def HookCalls(
        self,
        request_iterator: AsyncIterator[runtime_pb2.HookCallsRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[runtime_pb2.HookCallsResponse]:
        replies: asyncio.Queue[runtime_pb2.HookCallsResponse | None] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()

        async def answer(call: runtime_pb2.HookCallsRequest) -> None:
            replies.put_nowait(await self._answer(call))

        async def read() -> None:
            try:
                async for call in request_iterator:
                    task = asyncio.create_task(answer(call))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if tasks:  # half-closed by the host: answer what is in flight, then end
                    await asyncio.wait(set(tasks))
            finally:
                replies.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (reply := await replies.get()) is not None:
                yield reply
        finally:
            reader.cancel()
            for task in list(tasks):
                task.cancel()

    async def _answer(self, call: runtime_pb2.HookCallsRequest) -> runtime_pb2.HookCallsResponse:
        entry = self._methods.get(call.method)
        if entry is None:
            return runtime_pb2.HookCallsResponse(
                id=call.id,
                code=_code(grpc.StatusCode.UNIMPLEMENTED),
                message=f"{call.method!r} is not a unary PluginHooksService method",
            )
        handler, parse = entry
        try:
            response = await handler(parse(call.request), cast("Any", _CallContext()))
        except _Aborted as e:
            return runtime_pb2.HookCallsResponse(id=call.id, code=_code(e.code), message=e.details)
        except Exception as e:  # the servicer handles the plugin's failures; this is a bug
            _log.error("hook %s failed in the SDK: %s", call.method, e, exc_info=e)
            return runtime_pb2.HookCallsResponse(
                id=call.id,
                code=_code(grpc.StatusCode.UNKNOWN),
                message=f"hook {call.method}: {type(e).__name__}: {e}",
            )
        return runtime_pb2.HookCallsResponse(id=call.id, response=response.SerializeToString())
