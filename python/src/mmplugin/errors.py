"""The errors the plugin API raises, and the errors a hook raises to fail.

Mattermost has two error styles and the SDK keeps both:

- ``AppError``: a ``*model.AppError`` with every field (id, message, detailed_error, request_id,
  status_code, where, skip_translation, params). Raised as the subclass for its HTTP status
  code (``NotFoundError`` for 404, ...), so ``except NotFoundError`` reads like the domain.
- ``PluginAPIError``: a plain Go ``error``, its message and, for the sentinels Mattermost's RPC
  keeps (``io.EOF``, ``sql.ErrNoRows``, ...), its ``code`` and subclass (``NoRowsError``, ...).

``ProtocolError`` is neither: the call did not reach Mattermost (the host is gone, the connection
broke). ``NotImplementedByServerError`` (an ``AppError`` with status 501) is also raised when the
host or the server lacks the method called.

Hooks use the reverse direction: raising ``AppError`` from ``execute_command`` answers the
command with that error; raising anything from a hook with an ``error`` result (``on_activate``,
...) fails it with the exception's message.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, cast

import grpc

from mmplugin import _values
from mmplugin._serverversion import ServerVersionError
from mmplugin.v1 import models_pb2 as _m

__all__ = [
    "AppError",
    "BadConnectionError",
    "BadRequestError",
    "ConflictError",
    "ConnDoneError",
    "DriverSkipError",
    "EndOfFileError",
    "ErrorCode",
    "ForbiddenError",
    "InternalServerError",
    "NoRowsError",
    "NotFoundError",
    "NotImplementedByServerError",
    "PluginAPIError",
    "ProtocolError",
    "RemoveArgumentError",
    "ServerVersionError",
    "TooLargeError",
    "TooManyRequestsError",
    "TxDoneError",
    "UnauthorizedError",
    "app_error_from_pb",
    "app_error_to_pb",
    "error_from_pb",
    "error_to_pb",
    "exception_from_pb",
    "rpc_error",
]

_NO_TRANSLATION = "<untranslated>"  # model.NoTranslation
_APP_ERROR_PARAMS = 8  # AppError.params field number (models.proto, fixed)


class AppError(Exception):
    """A Mattermost ``*model.AppError``.

    Raise it (or a subclass) from ``execute_command`` to answer with an error; the API raises
    it when a method returns one. ``status_code`` defaults to the subclass's status (500 for
    ``AppError`` itself).

    What a user sees is what the server shows for the same Go fields: the server's translation
    of ``id`` (an id it does not know, as it is) unless ``skip_translation`` is set, then
    ``message``. So ``AppError("The service is down")`` shows that text (it is also the id, as
    with ``model.NewAppError``); ``AppError("The service is down", id="weather.down")`` shows the
    text too (``skip_translation`` defaults to True when a message differs from the id); and
    ``AppError(id="api.context.permissions.app_error")`` shows the server's own translation.
    """

    default_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str = "",
        *,
        id: str | None = None,
        detailed_error: str = "",
        status_code: int | None = None,
        where: str = "",
        request_id: str = "",
        params: dict[str, Any] | None = None,
        skip_translation: bool | None = None,
    ) -> None:
        # The server shows the translation of the id (an id it does not know, as it is) unless
        # SkipTranslation is set. AppError("text") is model.NewAppError(where, "text", ...), so
        # users see "text"; AppError("text", id="my.id") sets SkipTranslation, so users see
        # "text", not "my.id"; AppError(id="server.id") alone is translated by the server.
        self.id = message if id is None else id
        self.message = message
        if skip_translation is None:
            skip_translation = bool(message) and self.id != message
        self.detailed_error = detailed_error
        self.request_id = request_id
        self.status_code = self.default_status if status_code is None else status_code
        self.where = where
        self.skip_translation = skip_translation
        self.params = params
        super().__init__(message)

    def __str__(self) -> str:
        # model.AppError.Error(): "where: message, detailed_error".
        out = f"{self.where}: " if self.where else ""
        if self.message != _NO_TRANSLATION:
            out += self.message
        if self.detailed_error:
            if self.message != _NO_TRANSLATION:
                out += ", "
            out += self.detailed_error
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._fields().items() if v)
        return f"{type(self).__name__}({fields})"

    def _fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message": self.message,
            "detailed_error": self.detailed_error,
            "request_id": self.request_id,
            "status_code": self.status_code,
            "where": self.where,
            "skip_translation": self.skip_translation,
            "params": self.params,
        }

    def __eq__(self, other: object) -> bool:
        # The same Go error whatever the Python class (the class follows the status code).
        if not isinstance(other, AppError):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((self.id, self.message, self.status_code, self.where))

    def __reduce__(self) -> tuple[Any, ...]:
        fields = self._fields()
        return (_rebuild_app_error, (type(self), fields))


def _rebuild_app_error(cls: type[AppError], fields: dict[str, Any]) -> AppError:
    message = fields.pop("message")
    return cls(message, **fields)


class BadRequestError(AppError):
    """An AppError with status 400."""

    default_status = 400


class UnauthorizedError(AppError):
    """An AppError with status 401."""

    default_status = 401


class ForbiddenError(AppError):
    """An AppError with status 403."""

    default_status = 403


class NotFoundError(AppError):
    """An AppError with status 404."""

    default_status = 404


class ConflictError(AppError):
    """An AppError with status 409."""

    default_status = 409


class TooLargeError(AppError):
    """An AppError with status 413."""

    default_status = 413


class TooManyRequestsError(AppError):
    """An AppError with status 429."""

    default_status = 429


class InternalServerError(AppError):
    """An AppError with status 500 (also what a bare AppError defaults to)."""

    default_status = 500


class NotImplementedByServerError(AppError):
    """Status 501: the server, or the mmplugin host, does not implement what was called."""

    default_status = 501


_BY_STATUS: dict[int, type[AppError]] = {
    cls.default_status: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        TooLargeError,
        TooManyRequestsError,
        InternalServerError,
        NotImplementedByServerError,
    )
}


class ErrorCode(enum.IntEnum):
    """The Go error values Mattermost's RPC preserves (proto enum ``ErrorCode``)."""

    UNSPECIFIED = 0
    EOF = 1
    """io.EOF"""
    SQL_NO_ROWS = 2
    """sql.ErrNoRows"""
    SQL_CONN_DONE = 3
    """sql.ErrConnDone"""
    SQL_TX_DONE = 4
    """sql.ErrTxDone"""
    DRIVER_SKIP = 5
    """driver.ErrSkip"""
    DRIVER_BAD_CONN = 6
    """driver.ErrBadConn"""
    DRIVER_REMOVE_ARGUMENT = 7
    """driver.ErrRemoveArgument"""


