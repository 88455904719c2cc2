"""mmplugin.db against the sqlite-backed fake Driver over a real gRPC unix socket."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import gc
import os
import uuid
import warnings

import grpc
import pytest
from db_fakedriver import (  # noqa: F401 (the fixtures)
    SECRET,
    Served,
    client_fixture,
    served_fixture,
    store_fixture,
)

import mmplugin.db as db
from mmplugin.db import Store
from mmplugin.db._transport import DriverClient, stub_invoker


@pytest.fixture
def users(store: Store) -> Store:
    with store.connect() as conn:
        conn.execute(
            "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL, age INTEGER, "
            "score REAL, avatar BLOB)"
        )
        cur = conn.cursor()
        cur.executemany(
            "INSERT INTO users (id, username, age, score, avatar) VALUES (%s, %s, %s, %s, %s)",
            [
                ("u1", "alice", 31, 1.5, b"\x00\xff"),
                ("u2", "bob", 42, None, None),
                ("u3", "carol", None, 3.25, b""),
            ],
        )
        assert cur.rowcount == 3
    return store


def test_module_globals() -> None:
    assert db.apilevel == "2.0"
    assert db.threadsafety == 1
    assert db.paramstyle == "pyformat"
    assert issubclass(db.IntegrityError, db.DatabaseError)
    assert issubclass(db.DatabaseError, db.Error)
    assert issubclass(db.InterfaceError, db.Error)
    assert db.STRING == "varchar" and db.NUMBER == "INT8" and db.STRING != "INT8"


def test_select_positional_and_named(users: Store, served: Served) -> None:
    with users.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT id, username, age, score, avatar FROM users WHERE age > %s", (35,))
        assert [c.name for c in cur.description or []] == [
            "id",
            "username",
            "age",
            "score",
            "avatar",
        ]
        assert cur.fetchall() == [("u2", "bob", 42, None, None)]
        assert cur.rowcount == 1

        cur.execute(
            "SELECT username FROM users WHERE id = %(id)s OR username = %(name)s OR id = %(id)s",
            {"id": "u1", "name": "carol"},
        )
        assert sorted(cur.fetchall()) == [("alice",), ("carol",)]
    # The statement reached the server with PostgreSQL placeholders, the named one reused.
    q = [q for m, q, _ in served.fake.queries if "%(name)s" not in q][-1]
    assert "id = $1 OR username = $2 OR id = $1" in q


def test_values_roundtrip_types(users: Store) -> None:
    with users.connect() as conn:
        rows = conn.execute("SELECT age, score, avatar FROM users ORDER BY id").fetchall()
    assert rows == [(31, 1.5, b"\x00\xff"), (42, None, None), (None, 3.25, b"")]
    assert isinstance(rows[0][0], int) and isinstance(rows[0][2], bytes)


def test_fetchone_fetchmany_iteration(users: Store) -> None:
    with users.connect() as conn:
        cur = conn.execute("SELECT id FROM users ORDER BY id")
        assert cur.rowcount == -1  # not known until all rows were read
        assert cur.fetchone() == ("u1",)
        cur.arraysize = 5
        assert cur.fetchmany() == [("u2",), ("u3",)]
        assert cur.fetchone() is None
        assert cur.rowcount == 3
        assert list(conn.execute("SELECT id FROM users ORDER BY id DESC")) == [
            ("u3",),
            ("u2",),
            ("u1",),
        ]


def test_dml_rowcount_and_commit(users: Store, served: Served) -> None:
    with users.connect() as conn:
        cur = conn.execute("UPDATE users SET age = age + 1 WHERE age IS NOT NULL")
        assert cur.rowcount == 2
        assert cur.description is None
        assert cur.lastrowid is None  # lib/pq has no LastInsertId
        with pytest.raises(db.ProgrammingError, match="did not return rows"):
            cur.fetchone()
    with users.connect() as conn:
        assert conn.execute("SELECT age FROM users WHERE id = 'u1'").fetchone() == (32,)
    assert "ConnExec" in served.fake.calls and "TxCommit" in served.fake.calls


def test_rollback_discards(users: Store) -> None:
    conn = users.connect()
    conn.execute("DELETE FROM users")
    assert conn.in_transaction
    conn.rollback()
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (3,)
    conn.close()


def test_context_manager_rolls_back_on_error(users: Store) -> None:
    with pytest.raises(RuntimeError), users.connect() as conn:
        conn.execute("DELETE FROM users")
        raise RuntimeError("boom")
    assert conn.closed
    with users.connect() as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (3,)


def test_autocommit_uses_no_transaction(users: Store, served: Served) -> None:
    before = served.fake.calls.count("Tx")
    with users.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = 'u3'")
        assert not conn.in_transaction
    assert served.fake.calls.count("Tx") == before
    with users.connect() as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (2,)


def test_transaction_options_reach_the_driver(users: Store, served: Served) -> None:
    with users.connect() as conn:
        conn.isolation_level = "serializable"
        conn.read_only = True
        conn.execute("SELECT 1").fetchall()
        with pytest.raises(db.InternalError, match="read-only transaction"):
            conn.execute("DELETE FROM users")
    assert served.fake.tx_options[-1] == (6, True)  # sql.LevelSerializable, read-only
    with users.connect() as conn, pytest.raises(db.ProgrammingError, match="isolation level"):
        conn.isolation_level = "CHAOS"
        conn.execute("SELECT 1")


def test_integrity_error(users: Store) -> None:
    with users.connect() as conn:
        with pytest.raises(db.IntegrityError, match="duplicate key value"):
            conn.execute("INSERT INTO users (id, username) VALUES (%s, %s)", ("u1", "dup"))
        conn.rollback()
        with pytest.raises(db.IntegrityError, match="not-null"):
            conn.execute("INSERT INTO users (id, username) VALUES (%s, %s)", ("u9", None))


def test_programming_errors(users: Store) -> None:
    with users.connect() as conn:
        with pytest.raises(db.ProgrammingError, match='relation "nope" does not exist'):
            conn.execute("SELECT * FROM nope")
        conn.rollback()
        with pytest.raises(db.ProgrammingError, match="2 placeholder"):
            conn.execute("SELECT %s, %s", (1,))
        with pytest.raises(db.ProgrammingError, match="pyformat"):
            conn.execute("SELECT * FROM users WHERE username LIKE 'a%'", ())
        with pytest.raises(db.ProgrammingError, match="no such parameter"):
            conn.execute("SELECT %(a)s", {"b": 1})
        with pytest.raises(db.NotSupportedError, match="Json"):
            conn.execute("SELECT %s", ({"a": 1},))


def test_percent_literals(users: Store) -> None:
    with users.connect() as conn:
        # Without parameters the statement is sent untouched; with them, %% is a literal %.
        assert conn.execute("SELECT count(*) FROM users WHERE username LIKE 'a%'").fetchone() == (
            1,
        )
        cur = conn.execute(
            "SELECT count(*) FROM users WHERE username LIKE 'a%%' AND age > %s", (0,)
        )
        assert cur.fetchone() == (1,)


def test_parameter_conversions(store: Store, served: Served) -> None:
    served.fake.column_types.update(
        {
            "amount": "NUMERIC",
            "props": "JSONB",
            "ref": "UUID",
            "at": "TIMESTAMPTZ",
            "local": "TIMESTAMP",
            "day": "DATE",
            "clock": "TIME",
            "flag": "BOOL",
            "mood": "",  # an enum: lib/pq does not know its name
        }
    )
    ref = uuid.UUID("12345678-1234-5678-1234-567812345678")
    at = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with store.connect() as conn:
        conn.execute(
            "CREATE TABLE t (amount TEXT, props TEXT, ref TEXT, at TEXT, local TEXT, day TEXT, "
            "clock TEXT, flag INTEGER, mood TEXT)"
        )
        conn.execute(
            "INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                decimal.Decimal("12.50"),
                db.Json({"a": [1, 2]}),
                ref,
                at,
                dt.datetime(2024, 1, 2, 3, 4, 5),
                dt.date(2024, 1, 2),
                dt.time(13, 14, 15),
                True,
                "happy",
            ),
        )
        row = conn.execute("SELECT * FROM t").fetchone()
    assert row == (
        decimal.Decimal("12.50"),
        {"a": [1, 2]},
        ref,
        at.astimezone(dt.timezone.utc),
        dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.date(2024, 1, 2),
        dt.time(13, 14, 15),
        True,
        "happy",
    )
    # What crossed the wire: only driver.Value types (the fake rejects any other kind).
    _, _, args = served.fake.queries[-2]
    assert args[0] == "12.50" and args[1] == '{"a":[1,2]}' and args[3].startswith("2024-05-06 05")
    assert args[7] == 1  # bool_value


def test_type_names_are_fetched_only_when_needed(users: Store, served: Served) -> None:
    with users.connect() as conn:
        conn.execute("SELECT id, age FROM users").fetchall()
        assert "RowsColumnTypeDatabaseTypeName" not in served.fake.calls
        cur = conn.execute("SELECT id, age FROM users")
        assert cur.column_type_names() == ["TEXT", "INT8"]
        cur.fetchall()


def test_large_integer_rejected(store: Store) -> None:
    with store.connect() as conn, pytest.raises(db.DataError, match="64-bit"):
        conn.execute("SELECT %s", (1 << 64,))


def test_interleaved_cursors(users: Store, served: Served) -> None:
    with users.connect() as conn:
        outer = conn.execute("SELECT id FROM users ORDER BY id")
        assert outer.fetchone() == ("u1",)
        # A second statement while outer is still reading: outer's rows are buffered first.
        inner = conn.execute("SELECT count(*) FROM users")
        assert inner.fetchone() == (3,)
        assert outer.fetchall() == [("u2",), ("u3",)]
    assert served.fake.rows == {}  # every rows handle was closed on the server


def test_handles_are_released(users: Store, served: Served) -> None:
    conn = users.connect()
    cur = conn.execute("SELECT id FROM users")
    cur.fetchone()
    conn.close()
    assert served.fake.rows == {} and served.fake.txs == {} and served.fake.conns == {}
    with pytest.raises(db.InterfaceError, match="closed"):
        conn.cursor()
    conn.close()  # closing twice is fine


def test_reexecute_closes_previous_rows(users: Store, served: Served) -> None:
    with users.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT id FROM users")
        cur.fetchone()
        cur.execute("SELECT username FROM users WHERE id = 'u2'")
        assert len(served.fake.rows) == 1
        assert cur.fetchall() == [("bob",)]
        cur.close()
        with pytest.raises(db.InterfaceError):
            cur.fetchone()


def test_unclosed_connection_is_returned_by_its_finalizer(users: Store, served: Served) -> None:
    conn = users.connect()
    conn.execute("SELECT 1").fetchall()
    assert len(served.fake.conns) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del conn
        gc.collect()
    assert served.fake.conns == {} and served.fake.txs == {}
    assert any(issubclass(w.category, ResourceWarning) for w in caught)


def test_store_close_closes_open_connections(users: Store, served: Served) -> None:
    a, b = users.connect(), users.connect()
    b.close()
    users.close()
    assert a.closed and served.fake.conns == {}


def test_replica_and_driver_name(client: DriverClient, served: Served) -> None:
    asked: list[str] = []

    def replicas() -> bool:
        asked.append("replicas")
        return True

    store = Store(client, replicas_configured=replicas, driver_name=lambda: "postgres")
    with store.connect_replica() as conn:
        conn.execute("SELECT 1").fetchall()
    with store.connect_replica():
        pass
    assert asked == ["replicas"]  # asked once, like pluginapi
    assert store.driver_name() == "postgres"


def test_mysql_servers_get_question_marks(client: DriverClient, served: Served) -> None:
    store = Store(client, driver_name=lambda: "mysql")
    with store.connect() as conn:
        conn.execute("SELECT %(a)s, %(a)s", {"a": 1})
    assert served.fake.queries[-1][1:] == ("SELECT ?, ?", [1, 1])


def test_ping_and_bad_connection(store: Store, served: Served) -> None:
    conn = store.connect()
    conn.ping()
    served.fake.conns.pop(conn._state.conn_id).close()  # the server dropped it
    with pytest.raises(db.OperationalError, match="no longer usable"):
        conn.ping()


def test_host_unreachable(served: Served) -> None:
    channel = grpc.insecure_channel(f"unix:{served.socket}")
    wrong = Store(DriverClient(stub_invoker(channel, [("mmplugin-secret", "wrong")])))
    with pytest.raises(db.OperationalError, match="UNAUTHENTICATED"):
        wrong.connect()
    served.server.stop(None)
    with pytest.raises(db.OperationalError, match="could not reach the Mattermost server"):
        Store(DriverClient(stub_invoker(channel, timeout=2))).connect()
    channel.close()


def test_default_store_connect(store: Store) -> None:
    db.set_default_store(None)
    with pytest.raises(db.InterfaceError, match=r"plugin\.store\.connect"):
        db.connect()
    db.set_default_store(store)
    try:
        with db.connect() as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
    finally:
        db.set_default_store(None)


async def test_the_sdk_binder_gives_plugins_a_store(served: Served) -> None:
    from mmplugin import Plugin
    from mmplugin._bind import bind
    from mmplugin._runtime import RuntimeContext
    from mmplugin._runtime.bootstrap import Bootstrap

    class P(Plugin):
        pass

    served.fake.replicas = ["********"]  # GetConfig is sanitized; the count is what matters
    d = os.path.dirname(served.socket)
    ctx = RuntimeContext(
        Bootstrap(
            plugin_id="p",
            plugin_dir=d,
            entry_point="p:P",
            socket_dir=d,
            plugin_socket=os.path.join(d, "plugin.sock"),
            api_socket=served.socket,
            secret=SECRET,
        )
    )
    plugin = P()
    binding = bind(plugin, ctx)
    try:

        def use_the_database() -> tuple[object, ...] | None:
            with plugin.store.connect_replica() as conn:
                return conn.execute("SELECT 40 + 2").fetchone()

        assert await asyncio.to_thread(use_the_database) == (42,)
        assert served.fake.masters == [False]  # a replica is configured
        assert db.default_store() is plugin.store
        leaked = await asyncio.to_thread(plugin.store.connect)
        assert binding.on_stop is not None
        await binding.on_stop()
        assert leaked.closed and served.fake.conns == {}
    finally:
        db.set_default_store(None)
        await ctx.close()
