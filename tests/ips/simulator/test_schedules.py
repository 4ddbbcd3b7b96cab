"""The simulator's scheduled jobs: fire times in their own zone across DST, runs named after them, misses and
broken triggers as a scenario says, and pausing or repairing a trigger over the control API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifier.ips.simulator.schedules import ScheduleSpec
from notifier.ips.simulator.server import make_world
from tests.support.sim import START, Sim, StartSim

BERLIN_0230 = ScheduleSpec("118", "Nachtabgleich", "UrlUpload", "ops@example.com", "de-DE", "0 30 2 * * ?",
                           "Europe/Berlin", at=(2, 30))  # fmt: skip


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(spec: ScheduleSpec, after: datetime, count: int) -> list[datetime]:
    out = []
    for _ in range(count):
        after = spec.fire_after(after)
        out.append(after.astimezone(UTC))
    return out


def test_a_daily_schedule_follows_its_zone_s_wall_clock_across_dst() -> None:
    """02:30 Berlin: 01:30 UTC in winter, 00:30 UTC in summer; on the spring day 02:30 does not exist and it fires
    at 03:30 (the same instant, 01:30 UTC); on the autumn day 02:30 happens twice and it fires once, at the first."""
    assert fires(BERLIN_0230, utc(2026, 3, 28, 12), 3) == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30),
                                                          utc(2026, 3, 31, 0, 30)]  # fmt: skip
    assert BERLIN_0230.fire_after(utc(2026, 3, 28, 12)).strftime("%H:%M %Z") == "03:30 CEST"
    assert fires(BERLIN_0230, utc(2026, 10, 24, 12), 2) == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_an_every_minutes_schedule_fires_on_the_clock() -> None:
    """Every 15 minutes fires at :00, :15, :30, :45, strictly after the time asked."""
    every = ScheduleSpec("47", "Prices", "UrlUpload", "ops@example.com", "en-US", "0 0/15 * * * ?", every_minutes=15)
    assert fires(every, START, 3) == [START + timedelta(minutes=m) for m in (15, 30, 45)]


def test_fires_start_runs_named_after_the_schedule_except_the_missed_one() -> None:
    """Price refresh runs at 09:15 and 09:45 but not 09:30; its copy runs at all three; each run is named after
    its schedule, with IPS's submit-time suffix, and keeps the schedule's original name."""
    world = make_world("schedules", speed=0.0, start=START)
    world.advance(50 * 60)
    runs = sorted((log.job_name or "") for log in world.job_logs("47") if "Price" in (log.job_name or ""))
    assert runs == [
        "Price_refresh_2026-03-02-09:15:00", "Price_refresh_2026-03-02-09:45:00",
        "Price_refresh_EU_2026-03-02-09:15:00", "Price_refresh_EU_2026-03-02-09:30:00",
        "Price_refresh_EU_2026-03-02-09:45:00",
    ]  # fmt: skip
    assert {log.original_job_name for log in world.job_logs("47") if "Price" in (log.job_name or "")} == {
        "Price refresh"
    }


def test_a_trigger_that_breaks_stops_firing_and_keeps_its_next_fire_time() -> None:
    """Supplier feed's trigger goes to Error at its third fire (12:00): no run then or after, and nextFireTime
    stays at 12:00 as a real broken trigger's does."""
    world = make_world("schedules", speed=0.0, start=START)
    world.advance(5 * 3600)
    (feed,) = world.scheduled_jobs("47", "47||Supplier_feed", None)
    assert (feed.trigger_state, feed.next_fire_time) == ("Error", utc(2026, 3, 2, 12))
    starts = sorted(log.start_date or START for log in world.job_logs("47") if "Supplier" in (log.job_name or ""))
    assert starts == [utc(2026, 3, 2, 10), utc(2026, 3, 2, 11)]


async def test_control_api_pauses_and_repairs_a_trigger(start_sim: StartSim) -> None:
    """POST /_sim/trigger pauses a schedule (it stops firing) and resumes it (it goes on from its next time, not
    firing what it skipped); an unknown schedule or state is a 400."""
    sim: Sim = await start_sim("schedules")
    pause = {"jobHandle": "47||Price_refresh", "triggerState": "Paused"}
    async with sim.session.post(sim.url("/_sim/trigger"), json=pause) as resp:
        assert await resp.json() == {"jobHandle": "47||Price_refresh", "triggerState": "Paused",
                                     "nextFireTime": "2026-03-02T09:15:00+00:00"}  # fmt: skip
    sim.world.advance(40 * 60)
    assert [s.next_fire_time for s in await sim.client().get_scheduled_jobs("47") if s.name == "Price_refresh"] == [
        utc(2026, 3, 2, 9, 15)
    ]
    resume = {**pause, "triggerState": "Normal"}
    async with sim.session.post(sim.url("/_sim/trigger"), json=resume) as resp:
        assert (await resp.json())["nextFireTime"] == "2026-03-02T09:45:00+00:00"
    for bad in ({**pause, "jobHandle": "47||Nothing"}, {**pause, "triggerState": "Sleepy"}):
        async with sim.session.post(sim.url("/_sim/trigger"), json=bad) as resp:
            assert resp.status == 400
            assert "error" in await resp.json()
    async with sim.session.get(sim.url("/_sim/state")) as resp:
        states = {s["jobHandle"]: s["triggerState"] for s in (await resp.json())["schedules"]}
    assert states["47||Price_refresh"] == "Normal"
