"""Cluster-wide coordination on the KV store: a mutex, jobs that run once per cluster, and
plugin cluster events. Reimplements pluginapi's ``cluster`` package with the same keys and
timings, so a Python and a Go plugin with the same id share locks and job state.

::

    with self.mutex("sync-users"):           # or: async with self.mutex("sync-users")
        ...                                  # one node of the cluster at a time

    self.schedule("daily-digest", timedelta(days=1), self.send_digest)

    self.publish_cluster_event("cache", {"user_id": uid})     # other nodes' handlers run

    @on_cluster_event("cache")
    def drop_cache(self, event: ClusterEvent) -> None: ...

The mutex is a KV key ``mutex_<key>`` set atomically with a 15 s expiry and refreshed every
7.5 s while held, so a crashed holder frees it after at most 15 s. A job keeps
``{"LastFinished": ...}`` under ``cron_<key>`` and runs under the mutex ``cron_<key>``: on
whichever node gets there first once the interval has passed since the last run anywhere.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import inspect
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, cast

from mmplugin import _jsoncodec
from mmplugin._marks import marked_methods
from mmplugin.models import PluginClusterEvent, PluginContext, PluginKVSetOptions

MUTEX_PREFIX = "mutex_"
CRON_PREFIX = "cron_"
MUTEX_TTL = 15.0
"""Seconds a mutex outlives its holder (pluginapi: 15 s)."""
REFRESH_INTERVAL = MUTEX_TTL / 2
MIN_WAIT = 1.0
MAX_WAIT = 300.0
POLL_WAIT = 1.0
JITTER = MIN_WAIT / 2

_log = logging.getLogger("mmplugin.cluster")
_LOCKED = b"\x01"


class MutexAPI(Protocol):
    def kv_set_with_options(
        self, key: str, value: bytes | None, options: PluginKVSetOptions, /
    ) -> bool: ...


class AsyncMutexAPI(Protocol):
    async def kv_set_with_options(
        self, key: str, value: bytes | None, options: PluginKVSetOptions, /
    ) -> bool: ...


class AsyncJobAPI(AsyncMutexAPI, Protocol):
    async def kv_get(self, key: str, /) -> bytes | None: ...


def next_wait_interval(last: float, failed: bool) -> float:
    """pluginapi's backoff: poll every second, double up to 5 minutes on errors, with jitter."""
    wait = last if last > 0 else MIN_WAIT
    wait = min(wait * 2, MAX_WAIT) if failed else POLL_WAIT
    return max(0.0, wait + random.uniform(-JITTER / 2, JITTER / 2))


def _lock_options() -> PluginKVSetOptions:
    return PluginKVSetOptions(atomic=True, old_value=None, expire_in_seconds=int(MUTEX_TTL))


def _refresh_options() -> PluginKVSetOptions:
    return PluginKVSetOptions(atomic=True, old_value=_LOCKED, expire_in_seconds=int(MUTEX_TTL))