class PluginAPIError(Exception):
    """A plain Go ``error`` returned by an API or Driver method.

    ``code`` names the Go sentinel when there is one, and the subclass matches it (``except
    NoRowsError``). Raise it from a hook with an error result to send a sentinel back.
    """

    default_code: ClassVar[ErrorCode] = ErrorCode.UNSPECIFIED

    def __init__(self, message: str = "", *, code: ErrorCode | None = None) -> None:
        self.message = message
        self.code = self.default_code if code is None else ErrorCode(code)
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code.name})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PluginAPIError):
            return NotImplemented
        return (self.message, self.code) == (other.message, other.code)

    def __hash__(self) -> int:
        return hash((self.message, self.code))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_plugin_api_error, (type(self), self.message, int(self.code)))


def _rebuild_plugin_api_error(cls: type[PluginAPIError], message: str, code: int) -> Any:
    return cls(message, code=ErrorCode(code))


class EndOfFileError(PluginAPIError, EOFError):
    """Go's ``io.EOF`` (also an ``EOFError``)."""

    default_code = ErrorCode.EOF


class NoRowsError(PluginAPIError):
    """Go's ``sql.ErrNoRows``: the query returned no rows."""

    default_code = ErrorCode.SQL_NO_ROWS


class ConnDoneError(PluginAPIError):
    """Go's ``sql.ErrConnDone``: the connection was already closed."""

    default_code = ErrorCode.SQL_CONN_DONE


class TxDoneError(PluginAPIError):
    """Go's ``sql.ErrTxDone``: the transaction was already committed or rolled back."""

    default_code = ErrorCode.SQL_TX_DONE


class DriverSkipError(PluginAPIError):
    """Go's ``driver.ErrSkip``."""

    default_code = ErrorCode.DRIVER_SKIP


class BadConnectionError(PluginAPIError):
    """Go's ``driver.ErrBadConn``: the database connection is unusable; retry on a new one."""

    default_code = ErrorCode.DRIVER_BAD_CONN


class RemoveArgumentError(PluginAPIError):
    """Go's ``driver.ErrRemoveArgument``."""

    default_code = ErrorCode.DRIVER_REMOVE_ARGUMENT


