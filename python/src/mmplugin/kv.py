"""The plugin's key-value store with JSON values: ``self.kv`` (sync) and ``self.async_kv``.

Reimplements pluginapi's ``KVService`` on the API's ``KV*`` methods::

    self.kv.set("greeted:" + user_id, {"at": now}, expire_in=timedelta(days=30))
    self.kv.get("greeted:" + user_id)                  # the dict, or None
    self.kv.get_as("state", State)                     # a dataclass/pydantic model, or None
    self.kv.set_atomic("counter", 1, 2)                # compare-and-set: True if written
    self.kv.set_atomic_with_retries("counter", lambda old: (old or 0) + 1)
    self.kv.list_keys(prefix="greeted:")

Values are stored as compact JSON, except ``bytes``, which are stored as they are (read them
back with ``get_bytes``), as pluginapi does. Keys starting with ``mmi_`` are reserved for
Mattermost's own use. Every call raises ``mmplugin.errors.AppError`` when the server refuses it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar, overload

from mmplugin import _jsoncodec
from mmplugin.models import PluginKVSetOptions

_T = TypeVar("_T")

RESERVED_PREFIX = "mmi_"
"""Key prefix Mattermost reserves (pluginapi refuses it too)."""

ATOMIC_RETRIES = 5
"""How often ``set_atomic_with_retries`` tries before giving up (pluginapi's number)."""

_RETRY_PAUSE = 0.01
_PAGE = 1000


class KVError(Exception):
    """A KV operation could not be done as asked (not a server error: those are AppError)."""


class AtomicUpdateError(KVError):
    """``set_atomic_with_retries`` lost the race every time: the key kept changing."""


class KVAPI(Protocol):
    """The part of ``mmplugin.api.API`` the KV helpers use (the test fake has it too)."""

    def kv_get(self, key: str, /) -> bytes | None: ...
    def kv_set_with_options(
        self, key: str, value: bytes | None, options: PluginKVSetOptions, /
    ) -> bool: ...
    def kv_delete(self, key: str, /) -> None: ...
    def kv_delete_all(self) -> None: ...
    def kv_list(self, page: int, per_page: int, /) -> list[str] | None: ...


class AsyncKVAPI(Protocol):
    """The part of ``mmplugin.api.AsyncAPI`` the async KV helpers use."""

    async def kv_get(self, key: str, /) -> bytes | None: ...
    async def kv_set_with_options(
        self, key: str, value: bytes | None, options: PluginKVSetOptions, /
    ) -> bool: ...
    async def kv_delete(self, key: str, /) -> None: ...
    async def kv_delete_all(self) -> None: ...
    async def kv_list(self, page: int, per_page: int, /) -> list[str] | None: ...


def check_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"KV keys are non-empty strings, got {key!r}")
    if key.startswith(RESERVED_PREFIX):
        raise ValueError(
            f"KV key {key!r}: the {RESERVED_PREFIX!r} prefix is reserved by Mattermost"
        )


