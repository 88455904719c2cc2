"""Dispatching hook calls to a plugin's handlers.

The generated ``mmplugin._gen.hooks`` holds the table of every hook (``HOOKS``, one ``HookSpec``
each) and ``HooksServicer``, the grpc.aio ``PluginHooksService``; this module holds what they
share. A plugin's handlers are found by name (``discover_handlers``): a method named after a
hook in snake_case (``message_will_be_posted``) handles it. ``async def`` handlers run on the
event loop. Plain ``def`` handlers of the unary hooks from the calls socket run on the thread
that read the call (``call_unary``, see mmplugin._runtime.calls); those called over gRPC and the
streamed hooks (ServeHTTP, FileWillBeUploaded) run in a thread pool. Either way hooks run
concurrently, as they do in Go.

Failures: a handler of a hook with an error result (``on_activate``, ...) fails it by raising;
any other exception, or a result of the wrong type, is logged with its traceback on the
``mmplugin.hooks`` logger and answered with a gRPC error status carrying the exception text, so
the host applies Mattermost's default for that hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import difflib
import enum
import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

import grpc
from grpc import aio

from mmplugin import _streams
from mmplugin._runtime.calls import CallError, release_hook_reader
from mmplugin.errors import AppError, PluginAPIError

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "HookDispatcher",
    "HookParam",
    "HookResults",
    "HookSpec",
    "Outcome",
    "UnaryHook",
    "discover_handlers",
    "misspelled_hooks",
    "warn_misspelled_hooks",
]

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")

DEFAULT_MAX_WORKERS = 32
"""Threads for plain ``def`` handlers called over gRPC and for the streamed hooks."""

logger = logging.getLogger("mmplugin.hooks")


class Outcome(enum.Enum):
    """How a hook's Go results map to what its Python handler returns (mmplugin._hookresults)."""

    NONE = "none"
    """No result: return None."""
    ERROR = "error"
    """Go error: return None; raise to fail."""
    REJECT = "reject"
    """Go string (rejection reason): None allows, Reject("why") or "why" rejects."""
    REPLACE = "replace"
    """Go (*T, string): None keeps, a T replaces, Reject rejects (DISMISS where allowed)."""
    VALUE = "value"
    """Go T: return the value."""
    VALUE_ERROR = "value_error"
    """Go (T, error): return the value; raise to fail."""
    VALUE_APP_ERROR = "value_app_error"
    """Go (T, *model.AppError): return the value; raise AppError to fail."""
    HTTP = "http"
    """ServeHTTP / ServeMetrics: handler(ctx, w, r) streams the response."""
    UPLOAD = "upload"
    """FileWillBeUploaded: handler(ctx, info, file, output)."""
    IMPLEMENTED = "implemented"
    """Implemented: answered by the SDK."""


@dataclass(frozen=True)
class HookParam:
    """One handler parameter: its Python name, the Go name and the Python annotation."""

    name: str
    go_name: str
    annotation: str


@dataclass(frozen=True)
class HookResults:
    """What the server gets from a hook for each outcome of its handler, and what it does with
    it (the generator's hook-result table, internal/gen/hookresults.go; docs/sdk/hooks.md)."""

    none: str
    """The handler returned None."""
    value: str
    """The handler returned a value."""
    reject: str
    """The handler returned Reject("why") (or DISMISS)."""
    raised: str
    """The handler raised."""
    down: str
    """The call failed: the Python process is down, or the response could not be read."""
    server: str
    """What Mattermost's app layer does with the results."""


@dataclass(frozen=True)
class HookSpec:
    """One plugin.Hooks method (generated in mmplugin._gen.hooks.HOOKS)."""

    go_name: str
    py_name: str
    params: tuple[HookParam, ...]
    context: bool
    """Go passes a *plugin.Context: the handler's first parameter is ``ctx: Context``."""
    returns: str
    """The Python annotation of what the handler returns."""
    outcome: Outcome
    min_version: str
    results: HookResults
    doc: str

    @property
    def signature(self) -> str:
        """The handler's signature, e.g. ``def user_has_logged_in(self, ctx: Context, user: User)
        -> None``."""
        params = ", ".join(["self", *(f"{p.name}: {p.annotation}" for p in self.params)])
        return f"def {self.py_name}({params}) -> {self.returns}"


@dataclass(frozen=True)
class UnaryHook(Generic[_Req, _Resp]):
    """How one unary hook is dispatched (generated in mmplugin._gen.hooks.UNARY_HOOKS)."""

    spec: HookSpec
    parse: Callable[[bytes], _Req]
    """The request message from its bytes."""
    args: Callable[[_Req], tuple[Any, ...]]
    """The handler's arguments from the request."""
    finish: Callable[[object, _Req], _Resp]
    """The response from the handler's result (raises when the result has the wrong type)."""
    fail: Callable[[Exception], _Resp | None] | None
    """For hooks with an error result: the response carrying the handler's exception."""


def _all_specs(specs: Iterable[HookSpec] | None) -> Iterable[HookSpec]:
    if specs is not None:
        return specs
    from mmplugin._gen.hooks import HOOKS

    return HOOKS


