"""Jobs that run once, at a set time, on one node of the cluster: pluginapi's
``JobOnceScheduler`` with the same KV keys and JSON, so a Go and a Python plugin with the same id
share scheduled jobs.

A job is stored under ``once_<key>`` as ``{"Key": ..., "RunAt": "<RFC 3339>", "Props": ...}``
and runs under the cluster mutex ``mutex_<key>``: the node that gets the lock first at (or
after) ``RunAt`` checks the job is still stored with the same time, calls the callback and
deletes the key, so every other node finds it gone. ``start`` picks up the jobs already stored
(a restart, or jobs scheduled by another node) and then polls for new ones every 5 minutes.

The scheduler lives on the plugin's event loop; the ``a``-prefixed methods are for async code on
that loop, the others for sync code on any other thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from mmplugin import _jsoncodec
from mmplugin.cluster import AsyncMutexAPI, Mutex, _parse_go_time
from mmplugin.models import PluginKVSetOptions

ONCE_PREFIX = "once_"
KEYS_PER_PAGE = 1000
MAX_NUM_FAILS = 3
"""KV read failures after which a job is dropped (pluginapi: 3)."""
WAIT_AFTER_FAIL = 1.0
POLL_NEW_JOBS_INTERVAL = 300.0
"""Seconds between looks for jobs scheduled by other nodes (pluginapi: 5 minutes)."""
SCHEDULE_ONCE_JITTER = 0.1
PROPS_LIMIT = 10000
"""Maximum length of a job's props as JSON, in bytes (pluginapi: 10000)."""

_log = logging.getLogger("mmplugin.cluster")
_T = TypeVar("_T")

JobOnceCallback = Callable[[str, Any], Any]
"""``(key, props)``: ``def`` (run in a worker thread) or ``async def`` (awaited on the loop)."""


class AsyncJobOnceAPI(AsyncMutexAPI, Protocol):
    async def kv_get(self, key: str, /) -> bytes | None: ...
    async def kv_delete(self, key: str, /) -> None: ...
    async def kv_list(self, page: int, per_page: int, /) -> list[str] | None: ...


def _go_time(t: dt.datetime) -> str:
    # Go's time.Time JSON: RFC 3339 with the fraction's trailing zeros trimmed.
    t = t.astimezone(dt.timezone.utc)
    frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


@dataclass(frozen=True)
class JobOnceMetadata:
    """A scheduled job as stored under ``once_<key>`` (pluginapi's ``JobOnceMetadata``)."""

    key: str
    run_at: dt.datetime
    props: Any = None

    def to_json(self) -> bytes:
        return _jsoncodec.encode(
            {"Key": self.key, "RunAt": _go_time(self.run_at), "Props": self.props}
        )

    @classmethod
    def from_json(cls, data: bytes) -> JobOnceMetadata:
        raw = _jsoncodec.decode(data)
        if not isinstance(raw, dict):
            raise ValueError("scheduled job data is not a JSON object")
        return cls(str(raw.get("Key") or ""), _parse_go_time(str(raw["RunAt"])), raw.get("Props"))


def _jitter() -> float:
    return random.uniform(0.0, SCHEDULE_ONCE_JITTER)


