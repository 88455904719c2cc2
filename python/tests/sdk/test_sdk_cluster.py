"""Cluster mutex, jobs and events on the in-memory KV store, with pluginapi's keys and timing."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest

from mmplugin import ClusterEvent, Plugin, on_cluster_event
from mmplugin import cluster as cl
from mmplugin.testing import FakeAPI, FakeAsyncAPI, PluginTestHarness


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cl, "POLL_WAIT", 0.01)
    monkeypatch.setattr(cl, "MIN_WAIT", 0.01)
    monkeypatch.setattr(cl, "JITTER", 0.0)


def test_mutex_uses_pluginapis_key_and_excludes_a_second_holder(mm_fake: FakeAPI) -> None:
    a = cl.Mutex("sync", api=mm_fake)
    b = cl.Mutex("sync", api=mm_fake)
    with a:
        assert mm_fake.kv_get("mutex_sync") == b"\x01"
        assert b.lock(timeout=0.1) is False
    assert mm_fake.kv_get("mutex_sync") is None
    assert b.lock(timeout=1) is True
    b.unlock()


def test_a_waiting_holder_gets_the_lock_when_it_is_released(mm_fake: FakeAPI) -> None:
    a = cl.Mutex("k", api=mm_fake)
    a.lock()
    got: list[float] = []

    def second() -> None:
        with cl.Mutex("k", api=mm_fake):
            got.append(time.monotonic())

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.1)
    assert got == []
    released = time.monotonic()
    a.unlock()
    t.join(2)
    assert got and got[0] >= released


def test_the_lock_expires_after_15s_unless_refreshed(
    mm_fake: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = cl.Mutex("crashed", api=mm_fake)
    assert stale.lock(timeout=1)
    stale._stop_refresh.set()  # type: ignore[union-attr]  # the holder "crashes"
    mm_fake.advance_time(16)
    assert cl.Mutex("crashed", api=mm_fake).lock(timeout=0.5) is True

    monkeypatch.setattr(cl, "REFRESH_INTERVAL", 0.02)
    alive = cl.Mutex("alive", api=mm_fake)
    alive.lock()
    for _ in range(3):  # 42 s of fake time; the refresh keeps resetting the 15 s expiry
        mm_fake.advance_time(14)
        time.sleep(0.1)
        assert mm_fake.kv_get("mutex_alive") == b"\x01"
    alive.unlock()
    assert mm_fake.kv_get("mutex_alive") is None


def test_unlocking_an_unlocked_mutex_and_missing_apis_are_explained(mm_fake: FakeAPI) -> None:
    with pytest.raises(RuntimeError, match="'mutex_x' is not locked"):
        cl.Mutex("x", api=mm_fake).unlock()
    with pytest.raises(RuntimeError, match="has no sync API"):
        cl.Mutex("x").lock()
    with pytest.raises(ValueError, match="non-empty key"):
        cl.Mutex("")


async def test_async_mutex(mm_fake: FakeAPI) -> None:
    api = FakeAsyncAPI(mm_fake)
    a = cl.Mutex("am", async_api=api)
    async with a:
        assert mm_fake.kv_get("mutex_am") == b"\x01"
        assert await cl.Mutex("am", async_api=api).alock(timeout=0.1) is False
    assert await cl.Mutex("am", async_api=api).alock(timeout=1) is True
    with pytest.raises(RuntimeError, match="has no async API"):
        await cl.Mutex("am", api=mm_fake).alock()


def test_job_metadata_reads_and_writes_gos_format() -> None:
    md = cl.JobMetadata.from_json(b'{"LastFinished":"2024-05-01T10:00:00.123456789Z"}')
    assert md.last_finished == dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)
    assert md.to_json() == b'{"LastFinished":"2024-05-01T10:00:00.123456Z"}'
    # Nanoseconds and a zone offset, as Go writes them for a node in another time zone.
    east = cl.JobMetadata.from_json(b'{"LastFinished":"2024-05-01T12:00:00.5000001+02:00"}')
    assert east.last_finished == dt.datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert east.to_json() == b'{"LastFinished":"2024-05-01T10:00:00.500000Z"}'
    zero = cl.JobMetadata.from_json(b'{"LastFinished":"0001-01-01T00:00:00Z"}')
    assert zero.last_finished.year == 1
    assert cl.JobMetadata.from_json(None).last_finished == zero.last_finished


def test_wait_functions_follow_pluginapi() -> None:
    now = dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone.utc)
    hourly = cl.wait_for_interval(dt.timedelta(hours=1))
    assert hourly(now, cl.JobMetadata()) == dt.timedelta(0)
    ran = cl.JobMetadata(now - dt.timedelta(minutes=20))
    assert hourly(now, ran) == dt.timedelta(minutes=40)
    rounded = cl.wait_for_rounded_interval(dt.timedelta(hours=1))
    assert rounded(now, ran) == dt.timedelta(minutes=30)  # next full hour
    assert rounded(now, cl.JobMetadata()) == dt.timedelta(0)
    with pytest.raises(ValueError, match="positive"):
        cl.wait_for_interval(dt.timedelta(0))


async def test_a_job_runs_once_across_nodes_per_interval(mm_fake: FakeAPI) -> None:
    loop = asyncio.get_running_loop()
    runs: list[str] = []

    async def node_a() -> None:
        runs.append("a")

    def node_b() -> None:
        runs.append("b")

    api = FakeAsyncAPI(mm_fake)
    jobs = [
        cl.schedule("digest", dt.timedelta(hours=1), node_a, api=api, loop=loop),
        cl.schedule("digest", dt.timedelta(hours=1), node_b, api=api, loop=loop),
    ]
    for _ in range(100):
        if runs:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # both nodes polled again: neither runs before the hour is up
    assert len(runs) == 1
    stored = cl.JobMetadata.from_json(mm_fake.kv_get("cron_digest"))
    assert dt.datetime.now(dt.timezone.utc) - stored.last_finished < dt.timedelta(seconds=5)
    for job in jobs:
        await job.aclose()
    assert all(job.closed for job in jobs)
    assert mm_fake.kv_get("mutex_cron_digest") is None


async def test_a_failing_job_is_logged_and_counts_as_run(
    mm_fake: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError("job exploded")

    job = cl.schedule(
        "boom",
        dt.timedelta(hours=1),
        boom,
        api=FakeAsyncAPI(mm_fake),
        loop=asyncio.get_running_loop(),
    )
    for _ in range(100):
        if mm_fake.kv_get("cron_boom"):
            break
        await asyncio.sleep(0.01)
    await job.aclose()
    assert job.runs == 1
    assert "scheduled job failed" in caplog.text and "job exploded" in caplog.text


class Events(Plugin):
    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    @on_cluster_event("cache-drop")
    def drop(self, event: ClusterEvent) -> None:
        self.seen.append((event.id, event.json()))

    @on_cluster_event("raw")
    async def raw(self, event: ClusterEvent) -> None:
        self.seen.append((event.id, event.data))


def test_cluster_events_are_published_and_routed_by_id() -> None:
    with PluginTestHarness(Events) as h:
        assert h.implemented == ["OnPluginClusterEvent"]
        h.activate()
        h.plugin.publish_cluster_event("cache-drop", {"user_id": "u1"}, send_type="best_effort")
        [(event, opts)] = h.api.cluster_events
        assert (event.id, event.data, opts.send_type) == (
            "cache-drop",
            b'{"user_id":"u1"}',
            "best_effort",
        )
        h.cluster_event("cache-drop", {"user_id": "u1"})
        h.cluster_event("raw", b"\x00")
        h.cluster_event("unknown", b"")  # no handler: ignored
        assert h.plugin.seen == [("cache-drop", {"user_id": "u1"}), ("raw", b"\x00")]


def test_plugin_schedule_runs_jobs_and_stops_them_on_deactivate() -> None:
    class Scheduler(Plugin):
        def on_activate(self) -> None:
            self.ran = threading.Event()
            self.job = self.schedule("tick", dt.timedelta(minutes=5), self.ran.set)

    with PluginTestHarness(Scheduler) as h:
        h.activate()
        assert h.plugin.ran.wait(2)
        h.deactivate()
        assert h.plugin.job.closed
