"""SQLAlchemy Core through the postgresql+mmplugin dialect, on the fake Driver."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
import sqlalchemy as sa
from db_fakedriver import (  # noqa: F401 (the fixtures)
    Served,
    client_fixture,
    served_fixture,
    store_fixture,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.pool import NullPool

import mmplugin.db as db
from mmplugin.db import Store
from mmplugin.db.dialect import MMPluginDialect

metadata = sa.MetaData()
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("props", JSONB),
    sa.Column("balance", sa.Numeric(10, 2)),
    sa.Column("ref", sa.Uuid),
    sa.Column("created", sa.DateTime(timezone=True)),
)


@pytest.fixture
def engine(store: Store, served: Served) -> sa.Engine:
    served.fake.column_types.update(
        {
            "active": "BOOL",
            "props": "JSONB",
            "balance": "NUMERIC",
            "ref": "UUID",
            "created": "TIMESTAMPTZ",
        }
    )
    engine = sa.create_engine("postgresql+mmplugin://", creator=store.connect, poolclass=NullPool)
    with store.connect() as conn:  # sqlite DDL: the PostgreSQL DDL would not run on the fake
        conn.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, "
            "active INTEGER NOT NULL, props TEXT, balance TEXT, ref TEXT, created TEXT)"
        )
    return engine


def test_entry_point_registers_the_dialect() -> None:
    url = sa.engine.make_url("postgresql+mmplugin://")
    assert url.get_dialect() is MMPluginDialect
    assert MMPluginDialect.import_dbapi() is db


def test_insert_and_select(engine: sa.Engine, served: Served) -> None:
    ref = uuid.uuid4()
    created = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        result = conn.execute(
            users.insert().returning(users.c.id),
            {
                "username": "alice",
                "props": {"theme": "dark", "n": [1, 2]},
                "balance": decimal.Decimal("10.25"),
                "ref": ref,
                "created": created,
            },
        )
        alice_id = result.scalar_one()
        conn.execute(
            users.insert(),
            [{"username": "bob", "active": True}, {"username": "carol", "active": False}],
        )

    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == alice_id)).one()
        assert row.username == "alice"
        assert row.active is True
        assert row.props == {"theme": "dark", "n": [1, 2]}
        assert row.balance == decimal.Decimal("10.25")
        assert row.ref == ref
        assert row.created == created

        names = conn.execute(
            sa.select(users.c.username)
            .where(users.c.active.is_(True), users.c.username.like("%o%"))
            .order_by(users.c.username)
        ).scalars()
        assert list(names) == ["bob"]
        count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
        assert count == 3

    with engine.begin() as conn:  # several rows with RETURNING: one multi-VALUES statement
        result = conn.execute(
            users.insert().returning(users.c.username),
            [{"username": "dave"}, {"username": "erin"}],
        )
        assert result.scalars().all() == ["dave", "erin"]
    # SQLAlchemy compiled pyformat; the server saw PostgreSQL's $n placeholders.
    selects = [q for m, q, _ in served.fake.queries if q.startswith("SELECT users.username")]
    assert selects and "$1" in selects[-1] and "%" not in selects[-1].replace("'%o%'", "")


def test_update_delete_rowcount_and_rollback(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(users.insert(), [{"username": f"u{i}"} for i in range(5)])
    with engine.begin() as conn:
        result = conn.execute(users.update().where(users.c.id > 2).values(active=False))
        assert result.rowcount == 3
    with engine.connect() as conn:
        conn.execute(users.delete())
        conn.rollback()
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 5
        active = conn.execute(
            sa.select(sa.func.count()).select_from(users).where(users.c.active.is_(False))
        ).scalar()
        assert active == 3


def test_integrity_error_is_wrapped(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(users.insert(), {"username": "dup"})
    with pytest.raises(sa.exc.IntegrityError, match="duplicate key value"), engine.begin() as c:
        c.execute(users.insert(), {"username": "dup"})


def test_isolation_level_and_readonly_become_tx_options(engine: sa.Engine, served: Served) -> None:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.execute(sa.select(users.c.id)).all()
    assert served.fake.tx_options[-1] == (4, False)  # sql.LevelRepeatableRead
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    before = served.fake.calls.count("Tx")
    with autocommit.connect() as conn:
        conn.execute(users.insert(), {"username": "solo"})
    assert served.fake.calls.count("Tx") == before
    with engine.connect().execution_options(postgresql_readonly=True) as conn:
        conn.execute(sa.select(users.c.id)).all()
    assert served.fake.tx_options[-1] == (0, True)
    # No session-level SET reached the server's connection (it goes back to its pool).
    assert not [q for _, q, _ in served.fake.queries if q.upper().startswith("SET")]


def test_url_options(store: Store) -> None:
    with pytest.raises(db.InterfaceError, match="no host"):
        sa.create_engine("postgresql+mmplugin://user@host/db").connect()
    db.set_default_store(store)
    try:
        engine = sa.create_engine("postgresql+mmplugin://?replica=true", poolclass=NullPool)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 41 + 1")).scalar() == 42
    finally:
        db.set_default_store(None)


def test_pre_ping_detects_dead_connection(store: Store, served: Served) -> None:
    engine = sa.create_engine(
        "postgresql+mmplugin://", creator=store.connect, pool_size=1, pool_pre_ping=True
    )
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
    for conn_id in list(served.fake.conns):  # the server dropped every connection
        served.fake.conns.pop(conn_id).close()
    with engine.connect() as conn:  # the pool noticed and opened a new one
        assert conn.execute(sa.text("SELECT 2")).scalar() == 2
    engine.dispose()