class Mutex:
    """A cluster-wide lock on the KV store; ``with`` it (sync) or ``async with`` it.

    Give ``api`` for the sync form, ``async_api`` for the async form (``Plugin.mutex`` gives
    both). Not reentrant, and one ``Mutex`` object is held by one holder at a time.
    """

    def __init__(
        self,
        key: str,
        *,
        api: MutexAPI | None = None,
        async_api: AsyncMutexAPI | None = None,
    ) -> None:
        if not key:
            raise ValueError("a cluster mutex needs a non-empty key")
        self.key = MUTEX_PREFIX + key
        self._api = api
        self._async_api = async_api
        self._stop_refresh: threading.Event | None = None
        self._refresher: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    # --- sync -------------------------------------------------------------------------------

    def _sync_api(self) -> MutexAPI:
        if self._api is None:
            raise RuntimeError(
                f"cluster mutex {self.key!r} has no sync API: create it with api=self.api, or "
                "use 'async with' on a mutex created with async_api=self.async_api"
            )
        return self._api

    def lock(self, timeout: float | None = None) -> bool:
        """Block until the lock is held (True) or ``timeout`` seconds passed (False)."""
        api = self._sync_api()
        deadline = None if timeout is None else _now() + timeout
        wait = 0.0
        stop = threading.Event()
        while True:
            try:
                locked = api.kv_set_with_options(self.key, _LOCKED, _lock_options())
                failed = False
            except Exception:
                _log.exception("failed to lock mutex", extra={"lock_key": self.key})
                locked, failed = False, True
            if locked:
                break
            wait = next_wait_interval(wait, failed)
            if deadline is not None:
                left = deadline - _now()
                if left <= 0:
                    return False
                wait = min(wait, left)
            stop.wait(wait)
        self._stop_refresh = stop
        self._refresher = threading.Thread(
            target=self._refresh_loop, args=(api, stop), name=f"mmplugin {self.key}", daemon=True
        )
        self._refresher.start()
        return True

    def _refresh_loop(self, api: MutexAPI, stop: threading.Event) -> None:
        while not stop.wait(REFRESH_INTERVAL):
            try:
                ok = api.kv_set_with_options(self.key, _LOCKED, _refresh_options())
            except Exception:
                _log.exception("failed to refresh mutex", extra={"lock_key": self.key})
                return
            if not ok:
                _log.error("unexpectedly failed to refresh mutex", extra={"lock_key": self.key})
                return

    def unlock(self) -> None:
        """Release the lock (``RuntimeError`` if this object does not hold it)."""
        if self._stop_refresh is None or self._refresher is None:
            raise RuntimeError(f"cluster mutex {self.key!r} is not locked")
        self._stop_refresh.set()
        self._refresher.join()
        self._stop_refresh = self._refresher = None
        self._sync_api().kv_set_with_options(self.key, None, PluginKVSetOptions())

    def __enter__(self) -> Mutex:
        self.lock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()

    # --- async ------------------------------------------------------------------------------

    def _aapi(self) -> AsyncMutexAPI:
        if self._async_api is None:
            raise RuntimeError(
                f"cluster mutex {self.key!r} has no async API: create it with "
                "async_api=self.async_api, or use 'with' on a mutex created with api=self.api"
            )
        return self._async_api

    async def alock(self, timeout: float | None = None) -> bool:
        """``lock`` for async code: waits without blocking the event loop."""
        api = self._aapi()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        wait = 0.0
        while True:
            try:
                locked = await api.kv_set_with_options(self.key, _LOCKED, _lock_options())
                failed = False
            except Exception:
                _log.exception("failed to lock mutex", extra={"lock_key": self.key})
                locked, failed = False, True
            if locked:
                break
            wait = next_wait_interval(wait, failed)
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    return False
                wait = min(wait, left)
            await asyncio.sleep(wait)
        self._task = loop.create_task(self._arefresh_loop(api), name=f"mmplugin {self.key}")
        return True

    async def _arefresh_loop(self, api: AsyncMutexAPI) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            try:
                ok = await api.kv_set_with_options(self.key, _LOCKED, _refresh_options())
            except Exception:
                _log.exception("failed to refresh mutex", extra={"lock_key": self.key})
                return
            if not ok:
                _log.error("unexpectedly failed to refresh mutex", extra={"lock_key": self.key})
                return

    async def aunlock(self) -> None:
        if self._task is None:
            raise RuntimeError(f"cluster mutex {self.key!r} is not locked")
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._aapi().kv_set_with_options(self.key, None, PluginKVSetOptions())

    async def __aenter__(self) -> Mutex:
        await self.alock()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aunlock()


def _now() -> float:
    return time.monotonic()


# --- jobs ------------------------------------------------------------------------------------

_GO_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)

NEVER_RAN = _GO_ZERO_TIME
"""``JobMetadata.last_finished`` of a job that never ran anywhere (Go's zero ``time.Time``)."""

RECHECK_INTERVAL = 60.0
"""Longest a waiting job sleeps before asking its ``interval`` again (seconds): an interval read
from the settings takes effect within this time even without ``Job.wake()``."""


@dataclass
class JobMetadata:
    """What a job stores under ``cron_<key>`` (pluginapi's ``JobMetadata``): when the last run
    finished, on any node of the cluster."""

    last_finished: dt.datetime = _GO_ZERO_TIME

    @property
    def never_ran(self) -> bool:
        """True until the job has run once anywhere in the cluster."""
        return self.last_finished <= NEVER_RAN

    def to_json(self) -> bytes:
        t = self.last_finished.astimezone(dt.timezone.utc)
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond:06d}" if t.microsecond else "")
        return _jsoncodec.encode({"LastFinished": stamp + "Z"})

    @classmethod
    def from_json(cls, data: bytes | None) -> JobMetadata:
        if not data:
            return cls()
        raw = _jsoncodec.decode(data).get("LastFinished") or ""
        if not raw:
            return cls()
        return cls(_parse_go_time(raw))


def _parse_go_time(raw: str) -> dt.datetime:
    # Go writes RFC 3339 with up to nanoseconds; Python (3.10) parses exactly 3 or 6 digits.
    text = raw.replace("Z", "+00:00")
    match = _FRACTION.match(text)
    if match:
        head, digits, zone = match.groups()
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    t = dt.datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


