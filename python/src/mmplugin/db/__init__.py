"""mmplugin.db: a PEP 249 (DB-API 2.0) module for the Mattermost database.

Connections come from the Mattermost server's ``plugin.Driver`` through mmplugin-host, exactly
as Go plugins get theirs through ``pluginapi.Store``: the plugin never sees credentials, the
server owns the connections. In a plugin::

    with self.store.connect() as conn:
        cur = conn.execute("SELECT username FROM users WHERE id = %s", (user_id,))
        (username,) = cur.fetchone()

``paramstyle`` is ``pyformat`` (``%s`` and ``%(name)s``, psycopg's), translated to the server
driver's ``$1`` placeholders. SQLAlchemy Core works through the ``postgresql+mmplugin`` dialect
(``mmplugin.db.dialect``). See docs/sdk/database.md.
"""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import Any

from ._values import Json
from .connection import Column, Connection, Cursor
from .exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .store import Store, default_store, plugin_store, set_default_store

apilevel = "2.0"
threadsafety = 1
"""Threads may share the module, not connections: open one connection per thread."""
paramstyle = "pyformat"


def connect(*, replica: bool = False, autocommit: bool = False) -> Connection:
    """A connection to the plugin's Mattermost database (PEP 249's constructor).

    Uses the running plugin's store (``plugin.store``); ``replica=True`` prefers a read
    replica when the server has one.
    """
    store = default_store()
    if replica:
        return store.connect_replica(autocommit=autocommit)
    return store.connect(autocommit=autocommit)


# -- PEP 249 type objects and constructors -------------------------------------------------


class _TypeSet(frozenset[str]):
    """Compares equal to any database type name it contains (PEP 249 type objects)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other.upper() in self
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = frozenset.__hash__


STRING = _TypeSet({"TEXT", "VARCHAR", "CHAR", "BPCHAR", "NAME", "UUID", "JSON", "JSONB"})
BINARY = _TypeSet({"BYTEA"})
NUMBER = _TypeSet({"INT2", "INT4", "INT8", "FLOAT4", "FLOAT8", "NUMERIC", "OID", "BOOL"})
DATETIME = _TypeSet({"DATE", "TIME", "TIMETZ", "TIMESTAMP", "TIMESTAMPTZ", "INTERVAL"})
ROWID = _TypeSet({"OID"})

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(value: Any) -> bytes:
    return bytes(value)


__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Column",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "Json",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Store",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "apilevel",
    "connect",
    "default_store",
    "paramstyle",
    "plugin_store",
    "set_default_store",
    "threadsafety",
]
