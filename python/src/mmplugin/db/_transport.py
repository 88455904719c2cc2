"""The Driver protocol (``PluginDriverService``) as blocking calls with Python values.

Every DB-API operation is one or more round trips to mmplugin-host, which forwards them to the
Mattermost server's ``plugin.Driver`` (the same handle protocol Go plugins use through
``pluginapi.Store``): the server owns the connections, the plugin only sees opaque ids.

This module speaks the generated protobuf messages directly instead of the typed SDK client
because driver values are a closed set of seven Go types (see ``_values``) and the DB-API needs
them raw: lib/pq's ``time`` columns arrive on year 0, and an ``io.EOF`` from ``RowsNext`` is the
normal end of a result, not an error.

Calls go through an *invoker*: ``calls_invoker`` on the host's calls socket (in the plugin
process: a frame each way on the calling thread's own connection, see mmplugin._runtime.calls),
``stub_invoker`` on a blocking ``grpc.Channel``; both work from any thread. Tests can substitute
their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from mmplugin._runtime.calls import CallError, CallsClient
from mmplugin.v1 import driver_pb2 as pb
from mmplugin.v1 import models_pb2 as mpb

from ._values import DriverValue, WireTime
from .exceptions import (
    DatabaseError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)

_M = TypeVar("_M", bound=Message)

Invoker = Callable[[str, Message], Any]
"""Calls the PluginDriverService method named by its first argument and returns the response."""

# Isolation levels in Go's database/sql numbering (sql.IsolationLevel), which TxOptions carries.
ISOLATION_LEVELS = {
    None: 0,
    "READ UNCOMMITTED": 1,
    "READ COMMITTED": 2,
    "REPEATABLE READ": 4,
    "SERIALIZABLE": 6,
}


class DriverError(Exception):
    """A Go error the server returned, with its sentinel code (``mmplugin.v1.ErrorCode``)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def is_eof(self) -> bool:
        return self.code == mpb.ERROR_CODE_EOF


@dataclass(frozen=True)
class ExecResult:
    """``plugin.ResultContainer``: rows affected and last insert id, each maybe unavailable."""

    rows_affected: int | None
    last_id: int | None


def stub_invoker(
    channel: grpc.Channel, metadata: Sequence[tuple[str, str]] = (), timeout: float | None = None
) -> Invoker:
    """An invoker over a blocking channel (``metadata`` carries the launch secret)."""
    from mmplugin.v1 import driver_pb2_grpc

    stub = driver_pb2_grpc.PluginDriverServiceStub(channel)

    def invoke(method: str, request: Message) -> Any:
        return getattr(stub, method)(request, metadata=tuple(metadata), timeout=timeout)

    return invoke


def calls_invoker(calls: CallsClient, timeout: float | None = None) -> Invoker:
    """An invoker over the host's calls socket."""
    from mmplugin._transport import framed_method

    def invoke(method: str, request: Message) -> Any:
        path, parse = framed_method("PluginDriverService", method)
        return parse(calls.call(path, request.SerializeToString(), timeout))

    return invoke


