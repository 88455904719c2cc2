"""``Store``: the plugin's way to the Mattermost database, like Go's ``pluginapi.StoreService``.

Go plugins call ``client.Store.GetMasterDB()`` / ``GetReplicaDB()`` and get a ``*sql.DB`` built
on the server's ``plugin.Driver``. The Python equivalent hands out PEP 249 connections on the
same Driver: ``plugin.store.connect()`` (master) and ``plugin.store.connect_replica()`` (a read
replica when the server has ``SqlSettings.DataSourceReplicas``, the master otherwise — the same
rule as Go). Both take no required arguments, so they serve as SQLAlchemy's ``creator``.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import grpc

from mmplugin._runtime.calls import CallsClient

from ._paramstyle import Placeholder
from ._transport import DriverClient, DriverError
from .connection import Connection, driver_error
from .exceptions import InterfaceError

ClientSource = DriverClient | Callable[[], DriverClient]


class ConfigSource(Protocol):
    """What plugin_store needs of the API client: ``get_config()`` (mmplugin.api.API)."""

    def get_config(self) -> Any: ...


class Store:
    """Opens DB-API connections on the server's database for one plugin.

    ``client`` is the Driver client, or a function returning it (the SDK passes one so the
    store can exist before the plugin is activated). ``replicas_configured`` and
    ``driver_name`` read the server configuration (``GetUnsanitizedConfig`` /
    ``GetConfig``); each is asked once.
    """

    def __init__(
        self,
        client: ClientSource,
        *,
        replicas_configured: Callable[[], bool] | None = None,
        driver_name: Callable[[], str] | None = None,
    ) -> None:
        self._client_source = client
        self._replicas_source = replicas_configured
        self._driver_name_source = driver_name
        self._replicas: bool | None = None
        self._driver_name: str | None = None
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[Connection] = weakref.WeakSet()

    def connect(self, *, autocommit: bool = False) -> Connection:
        """A connection to the master database (``GetMasterDB`` in Go)."""
        return self._connect(True, autocommit)

    def connect_replica(self, *, autocommit: bool = False) -> Connection:
        """A connection to a read replica if the server has one, else to the master
        (``GetReplicaDB`` in Go). Writes on a replica fail: use it for reads only."""
        return self._connect(not self.replicas_configured(), autocommit)

    def replicas_configured(self) -> bool:
        """Whether the server has read replicas (``SqlSettings.DataSourceReplicas``)."""
        with self._lock:
            if self._replicas is None:
                source = self._replicas_source
                self._replicas = bool(source()) if source is not None else False
            return self._replicas

    def driver_name(self) -> str:
        """The server's SQL driver: ``"postgres"`` (or ``"mysql"`` on servers before v11)."""
        with self._lock:
            if self._driver_name is None:
                source = self._driver_name_source
                self._driver_name = source() if source is not None else "postgres"
            return self._driver_name

    def close(self) -> None:
        """Close every connection this store opened that is still open (the SDK calls it when
        the plugin stops; the server would close them anyway)."""
        for conn in list(self._open):
            with contextlib.suppress(Exception):
                conn.close()

    def _client(self) -> DriverClient:
        source = self._client_source
        return source if isinstance(source, DriverClient) else source()

    def _connect(self, is_master: bool, autocommit: bool) -> Connection:
        placeholder: Placeholder = "qmark" if self.driver_name() == "mysql" else "dollar"
        client = self._client()
        try:
            conn_id = client.conn(is_master)
        except DriverError as e:
            raise driver_error(e) from None
        conn = Connection(client, conn_id, placeholder=placeholder, autocommit=autocommit)
        self._open.add(conn)
        return conn


def plugin_store(
    channel: grpc.Channel,
    metadata: Sequence[tuple[str, str]],
    api: ConfigSource,
    calls: CallsClient | None = None,
) -> Store:
    """The Store the SDK gives a running plugin (``plugin.store``).

    Driver calls go over ``calls``, mmplugin-host's calls socket, when given, else over
    ``channel``, the blocking channel to its API socket (``metadata`` carries the launch secret);
    either way DB-API code runs in any thread. The server
    configuration comes from ``api.get_config()``: the sanitized configuration keeps the number
    of replicas and the driver name, so the database credentials never reach the plugin.
    """
    from ._transport import calls_invoker, stub_invoker

    def sql_settings() -> Any:
        config = api.get_config()
        return config.sql_settings if config is not None else None

    def replicas() -> bool:
        settings = sql_settings()
        return bool(settings is not None and settings.data_source_replicas)

    def driver() -> str:
        settings = sql_settings()
        return (settings.driver_name if settings is not None else None) or "postgres"

    invoker = calls_invoker(calls) if calls is not None else stub_invoker(channel, metadata)
    client = DriverClient(invoker)
    return Store(client, replicas_configured=replicas, driver_name=driver)


_default: Store | None = None


def set_default_store(store: Store | None) -> None:
    """Make ``store`` the one ``mmplugin.db.connect()`` uses (the SDK does this for the
    plugin of the process)."""
    global _default
    _default = store


def default_store() -> Store:
    if _default is None:
        raise InterfaceError(
            "mmplugin.db has no database to connect to: connections come from the Mattermost "
            "server through mmplugin-host, so they are available while the plugin runs under "
            "mmplugin (use plugin.store.connect()); in tests, give the code a Store or a "
            "connection factory instead"
        )
    return _default
