"""Scheduled jobs end to end: the simulator's `schedules` scenario over HTTP → the daemon with the shipped rules.

Company 47 has a publish every 15 minutes that misses its 09:30 run, a renamed copy of it that never misses,
a nightly publish, a feed whose trigger breaks at 12:00 and banners paused at 09:40; company 118 a daily 02:30
in Berlin. Time is driven: the world and the daemon's clock move together, each poll is triggered by the test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs

from notifier.config import load_config
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.soap import DEFAULT_USERS, OPERATIONS, SimUser
from notifier.runtime.clock import ManualClock
from notifier.store.sqlite.store import SqliteStore
from tests.support.daemon import Harness, console_lines, daemon_config, summary
from tests.support.sim import START, Sim, StartSim

SCHEDULE_RULES = ("missed-schedule", "schedule-failed")
FIVE_MINUTES = 300.0


@pytest.fixture
async def sim(start_sim: StartSim) -> Sim:
    return await start_sim("schedules")


def harness(sim: Sim, tmp_path: Path, clock: ManualClock | None = None, company: str = "47") -> Harness:
    config = daemon_config(tmp_path, sim, companies=f'[{{handle: "{company}"}}]', poll="schedules_interval: 5m")
    return Harness(sim, config, clock or ManualClock(sim.world.start))


def told(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, str]]:
    """What the schedule rules notified since the last call: (rule, status, schedule)."""
    return [s for s in summary(console_lines(capsys)) if s[0] in SCHEDULE_RULES]


async def poll_until(h: Harness, until: datetime, step: float = FIVE_MINUTES) -> None:
    while h.clock.now() < until:
        await h.poll(after=step)


def at(hour: int, minute: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute)


async def test_a_missed_run_is_reported_once_and_resolves_when_the_schedule_runs_again(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 09:30 run that never started is reported at 09:40 (grace 10 min), once however often it is polled,
    and resolved by the 09:45 run; the renamed copy running at the same times, the nightly publish and the
    banners paused at 09:40 (their nextFireTime left in the past) are never reported."""
    h = harness(sim, tmp_path)
    async with h.running():
        await h.poll()
        await poll_until(h, at(9, 35))
        assert told(capsys) == []
        await h.poll(after=FIVE_MINUTES)
        assert told(capsys) == [("missed-schedule", "firing", "Price refresh")]
        await h.poll(after=60)
        await h.poll(after=60)
        assert told(capsys) == []
        await poll_until(h, at(9, 46), step=60)
        assert told(capsys) == [("missed-schedule", "resolved", "Price refresh")]
        await poll_until(h, at(10, 40), step=900)
        assert told(capsys) == []
    paused = sim.world.scheduled_jobs("47", "47||Outlet_banners", None)[0]
    assert paused.trigger_state == "Paused"
    assert paused.next_fire_time is not None
    assert paused.next_fire_time < at(10)


async def test_a_missed_run_is_reported_exactly_once_across_a_restart(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported before a restart — naming the schedule, its cron, the fire time and how late it is —, the miss
    is not reported again after it, and its resolution comes once."""
    clock = ManualClock(START)
    h = harness(sim, tmp_path, clock)
    async with h.running():
        await poll_until(h, at(9, 40))
    (line,) = [d for d in console_lines(capsys) if d["data"]["rule"] in SCHEDULE_RULES]
    assert summary([line]) == [("missed-schedule", "firing", "Price refresh")]
    schedule, message = line["data"]["schedule"], line["data"]["message"]
    assert (schedule["name"], schedule["original_name"], schedule["exec_schedule"]) == (
        "Price_refresh", "Price refresh", "0 0/15 * * * ?"
    )  # fmt: skip
    assert message["title"] == "Scheduled job “Price refresh” did not run at Mar 2, 2026, 9:30\u202fAM UTC"
    assert "Late by: 10\u00a0minutes" in message["text"]
    assert line["data"]["job"] is None
    async with h.running():
        await h.poll(after=60)
        await h.poll(after=60)
        assert told(capsys) == []
        await poll_until(h, at(9, 46), step=60)
    async with h.running():
        await h.poll(after=60)
    assert told(capsys) == [("missed-schedule", "resolved", "Price refresh")]


async def test_a_fire_time_that_passes_while_the_daemon_is_down_is_judged_after_the_restart(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Down from 09:25 to 09:42: the 09:30 run that never came is reported by the restarted daemon, once, while
    the 09:30 run of the renamed copy, which ran and ended while nobody watched, is not a miss."""
    clock = ManualClock(START)
    h = harness(sim, tmp_path, clock)
    async with h.running():
        await poll_until(h, at(9, 25))
    sim.world.advance(17 * 60)  # with no daemon watching
    clock.advance(17 * 60)
    async with h.running():
        await h.poll()
    async with h.running():
        await h.poll(after=60)
    assert told(capsys) == [("missed-schedule", "firing", "Price refresh")]


async def test_a_broken_trigger_is_reported_and_resolves_when_repaired(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The feed's trigger goes to Error at its 12:00 fire: schedule-failed fires once; repaired (Normal again,
    through the simulator's control API), it resolves, and the fire times it could not fire are no miss."""
    h = harness(sim, tmp_path)
    async with h.running(), aiohttp.ClientSession() as session:
        await poll_until(h, at(11, 55), step=1500)
        told(capsys)
        await poll_until(h, at(12, 30))
        assert told(capsys) == [("schedule-failed", "firing", "Supplier feed")]
        body = {"jobHandle": "47||Supplier_feed", "triggerState": "Normal"}
        async with session.post(sim.url("/_sim/trigger"), json=body) as response:
            assert (await response.json())["nextFireTime"] == "2026-03-02T13:00:00+00:00"
        await h.poll(after=FIVE_MINUTES)
        assert told(capsys) == [("schedule-failed", "resolved", "Supplier feed")]
        await poll_until(h, at(13, 30), step=900)
    assert told(capsys) == []


async def test_runs_of_a_schedule_carry_it_in_their_job_events(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A completed run says which schedule it was (`job.schedule`); the renamed copy's runs say the copy."""
    h = harness(sim, tmp_path)
    async with h.running():
        await poll_until(h, at(9, 20))
    completed = [d for d in console_lines(capsys) if d["data"]["rule"] == "publish-completed"]
    schedules = sorted((d["data"]["job"]["schedule"]["name"], d["data"]["job"]["schedule"]["exec_schedule"])
                       for d in completed)  # fmt: skip
    assert schedules == [("Price_refresh", "0 0/15 * * * ?"), ("Price_refresh_EU", "0 0/15 * * * ?")]
    assert all("Schedule: Price refresh" in d["data"]["message"]["text"] for d in completed)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 30, 6, tzinfo=UTC)),  # 02:00 → 03:00 on the 29th
        (datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 6, tzinfo=UTC)),  # 03:00 → 02:00 on the 25th
    ],
    ids=["spring-forward", "fall-back"],
)
async def test_dst_changes_in_the_schedule_s_zone_are_no_miss(
    start_sim: StartSim, tmp_path: Path, capsys: pytest.CaptureFixture[str], start: datetime, end: datetime
) -> None:
    """A daily 02:30 Berlin schedule across a DST change (its fire 23 or 25 hours after the previous, or at
    03:30 when 02:30 does not exist) runs as IPS schedules it and is never reported missed."""
    sim = await start_sim("schedules", start=start)
    h = harness(sim, tmp_path, company="118")
    async with h.running() as daemon:
        await h.poll()
        await poll_until(h, end, step=7200)
        watch = daemon.pollers.pollers[0].schedules
        assert watch is not None
        (state,) = watch.tracker.states.values()
    assert told(capsys) == []
    assert state.last_run is not None
    assert state.last_run > end - timedelta(days=1)
    assert state.due is None


