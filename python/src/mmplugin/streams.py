"""The objects streamed hooks get, by their public names.

``serve_http`` and ``serve_metrics`` get a request and a response writer: ``HTTPRequest`` /
``ResponseWriter`` in an ``async def`` handler, the blocking ``SyncHTTPRequest`` /
``SyncResponseWriter`` in a plain ``def`` (also importable from ``mmplugin.http``).
``file_will_be_uploaded`` gets the upload as an ``UploadReader`` and writes a replacement to an
``UploadWriter`` (``SyncUploadReader`` / ``SyncUploadWriter`` in a plain ``def``). Writing to a
stream the server has closed raises ``StreamClosedError``.

Header values, URLs and the Host of a request are ``str``; a value the client sent that is not
UTF-8 (HTTP allows such bytes) is decoded with ``surrogateescape``, and ``wire_bytes(value)``
gives back exactly the bytes sent, as a Go plugin sees them.

Annotate handlers with these; the implementations live in the SDK's private ``_streams``.
"""

from __future__ import annotations

from mmplugin._streams import (
    HTTPRequest,
    ResponseWriter,
    StreamClosedError,
    SyncHTTPRequest,
    SyncResponseWriter,
    SyncUploadReader,
    SyncUploadWriter,
    UploadReader,
    UploadWriter,
    wire_bytes,
)

__all__ = [
    "HTTPRequest",
    "ResponseWriter",
    "StreamClosedError",
    "SyncHTTPRequest",
    "SyncResponseWriter",
    "SyncUploadReader",
    "SyncUploadWriter",
    "UploadReader",
    "UploadWriter",
    "wire_bytes",
]