class DriverClient:
    """``plugin.Driver`` as blocking calls: ids in, ids and Python values out.

    Go errors are raised as ``DriverError`` (the caller maps them to PEP 249 classes); a call
    that cannot be made at all (the host is restarting, the channel is closed) raises
    ``OperationalError``.
    """

    def __init__(self, invoke: Invoker) -> None:
        self._invoke = invoke

    def _call(self, method: str, request: Message) -> Any:
        try:
            return self._invoke(method, request)
        except grpc.RpcError as e:
            known = isinstance(e, (grpc.Call, CallError))
            code = e.code() if known else None
            details = e.details() if known else str(e)
            if code == grpc.StatusCode.UNIMPLEMENTED:
                raise NotSupportedError(
                    f"Driver.{method} is not supported by mmplugin-host: {details}"
                ) from None
            raise OperationalError(
                f"Driver.{method} could not reach the Mattermost server through mmplugin-host: "
                f"{details} ({code.name if code else 'no status'})"
            ) from None

    @staticmethod
    def _check(response: Any) -> None:
        if response.HasField("error"):
            raise DriverError(response.error.message, response.error.code)

    def conn(self, is_master: bool) -> str:
        r = self._call("Conn", pb.ConnRequest(is_master=is_master))
        self._check(r)
        return str(r.result)

    def conn_ping(self, conn_id: str) -> None:
        self._check(self._call("ConnPing", pb.ConnPingRequest(conn_id=conn_id)))

    def conn_close(self, conn_id: str) -> None:
        self._check(self._call("ConnClose", pb.ConnCloseRequest(conn_id=conn_id)))

    def conn_query(self, conn_id: str, q: str, args: Sequence[DriverValue]) -> str:
        r = self._call("ConnQuery", pb.ConnQueryRequest(conn_id=conn_id, q=q, args=_named(args)))
        self._check(r)
        return str(r.result)

    def conn_exec(self, conn_id: str, q: str, args: Sequence[DriverValue]) -> ExecResult:
        r = self._call("ConnExec", pb.ConnExecRequest(conn_id=conn_id, q=q, args=_named(args)))
        self._check(r)
        return _exec_result(r.result)

    def tx(self, conn_id: str, isolation: int, read_only: bool) -> str:
        opts = mpb.DriverTxOptions(isolation=isolation, read_only=read_only)
        r = self._call("Tx", pb.TxRequest(conn_id=conn_id, opts=opts))
        self._check(r)
        return str(r.result)

    def tx_commit(self, tx_id: str) -> None:
        self._check(self._call("TxCommit", pb.TxCommitRequest(tx_id=tx_id)))

    def tx_rollback(self, tx_id: str) -> None:
        self._check(self._call("TxRollback", pb.TxRollbackRequest(tx_id=tx_id)))

    def stmt(self, conn_id: str, q: str) -> str:
        r = self._call("Stmt", pb.StmtRequest(conn_id=conn_id, q=q))
        self._check(r)
        return str(r.result)

    def stmt_close(self, st_id: str) -> None:
        self._check(self._call("StmtClose", pb.StmtCloseRequest(st_id=st_id)))

    def stmt_exec(self, st_id: str, args: Sequence[DriverValue]) -> ExecResult:
        r = self._call("StmtExec", pb.StmtExecRequest(st_id=st_id, args=_named(args)))
        self._check(r)
        return _exec_result(r.result)

    def stmt_query(self, st_id: str, args: Sequence[DriverValue]) -> str:
        r = self._call("StmtQuery", pb.StmtQueryRequest(st_id=st_id, args=_named(args)))
        self._check(r)
        return str(r.result)

    def rows_columns(self, rows_id: str) -> list[str]:
        r = self._call("RowsColumns", pb.RowsColumnsRequest(rows_id=rows_id))
        return list(r.result)

    def rows_next(self, rows_id: str, columns: int) -> list[DriverValue] | None:
        """The next row, or None at the end of the result (the server's io.EOF)."""
        dest = [mpb.Value() for _ in range(columns)]
        r = self._call("RowsNext", pb.RowsNextRequest(rows_id=rows_id, dest=dest))
        if r.HasField("error"):
            if r.error.code == mpb.ERROR_CODE_EOF:
                return None
            raise DriverError(r.error.message, r.error.code)
        return [_from_value(v) for v in r.dest]

    def rows_close(self, rows_id: str) -> None:
        self._check(self._call("RowsClose", pb.RowsCloseRequest(rows_id=rows_id)))

    def rows_has_next_result_set(self, rows_id: str) -> bool:
        r = self._call("RowsHasNextResultSet", pb.RowsHasNextResultSetRequest(rows_id=rows_id))
        return bool(r.result)

    def rows_next_result_set(self, rows_id: str) -> None:
        r = self._call("RowsNextResultSet", pb.RowsNextResultSetRequest(rows_id=rows_id))
        self._check(r)

    def rows_column_type_database_type_name(self, rows_id: str, index: int) -> str:
        r = self._call(
            "RowsColumnTypeDatabaseTypeName",
            pb.RowsColumnTypeDatabaseTypeNameRequest(rows_id=rows_id, index=index),
        )
        return str(r.result)

    def rows_column_type_precision_scale(self, rows_id: str, index: int) -> tuple[int, int] | None:
        r = self._call(
            "RowsColumnTypePrecisionScale",
            pb.RowsColumnTypePrecisionScaleRequest(rows_id=rows_id, index=index),
        )
        return (int(r.result_1), int(r.result_2)) if r.result_3 else None


def _exec_result(r: mpb.PluginResultContainer) -> ExecResult:
    return ExecResult(
        rows_affected=None if r.HasField("rows_affected_error") else int(r.rows_affected),
        last_id=None if r.HasField("last_id_error") else int(r.last_id),
    )


def _named(args: Sequence[DriverValue]) -> list[mpb.DriverNamedValue]:
    # database/sql numbers arguments from 1 and leaves Name empty for positional ones.
    return [
        mpb.DriverNamedValue(ordinal=i, value=_to_value(v)) for i, v in enumerate(args, start=1)
    ]


def _to_value(v: DriverValue) -> mpb.Value:
    if v is None:
        return mpb.Value()
    if isinstance(v, bool):
        return mpb.Value(bool_value=v)
    if isinstance(v, int):
        return mpb.Value(int64_value=v)
    if isinstance(v, float):
        return mpb.Value(float64_value=v)
    if isinstance(v, str):
        return mpb.Value(string_value=v)
    if isinstance(v, bytes):
        return mpb.Value(bytes_value=v)
    if isinstance(v, WireTime):
        value = mpb.Value()
        value.time_value.seconds = v.seconds
        value.time_value.nanos = v.nanos
        return value
    raise ProgrammingError(f"not a driver value: {type(v).__name__}")


def _from_value(v: mpb.Value) -> DriverValue:
    kind = v.WhichOneof("kind")
    if kind is None:
        return None
    if kind in ("int64_value", "int_value", "int32_value", "uint64_value"):
        return int(getattr(v, kind))
    if kind in ("float64_value", "float32_value"):
        return float(getattr(v, kind))
    if kind == "string_value":
        return str(v.string_value)
    if kind == "bool_value":
        return bool(v.bool_value)
    if kind == "bytes_value":
        return None if v.is_nil else bytes(v.bytes_value)
    if kind == "time_value":
        return WireTime(v.time_value.seconds, v.time_value.nanos)
    raise DatabaseError(f"the server returned a {kind} where a database value was expected")


__all__ = [
    "ISOLATION_LEVELS",
    "DriverClient",
    "DriverError",
    "ExecResult",
    "Invoker",
    "stub_invoker",
]
