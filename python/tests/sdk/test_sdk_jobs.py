"""Scheduled jobs in the test harness: they follow the harness clock, never the real one."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import time

import pytest

from mmplugin import Plugin, Settings
from mmplugin.cluster import Job, daily_at
from mmplugin.testing import PluginTestHarness


class Ticker(Plugin):
    def on_activate(self) -> None:
        self.runs: list[dt.datetime] = []
        self.job = self.schedule("tick", dt.timedelta(minutes=5), self.tick)

    def tick(self) -> None:
        self.runs.append(dt.datetime.now(dt.timezone.utc))


def test_a_job_that_never_ran_runs_at_activation_then_each_interval_of_harness_time() -> None:
    with PluginTestHarness(Ticker) as h:
        started = time.monotonic()
        h.activate()
        assert len(h.plugin.runs) == 1  # never ran anywhere: runs at once
        md = h.plugin.job.metadata()
        assert not md.never_ran and md.last_finished <= h.now()
        h.advance_time(dt.timedelta(minutes=4))
        assert len(h.plugin.runs) == 1
        h.advance_time(dt.timedelta(minutes=1, seconds=1))
        assert len(h.plugin.runs) == 2
        h.advance_time(dt.timedelta(hours=1))  # missed intervals: one run, not twelve
        assert len(h.plugin.runs) == 3
        assert time.monotonic() - started < 5  # five minutes of job time took no real time
        assert h.plugin.job.runs == 3


def test_jobs_do_not_run_on_the_real_clock_in_the_harness() -> None:
    class Fast(Plugin):
        def on_activate(self) -> None:
            self.count = 0
            self.job = self.schedule("fast", dt.timedelta(milliseconds=10), self.bump)

        def bump(self) -> None:
            self.count += 1

    with PluginTestHarness(Fast) as h:
        h.activate()
        time.sleep(0.2)  # twenty intervals of real time
        assert h.plugin.count == 1
        h.run_due_jobs()
        assert h.plugin.count == 1
        h.advance_time(0.01)
        assert h.plugin.count == 2


def test_run_immediately_false_waits_one_interval_and_metadata_says_never_ran() -> None:
    class Later(Plugin):
        def on_activate(self) -> None:
            self.count = 0
            self.job = self.schedule(
                "later", dt.timedelta(hours=1), self.bump, run_immediately=False
            )

        def bump(self) -> None:
            self.count += 1

    with PluginTestHarness(Later) as h:
        h.activate()
        assert h.plugin.count == 0
        h.advance_time(dt.timedelta(minutes=59))
        assert h.plugin.count == 0
        h.advance_time(dt.timedelta(minutes=1, seconds=1))
        assert h.plugin.count == 1


def test_metadata_of_a_job_that_never_ran() -> None:
    class Idle(Plugin):
        async def on_activate(self) -> None:
            self.job = self.schedule("idle", dt.timedelta(days=1), self.noop)
            await self.job.aclose()  # closed before its first run
            self.md = await self.job.ametadata()

        def noop(self) -> None:
            pass

    with PluginTestHarness(Idle) as h:
        h.activate()
        assert h.plugin.md.never_ran


class IntervalSettings(Settings):
    sync_minutes: int = 10


class FromSettings(Plugin):
    config: IntervalSettings

    def on_activate(self) -> None:
        self.count = 0
        self.job = self.schedule(
            "sync", lambda: dt.timedelta(minutes=self.config.sync_minutes), self.sync
        )

    def sync(self) -> None:
        self.count += 1


def test_an_interval_from_the_settings_follows_them_without_rescheduling() -> None:
    with PluginTestHarness(FromSettings, config={"SyncMinutes": 10}) as h:
        h.activate()
        assert h.plugin.count == 1
        h.advance_time(dt.timedelta(minutes=3))
        assert h.plugin.count == 1
        h.set_config({"SyncMinutes": 2})  # already 3 minutes since the last run: due now
        assert h.plugin.count == 2
        h.advance_time(dt.timedelta(minutes=2, seconds=1))
        assert h.plugin.count == 3


def test_daily_at_a_time() -> None:
    class Daily(Plugin):
        def on_activate(self) -> None:
            self.count = 0
            self.job = self.schedule(
                "report", daily_at(dt.time(3, 0)), self.report, run_immediately=False
            )

        def report(self) -> None:
            self.count += 1

    with PluginTestHarness(Daily) as h:
        h.activate()
        assert h.plugin.count == 0
        now = h.now()
        next_3am = dt.datetime.combine(now.date(), dt.time(3, 0), tzinfo=dt.timezone.utc)
        if next_3am <= now:
            next_3am += dt.timedelta(days=1)
        h.advance_time(next_3am - now - dt.timedelta(minutes=1))
        assert h.plugin.count == 0
        h.advance_time(dt.timedelta(minutes=2))
        assert h.plugin.count == 1
        h.advance_time(dt.timedelta(hours=23))
        assert h.plugin.count == 1
        h.advance_time(dt.timedelta(hours=1))
        assert h.plugin.count == 2


def test_daily_at_follows_the_last_run() -> None:
    from mmplugin.cluster import JobMetadata

    next_wait = daily_at(dt.time(3, 0))
    utc = dt.timezone.utc
    last = dt.datetime(2026, 3, 1, 3, 0, 5, tzinfo=utc)
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=utc)
    assert next_wait(now, JobMetadata(last)) == dt.timedelta(hours=15)
    assert next_wait(now, JobMetadata()) == dt.timedelta(0)  # never ran: at once
    days_later = dt.datetime(2026, 3, 5, 12, 0, tzinfo=utc)
    assert next_wait(days_later, JobMetadata(last)) == dt.timedelta(0)


def test_closing_the_harness_leaves_nothing_pending(caplog: pytest.LogCaptureFixture) -> None:
    class Busy(Plugin):
        async def on_activate(self) -> None:
            asyncio.get_running_loop().create_task(asyncio.sleep(3600))  # never awaited
            self.job = self.schedule("busy", dt.timedelta(minutes=1), self.noop)

        def noop(self) -> None:
            pass

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with PluginTestHarness(Busy) as h:
            h.activate()
        job: Job = h.plugin.job
        assert job.closed
        del h, job
        gc.collect()
    assert "Task was destroyed but it is pending" not in caplog.text


def test_a_broken_interval_function_is_logged_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(Plugin):
        def on_activate(self) -> None:
            self.minutes = 0
            self.count = 0
            self.job = self.schedule(
                "broken", lambda: dt.timedelta(minutes=self.minutes), self.bump
            )

        def bump(self) -> None:
            self.count += 1

    with PluginTestHarness(Broken) as h:
        h.activate()
        assert h.plugin.count == 0
        assert "the job's interval function failed" in caplog.text
        assert "must be a positive timedelta" in caplog.text
        h.plugin.minutes = 5
        h.advance_time(dt.timedelta(minutes=1, seconds=1))  # retried after RECHECK_INTERVAL
        assert h.plugin.count == 1


def test_schedule_explains_a_wrong_interval() -> None:
    class Wrong(Plugin):
        def on_activate(self) -> None:
            self.schedule("x", 60, self.on_activate)  # type: ignore[arg-type]

    with PluginTestHarness(Wrong) as h, pytest.raises(TypeError, match="must be a timedelta"):
        h.activate()

    class RoundedFunction(Plugin):
        def on_activate(self) -> None:
            self.schedule("x", daily_at(dt.time(3)), self.on_activate, rounded=True)

    with PluginTestHarness(RoundedFunction) as h2, pytest.raises(ValueError, match="rounded"):
        h2.activate()
