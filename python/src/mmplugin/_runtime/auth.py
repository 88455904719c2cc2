"""The launch secret on every call, both ways.

mmplugin-host makes a random secret for each launch of the Python process and sends it in the
bootstrap. Every gRPC call between the two carries it in the ``mmplugin-secret`` metadata entry:
the host's calls to us are refused without it (``ServerSecretInterceptor``), and our calls to the
host's API socket add it (``api_channel``). Together with the 0700 socket directory this keeps
other local processes from acting as the host or as the plugin.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc
from grpc import aio

SECRET_METADATA_KEY = "mmplugin-secret"
"""gRPC metadata key carrying the launch secret (must match internal/supervisor)."""

_UNAUTHENTICATED = (
    "missing or wrong mmplugin launch secret: only the mmplugin-host that started this "
    "process may call it"
)

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def secret_metadata(secret: str) -> tuple[tuple[str, str], ...]:
    """Metadata to pass with a call made without ``api_channel``'s interceptor."""
    return ((SECRET_METADATA_KEY, secret),)


def _secret_ok(metadata: Iterable[tuple[str, str | bytes]] | None, secret: bytes) -> bool:
    if not metadata:
        return False
    for key, value in metadata:
        if key == SECRET_METADATA_KEY:
            given = value if isinstance(value, bytes) else value.encode()
            return hmac.compare_digest(given, secret)
    return False


async def _deny_unary(request: object, context: aio.ServicerContext[Any, Any]) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _UNAUTHENTICATED)


async def _deny_stream(request_iterator: object, context: aio.ServicerContext[Any, Any]) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _UNAUTHENTICATED)


class ServerSecretInterceptor(aio.ServerInterceptor):
    """Refuses every call whose metadata lacks the launch secret (constant-time compare)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        handler = await continuation(handler_call_details)
        if _secret_ok(handler_call_details.invocation_metadata, self._secret):
            return handler
        return _denying_handler(handler)


def _denying_handler(
    handler: grpc.RpcMethodHandler[Any, Any] | None,
) -> grpc.RpcMethodHandler[Any, Any]:
    # Unknown methods are refused the same way, so a caller without the secret learns nothing.
    if handler is None:
        return grpc.unary_unary_rpc_method_handler(_deny_unary)
    de, se = handler.request_deserializer, handler.response_serializer
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_deny_stream, de, se)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_deny_stream, de, se)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(_deny_unary, de, se)
    return grpc.unary_unary_rpc_method_handler(_deny_unary, de, se)


def _with_secret(details: aio.ClientCallDetails, secret: str) -> aio.ClientCallDetails:
    metadata = aio.Metadata(*(details.metadata or ()))
    metadata[SECRET_METADATA_KEY] = secret
    return aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _ClientSecret:
    def __init__(self, secret: str) -> None:
        self._secret = secret


# grpc.aio files each interceptor under the first of the four kinds it is an instance of, so one
# object implementing all four would only see unary-unary calls: one class per kind.
class _UnaryUnarySecret(_ClientSecret, aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, _Req], Awaitable[Any]],
        client_call_details: aio.ClientCallDetails,
        request: _Req,
    ) -> Any:
        return await continuation(_with_secret(client_call_details, self._secret), request)


class _UnaryStreamSecret(_ClientSecret, aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self,
        continuation: Callable[[aio.ClientCallDetails, _Req], Awaitable[Any]],
        client_call_details: aio.ClientCallDetails,
        request: _Req,
    ) -> Any:
        return await continuation(_with_secret(client_call_details, self._secret), request)


class _StreamUnarySecret(_ClientSecret, aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self,
        continuation: Callable[
            [aio.ClientCallDetails, AsyncIterable[_Req] | Iterable[_Req]], Awaitable[Any]
        ],
        client_call_details: aio.ClientCallDetails,
        request_iterator: AsyncIterable[_Req] | Iterable[_Req],
    ) -> Any:
        details = _with_secret(client_call_details, self._secret)
        return await continuation(details, request_iterator)


class _StreamStreamSecret(_ClientSecret, aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self,
        continuation: Callable[
            [aio.ClientCallDetails, AsyncIterable[_Req] | Iterable[_Req]], Awaitable[Any]
        ],
        client_call_details: aio.ClientCallDetails,
        request_iterator: AsyncIterable[_Req] | Iterable[_Req],
    ) -> Any:
        details = _with_secret(client_call_details, self._secret)
        return await continuation(details, request_iterator)


def client_secret_interceptors(secret: str) -> list[aio.ClientInterceptor]:
    """Interceptors that add the launch secret to every kind of call on a channel."""
    return [
        _UnaryUnarySecret(secret),
        _UnaryStreamSecret(secret),
        _StreamUnarySecret(secret),
        _StreamStreamSecret(secret),
    ]


CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    # A private unix socket between parent and child: no keepalive pings, no proxies, and
    # messages as large as Mattermost's own limits (file uploads are streamed in chunks).
    ("grpc.enable_http_proxy", 0),
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
)


def api_channel(socket_path: str, secret: str) -> aio.Channel:
    """A ``grpc.aio`` channel to the host's API socket that adds the secret to every call.

    Create it on the runtime's event loop (grpc.aio objects belong to the loop that made them).
    """
    return aio.insecure_channel(
        f"unix:{socket_path}",
        options=CHANNEL_OPTIONS,
        interceptors=client_secret_interceptors(secret),
    )