async def _read_metadata(api: AsyncJobOnceAPI, key: str) -> JobOnceMetadata | None:
    data = await api.kv_get(ONCE_PREFIX + key)
    return JobOnceMetadata.from_json(data) if data else None


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class JobOnce:
    """One scheduled job on this node; ``cancel`` / ``await acancel()`` stop and delete it."""

    def __init__(self, scheduler: JobOnceScheduler, md: JobOnceMetadata) -> None:
        self.key = md.key
        self.run_at = md.run_at
        self.props = md.props
        self._scheduler = scheduler
        self._mutex = Mutex(md.key, async_api=scheduler._api)
        self._stopped = asyncio.Event()
        self._num_fails = 0
        self._in_callback = False
        self._task: asyncio.Task[None] | None = None

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"mmplugin once {self.key}"
        )

    async def _sleep(self, seconds: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), timeout=max(seconds, 0.0))
        return self._stopped.is_set()

    async def _run(self) -> None:
        wait = (self.run_at - self._scheduler._clock()).total_seconds()
        while not await self._sleep(wait + _jitter()):
            async with self._mutex:
                try:
                    md = await _read_metadata(self._scheduler._api, self.key)
                except Exception:
                    _log.exception("failed to read scheduled job", extra={"key": self.key})
                    self._num_fails += 1
                    if self._num_fails > MAX_NUM_FAILS:
                        await self._cancel_holding_mutex()
                        return
                    wait = WAIT_AFTER_FAIL
                    continue
                # Gone, or rescheduled with another time: it ran (or was cancelled) elsewhere.
                if md is None or md.run_at != self.run_at:
                    await self._cancel_holding_mutex()
                    return
                self._in_callback = True
                try:
                    await self._scheduler._invoke(self.key, self.props)
                finally:
                    self._in_callback = False
                await self._cancel_holding_mutex()
                return

    async def _cancel_holding_mutex(self) -> None:
        with contextlib.suppress(Exception):
            await self._scheduler._api.kv_delete(ONCE_PREFIX + self.key)
        if self._scheduler._active.get(self.key) is self:
            del self._scheduler._active[self.key]
        self._stopped.set()

    async def acancel(self) -> None:
        """Stop the job here and delete it from the KV store, so no node runs it."""
        async with self._mutex:
            await self._cancel_holding_mutex()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def cancel(self, timeout: float | None = None) -> None:
        """``acancel`` for sync code (not on the plugin's event loop)."""
        self._scheduler._call(self.acancel(), timeout)

    @property
    def done(self) -> bool:
        """The job ran, was cancelled, or was found gone on this node."""
        return self._task is not None and self._task.done()


