"""The PEP 249 exception hierarchy, and how Driver errors map onto it.

The protocol carries a database error as its message plus, for the sentinels Go's
``database/sql`` compares with (``driver.ErrBadConn``, ``sql.ErrTxDone``, …), a code. The
PostgreSQL SQLSTATE does not cross (Mattermost's RPC keeps ``*pq.Error`` but our ``Error``
message has only the text), so the class of a server error is chosen from lib/pq's message
wording: good enough for ``except IntegrityError`` around an insert, and the full server message
is always kept.
"""

from __future__ import annotations

import re

__all__ = [
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
]


class Warning(Exception):
    """Important warnings, such as data truncation (PEP 249)."""


class Error(Exception):
    """Base class of every mmplugin.db error (PEP 249)."""


class InterfaceError(Error):
    """A problem of this DB-API module or its connection to the host, not of the database."""


class DatabaseError(Error):
    """An error reported by the database."""


class DataError(DatabaseError):
    """The data could not be processed: value out of range, division by zero, bad input."""


class OperationalError(DatabaseError):
    """The database's operation failed: connection lost, transaction aborted, timeout."""


class IntegrityError(DatabaseError):
    """A constraint was violated: unique, foreign key, not null, check."""


class InternalError(DatabaseError):
    """The database hit an internal error (a cursor or transaction no longer valid)."""


class ProgrammingError(DatabaseError):
    """The statement is wrong: syntax error, missing table, wrong number of parameters."""


class NotSupportedError(DatabaseError):
    """The database or the Driver protocol does not support the requested operation."""


# lib/pq formats a server error as "pq: <message>"; these are PostgreSQL's own message texts
# (src/backend/utils/errcodes and the executor) for the classes PEP 249 distinguishes.
_CLASSIFIERS: tuple[tuple[re.Pattern[str], type[DatabaseError]], ...] = (
    (
        re.compile(
            r"violates (unique|foreign key|not-null|check|exclusion) constraint"
            r"|duplicate key value|null value in column",
            re.I,
        ),
        IntegrityError,
    ),
    (
        re.compile(
            r"syntax error|does not exist|already exists|permission denied|must appear in the"
            r"|ambiguous|could not determine data type|bind message supplies"
            r"|got \d+ parameters but the statement requires",
            re.I,
        ),
        ProgrammingError,
    ),
    (
        re.compile(
            r"invalid input (syntax|value)|out of range|division by zero|value too long"
            r"|invalid byte sequence|numeric field overflow",
            re.I,
        ),
        DataError,
    ),
    (
        # SQLSTATE class 25 (invalid transaction state), InternalError as in psycopg.
        re.compile(
            r"read-only transaction|no transaction is in progress|current transaction is aborted",
            re.I,
        ),
        InternalError,
    ),
    (
        re.compile(
            r"could not serialize|deadlock detected"
            r"|canceling statement|terminating connection|connection refused|bad connection"
            r"|timeout",
            re.I,
        ),
        OperationalError,
    ),
)


def classify(message: str) -> type[DatabaseError]:
    """The PEP 249 class for a database error message (DatabaseError when nothing matches)."""
    for pattern, cls in _CLASSIFIERS:
        if pattern.search(message):
            return cls
    return DatabaseError