def discover_handlers(
    plugin: object, specs: Iterable[HookSpec] | None = None, base: type | None = None
) -> dict[str, Callable[..., Any]]:
    """The plugin's hook handlers by Go hook name: methods named after a hook.

    specs defaults to every hook (mmplugin._gen.hooks.HOOKS). A method that ``base`` (the SDK's
    Plugin class) also has counts only when the plugin's class overrides it, so hooks the base
    defines for its own helpers are not reported as implemented unless the SDK adds them itself.
    Implemented is never a handler.
    """
    cls = type(plugin)
    handlers: dict[str, Callable[..., Any]] = {}
    for spec in _all_specs(specs):
        if spec.outcome is Outcome.IMPLEMENTED:
            continue
        attr = inspect.getattr_static(cls, spec.py_name, None)
        if attr is None:
            continue
        if base is not None and attr is inspect.getattr_static(base, spec.py_name, None):
            continue
        handler = getattr(plugin, spec.py_name)
        if not callable(handler):
            raise TypeError(
                f"{cls.__name__}.{spec.py_name} is not callable; a hook must be a method "
                f"({spec.signature})"
            )
        handlers[spec.go_name] = handler
    return handlers


def misspelled_hooks(
    plugin: object, specs: Iterable[HookSpec] | None = None, base: type | None = None
) -> list[tuple[str, str]]:
    """(method, likely hook) for public methods of the plugin's class that look like a
    misspelled hook name (``on_activte`` → ``on_activate``)."""
    names = [s.py_name for s in _all_specs(specs) if s.outcome is not Outcome.IMPLEMENTED]
    known = set(names)
    base_attrs = set(dir(base)) if base is not None else set()
    out: list[tuple[str, str]] = []
    for name in sorted(dir(type(plugin))):
        if name.startswith("_") or name in known or name in base_attrs:
            continue
        if not callable(inspect.getattr_static(type(plugin), name, None)):
            continue
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.85)
        if close:
            out.append((name, close[0]))
    return out


def warn_misspelled_hooks(
    plugin: object, specs: Iterable[HookSpec] | None = None, base: type | None = None
) -> list[tuple[str, str]]:
    """Log a warning for each misspelled-looking hook method; returns them."""
    found = misspelled_hooks(plugin, specs, base)
    for name, hook in found:
        logger.warning(
            "%s.%s is not a hook and will never be called; did you mean %s?",
            type(plugin).__name__,
            name,
            hook,
        )
    return found


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004  (callable objects with async __call__)
    )


async def _awaited(value: Any) -> Any:
    return await value