class JobOnceScheduler:
    """pluginapi's ``JobOnceScheduler``: ``set_callback``, then ``start``, then
    ``schedule_once`` / ``list_scheduled_jobs`` / ``cancel`` (each with an ``a``-form).

    ``api`` is the plugin's ``async_api``; ``loop`` its event loop. ``poll_interval`` and
    ``clock`` (an aware UTC ``now``) exist for tests.
    """

    def __init__(
        self,
        api: AsyncJobOnceAPI,
        loop: asyncio.AbstractEventLoop,
        *,
        poll_interval: float = POLL_NEW_JOBS_INTERVAL,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._api = api
        self._loop = loop
        self._poll_interval = poll_interval
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._callback: JobOnceCallback | None = None
        self._callback_lock: asyncio.Lock | None = None
        self._active: dict[str, JobOnce] = {}
        self._started = False
        self._poller: asyncio.Task[None] | None = None

    def _call(self, coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        if _on_loop(self._loop):
            coro.close()
            raise RuntimeError(
                "this JobOnceScheduler method blocks: in async code use its 'a' form "
                "(e.g. 'await scheduler.aschedule_once(...)')"
            )
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def set_callback(self, callback: JobOnceCallback) -> None:
        """The function called with ``(key, props)`` when a job fires, one call at a time."""
        if callback is None:
            raise ValueError("the JobOnceScheduler callback cannot be None")
        self._callback = callback

    async def _invoke(self, key: str, props: Any) -> None:
        if self._callback_lock is None:
            self._callback_lock = asyncio.Lock()
        callback = self._callback
        assert callback is not None  # start() checked
        async with self._callback_lock:
            try:
                if inspect.iscoroutinefunction(callback):
                    await callback(key, props)
                else:
                    result = await asyncio.to_thread(callback, key, props)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                # A Go callback's panic would crash the plugin; here it is logged and the job
                # counts as run, so it does not fire again on every node.
                _log.exception("scheduled once job failed", extra={"key": key})

    async def astart(self) -> None:
        """Run the jobs already stored (those past due at once) and poll for new ones."""
        if self._started:
            raise RuntimeError("the JobOnceScheduler has already been started")
        if self._callback is None:
            raise RuntimeError("set the callback (set_callback) before starting the scheduler")
        await self._schedule_new_jobs_from_db()
        self._poller = self._loop.create_task(self._poll(), name="mmplugin once poller")
        self._started = True

    def start(self) -> None:
        self._call(self.astart())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval + _jitter())
            try:
                await self._schedule_new_jobs_from_db()
            except Exception:
                _log.exception("scheduled once job poller failed; still polling")

    async def _schedule_new_jobs_from_db(self) -> None:
        for md in await self.alist_scheduled_jobs():
            self._run_and_track(JobOnce(self, md))

    def _run_and_track(self, job: JobOnce) -> None:
        if job.key in self._active:
            return
        self._active[job.key] = job
        job._start()

    async def alist_scheduled_jobs(self) -> list[JobOnceMetadata]:
        """The jobs stored now (scheduled by any node, not yet run or cancelled)."""
        out: list[JobOnceMetadata] = []
        page = 0
        while True:
            keys = await self._api.kv_list(page, KEYS_PER_PAGE) or []
            for k in keys:
                if not k.startswith(ONCE_PREFIX):
                    continue
                try:
                    md = await _read_metadata(self._api, k[len(ONCE_PREFIX) :])
                except Exception:
                    _log.exception("could not read scheduled job", extra={"key": k})
                    continue
                if md is not None:
                    out.append(md)
            if len(keys) < KEYS_PER_PAGE:
                return out
            page += 1

    def list_scheduled_jobs(self) -> list[JobOnceMetadata]:
        return self._call(self.alist_scheduled_jobs())

    async def aschedule_once(self, key: str, run_at: dt.datetime, props: Any = None) -> JobOnce:
        """Run the callback with ``(key, props)`` once, at ``run_at``, on one node.

        ``props`` must encode as JSON within 10000 bytes. A key already scheduled is an error:
        cancel it first to reschedule.
        """
        if not self._started:
            raise RuntimeError("start the JobOnceScheduler before adding jobs")
        if not key:
            raise ValueError("a scheduled job needs a non-empty key")
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware (e.g. datetime.now(timezone.utc))")
        md = JobOnceMetadata(key, run_at.astimezone(dt.timezone.utc), props)
        data = md.to_json()
        if len(_jsoncodec.encode(props)) > PROPS_LIMIT:
            raise ValueError(f"job props are longer than {PROPS_LIMIT} bytes as JSON")
        job = JobOnce(self, md)
        async with job._mutex:
            ok = await self._api.kv_set_with_options(
                ONCE_PREFIX + key, data, PluginKVSetOptions(atomic=True, old_value=None)
            )
        if not ok:
            raise RuntimeError(
                f"job {key!r} is already scheduled: cancel it first to schedule it again"
            )
        self._run_and_track(job)
        return job

    def schedule_once(self, key: str, run_at: dt.datetime, props: Any = None) -> JobOnce:
        return self._call(self.aschedule_once(key, run_at, props))

    async def acancel(self, key: str) -> None:
        """Cancel a job by key, on this node and in the KV store (whichever node scheduled it)."""
        job = self._active.get(key)
        if job is not None:
            await job.acancel()
            return
        async with Mutex(key, async_api=self._api):
            await self._api.kv_delete(ONCE_PREFIX + key)

    def cancel(self, key: str) -> None:
        self._call(self.acancel(key))

    async def aclose(self) -> None:
        """Stop polling and waiting here (the plugin stops); stored jobs stay for the next start."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for job in list(self._active.values()):
            job._stopped.set()
            if job._task is not None:
                if not job._in_callback:  # waiting for its time or the lock: stop now
                    job._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job._task
        self._active.clear()

    def close(self) -> None:
        self._call(self.aclose())


__all__ = [
    "ONCE_PREFIX",
    "JobOnce",
    "JobOnceCallback",
    "JobOnceMetadata",
    "JobOnceScheduler",
]