async def test_a_user_without_the_right_to_schedules_keeps_the_company_watched(
    start_sim: StartSim, tmp_path: Path
) -> None:
    """getScheduledJobs refused (authorizationFault 20003) is logged once and left alone for a while; the jobs
    are still polled and the company is neither failing nor unreachable."""
    no_schedules = SimUser("demo", frozenset(OPERATIONS) - {"getScheduledJobs"})
    sim = await start_sim("schedules", users={**DEFAULT_USERS, "demo@example.com": no_schedules})
    h = harness(sim, tmp_path)
    async with h.running() as daemon:
        with capture_logs() as logs:
            for _ in range(4):
                await h.poll(after=FIVE_MINUTES)
        poller = daemon.pollers.pollers[0]
        assert poller.status.consecutive_failures == 0
        assert poller.tracker is not None
        assert poller.tracker.active_count > 0
        assert poller.schedules is not None
        assert "20003" in (poller.schedules.polling.refused or "")
    refusals = [e for e in logs if e["event"].startswith("scheduled jobs refused")]
    assert len(refusals) == 1
    assert sim.world.calls > 0


async def test_a_failing_schedules_call_fails_the_poll_like_any_other_call(sim: Sim, tmp_path: Path) -> None:
    """A 503 on getScheduledJobs (the first call of a cycle once the company's name is known) is a failed poll,
    and the next poll asks for the schedules again."""
    h = harness(sim, tmp_path)
    async with h.running() as daemon:
        poller = daemon.pollers.pollers[0]
        await h.poll()
        sim.world.chaos.inject(FaultSpec("5xx", status=503))
        await h.poll(after=FIVE_MINUTES)
        assert poller.status.consecutive_failures == 1
        calls = sim.world.calls
        await h.poll(after=30)
    assert poller.status.consecutive_failures == 0
    assert sim.world.calls - calls == 3  # getScheduledJobs again, then getActiveJobs and getJobLogs


async def test_an_open_miss_still_resolves_when_the_restart_finds_no_marks(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The alert book survives a crash exactly, the schedule marks may not: the restarted daemon takes the open
    episode over from the alert and resolves it with the schedule's next run, without reporting it again."""
    h = harness(sim, tmp_path)
    async with h.running():
        await poll_until(h, at(9, 40))
    assert told(capsys) == [("missed-schedule", "firing", "Price refresh")]
    await forget_schedule_marks(h)
    async with h.running():
        await h.poll(after=60)
        assert told(capsys) == []
        await poll_until(h, at(9, 46), step=60)
    assert told(capsys) == [("missed-schedule", "resolved", "Price refresh")]


async def test_turning_schedules_off_forgets_their_open_alerts(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With schedules no longer watched for the company, nothing could close its schedule alerts: the restarted
    daemon forgets them (no notification), and the company's schedules are not asked for."""
    h = harness(sim, tmp_path)
    async with h.running():
        await poll_until(h, at(9, 40))
    told(capsys)
    path = h.config.source
    path.write_text(path.read_text(encoding="utf-8").replace("schedules_interval: 5m", "schedules_interval: 0"))
    h.config = load_config(path)
    async with h.running() as daemon:
        await h.poll(after=60)
        assert daemon.alerts() == []
        assert daemon.pollers.pollers[0].schedules is None
    assert told(capsys) == []


async def forget_schedule_marks(h: Harness) -> None:
    store = await SqliteStore.open(h.config.state_location.path)
    try:
        async with store.transaction() as db:
            await db.execute("DELETE FROM schedule_marks")
    finally:
        await store.close()
