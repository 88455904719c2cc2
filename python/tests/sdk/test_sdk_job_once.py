"""Schedule-once jobs (pluginapi's JobOnceScheduler) on the in-memory KV store: Go's keys and
JSON, one run per cluster, cancel, list, and pick-up of stored jobs on start."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mmplugin import cluster as cl
from mmplugin import jobs_once as jo
from mmplugin.testing import FakeAPI, FakeAsyncAPI

Runs = list[tuple[str, Any]]


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cl, "POLL_WAIT", 0.01)
    monkeypatch.setattr(cl, "MIN_WAIT", 0.01)
    monkeypatch.setattr(cl, "JITTER", 0.0)
    monkeypatch.setattr(jo, "SCHEDULE_ONCE_JITTER", 0.0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _node(mm_fake: FakeAPI, runs: Runs, poll: float = 3600.0) -> cl.JobOnceScheduler:
    s = cl.JobOnceScheduler(FakeAsyncAPI(mm_fake), asyncio.get_running_loop(), poll_interval=poll)

    async def callback(key: str, props: Any) -> None:
        runs.append((key, props))

    s.set_callback(callback)
    return s


async def _until(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_job_runs_once_at_its_time_not_before(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    s = _node(mm_fake, runs)
    await s.astart()
    job = await s.aschedule_once("remind", _now() + dt.timedelta(seconds=0.5), {"user": "u1"})
    await asyncio.sleep(0.3)
    assert runs == [] and not job.done
    assert mm_fake.kv_get("once_remind") is not None
    await _until(lambda: bool(runs))
    await asyncio.sleep(0.2)
    assert runs == [("remind", {"user": "u1"})]
    await _until(lambda: job.done)
    assert mm_fake.kv_get("once_remind") is None
    assert mm_fake.kv_get("mutex_remind") is None
    assert await s.alist_scheduled_jobs() == []
    await s.aclose()


async def test_stored_json_is_gos_shape_and_props_round_trip(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    s = _node(mm_fake, runs)
    await s.astart()
    at = dt.datetime(2999, 5, 1, 12, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    props = {"n": 1, "tags": ["a", "b"], "nested": {"ok": True, "x": None}}
    await s.aschedule_once("far", at, props)
    raw = mm_fake.kv_get("once_far")
    assert raw == (
        b'{"Key":"far","RunAt":"2999-05-01T10:00:00.25Z","Props":'
        + json.dumps(props, separators=(",", ":")).encode()
        + b"}"
    )
    [md] = await s.alist_scheduled_jobs()
    assert md == jo.JobOnceMetadata("far", at, props)
    await s.aclose()


async def test_two_nodes_run_a_job_exactly_once(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    a, b = _node(mm_fake, runs, poll=0.05), _node(mm_fake, runs, poll=0.05)
    await a.astart()
    await b.astart()
    await a.aschedule_once("both", _now() + dt.timedelta(seconds=0.3), [1, 2])
    await _until(lambda: "both" in b._active)  # node b polled and is waiting for it too
    await _until(lambda: bool(runs))
    await asyncio.sleep(0.4)  # both nodes' timers have fired by now, both have polled again
    assert runs == [("both", [1, 2])]
    await a.aclose()
    await b.aclose()


async def test_a_past_due_stored_job_runs_once_when_two_nodes_start(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    past = jo.JobOnceMetadata("late", _now() - dt.timedelta(minutes=1), {"v": 1})
    mm_fake.kv_set("once_late", past.to_json())
    a, b = _node(mm_fake, runs), _node(mm_fake, runs)
    await asyncio.gather(a.astart(), b.astart())
    await _until(lambda: bool(runs))
    await asyncio.sleep(0.3)
    assert runs == [("late", {"v": 1})]
    assert mm_fake.kv_get("once_late") is None
    await a.aclose()
    await b.aclose()


async def test_a_job_stored_by_go_is_picked_up_on_start(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    # Go writes nanoseconds and the node's local zone.
    mm_fake.kv_set(
        "once_go-job",
        b'{"Key":"go-job","RunAt":"2020-01-02T05:04:05.123456789+02:00","Props":{"id":"x"}}',
    )
    s = _node(mm_fake, runs)
    [md] = await s.alist_scheduled_jobs()
    assert md.run_at == dt.datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)
    await s.astart()
    await _until(lambda: bool(runs))
    assert runs == [("go-job", {"id": "x"})]


async def test_a_scheduled_job_survives_a_restart(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    first = _node(mm_fake, runs)
    await first.astart()
    await first.aschedule_once("persist", _now() + dt.timedelta(seconds=0.3), "p")
    await first.aclose()  # the plugin stops before the job's time
    assert mm_fake.kv_get("once_persist") is not None
    await asyncio.sleep(0.4)
    assert runs == []
    second = _node(mm_fake, runs)
    await second.astart()
    await _until(lambda: bool(runs))
    assert runs == [("persist", "p")]
    await second.aclose()


async def test_cancel_prevents_the_run_on_every_node(mm_fake: FakeAPI) -> None:
    runs: Runs = []
    a, b = _node(mm_fake, runs, poll=0.05), _node(mm_fake, runs, poll=0.05)
    await a.astart()
    await b.astart()
    job = await a.aschedule_once("by-job", _now() + dt.timedelta(seconds=0.4))
    await a.aschedule_once("by-key", _now() + dt.timedelta(seconds=0.4))
    await a.aschedule_once("elsewhere", _now() + dt.timedelta(seconds=0.4))
    await job.acancel()
    assert job.done
    await a.acancel("by-key")
    # b has not seen "elsewhere" in memory necessarily; cancelling by key deletes it anyway.
    await b.acancel("elsewhere")
    await asyncio.sleep(0.7)
    assert runs == []
    assert await a.alist_scheduled_jobs() == []
    assert [k for k in mm_fake.kv_list(0, 100) if k.startswith("once_")] == []
    # A cancelled key can be scheduled again.
    await a.aschedule_once("by-key", _now() - dt.timedelta(seconds=1))
    await _until(lambda: bool(runs))
    assert runs == [("by-key", None)]
    await a.aclose()
    await b.aclose()


async def test_list_shows_pending_jobs(mm_fake: FakeAPI) -> None:
    s = _node(mm_fake, [])
    await s.astart()
    t1 = dt.datetime(2999, 1, 1, tzinfo=dt.timezone.utc)
    t2 = dt.datetime(2999, 1, 2, tzinfo=dt.timezone.utc)
    await s.aschedule_once("one", t1, {"a": 1})
    await s.aschedule_once("two", t2)
    mm_fake.kv_set("unrelated", b"x")
    listed = sorted(await s.alist_scheduled_jobs(), key=lambda m: m.key)
    assert listed == [jo.JobOnceMetadata("one", t1, {"a": 1}), jo.JobOnceMetadata("two", t2)]
    await s.acancel("one")
    assert [m.key for m in await s.alist_scheduled_jobs()] == ["two"]
    await s.aclose()


async def test_misuse_is_explained(mm_fake: FakeAPI) -> None:
    s = cl.JobOnceScheduler(FakeAsyncAPI(mm_fake), asyncio.get_running_loop())
    with pytest.raises(RuntimeError, match="set the callback"):
        await s.astart()
    with pytest.raises(RuntimeError, match="start the JobOnceScheduler"):
        await s.aschedule_once("k", _now())
    s.set_callback(lambda key, props: None)
    await s.astart()
    with pytest.raises(RuntimeError, match="already been started"):
        await s.astart()
    with pytest.raises(ValueError, match="timezone-aware"):
        await s.aschedule_once("k", dt.datetime(2999, 1, 1))
    with pytest.raises(ValueError, match="10000 bytes"):
        await s.aschedule_once("big", _now(), "x" * 10001)
    assert mm_fake.kv_get("once_big") is None
    far = _now() + dt.timedelta(days=1)
    await s.aschedule_once("dup", far)
    with pytest.raises(RuntimeError, match="already scheduled: cancel it first"):
        await s.aschedule_once("dup", far)
    with pytest.raises(RuntimeError, match="'a' form"):
        s.list_scheduled_jobs()
    await s.aclose()


async def test_sync_api_from_a_thread_and_a_failing_def_callback(
    mm_fake: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    s = cl.JobOnceScheduler(FakeAsyncAPI(mm_fake), asyncio.get_running_loop())
    threads: list[str] = []
    calls: Runs = []

    def callback(key: str, props: Any) -> None:  # a def callback runs in a worker thread
        threads.append(threading.current_thread().name)
        calls.append((key, props))
        if key == "boom":
            raise RuntimeError("job exploded")

    s.set_callback(callback)

    def sync_side() -> list[jo.JobOnceMetadata]:
        s.start()
        s.schedule_once("boom", _now(), 1)
        s.schedule_once("later", _now() + dt.timedelta(days=1), 2)
        s.schedule_once("gone", _now() + dt.timedelta(days=1), 3)
        s.cancel("gone")
        return s.list_scheduled_jobs()

    listed = await asyncio.to_thread(sync_side)
    assert [m.key for m in listed if m.key != "boom"] == ["later"]
    await _until(lambda: bool(calls))
    await _until(lambda: mm_fake.kv_get("once_boom") is None)
    assert calls == [("boom", 1)]
    assert threads[0] != threading.main_thread().name
    assert "scheduled once job failed" in caplog.text and "job exploded" in caplog.text
    await asyncio.to_thread(s.close)
    assert mm_fake.kv_get("once_later") is not None  # closing keeps stored jobs
