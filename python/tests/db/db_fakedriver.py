"""A fake ``PluginDriverService`` backed by sqlite3, served over a real gRPC unix socket.

It stands in for mmplugin-host + the Mattermost server's ``plugin.Driver`` (lib/pq on
PostgreSQL), so the DB-API layer, its conversions and the Driver protocol are exercised for
real. Where sqlite and the real server differ, the fake imitates the server:

- placeholders arrive as PostgreSQL's ``$1`` (rewritten to sqlite's ``?1``);
- result values are what lib/pq returns: string, int64, float64, bool, ``[]byte`` in PostgreSQL
  text format for numeric/json/uuid/…, ``time.Time`` for date/time columns (``time`` on year 0);
  a test declares such columns with ``column_types`` (by result column name);
- errors carry lib/pq's wording ("pq: duplicate key value violates unique constraint …") and
  ``io.EOF`` ends a result;
- every call must carry the launch secret, like the host's API socket;
- the handful of statements SQLAlchemy's PostgreSQL dialect runs on connect are answered from
  ``CANNED`` (sqlite has no ``pg_catalog.version()``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from mmplugin.db import Store
from mmplugin.db._transport import DriverClient, stub_invoker
from mmplugin.v1 import driver_pb2 as pb
from mmplugin.v1 import driver_pb2_grpc
from mmplugin.v1 import models_pb2 as mpb

SECRET = "db-test-secret"
_YEAR0 = -62167219200  # 0000-01-01T00:00:00Z in Unix seconds: where lib/pq puts `time` values

CANNED: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
    "select pg_catalog.version()": (
        ["version"],
        [("PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc, 64-bit",)],
    ),
    "select current_schema()": (["current_schema"], [("public",)]),
    "show standard_conforming_strings": (["standard_conforming_strings"], [("on",)]),
    "show transaction isolation level": (["transaction_isolation"], [("read committed",)]),
    "show transaction_read_only": (["transaction_read_only"], [("off",)]),
}


@dataclass
class _Rows:
    columns: list[str]
    rows: Iterator[tuple[Any, ...]]
    types: list[str]


@dataclass
class Fake:
    """The fake's state, for assertions."""

    path: str
    column_types: dict[str, str] = field(default_factory=dict)
    conns: dict[str, sqlite3.Connection] = field(default_factory=dict)
    txs: dict[str, str] = field(default_factory=dict)  # tx id → conn id
    stmts: dict[str, tuple[str, str]] = field(default_factory=dict)  # st id → (conn id, q)
    rows: dict[str, _Rows] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    queries: list[tuple[str, str, list[Any]]] = field(default_factory=list)  # (method, q, args)
    tx_options: list[tuple[int, bool]] = field(default_factory=list)
    masters: list[bool] = field(default_factory=list)  # is_master of each Conn call
    replicas: list[str] = field(default_factory=list)  # SqlSettings.DataSourceReplicas
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, kind: str) -> str:
        return f"{kind}{next(self.ids)}"


def _pq_error(e: sqlite3.Error) -> mpb.Error:
    """The error the real server would return, in lib/pq's wording."""
    msg = str(e)
    if m := re.match(r"UNIQUE constraint failed: (.*)", msg):
        text = f'pq: duplicate key value violates unique constraint "{m.group(1)}"'
    elif m := re.match(r"NOT NULL constraint failed: \w+\.(\w+)", msg):
        text = f'pq: null value in column "{m.group(1)}" violates not-null constraint'
    elif m := re.match(r"no such table: (\w+)", msg):
        text = f'pq: relation "{m.group(1)}" does not exist'
    elif msg == "attempt to write a readonly database":
        text = "pq: cannot execute statement in a read-only transaction"
    elif m := re.match(r'near "([^"]*)": syntax error', msg):
        text = f'pq: syntax error at or near "{m.group(1)}"'
    else:
        text = "pq: " + msg
    return mpb.Error(message=text)


