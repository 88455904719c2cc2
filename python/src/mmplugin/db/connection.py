"""``Connection`` and ``Cursor``: PEP 249 over the server's ``plugin.Driver`` handles.

One ``Connection`` is one server-side connection (``Driver.Conn``: the server takes it from its
own pool and keeps it for this plugin until ``close``). Transactions are PEP 249's implicit
ones: the first statement after connect/commit/rollback begins one (``Driver.Tx``), ``commit``
and ``rollback`` end it; with ``autocommit = True`` every statement stands alone.

Results are streamed: each row is one ``RowsNext`` round trip, as for Go plugins. The server's
driver cannot read two results on one connection at once, so when a cursor starts a statement
while another cursor of the same connection is still reading, the other cursor's remaining
rows are fetched into memory first (it can still be read; psycopg behaves the same way because
it always fetches everything).
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple

from . import exceptions as exc
from ._paramstyle import Placeholder, translate
from ._transport import ISOLATION_LEVELS, DriverClient, DriverError, ExecResult
from ._values import DriverValue, from_driver, needs_type_name, to_driver

Params = Sequence[Any] | Mapping[str, Any]
Row = tuple[Any, ...]


class Column(NamedTuple):
    """One entry of ``Cursor.description`` (PEP 249's seven items).

    Only ``name`` is known without extra round trips; ``Cursor.column_type_names()`` asks the
    server for the database type names.
    """

    name: str
    type_code: Any = None
    display_size: int | None = None
    internal_size: int | None = None
    precision: int | None = None
    scale: int | None = None
    null_ok: bool | None = None


def driver_error(e: DriverError) -> exc.Error:
    """A Go error from the server as the PEP 249 exception to raise."""
    from mmplugin.v1 import models_pb2 as mpb

    if e.code == mpb.ERROR_CODE_DRIVER_BAD_CONN:
        return exc.OperationalError(
            f"the server's database connection is no longer usable ({e.message}): close this "
            "connection and open a new one"
        )
    if e.code == mpb.ERROR_CODE_SQL_CONN_DONE:
        return exc.InterfaceError(f"the connection is already closed ({e.message})")
    if e.code == mpb.ERROR_CODE_SQL_TX_DONE:
        return exc.InternalError(f"the transaction is already over ({e.message})")
    return exc.classify(e.message)(e.message)


# Statements whose first keyword means they return rows; RETURNING anywhere does too. Others
# run through ConnExec, which reports rows affected (UPDATE, DELETE, INSERT, DDL).
_QUERY_KEYWORDS = frozenset(
    {"SELECT", "WITH", "VALUES", "SHOW", "TABLE", "EXPLAIN", "FETCH", "(", "DESCRIBE"}
)
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"\(|[A-Za-z]+")
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


def returns_rows(sql: str) -> bool:
    """Whether a statement produces a result set (decides ConnQuery vs ConnExec)."""
    m = _FIRST_WORD.match(sql, _LEADING.match(sql).end())  # type: ignore[union-attr]
    if m is None:
        return False
    return m.group(0).upper() in _QUERY_KEYWORDS or _RETURNING.search(sql) is not None


class _State:
    """What must outlive the Connection object for its finalizer to release the server side."""

    def __init__(self, client: DriverClient, conn_id: str) -> None:
        self.client = client
        self.conn_id = conn_id
        self.tx_id: str | None = None
        self.closed = False


def _release(state: _State) -> None:
    """Finalizer of a Connection that was never closed: give the connection back to the server."""
    if state.closed:
        return
    state.closed = True
    warnings.warn(
        "an mmplugin.db connection was garbage-collected without close(): use "
        "`with store.connect() as conn:` so the server's connection is returned at once",
        ResourceWarning,
        stacklevel=1,
    )
    try:
        if state.tx_id is not None:
            state.client.tx_rollback(state.tx_id)
        state.client.conn_close(state.conn_id)
    except Exception:
        pass  # the server closes the plugin's connections when the plugin stops


class Connection:
    """A PEP 249 connection to the Mattermost database (through ``plugin.Driver``).

    Use it as a context manager: the block's end commits (or rolls back after an exception)
    and closes the connection, returning it to the server's pool::

        with plugin.store.connect() as conn:
            rows = conn.execute("SELECT id FROM users WHERE username = %s", (name,)).fetchall()

    Not safe to share between threads (``threadsafety = 1``): open one per thread.
    """

    Warning = exc.Warning
    Error = exc.Error
    InterfaceError = exc.InterfaceError
    DatabaseError = exc.DatabaseError
    DataError = exc.DataError
    OperationalError = exc.OperationalError
    IntegrityError = exc.IntegrityError
    InternalError = exc.InternalError
    ProgrammingError = exc.ProgrammingError
    NotSupportedError = exc.NotSupportedError

    def __init__(
        self,
        client: DriverClient,
        conn_id: str,
        *,
        placeholder: Placeholder = "dollar",
        autocommit: bool = False,
    ) -> None:
        self._client = client
        self._state = _State(client, conn_id)
        self._finalizer = weakref.finalize(self, _release, self._state)
        self._placeholder: Placeholder = placeholder
        self._autocommit = autocommit
        self._lock = threading.RLock()
        self._reading: Cursor | None = None  # the cursor whose rows are open on the server
        self.isolation_level: str | None = None
        """Isolation level of the next transaction: None (the server's default, READ
        COMMITTED on PostgreSQL), "READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ" or
        "SERIALIZABLE"."""
        self.read_only = False
        """Whether the next transaction is read-only."""

    # -- PEP 249 ---------------------------------------------------------------------------

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        with self._lock:
            self._check_open()
            tx_id = self._state.tx_id
            if tx_id is None:
                return
            self._finish_reading()
            self._state.tx_id = None
            try:
                self._client.tx_commit(tx_id)
            except DriverError as e:
                raise driver_error(e) from None

    def rollback(self) -> None:
        with self._lock:
            self._check_open()
            tx_id = self._state.tx_id
            if tx_id is None:
                return
            try:
                self._finish_reading()  # an open cursor keeps its rows, as with psycopg
            except exc.Error:
                self._drop_reading()
            self._state.tx_id = None
            try:
                self._client.tx_rollback(tx_id)
            except DriverError as e:
                raise driver_error(e) from None

    def close(self) -> None:
        """Roll back an open transaction and return the connection to the server.

        Closing twice is allowed; every other call on a closed connection raises
        ``InterfaceError``.
        """
        with self._lock:
            if self._state.closed:
                return
            try:
                self._drop_reading()
                if self._state.tx_id is not None:
                    tx_id, self._state.tx_id = self._state.tx_id, None
                    # A broken transaction is ended by closing the connection anyway.
                    with contextlib.suppress(DriverError):
                        self._client.tx_rollback(tx_id)
                self._client.conn_close(self._state.conn_id)
            except DriverError as e:
                raise driver_error(e) from None
            finally:
                self._state.closed = True
                self._finalizer.detach()

    # -- extensions ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._state.closed

    @property
    def autocommit(self) -> bool:
        """True: every statement is its own transaction (no ``Driver.Tx``)."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        with self._lock:
            if self._state.tx_id is not None and value != self._autocommit:
                raise exc.ProgrammingError(
                    "cannot change autocommit inside a transaction: commit() or rollback() first"
                )
            self._autocommit = bool(value)

    @property
    def in_transaction(self) -> bool:
        return self._state.tx_id is not None

    def execute(self, operation: str, parameters: Params | None = None) -> Cursor:
        """Shortcut: a new cursor with ``operation`` executed on it."""
        return self.cursor().execute(operation, parameters)

    def ping(self) -> None:
        """Check the server connection (``Driver.ConnPing``); raises OperationalError if not."""
        with self._lock:
            self._check_open()
            try:
                self._client.conn_ping(self._state.conn_id)
            except DriverError as e:
                raise driver_error(e) from None

    def __enter__(self) -> Connection:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._state.closed:
            return
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._state.closed else f"conn {self._state.conn_id}"
        return f"<mmplugin.db.Connection {state}>"

    # -- for Cursor ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state.closed:
            raise exc.InterfaceError("the connection is closed")

    def _begin_command(self, cursor: Cursor) -> None:
        """Prepare the server connection for a new statement of ``cursor``."""
        self._check_open()
        if self._reading is not None:
            if self._reading is cursor:
                self._drop_reading()
            else:
                self._finish_reading()
        if not self._autocommit and self._state.tx_id is None:
            level = self.isolation_level.upper() if self.isolation_level else None
            if level not in ISOLATION_LEVELS:
                raise exc.ProgrammingError(
                    f"unknown isolation level {self.isolation_level!r}: use one of "
                    + ", ".join(repr(k) for k in ISOLATION_LEVELS if k)
                )
            try:
                self._state.tx_id = self._client.tx(
                    self._state.conn_id, ISOLATION_LEVELS[level], self.read_only
                )
            except DriverError as e:
                raise driver_error(e) from None

    def _finish_reading(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None:
            reading._buffer_rest()

    def _drop_reading(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None:
            reading._close_rows()


class Cursor:
    """A PEP 249 cursor. Iterating it yields the remaining rows as tuples."""

    arraysize: int = 1

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._client = connection._client
        self._closed = False
        self._rows_id: str | None = None
        self._columns: list[str] = []
        self._type_names: dict[int, str] = {}
        self._buffer: deque[Row] = deque()
        self._read = 0
        self.description: list[Column] | None = None
        """One Column per result column, or None when the statement returned no rows."""
        self.rowcount = -1
        """Rows affected (DML) or returned (queries, once all are fetched); -1 if unknown."""
        self.lastrowid: int | None = None
        """The driver's LastInsertId, where it has one (PostgreSQL has none: use RETURNING)."""

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._conn._lock:
            if self._conn._reading is self:
                self._conn._drop_reading()
            self._buffer.clear()
            self._closed = True

    def execute(self, operation: str, parameters: Params | None = None) -> Cursor:
        """Run one statement; ``parameters`` fill its ``%s`` / ``%(name)s`` placeholders."""
        with self._conn._lock:
            self._check_open()
            sql, values = translate(operation, parameters, self._conn._placeholder)
            args = [to_driver(v) for v in values]
            self._conn._begin_command(self)
            self._reset()
            conn_id = self._conn._state.conn_id
            try:
                if returns_rows(sql):
                    self._open_rows(self._client.conn_query(conn_id, sql, args))
                else:
                    self._done(self._client.conn_exec(conn_id, sql, args))
            except DriverError as e:
                raise driver_error(e) from None
            return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Params]) -> Cursor:
        """Run one statement for each parameter set: prepared once (``Driver.Stmt``), executed
        per set; ``rowcount`` is the total. Result rows (RETURNING) are discarded."""
        with self._conn._lock:
            self._check_open()
            batches = [translate(operation, p, self._conn._placeholder) for p in seq_of_parameters]
            self._conn._begin_command(self)
            self._reset()
            if not batches:
                self.rowcount = 0
                return self
            total = 0
            conn_id = self._conn._state.conn_id
            try:
                st_id = self._client.stmt(conn_id, batches[0][0])
                try:
                    for _, values in batches:
                        result = self._client.stmt_exec(st_id, [to_driver(v) for v in values])
                        total += result.rows_affected or 0
                finally:
                    self._client.stmt_close(st_id)
            except DriverError as e:
                raise driver_error(e) from None
            self.rowcount = total
            return self

    def fetchone(self) -> Row | None:
        with self._conn._lock:
            self._check_result()
            return self._next_row()

    def fetchmany(self, size: int | None = None) -> list[Row]:
        with self._conn._lock:
            self._check_result()
            rows: list[Row] = []
            for _ in range(self.arraysize if size is None else size):
                row = self._next_row()
                if row is None:
                    break
                rows.append(row)
            return rows

    def fetchall(self) -> list[Row]:
        with self._conn._lock:
            self._check_result()
            rows: list[Row] = []
            while (row := self._next_row()) is not None:
                rows.append(row)
            return rows

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def nextset(self) -> bool | None:
        """Move to the next result set of a multi-statement query (True), or None if none."""
        with self._conn._lock:
            self._check_result()
            rows_id = self._rows_id
            if rows_id is None:
                return None
            try:
                if not self._client.rows_has_next_result_set(rows_id):
                    return None
                self._client.rows_next_result_set(rows_id)
                self._columns = self._client.rows_columns(rows_id)
            except DriverError as e:
                raise driver_error(e) from None
            self._type_names = {}
            self._read = 0
            self.rowcount = -1
            self.description = [Column(name) for name in self._columns]
            return True

    def column_type_names(self) -> list[str]:
        """The database type names of the current result's columns (``"INT8"``, ``"TEXT"``,
        ``"JSONB"``…); one round trip per column not asked before. Needs an open result."""
        with self._conn._lock:
            self._check_result()
            if self._rows_id is None:
                raise exc.ProgrammingError(
                    "column types are only known while the result is open: call this before "
                    "fetching the last row"
                )
            return [self._type_name(i) for i in range(len(self._columns))]

    def callproc(self, procname: str, parameters: Params | None = None) -> Any:
        raise exc.NotSupportedError(
            "callproc is not supported: use execute('SELECT * FROM fn(%s)', args) or "
            "execute('CALL proc(%s)', args)"
        )

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored (PEP 249 allows it)."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """Accepted and ignored (PEP 249 allows it)."""

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise exc.InterfaceError("the cursor is closed")
        self._conn._check_open()

    def _check_result(self) -> None:
        self._check_open()
        if self.description is None:
            raise exc.ProgrammingError(
                "no result to fetch: the last statement did not return rows (or none was run)"
            )

    def _reset(self) -> None:
        self._rows_id = None
        self._columns = []
        self._type_names = {}
        self._buffer.clear()
        self._read = 0
        self.description = None
        self.rowcount = -1
        self.lastrowid = None

    def _done(self, result: ExecResult) -> None:
        self.rowcount = -1 if result.rows_affected is None else result.rows_affected
        self.lastrowid = result.last_id

    def _open_rows(self, rows_id: str) -> None:
        try:
            columns = self._client.rows_columns(rows_id)
        except BaseException:
            self._client.rows_close(rows_id)
            raise
        if not columns:
            # A statement without a result (e.g. a WITH … UPDATE without RETURNING).
            self._client.rows_close(rows_id)
            return
        self._rows_id = rows_id
        self._columns = columns
        self.description = [Column(name) for name in columns]
        self._conn._reading = self

    def _type_name(self, index: int) -> str:
        name = self._type_names.get(index)
        if name is None:
            assert self._rows_id is not None
            name = self._client.rows_column_type_database_type_name(self._rows_id, index)
            self._type_names[index] = name = name.upper()
        return name

    def _read_row(self) -> Row | None:
        """The next row from the server, converted; None at the end (rows closed)."""
        rows_id = self._rows_id
        if rows_id is None:
            return None
        try:
            raw = self._client.rows_next(rows_id, len(self._columns))
            if raw is None:
                self._close_rows()
                self.rowcount = self._read
                return None
            row = tuple(self._convert(i, v) for i, v in enumerate(raw))
        except DriverError as e:
            self._close_rows()
            raise driver_error(e) from None
        self._read += 1
        return row

    def _convert(self, index: int, value: DriverValue) -> Any:
        if needs_type_name(value):
            return from_driver(value, self._type_name(index))
        return value

    def _next_row(self) -> Row | None:
        if self._buffer:
            return self._buffer.popleft()
        return self._read_row()

    def _buffer_rest(self) -> None:
        """Fetch every remaining row into memory and close the rows on the server."""
        while (row := self._read_row()) is not None:
            self._buffer.append(row)

    def _close_rows(self) -> None:
        rows_id, self._rows_id = self._rows_id, None
        if self._conn._reading is self:
            self._conn._reading = None
        if rows_id is not None:
            try:
                self._client.rows_close(rows_id)
            except DriverError as e:
                raise driver_error(e) from None
