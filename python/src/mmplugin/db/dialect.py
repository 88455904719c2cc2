"""SQLAlchemy dialect ``postgresql+mmplugin``: SQLAlchemy on the Mattermost database.

Registered through the ``sqlalchemy.dialects`` entry point, so in a plugin::

    from sqlalchemy import create_engine, select

    engine = create_engine("postgresql+mmplugin://", creator=self.store.connect, pool_size=2)
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.username).where(users.c.id == user_id)).all()

It is SQLAlchemy's PostgreSQL dialect (SQL compilation, reflection, types) on mmplugin.db as
its DBAPI. What differs from psycopg is what the Driver protocol can express: transaction
isolation and read-only mode are ``Driver.Tx`` options (never ``SET SESSION …``, which would
leak into the server's connection pool once the connection is returned), there are no
server-side cursors and no two-phase commit.

Without ``creator``, the engine calls ``mmplugin.db.connect()`` on the running plugin's store;
``postgresql+mmplugin://?replica=true`` prefers a read replica.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal, cast

from sqlalchemy import types as sqltypes
from sqlalchemy import util
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine.url import URL

from . import exceptions
from .connection import Connection

IsolationLevel = Literal[
    "SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED", "READ UNCOMMITTED", "AUTOCOMMIT"
]
_LEVELS: tuple[IsolationLevel, ...] = (
    "READ UNCOMMITTED",
    "READ COMMITTED",
    "REPEATABLE READ",
    "SERIALIZABLE",
)


class _JSON(JSON):
    # mmplugin.db already returns json/jsonb values parsed, as psycopg does.
    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None


class _JSONB(JSONB):
    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None


class MMPluginDialect(PGDialect):
    """SQLAlchemy's PostgreSQL dialect over mmplugin.db."""

    driver = "mmplugin"
    supports_statement_cache = True
    default_paramstyle = "pyformat"
    supports_sane_multi_rowcount = True  # executemany reports the summed rows affected
    supports_server_side_cursors = False
    supports_native_json_deserialization = True
    supports_native_decimal = True  # NUMERIC comes back as Decimal, Decimal goes as text
    description_encoding = None

    colspecs = util.update_copy(
        PGDialect.colspecs,
        {sqltypes.JSON: _JSON, JSON: _JSON, JSONB: _JSONB},
    )

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        from mmplugin import db

        return db

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        if url.host or url.username or url.database:
            raise exceptions.InterfaceError(
                "postgresql+mmplugin:// takes no host, user or database: the Mattermost server "
                "chooses the database; use create_engine('postgresql+mmplugin://', "
                "creator=plugin.store.connect)"
            )
        opts: dict[str, Any] = {}
        for key, value in url.query.items():
            if key != "replica":
                raise exceptions.InterfaceError(
                    f"unknown postgresql+mmplugin:// option {key!r}: only ?replica=true exists"
                )
            opts["replica"] = util.asbool(value)
        return [], opts

    # -- transactions through Driver.Tx options --------------------------------------------

    def get_isolation_level_values(self, dbapi_conn: Any) -> tuple[IsolationLevel, ...]:
        return ("AUTOCOMMIT", *_LEVELS)

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        conn = _conn(dbapi_connection)
        level = level.replace("_", " ").upper()
        if level == "AUTOCOMMIT":
            conn.autocommit = True
        else:
            conn.autocommit = False
            conn.isolation_level = level

    def get_isolation_level(self, dbapi_connection: Any) -> IsolationLevel:
        conn = _conn(dbapi_connection)
        if conn.autocommit:
            return "AUTOCOMMIT"
        if conn.isolation_level:
            return cast(IsolationLevel, conn.isolation_level.upper())
        # The server's default for new transactions (PostgreSQL's default_transaction_isolation).
        cur = conn.cursor()
        try:
            row = cur.execute("show transaction isolation level").fetchone()
        finally:
            cur.close()
        return cast(IsolationLevel, str(row[0] if row else "read committed").upper())

    def detect_autocommit_setting(self, dbapi_conn: Any) -> bool:
        return _conn(dbapi_conn).autocommit

    def set_readonly(self, connection: Any, value: bool) -> None:
        _conn(connection).read_only = bool(value)

    def get_readonly(self, connection: Any) -> bool:
        return _conn(connection).read_only

    def set_deferrable(self, connection: Any, value: bool) -> None:
        if value:
            raise exceptions.NotSupportedError(
                "DEFERRABLE transactions are not supported: the Driver protocol's transaction "
                "options are isolation level and read-only only"
            )

    def get_deferrable(self, connection: Any) -> bool:
        return False

    # -- connection health -----------------------------------------------------------------

    def do_ping(self, dbapi_connection: Any) -> bool:
        _conn(dbapi_connection).ping()
        return True

    def is_disconnect(self, e: Exception, connection: Any, cursor: Any) -> bool:
        if isinstance(e, exceptions.InterfaceError):
            return "connection is closed" in str(e)
        if isinstance(e, exceptions.OperationalError):
            text = str(e)
            return "no longer usable" in text or "could not reach" in text
        return False

    def do_begin_twophase(self, connection: Any, xid: Any) -> None:
        raise exceptions.NotSupportedError("two-phase commit is not supported by mmplugin.db")


def _conn(dbapi_connection: Any) -> Connection:
    # SQLAlchemy hands over either the DBAPI connection or its pool wrapper.
    conn = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
    if not isinstance(conn, Connection):
        raise exceptions.InterfaceError(
            f"postgresql+mmplugin needs mmplugin.db connections, got {type(conn).__name__}: "
            "pass creator=plugin.store.connect"
        )
    return conn


dialect = MMPluginDialect
