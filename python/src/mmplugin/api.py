"""The typed Mattermost plugin API: ``API`` (blocking) and ``AsyncAPI`` (asyncio).

Every ``plugin.API`` method is a snake_case method with typed parameters and results
(``api.get_user(user_id) -> User``), documented with the Go doc comment and the minimum server
version. Errors are raised (mmplugin.errors), never returned: ``AppError`` and its subclasses by
status code, ``PluginAPIError`` for plain Go errors, ``ProtocolError`` when the host cannot be
reached, ``NotImplementedByServerError`` when the server or host lacks the method.

``API`` suits plain ``def`` hooks and is the fastest for sequential calls; ``AsyncAPI`` suits
``async def`` hooks and many concurrent calls, on the event loop of its channel only. ``Driver``
and ``AsyncDriver`` are the thin clients of ``plugin.Driver`` (mmplugin.db builds DB-API 2.0 on
them).
"""

from mmplugin._gen.api import API, AsyncAPI, AsyncDriver, Driver
from mmplugin._streams import AsyncBinaryData, BinaryData, HeadersLike
from mmplugin._transport import AsyncHTTPResponse, HTTPResponse

__all__ = [
    "API",
    "AsyncAPI",
    "AsyncBinaryData",
    "AsyncDriver",
    "AsyncHTTPResponse",
    "BinaryData",
    "Driver",
    "HTTPResponse",
    "HeadersLike",
]