def encode_value(value: Any) -> bytes | None:
    """How a value is stored: ``None`` deletes, ``bytes`` as they are, anything else as JSON."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return _jsoncodec.encode(value)


def expiry_seconds(expire_in: timedelta | float | None) -> int:
    """``expire_in`` as whole seconds (the server's unit); 0 means no expiry."""
    if expire_in is None:
        return 0
    seconds = expire_in.total_seconds() if isinstance(expire_in, timedelta) else expire_in
    if seconds < 1:
        raise ValueError(
            f"expire_in must be at least one second (the KV store counts whole seconds), got "
            f"{seconds!r}s; pass None for a value that never expires"
        )
    return int(seconds)


def decode_value(key: str, data: bytes | None, default: Any) -> Any:
    if not data:
        return default
    try:
        return _jsoncodec.decode(data)
    except ValueError:
        raise KVError(
            f"the value of KV key {key!r} is not JSON ({len(data)} bytes): read it with get_bytes()"
        ) from None


def _options(
    atomic: bool, old: bytes | None, expire_in: timedelta | float | None
) -> PluginKVSetOptions:
    return PluginKVSetOptions(
        atomic=atomic, old_value=old, expire_in_seconds=expiry_seconds(expire_in)
    )


class KVStore:
    """Synchronous KV helpers over ``API`` (use them from ``def`` hooks)."""

    def __init__(self, api: KVAPI) -> None:
        self._api = api

    def set(self, key: str, value: Any, *, expire_in: timedelta | float | None = None) -> None:
        """Store ``value`` (JSON, or bytes as they are); ``None`` deletes the key."""
        check_key(key)
        self._api.kv_set_with_options(key, encode_value(value), _options(False, None, expire_in))

    def get(self, key: str, default: Any = None) -> Any:
        """The decoded JSON value, or ``default`` when the key does not exist (or expired)."""
        return decode_value(key, self._api.kv_get(key), default)

    @overload
    def get_as(self, key: str, tp: type[_T]) -> _T | None: ...
    @overload
    def get_as(self, key: str, tp: type[_T], default: _T) -> _T: ...
    def get_as(self, key: str, tp: type[_T], default: _T | None = None) -> _T | None:
        """The value converted to ``tp`` (a dataclass, pydantic model, ``list[int]``...)."""
        data = self._api.kv_get(key)
        if not data:
            return default
        return _jsoncodec.decode_as(decode_value(key, data, None), tp, f"KV key {key!r}")

    def get_bytes(self, key: str) -> bytes | None:
        """The stored bytes as they are, or None."""
        return self._api.kv_get(key) or None

    def set_atomic(
        self, key: str, old: Any, new: Any, *, expire_in: timedelta | float | None = None
    ) -> bool:
        """Set ``key`` to ``new`` only if it currently holds ``old`` (``None``: only if it does
        not exist); ``new=None`` deletes it. Returns whether the value was written.

        ``old`` is compared after encoding, so pass the value as ``get`` returned it (or bytes).
        """
        check_key(key)
        options = _options(True, encode_value(old), expire_in)
        return self._api.kv_set_with_options(key, encode_value(new), options)

    def set_atomic_with_retries(
        self,
        key: str,
        update: Callable[[Any], Any],
        *,
        expire_in: timedelta | float | None = None,
        retries: int = ATOMIC_RETRIES,
    ) -> Any:
        """Read, compute ``update(old)``, compare-and-set; repeat when another writer won.

        ``update`` gets the decoded value (or None) and returns the new one; an exception from it
        stops the loop and propagates. Returns the value written; raises ``AtomicUpdateError``
        after ``retries`` lost races.
        """
        check_key(key)
        for _ in range(retries):
            raw = self._api.kv_get(key) or None
            new = update(decode_value(key, raw, None))
            if self._api.kv_set_with_options(
                key, encode_value(new), _options(True, raw, expire_in)
            ):
                return new
            time.sleep(_RETRY_PAUSE)
        raise AtomicUpdateError(
            f"could not update KV key {key!r}: it changed during each of {retries} attempts"
        )

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error if it does not exist)."""
        self._api.kv_delete(key)

    def delete_all(self) -> None:
        """Remove every key of this plugin."""
        self._api.kv_delete_all()

    def list_keys(self, prefix: str = "", *, page_size: int = _PAGE) -> list[str]:
        """Every key (starting with ``prefix``), paging through ``KVList`` in key order."""
        out: list[str] = []
        page = 0
        while True:
            keys = self._api.kv_list(page, page_size) or []
            out.extend(k for k in keys if k.startswith(prefix))
            if len(keys) < page_size:
                return out
            page += 1


class AsyncKVStore:
    """The same helpers over ``AsyncAPI`` (use them from ``async def`` hooks)."""

    def __init__(self, api: AsyncKVAPI) -> None:
        self._api = api

    async def set(
        self, key: str, value: Any, *, expire_in: timedelta | float | None = None
    ) -> None:
        check_key(key)
        await self._api.kv_set_with_options(
            key, encode_value(value), _options(False, None, expire_in)
        )

    async def get(self, key: str, default: Any = None) -> Any:
        return decode_value(key, await self._api.kv_get(key), default)

    @overload
    async def get_as(self, key: str, tp: type[_T]) -> _T | None: ...
    @overload
    async def get_as(self, key: str, tp: type[_T], default: _T) -> _T: ...
    async def get_as(self, key: str, tp: type[_T], default: _T | None = None) -> _T | None:
        data = await self._api.kv_get(key)
        if not data:
            return default
        return _jsoncodec.decode_as(decode_value(key, data, None), tp, f"KV key {key!r}")

    async def get_bytes(self, key: str) -> bytes | None:
        return await self._api.kv_get(key) or None

    async def set_atomic(
        self, key: str, old: Any, new: Any, *, expire_in: timedelta | float | None = None
    ) -> bool:
        check_key(key)
        options = _options(True, encode_value(old), expire_in)
        return await self._api.kv_set_with_options(key, encode_value(new), options)

    async def set_atomic_with_retries(
        self,
        key: str,
        update: Callable[[Any], Any | Awaitable[Any]],
        *,
        expire_in: timedelta | float | None = None,
        retries: int = ATOMIC_RETRIES,
    ) -> Any:
        """As ``KVStore.set_atomic_with_retries``; ``update`` may be ``async``."""
        check_key(key)
        for _ in range(retries):
            raw = await self._api.kv_get(key) or None
            new = update(decode_value(key, raw, None))
            if inspect.isawaitable(new):
                new = await new
            if await self._api.kv_set_with_options(
                key, encode_value(new), _options(True, raw, expire_in)
            ):
                return new
            await asyncio.sleep(_RETRY_PAUSE)
        raise AtomicUpdateError(
            f"could not update KV key {key!r}: it changed during each of {retries} attempts"
        )

    async def delete(self, key: str) -> None:
        await self._api.kv_delete(key)

    async def delete_all(self) -> None:
        await self._api.kv_delete_all()

    async def list_keys(self, prefix: str = "", *, page_size: int = _PAGE) -> list[str]:
        out: list[str] = []
        page = 0
        while True:
            keys = await self._api.kv_list(page, page_size) or []
            out.extend(k for k in keys if k.startswith(prefix))
            if len(keys) < page_size:
                return out
            page += 1


__all__ = [
    "ATOMIC_RETRIES",
    "KVAPI",
    "RESERVED_PREFIX",
    "AsyncKVAPI",
    "AsyncKVStore",
    "AtomicUpdateError",
    "KVError",
    "KVStore",
]