_BY_CODE: dict[ErrorCode, type[PluginAPIError]] = {
    cls.default_code: cls
    for cls in (
        EndOfFileError,
        NoRowsError,
        ConnDoneError,
        TxDoneError,
        DriverSkipError,
        BadConnectionError,
        RemoveArgumentError,
    )
}


class ProtocolError(Exception):
    """The call did not complete between the plugin and mmplugin-host (a transport failure).

    ``code`` is the gRPC status code and ``method`` the RPC ("PluginAPIService.GetUser").
    """

    def __init__(
        self, message: str, *, code: grpc.StatusCode | None = None, method: str = ""
    ) -> None:
        self.code = code
        self.method = method
        super().__init__(message)


# -- conversions ---------------------------------------------------------------------------------


def app_error_from_pb(pb: _m.AppError) -> AppError:
    """The AppError message as the AppError subclass for its status code."""
    params: dict[str, Any] | None = None
    if pb.params or _APP_ERROR_PARAMS in pb.empty:
        params = {k: _values.from_pb(v) for k, v in pb.params.items()}
    cls = _BY_STATUS.get(pb.status_code, AppError)
    return cls(
        pb.message,
        id=pb.id,
        detailed_error=pb.detailed_error,
        status_code=pb.status_code,
        where=pb.where,
        request_id=pb.request_id,
        params=params,
        skip_translation=pb.skip_translation,
    )


def app_error_to_pb(err: AppError) -> _m.AppError:
    """An AppError as its message, every field included."""
    out = _m.AppError(
        id=err.id,
        message=err.message,
        detailed_error=err.detailed_error,
        request_id=err.request_id,
        status_code=err.status_code,
        where=err.where,
        skip_translation=err.skip_translation,
    )
    if err.params is not None:
        if err.params:
            for k, v in err.params.items():
                out.params[k].CopyFrom(_values.to_pb(v))
        else:
            out.empty.append(_APP_ERROR_PARAMS)
    return out


def error_from_pb(pb: _m.Error) -> PluginAPIError:
    """The Error message as PluginAPIError, or the subclass of its sentinel code."""
    try:
        code = ErrorCode(pb.code)
    except ValueError:  # a newer host's code: keep the message
        code = ErrorCode.UNSPECIFIED
    cls = _BY_CODE.get(code, PluginAPIError)
    return cls(pb.message, code=code)


def exception_from_pb(pb: _m.Error) -> AppError | PluginAPIError:
    """The exception a Go ``error`` result raises: the ``AppError`` it is when the server returned
    a ``*model.AppError`` as a plain error (``Error.app_error``; a Go plugin gets it too), else
    the ``PluginAPIError`` of ``error_from_pb``."""
    if pb.HasField("app_error"):
        return app_error_from_pb(pb.app_error)
    return error_from_pb(pb)


def error_to_pb(exc: BaseException) -> _m.Error:
    """Any exception as a Go error: PluginAPIError keeps its code, AppError crosses as a
    *model.AppError (with its Error() text as the message), anything else as "TypeName:
    message"."""
    if isinstance(exc, PluginAPIError):
        code = cast("_m.ErrorCode.ValueType", int(exc.code))
        return _m.Error(message=exc.message, code=code)
    if isinstance(exc, AppError):
        return _m.Error(message=str(exc), app_error=app_error_to_pb(exc))
    text = str(exc)
    return _m.Error(message=f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def rpc_error(service: str, method: str, exc: grpc.RpcError) -> Exception:
    """The exception to raise for a failed gRPC call of ``service.method``."""
    code: grpc.StatusCode | None = getattr(exc, "code", lambda: None)()
    details: str = getattr(exc, "details", lambda: "")() or ""
    rpc = f"{service}.{method}"
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return NotImplementedByServerError(
            f"{method} is not supported by this Mattermost server or mmplugin host: {details}",
            id="mmplugin.not_implemented",
            where=rpc,
        )
    if code == grpc.StatusCode.UNAVAILABLE:
        message = f"the mmplugin host is unreachable: {details} ({rpc})"
    elif code == grpc.StatusCode.CANCELLED:
        message = f"the call was cancelled: {details} ({rpc})"
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"the call timed out: {details} ({rpc})"
    else:
        name = code.name if code is not None else "UNKNOWN"
        message = f"{rpc} failed in the plugin protocol: {name}: {details}"
    return ProtocolError(message, code=code, method=rpc)