class HookDispatcher:
    """The machinery behind the generated HooksServicer.

    handlers maps Go hook names to the plugin's callables. executor runs plain ``def``
    handlers (default: a private thread pool of DEFAULT_MAX_WORKERS threads, shut down by
    close()).
    """

    specs: ClassVar[tuple[HookSpec, ...]] = ()

    def __init__(
        self,
        handlers: Mapping[str, Callable[..., Any]],
        *,
        executor: Executor | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        known = {s.go_name for s in self.specs}
        unknown = sorted(set(handlers) - known)
        if unknown:
            raise ValueError(f"not plugin.Hooks methods: {', '.join(unknown)}")
        self._handlers = dict(handlers)
        self._async = {name: _is_async(fn) for name, fn in self._handlers.items()}
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=DEFAULT_MAX_WORKERS, thread_name_prefix="mmplugin-hook"
        )
        self._log = log or logger

    def implemented(self) -> list[str]:
        """The Go names of the hooks with a handler, in hook-table order (Hooks.Implemented)."""
        return [s.go_name for s in self.specs if s.go_name in self._handlers]

    def close(self) -> None:
        """Release the private thread pool (running handlers finish in the background)."""
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _abort(
        self, context: aio.ServicerContext[Any, Any], spec: HookSpec, text: str
    ) -> NoReturn:
        await context.abort(grpc.StatusCode.UNKNOWN, f"hook {spec.py_name}: {text}")

    def _not_implemented(self, spec: HookSpec) -> CallError:
        return CallError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"the plugin does not implement {spec.py_name} (Go hook {spec.go_name})",
        )

    async def _missing(self, context: aio.ServicerContext[Any, Any], spec: HookSpec) -> NoReturn:
        failed = self._not_implemented(spec)
        await context.abort(failed.code(), failed.details())

    async def _invoke(self, spec: HookSpec, args: tuple[Any, ...]) -> Any:
        handler = self._handlers[spec.go_name]
        if self._async[spec.go_name]:
            return await handler(*args)
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        result = await loop.run_in_executor(self._executor, ctx.run, handler, *args)
        if inspect.isawaitable(result):  # a plain callable that returned a coroutine
            result = await result
        return result

    def _failed(self, hook: UnaryHook[Any, _Resp], exc: Exception) -> _Resp:
        """The response for a handler that raised, or CallError when the hook has no error
        result to carry it."""
        spec = hook.spec
        response = hook.fail(exc) if hook.fail is not None else None
        if response is not None:
            if not isinstance(exc, (AppError, PluginAPIError)):
                self._log.error(
                    "hook %s failed: %s: %s", spec.py_name, type(exc).__name__, exc, exc_info=exc
                )
            return response
        self._log.error(
            "hook %s raised %s: %s", spec.py_name, type(exc).__name__, exc, exc_info=exc
        )
        raise CallError(
            grpc.StatusCode.UNKNOWN,
            f"hook {spec.py_name}: raised {type(exc).__name__}: {exc}",
        ) from None

    def _finish(self, hook: UnaryHook[_Req, _Resp], request: _Req, value: object) -> _Resp:
        """The response for the handler's result, or CallError when it has the wrong type."""
        try:
            return hook.finish(value, request)
        except Exception as exc:
            self._log.error("hook %s: %s", hook.spec.py_name, exc, exc_info=exc)
            raise CallError(
                grpc.StatusCode.UNKNOWN, f"hook {hook.spec.py_name}: {type(exc).__name__}: {exc}"
            ) from None

    async def _unary(
        self,
        context: aio.ServicerContext[Any, Any],
        request: _Req,
        hook: UnaryHook[_Req, _Resp],
    ) -> _Resp:
        if hook.spec.go_name not in self._handlers:
            await self._missing(context, hook.spec)
        try:
            return await self._respond(hook, request)
        except CallError as failed:
            await context.abort(failed.code(), failed.details())

    async def _respond(self, hook: UnaryHook[_Req, _Resp], request: _Req) -> _Resp:
        """The response of the plugin's handler to one call; CallError for a status answer."""
        try:
            value = await self._invoke(hook.spec, hook.args(request))
        except Exception as exc:
            return self._failed(hook, exc)
        return self._finish(hook, request, value)

    async def _respond_serialized(self, hook: UnaryHook[Any, Any], request: Any) -> bytes:
        data: bytes = (await self._respond(hook, request)).SerializeToString()
        return data

    def call_unary(
        self, hook: UnaryHook[Any, Any], payload: bytes, loop: asyncio.AbstractEventLoop
    ) -> bytes | concurrent.futures.Future[bytes]:
        """Run one unary hook from its serialized request to its serialized response (the
        framed hooks connection, mmplugin._runtime.calls).

        A plain ``def`` handler runs right here, so the thread that read the call answers it,
        and the response is returned. An ``async def`` one is scheduled on ``loop`` and a future
        of the response is returned at once, so the reading thread goes on reading. Failures
        raise (or the future holds) CallError with the status the gRPC servicer would have
        aborted with.
        """
        spec = hook.spec
        handler = self._handlers.get(spec.go_name)
        if handler is None:
            raise self._not_implemented(spec)
        request = hook.parse(payload)
        if self._async[spec.go_name]:
            return asyncio.run_coroutine_threadsafe(self._respond_serialized(hook, request), loop)
        try:
            value = contextvars.copy_context().run(handler, *hook.args(request))
            if inspect.isawaitable(value):  # a plain callable that returned a coroutine
                release_hook_reader()  # this thread now waits for the loop
                value = asyncio.run_coroutine_threadsafe(_awaited(value), loop).result()
        except Exception as exc:
            response = self._failed(hook, exc)
        else:
            response = self._finish(hook, request, value)
        data: bytes = response.SerializeToString()
        return data

    async def _serve_http(
        self,
        context: aio.ServicerContext[Any, Any],
        spec: HookSpec,
        request_iterator: AsyncIterable[Any],
        make: Callable[..., Any],
    ) -> AsyncIterator[Any]:
        if spec.go_name not in self._handlers:
            await self._missing(context, spec)
            return
        from mmplugin._gen.convert import plugin_context_from_pb

        stream = _streams.serve_http(
            self._handlers[spec.go_name],
            self._async[spec.go_name],
            self._executor,
            request_iterator,
            make,
            plugin_context_from_pb,
            self._log,
            spec.py_name,
        )
        async for msg in self._relay(context, spec, stream):
            yield msg

    async def _file_will_be_uploaded(
        self,
        context: aio.ServicerContext[Any, Any],
        spec: HookSpec,
        request_iterator: AsyncIterable[Any],
        make: Callable[..., Any],
        args_from_head: Callable[[Any], tuple[Any, ...]],
        result_from_value: Callable[[object], Any],
    ) -> AsyncIterator[Any]:
        if spec.go_name not in self._handlers:
            await self._missing(context, spec)
            return
        stream = _streams.file_will_be_uploaded(
            self._handlers[spec.go_name],
            self._async[spec.go_name],
            self._executor,
            request_iterator,
            make,
            args_from_head,
            result_from_value,
        )
        async for msg in self._relay(context, spec, stream):
            yield msg

    async def _relay(
        self, context: aio.ServicerContext[Any, Any], spec: HookSpec, stream: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """A streamed hook's messages; a handler that raised is logged and aborts the call."""
        try:
            async for msg in stream:
                yield msg
        except Exception as exc:
            self._log.error(
                "hook %s raised %s: %s", spec.py_name, type(exc).__name__, exc, exc_info=exc
            )
            await self._abort(context, spec, f"raised {type(exc).__name__}: {exc}")