_FRACTION = re.compile(r"^([^.]*)\.(\d+)(.*)$")


NextWait = Callable[[dt.datetime, JobMetadata], dt.timedelta]
"""``(now, metadata) -> timedelta``: how long a job waits before its next run (0: run now)."""

Interval = dt.timedelta | Callable[[], dt.timedelta]
"""A fixed interval, or a function returning the current one (read each time the job decides,
e.g. ``lambda: timedelta(minutes=self.config.sync_minutes)``)."""


def _interval_now(interval: Interval) -> dt.timedelta:
    value = interval() if callable(interval) else interval
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise ValueError(f"a job interval must be a positive timedelta, not {value!r}")
    return value


def wait_for_interval(interval: Interval) -> NextWait:
    """Run when ``interval`` has passed since the last run finished (anywhere in the cluster);
    a job that never ran runs at once."""
    if not callable(interval):
        _interval_now(interval)

    def next_wait(now: dt.datetime, md: JobMetadata) -> dt.timedelta:
        every = _interval_now(interval)
        since = now - md.last_finished
        return every - since if since < every else dt.timedelta(0)

    return next_wait


def wait_for_rounded_interval(interval: Interval) -> NextWait:
    """Run at multiples of ``interval`` (e.g. every hour on the hour), as Go's ``Truncate``; a
    job that never ran runs at once."""
    if not callable(interval):
        _interval_now(interval)

    def next_wait(now: dt.datetime, md: JobMetadata) -> dt.timedelta:
        if md.never_ran:
            return dt.timedelta(0)
        every = _interval_now(interval)
        target = md.last_finished + every
        target -= (target - _GO_ZERO_TIME) % every
        return max(target - now, dt.timedelta(0))

    return next_wait


def daily_at(at: dt.time) -> NextWait:
    """Run once a day at the wall-clock time ``at`` (in ``at.tzinfo``, default UTC): at the first
    ``at`` after the last run finished. A job that never ran runs at once, unless scheduled with
    ``run_immediately=False`` (then its first run is the next ``at``). Missed days (the plugin
    was off) are made up by one run, not one per day."""
    tz = at.tzinfo or dt.timezone.utc
    wall = at.replace(tzinfo=None)

    def next_wait(now: dt.datetime, md: JobMetadata) -> dt.timedelta:
        if md.never_ran:
            return dt.timedelta(0)
        last = md.last_finished.astimezone(tz)
        target = dt.datetime.combine(last.date(), wall, tzinfo=tz)
        if target <= last:
            target = dt.datetime.combine(last.date() + dt.timedelta(days=1), wall, tzinfo=tz)
        return max(target - now, dt.timedelta(0))

    return next_wait


JobCallback = Callable[[], Any]
"""``def`` (run in a worker thread) or ``async def`` (awaited on the plugin's event loop)."""


class JobClock(Protocol):
    """The time a job reads and waits on: the real clock, or a test harness's."""

    def now(self) -> dt.datetime: ...

    async def sleep(self, seconds: float, wake: asyncio.Event) -> None:
        """Return after ``seconds`` (> 0) or as soon as ``wake`` is set."""
        ...


class RealClock:
    """The wall clock (UTC)."""

    def now(self) -> dt.datetime:
        return _utcnow()

    async def sleep(self, seconds: float, wake: asyncio.Event) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=max(seconds, 0.0))


