"""The objects streamed hooks get, by their public names.

``serve_http`` and ``serve_metrics`` get a request and a response writer: ``HTTPRequest`` /
``ResponseWriter`` in an ``async def`` handler, the blocking ``SyncHTTPRequest`` /
``SyncResponseWriter`` in a plain ``def`` (also importable from ``mmplugin.http``).
``file_will_be_uploaded`` gets the upload as an ``UploadReader`` and writes a replacement to an
``UploadWriter`` (``SyncUploadReader`` / ``SyncUploadWriter`` in a plain ``def``). Writing to a
stream the server has closed raises ``StreamClosedError``.

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
]
