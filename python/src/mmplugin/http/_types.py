"""ASGI and WSGI callables, typed without depending on any framework."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application: FastAPI(), Starlette(), or ``async def app(scope, receive, send)``."""

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    WSGIApp = WSGIApplication
else:
    StartResponse = Callable[..., Callable[[bytes], object]]
    WSGIEnvironment = dict[str, Any]
    WSGIApp = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
"""A WSGI (PEP 3333) application: Flask(__name__), Django's WSGIHandler, …"""

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
OptExcInfo = ExcInfo | tuple[None, None, None]

__all__ = [
    "ASGIApp",
    "ExcInfo",
    "Message",
    "OptExcInfo",
    "Receive",
    "Scope",
    "Send",
    "StartResponse",
    "WSGIApp",
    "WSGIEnvironment",
]