class Job:
    """A scheduled job: create it with ``schedule`` / ``Plugin.schedule``; ``close`` stops it."""

    def __init__(
        self,
        key: str,
        next_wait: NextWait,
        callback: JobCallback,
        api: AsyncJobAPI,
        loop: asyncio.AbstractEventLoop,
        *,
        run_immediately: bool = True,
        clock: JobClock | None = None,
    ) -> None:
        if not key:
            raise ValueError("a job needs a non-empty key")
        self.key = CRON_PREFIX + key
        self._next_wait = next_wait
        self._callback = callback
        self._api = api
        self._loop = loop
        self._clock: JobClock = clock or RealClock()
        self._run_immediately = run_immediately
        self._mutex = Mutex(self.key, async_api=api)
        self._stopped = asyncio.Event()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while waiting with no wake-up pending
        self._in_callback = False
        self.runs = 0
        """How many times this node ran the callback."""
        # Works from the loop's own thread and from any other (a sync on_activate).
        self._future = asyncio.run_coroutine_threadsafe(self._run(), loop)

    async def _read(self) -> JobMetadata:
        return JobMetadata.from_json(await self._api.kv_get(self.key))

    async def _save(self, md: JobMetadata) -> None:
        await self._api.kv_set_with_options(self.key, md.to_json(), PluginKVSetOptions())

    def _due_in(self, md: JobMetadata) -> float:
        """Seconds until the next run by ``md`` (a broken interval function waits and retries)."""
        try:
            return self._next_wait(self._clock.now(), md).total_seconds()
        except Exception:
            _log.exception("the job's interval function failed", extra={"key": self.key})
            return RECHECK_INTERVAL

    async def _run(self) -> None:
        wait = 0.0
        known: JobMetadata | None = None  # last read; may be stale (another node ran since)
        while not self._stopped.is_set():
            if wait > 0:
                if not self._wake.is_set():
                    self._idle.set()
                await self._clock.sleep(min(wait, RECHECK_INTERVAL), self._wake)
                self._idle.clear()
                self._wake.clear()
                if self._stopped.is_set():
                    break
                # Ask the interval again without touching the store: it may follow settings.
                if known is not None and (wait := self._due_in(known)) > 0:
                    continue
            async with self._mutex:
                try:
                    known = md = await self._read()
                except Exception:
                    _log.exception("failed to read job metadata", extra={"key": self.key})
                    known, wait = None, next_wait_interval(wait, True)
                    continue
                if md.never_ran and not self._run_immediately:
                    md.last_finished = self._clock.now()  # count the first interval from now
                    await self._try_save(md)
                wait = self._due_in(md)
                if wait > 0:
                    continue
                await self._invoke()
                md.last_finished = self._clock.now()
                await self._try_save(md)
                wait = self._due_in(md)

    async def _try_save(self, md: JobMetadata) -> None:
        try:
            await self._save(md)
        except Exception:
            _log.exception("failed to write job data", extra={"key": self.key})

    async def _invoke(self) -> None:
        self.runs += 1
        self._in_callback = True
        try:
            if inspect.iscoroutinefunction(self._callback):
                await self._callback()
            else:
                result = await asyncio.to_thread(self._callback)
                if inspect.isawaitable(result):
                    await result
        except Exception:
            # A Go job's panic would crash the plugin; here the run is logged and counts as
            # done, so a failing job does not run again at once on every node.
            _log.exception("scheduled job failed", extra={"key": self.key})
        finally:
            self._in_callback = False

    # --- control ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Decide now whether the job is due (asking its interval again): call it when what the
        interval depends on changed. The SDK does after ``on_configuration_change``. Any thread."""
        if _on_loop(self._loop):
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run_due(self) -> None:
        """Wake the job and wait until it is waiting again (having run if it was due): what a
        test harness does after moving its clock. On the job's loop."""
        future = asyncio.wrap_future(self._future)
        while not future.done():
            self._idle.clear()
            self._wake.set()
            idle: asyncio.Future[Any] = asyncio.ensure_future(self._idle.wait())
            await asyncio.wait((idle, future), return_when=asyncio.FIRST_COMPLETED)
            idle.cancel()
            if self._idle.is_set() or future.done():
                return

    async def ametadata(self) -> JobMetadata:
        """What the store says about this job now (``never_ran``, ``last_finished``)."""
        return await self._read()

    def metadata(self, timeout: float | None = None) -> JobMetadata:
        """``ametadata`` for sync code (not on the plugin's event loop)."""
        if _on_loop(self._loop):
            raise RuntimeError("Job.metadata() blocks: in async code use 'await job.ametadata()'")
        return asyncio.run_coroutine_threadsafe(self._read(), self._loop).result(timeout)

    def _stop(self) -> None:
        # On the loop. A run in progress finishes; waiting (for the time or the lock) stops now.
        self._stopped.set()
        self._wake.set()
        if not self._in_callback:
            self._future.cancel()

    async def aclose(self) -> None:
        """Stop the job; waits for a run in progress to finish."""
        self._stop()
        with contextlib.suppress(asyncio.CancelledError, concurrent.futures.CancelledError):
            await asyncio.wrap_future(self._future)

    def close(self, timeout: float | None = None) -> None:
        """``aclose`` for sync code (not on the plugin's event loop: use ``await aclose()``)."""
        if _on_loop(self._loop):
            raise RuntimeError("Job.close() blocks: in async code use 'await job.aclose()'")
        self._loop.call_soon_threadsafe(self._stop)
        with contextlib.suppress(concurrent.futures.CancelledError):
            self._future.result(timeout)

    @property
    def closed(self) -> bool:
        return self._future.done()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _takes_no_arguments(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in params
    )