def _bad_conn() -> mpb.Error:
    return mpb.Error(message="driver: bad connection", code=mpb.ERROR_CODE_DRIVER_BAD_CONN)


def _arg(v: mpb.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "time_value":
        moment = dt.datetime.fromtimestamp(v.time_value.seconds, dt.timezone.utc)
        return moment.replace(microsecond=v.time_value.nanos // 1000).isoformat(sep=" ")
    if kind in ("int_value", "int32_value", "uint64_value", "float32_value"):
        raise ValueError(f"lib/pq never gets a {kind}: the plugin sent a non-driver value")
    return getattr(v, kind)


_CAST = re.compile(
    r"::[A-Z][A-Z0-9_]*(?: WITH(?:OUT)? TIME ZONE)?(?:\(\d+(?:, ?\d+)?\))?(?:\[\])*", re.I
)


def _sqlite_sql(q: str) -> str:
    """PostgreSQL's ``$1`` → sqlite's ``?1``; ``::TYPE`` casts (SQLAlchemy renders them for
    PostgreSQL's sake) are dropped."""
    return _CAST.sub("", re.sub(r"\$(\d+)", r"?\1", q))


def _value(v: Any, type_name: str) -> mpb.Value:
    """A sqlite result value as lib/pq would return it for a column of ``type_name``."""
    if v is None:
        return mpb.Value()
    if type_name in ("TIMESTAMPTZ", "TIMESTAMP", "DATE"):
        moment = dt.datetime.fromisoformat(str(v))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        out = mpb.Value()
        out.time_value.seconds = int(moment.timestamp() // 1)
        out.time_value.nanos = moment.microsecond * 1000
        return out
    if type_name == "TIME":
        t = dt.time.fromisoformat(str(v))
        out = mpb.Value()
        out.time_value.seconds = _YEAR0 + t.hour * 3600 + t.minute * 60 + t.second
        out.time_value.nanos = t.microsecond * 1000
        return out
    if type_name == "BOOL":
        return mpb.Value(bool_value=bool(v))
    if type_name in ("INT8", "INT4", "INT2"):
        return mpb.Value(int64_value=int(v))
    if type_name in ("FLOAT8", "FLOAT4"):
        return mpb.Value(float64_value=float(v))
    if type_name in ("TEXT", "VARCHAR", "CHAR"):
        return mpb.Value(string_value=str(v))
    if isinstance(v, bytes):
        return mpb.Value(bytes_value=v)
    # numeric, json, uuid, enums, unknown types: lib/pq's []byte in PostgreSQL text format
    return mpb.Value(bytes_value=str(v).encode())


def _default_type(v: Any) -> str:
    return {int: "INT8", float: "FLOAT8", str: "TEXT", bytes: "BYTEA"}.get(type(v), "")


class FakeDriver(driver_pb2_grpc.PluginDriverServiceServicer):
    def __init__(self, fake: Fake) -> None:
        self.f = fake

    def _conn(self, conn_id: str) -> sqlite3.Connection | None:
        return self.f.conns.get(conn_id)

    def _exec(self, conn: sqlite3.Connection, q: str, args: list[Any]) -> sqlite3.Cursor:
        return conn.execute(_sqlite_sql(q), args)

    def _open_rows(self, conn: sqlite3.Connection, q: str, args: list[Any]) -> str:
        canned = CANNED.get(" ".join(q.split()).lower())
        if canned is not None:
            columns, data = canned
            rows = _Rows(list(columns), iter(list(data)), ["TEXT"] * len(columns))
        else:
            cur = self._exec(conn, q, args)
            columns = [d[0] for d in cur.description or ()]
            # lib/pq reads the first row before returning, so errors surface at Query time.
            data = cur.fetchall()
            types = [
                self.f.column_types.get(c) or (_default_type(data[0][i]) if data else "")
                for i, c in enumerate(columns)
            ]
            rows = _Rows(columns, iter(data), types)
        rows_id = self.f.new_id("rows")
        self.f.rows[rows_id] = rows
        return rows_id

    def _result(self, cur: sqlite3.Cursor) -> mpb.PluginResultContainer:
        return mpb.PluginResultContainer(
            rows_affected=max(cur.rowcount, 0),
            last_id_error=mpb.Error(message="no LastInsertId available"),
        )

    def _track(self, method: str) -> None:
        self.f.calls.append(method)

    # -- connections ----------------------------------------------------------------------

    def Conn(self, request: pb.ConnRequest, context: Any) -> pb.ConnResponse:
        with self.f.lock:
            self._track("Conn")
            self.f.masters.append(request.is_master)
            conn = sqlite3.connect(self.f.path, isolation_level=None, check_same_thread=False)
            conn_id = self.f.new_id("conn")
            self.f.conns[conn_id] = conn
            return pb.ConnResponse(result=conn_id)

    def ConnPing(self, request: pb.ConnPingRequest, context: Any) -> pb.ConnPingResponse:
        with self.f.lock:
            self._track("ConnPing")
            if self._conn(request.conn_id) is None:
                return pb.ConnPingResponse(error=_bad_conn())
            return pb.ConnPingResponse()

    def ConnClose(self, request: pb.ConnCloseRequest, context: Any) -> pb.ConnCloseResponse:
        with self.f.lock:
            self._track("ConnClose")
            conn = self.f.conns.pop(request.conn_id, None)
            if conn is None:
                return pb.ConnCloseResponse(error=_bad_conn())
            conn.close()
            return pb.ConnCloseResponse()

    def ConnQuery(self, request: pb.ConnQueryRequest, context: Any) -> pb.ConnQueryResponse:
        with self.f.lock:
            self._track("ConnQuery")
            conn = self._conn(request.conn_id)
            if conn is None:
                return pb.ConnQueryResponse(error=_bad_conn())
            args = [_arg(a.value) for a in request.args]
            self.f.queries.append(("ConnQuery", request.q, args))
            try:
                return pb.ConnQueryResponse(result=self._open_rows(conn, request.q, args))
            except sqlite3.Error as e:
                return pb.ConnQueryResponse(error=_pq_error(e))

    def ConnExec(self, request: pb.ConnExecRequest, context: Any) -> pb.ConnExecResponse:
        with self.f.lock:
            self._track("ConnExec")
            conn = self._conn(request.conn_id)
            if conn is None:
                return pb.ConnExecResponse(error=_bad_conn())
            args = [_arg(a.value) for a in request.args]
            self.f.queries.append(("ConnExec", request.q, args))
            try:
                return pb.ConnExecResponse(result=self._result(self._exec(conn, request.q, args)))
            except sqlite3.Error as e:
                return pb.ConnExecResponse(error=_pq_error(e))

    # -- transactions ---------------------------------------------------------------------

    def Tx(self, request: pb.TxRequest, context: Any) -> pb.TxResponse:
        with self.f.lock:
            self._track("Tx")
            conn = self._conn(request.conn_id)
            if conn is None:
                return pb.TxResponse(error=_bad_conn())
            self.f.tx_options.append((request.opts.isolation, request.opts.read_only))
            if request.opts.read_only:
                conn.execute("PRAGMA query_only = 1")
            conn.execute("BEGIN")
            tx_id = self.f.new_id("tx")
            self.f.txs[tx_id] = request.conn_id
            return pb.TxResponse(result=tx_id)

    def _end_tx(self, tx_id: str, sql: str) -> mpb.Error | None:
        conn_id = self.f.txs.pop(tx_id, None)
        if conn_id is None:
            return mpb.Error(
                message="sql: transaction has already been committed or rolled back",
                code=mpb.ERROR_CODE_SQL_TX_DONE,
            )
        conn = self.f.conns[conn_id]
        try:
            conn.execute(sql)
        except sqlite3.Error as e:
            return _pq_error(e)
        finally:
            conn.execute("PRAGMA query_only = 0")
        return None

    def TxCommit(self, request: pb.TxCommitRequest, context: Any) -> pb.TxCommitResponse:
        with self.f.lock:
            self._track("TxCommit")
            return pb.TxCommitResponse(error=self._end_tx(request.tx_id, "COMMIT"))

    def TxRollback(self, request: pb.TxRollbackRequest, context: Any) -> pb.TxRollbackResponse:
        with self.f.lock:
            self._track("TxRollback")
            return pb.TxRollbackResponse(error=self._end_tx(request.tx_id, "ROLLBACK"))

    # -- statements -----------------------------------------------------------------------

    def Stmt(self, request: pb.StmtRequest, context: Any) -> pb.StmtResponse:
        with self.f.lock:
            self._track("Stmt")
            conn = self._conn(request.conn_id)
            if conn is None:
                return pb.StmtResponse(error=_bad_conn())
            st_id = self.f.new_id("st")
            self.f.stmts[st_id] = (request.conn_id, request.q)
            return pb.StmtResponse(result=st_id)

    def StmtClose(self, request: pb.StmtCloseRequest, context: Any) -> pb.StmtCloseResponse:
        with self.f.lock:
            self._track("StmtClose")
            del self.f.stmts[request.st_id]
            return pb.StmtCloseResponse()

    def StmtNumInput(
        self, request: pb.StmtNumInputRequest, context: Any
    ) -> pb.StmtNumInputResponse:
        with self.f.lock:
            _, q = self.f.stmts[request.st_id]
            return pb.StmtNumInputResponse(result=len(set(re.findall(r"\$(\d+)", q))))

    def StmtExec(self, request: pb.StmtExecRequest, context: Any) -> pb.StmtExecResponse:
        with self.f.lock:
            self._track("StmtExec")
            conn_id, q = self.f.stmts[request.st_id]
            args = [_arg(a.value) for a in request.args]
            self.f.queries.append(("StmtExec", q, args))
            try:
                cur = self._exec(self.f.conns[conn_id], q, args)
                return pb.StmtExecResponse(result=self._result(cur))
            except sqlite3.Error as e:
                return pb.StmtExecResponse(error=_pq_error(e))

    def StmtQuery(self, request: pb.StmtQueryRequest, context: Any) -> pb.StmtQueryResponse:
        with self.f.lock:
            self._track("StmtQuery")
            conn_id, q = self.f.stmts[request.st_id]
            args = [_arg(a.value) for a in request.args]
            try:
                rows_id = self._open_rows(self.f.conns[conn_id], q, args)
                return pb.StmtQueryResponse(result=rows_id)
            except sqlite3.Error as e:
                return pb.StmtQueryResponse(error=_pq_error(e))

    # -- rows -----------------------------------------------------------------------------

    def RowsColumns(self, request: pb.RowsColumnsRequest, context: Any) -> pb.RowsColumnsResponse:
        with self.f.lock:
            self._track("RowsColumns")
            return pb.RowsColumnsResponse(result=self.f.rows[request.rows_id].columns)

    def RowsClose(self, request: pb.RowsCloseRequest, context: Any) -> pb.RowsCloseResponse:
        with self.f.lock:
            self._track("RowsClose")
            del self.f.rows[request.rows_id]
            return pb.RowsCloseResponse()

    def RowsNext(self, request: pb.RowsNextRequest, context: Any) -> pb.RowsNextResponse:
        with self.f.lock:
            self._track("RowsNext")
            rows = self.f.rows[request.rows_id]
            if len(request.dest) != len(rows.columns):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"dest has {len(request.dest)} values for {len(rows.columns)} columns",
                )
            row = next(rows.rows, None)
            if row is None:
                return pb.RowsNextResponse(
                    dest=request.dest, error=mpb.Error(message="EOF", code=mpb.ERROR_CODE_EOF)
                )
            return pb.RowsNextResponse(
                dest=[_value(v, t) for v, t in zip(row, rows.types, strict=True)]
            )

    def RowsHasNextResultSet(
        self, request: pb.RowsHasNextResultSetRequest, context: Any
    ) -> pb.RowsHasNextResultSetResponse:
        return pb.RowsHasNextResultSetResponse(result=False)

    def RowsNextResultSet(
        self, request: pb.RowsNextResultSetRequest, context: Any
    ) -> pb.RowsNextResultSetResponse:
        return pb.RowsNextResultSetResponse(error=mpb.Error(message="EOF", code=mpb.ERROR_CODE_EOF))

    def RowsColumnTypePrecisionScale(
        self, request: pb.RowsColumnTypePrecisionScaleRequest, context: Any
    ) -> pb.RowsColumnTypePrecisionScaleResponse:
        return pb.RowsColumnTypePrecisionScaleResponse(result_3=False)

    def RowsColumnTypeDatabaseTypeName(
        self, request: pb.RowsColumnTypeDatabaseTypeNameRequest, context: Any
    ) -> pb.RowsColumnTypeDatabaseTypeNameResponse:
        with self.f.lock:
            self._track("RowsColumnTypeDatabaseTypeName")
            rows = self.f.rows[request.rows_id]
            return pb.RowsColumnTypeDatabaseTypeNameResponse(result=rows.types[request.index])


class _SecretInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        if ("mmplugin-secret", SECRET) not in tuple(details.invocation_metadata or ()):

            def deny(request: Any, context: grpc.ServicerContext) -> Any:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing launch secret")

            return grpc.unary_unary_rpc_method_handler(deny)
        return continuation(details)


def _config_api(fake: Fake) -> grpc.GenericRpcHandler:
    """PluginAPIService.GetConfig only: what plugin.store reads (replicas, driver name)."""
    from mmplugin.v1 import api_pb2

    def get_config(request: api_pb2.GetConfigRequest, context: Any) -> api_pb2.GetConfigResponse:
        fake.calls.append("GetConfig")
        sql = mpb.SqlSettings(driver_name="postgres", data_source_replicas=fake.replicas)
        return api_pb2.GetConfigResponse(result=mpb.Config(sql_settings=sql))

    handler = grpc.unary_unary_rpc_method_handler(
        get_config,
        request_deserializer=api_pb2.GetConfigRequest.FromString,
        response_serializer=api_pb2.GetConfigResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(
        "mmplugin.v1.PluginAPIService", {"GetConfig": handler}
    )


@dataclass
class Served:
    fake: Fake
    socket: str
    server: grpc.Server

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"unix:{self.socket}")


def serve(directory: Path | None = None) -> Iterator[Served]:
    """Serve a fresh fake on a unix socket; a generator for pytest fixtures."""
    with tempfile.TemporaryDirectory(prefix="db") as d:
        base = Path(d)
        fake = Fake(path=str((directory or base) / "mattermost.sqlite"))
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4), interceptors=[_SecretInterceptor()]
        )
        driver_pb2_grpc.add_PluginDriverServiceServicer_to_server(FakeDriver(fake), server)
        server.add_generic_rpc_handlers((_config_api(fake),))
        socket = str(base / "api.sock")
        server.add_insecure_port(f"unix:{socket}")
        server.start()
        try:
            yield Served(fake, socket, server)
        finally:
            server.stop(None)
            for conn in fake.conns.values():
                conn.close()


# -- fixtures (imported by the test modules) --------------------------------------------------


@pytest.fixture(name="served")
def served_fixture() -> Iterator[Served]:
    """A fresh fake on its own socket."""
    yield from serve()


@pytest.fixture(name="client")
def client_fixture(served: Served) -> Iterator[DriverClient]:
    channel = served.channel()
    try:
        yield DriverClient(stub_invoker(channel, [("mmplugin-secret", SECRET)], timeout=10))
    finally:
        channel.close()


@pytest.fixture(name="store")
def store_fixture(client: DriverClient) -> Store:
    return Store(client)