def schedule(
    key: str,
    interval: dt.timedelta | Callable[..., dt.timedelta],
    callback: JobCallback,
    *,
    api: AsyncJobAPI,
    loop: asyncio.AbstractEventLoop,
    rounded: bool = False,
    run_immediately: bool = True,
    clock: JobClock | None = None,
) -> Job:
    """Run ``callback`` every ``interval``, at most once across the cluster.

    ``interval``: a ``timedelta``; a function without arguments returning the current interval
    (read each time the job decides, so it can follow the plugin's settings); or a function
    ``(now, metadata) -> timedelta`` returning how long to wait (``daily_at`` makes one).
    ``rounded=True`` aligns runs to multiples of the interval. A job that never ran anywhere
    runs at once; ``run_immediately=False`` counts its first interval from now instead. ``loop``
    is the plugin's event loop (the SDK's); the call may come from any thread. ``clock``: the
    time the job follows (default the real one; the test harness passes its own).
    """
    if isinstance(interval, dt.timedelta) or (callable(interval) and _takes_no_arguments(interval)):
        every = cast("Interval", interval)
        next_wait = wait_for_rounded_interval(every) if rounded else wait_for_interval(every)
    elif callable(interval):
        if rounded:
            raise ValueError("rounded=True needs an interval, not a (now, metadata) function")
        next_wait = cast("NextWait", interval)
    else:
        raise TypeError(
            f"schedule({key!r}): interval must be a timedelta, a function returning one, or a "
            f"function (now, metadata) -> timedelta, not {type(interval).__name__}"
        )
    return Job(key, next_wait, callback, api, loop, run_immediately=run_immediately, clock=clock)


# --- cluster events ---------------------------------------------------------------------------

RELIABLE = "reliable"
BEST_EFFORT = "best_effort"
_EVENT_ATTR = "__mmplugin_cluster_event__"


@dataclass(frozen=True)
class ClusterEvent:
    """A plugin cluster event received from another node of the cluster."""

    id: str
    data: bytes
    ctx: PluginContext

    def json(self) -> Any:
        """The payload decoded as JSON (what ``publish_cluster_event`` encodes)."""
        return _jsoncodec.decode(self.data)


ClusterEventHandler = Callable[..., Any]


def on_cluster_event(event_id: str) -> Callable[[ClusterEventHandler], ClusterEventHandler]:
    """Declare a handler for the plugin cluster events with this id (from other nodes)."""
    if not event_id:
        raise ValueError("@on_cluster_event needs an event id")

    def decorate(fn: ClusterEventHandler) -> ClusterEventHandler:
        setattr(fn, _EVENT_ATTR, event_id)
        return fn

    return decorate


def collect_cluster_handlers(cls: type) -> dict[str, str]:
    """Event id → handler method name, for a plugin class and its bases."""
    return {event_id: name for name, event_id in marked_methods(cls, _EVENT_ATTR).items()}


def cluster_event(event_id: str, data: Any) -> PluginClusterEvent:
    """The event to publish: ``bytes`` as they are, anything else as JSON."""
    if not event_id:
        raise ValueError("a cluster event needs an id")
    payload = bytes(data) if isinstance(data, (bytes, bytearray)) else _jsoncodec.encode(data)
    return PluginClusterEvent(id=event_id, data=payload)


# --- jobs that run once (pluginapi's JobOnceScheduler) live in mmplugin.jobs_once ------------
# Re-exported lazily: jobs_once builds on Mutex, so importing it here eagerly would be circular.

_JOBS_ONCE_NAMES = ("JobOnce", "JobOnceCallback", "JobOnceMetadata", "JobOnceScheduler")

if TYPE_CHECKING:
    from mmplugin.jobs_once import JobOnce, JobOnceCallback, JobOnceMetadata, JobOnceScheduler


def __getattr__(name: str) -> Any:
    if name in _JOBS_ONCE_NAMES:
        from mmplugin import jobs_once

        return getattr(jobs_once, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BEST_EFFORT",
    "NEVER_RAN",
    "RELIABLE",
    "ClusterEvent",
    "Interval",
    "Job",
    "JobClock",
    "JobMetadata",
    "JobOnce",
    "JobOnceCallback",
    "JobOnceMetadata",
    "JobOnceScheduler",
    "Mutex",
    "NextWait",
    "RealClock",
    "cluster_event",
    "collect_cluster_handlers",
    "daily_at",
    "on_cluster_event",
    "schedule",
    "wait_for_interval",
    "wait_for_rounded_interval",
]
