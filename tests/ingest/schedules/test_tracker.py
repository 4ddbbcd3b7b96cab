"""The schedule tracker, pure: fire times from IPS's nextFireTime, runs from jobs and logs, events out."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from notifier.ingest.schedules.state import ScheduleState, mark_from_dict, mark_to_dict
from notifier.ingest.schedules.tracker import ScheduleTracker
from notifier.models import ActiveJob, CompanyRef, Event, JobLog, ScheduledJob

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPANY = CompanyRef("47", "Planetary")
NIGHTLY = ScheduledJob(
    company_handle="47", job_handle="47||Price_refresh", name="Price_refresh", original_name="Price refresh",
    type="ImageServingPublish", exec_schedule="0 0/15 * * * ?", time_zone="UTC", trigger_state="Normal",
)  # fmt: skip


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def snap(next_minutes: float | None, trigger: str = "Normal", schedule: ScheduledJob = NIGHTLY) -> list[ScheduledJob]:
    fire = at(next_minutes) if next_minutes is not None else None
    return [replace(schedule, next_fire_time=fire, trigger_state=trigger)]


def run(started: float, name: str = "Price_refresh", state: str = "Running") -> ActiveJob:
    when = at(started)
    return ActiveJob(
        company_handle="47", job_handle=f"47||{name}_{when:%Y-%m-%d-%H:%M:%S}", name=f"{name}_{when:%Y-%m-%d-%H:%M:%S}",
        original_name=name.replace("_", " "), type="ImageServingPublish", state=state, start_date=when,
    )  # fmt: skip


class Driver:
    """A tracker fed as the poller feeds it: schedules (when polled), then the cycle's jobs and logs."""

    def __init__(self, tracker: ScheduleTracker | None = None, scan_start: datetime | None = None) -> None:
        self.tracker = tracker or ScheduleTracker(COMPANY, grace=600)
        self.scan_start = scan_start or at(-5)

    def cycle(
        self, minutes: float, schedules: list[ScheduledJob] | None = None, jobs: tuple[ActiveJob, ...] = (),
        logs: tuple[JobLog, ...] = (),
    ) -> list[Event]:  # fmt: skip
        now = at(minutes)
        events = self.tracker.observe_schedules(schedules, now) if schedules is not None else []
        events += self.tracker.observe_runs(list(jobs), list(logs), self.scan_start, now)
        return events + self.tracker.check(now, polled=schedules is not None)


def kinds(events: list[Event]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.reason) for e in events]


def test_a_schedule_that_runs_on_time_is_never_reported() -> None:
    """Fire time 09:15 comes (IPS moves on to 09:30) and its run is seen: nothing to say, ever."""
    d = Driver()
    assert d.cycle(0, snap(15)) == []
    assert d.cycle(16, snap(30), jobs=(run(15.05),)) == []
    assert d.cycle(40, snap(45), jobs=(run(30.05),)) == []
    assert d.cycle(54, snap(45), jobs=(run(45.05),)) == []
    assert d.tracker.states["47||Price_refresh"].last_run == at(45.05)


def test_a_fire_time_without_a_run_is_missed_after_grace_and_not_before() -> None:
    """09:15 comes without a run: nothing at 09:24, `schedule.missed` at 09:25 with the fire time, how late it
    is and how IPS showed it (it moved on: the trigger fired, no run came)."""
    d = Driver()
    d.cycle(0, snap(15))
    assert d.cycle(16, snap(30)) == []
    assert d.cycle(24) == []
    (missed,) = d.cycle(25)
    assert (missed.kind, missed.fire_time, missed.late_seconds, missed.reason) == (
        "schedule.missed", at(15), 600.0, "no_run"
    )  # fmt: skip
    assert missed.schedule is not None
    assert missed.schedule.next_fire_time == at(30)


def test_a_missed_schedule_repeats_only_on_schedule_polls_with_growing_lateness() -> None:
    """While it stays missed, each schedules poll says so again (for rules that want more lateness); job polls
    in between do not."""
    d = Driver()
    d.cycle(0, snap(15))
    d.cycle(16, snap(30))
    d.cycle(25)
    assert d.cycle(26) == []
    (again,) = d.cycle(30, snap(30))
    assert (again.fire_time, again.late_seconds) == (at(15), 900.0)


def test_the_next_run_recovers_a_missed_schedule_and_names_the_run() -> None:
    """The 09:30 run after a missed 09:15 ends the episode: `schedule.recovered` (ran) carrying that run."""
    d = Driver()
    d.cycle(0, snap(15))
    d.cycle(16, snap(30))
    d.cycle(25)
    (recovered,) = d.cycle(31, snap(45), jobs=(run(30.02),))
    assert kinds([recovered]) == [("schedule.recovered", "ran")]
    assert recovered.job is not None
    assert recovered.job.job_handle == run(30.02).job_handle
    assert d.cycle(50, snap(60), jobs=(run(45.02),)) == []


def test_a_run_that_came_only_long_after_its_fire_time_did_not_run_around_it() -> None:
    """Seen only later (a restart, fire times closer together than schedules are polled): the 09:15 fire time's
    first run started at 09:40. No run started around 09:15, so it was missed; the run then recovers it."""
    d = Driver()
    d.cycle(0, snap(15))
    events = d.cycle(41, snap(45), jobs=(run(40),))
    assert [(e.kind, e.fire_time, e.late_seconds, e.reason) for e in events] == [
        ("schedule.missed", at(15), 1500.0, "no_run"),
        ("schedule.recovered", None, None, "ran"),
    ]


def test_the_next_fire_time_s_run_does_not_meet_a_missed_one_of_a_frequent_schedule() -> None:
    """Every 5 minutes, shown fire by fire: the 09:05 run never came, the 09:10 one did, within grace of 09:05.
    It is 09:10's run, not a late 09:05 one: 09:05 was missed (and the schedule has run again since)."""
    d = Driver()
    d.cycle(0, snap(5))
    assert d.cycle(6, snap(10)) == []
    events = d.cycle(11, snap(15), jobs=(run(10),))
    assert [(e.kind, e.fire_time, e.reason) for e in events] == [
        ("schedule.missed", at(5), "no_run"),
        ("schedule.recovered", None, "ran"),
    ]


def test_a_run_seen_only_in_the_job_logs_counts() -> None:
    """A run that started and ended between two polls is known from its log alone, and covers its fire time."""
    d = Driver()
    d.cycle(0, snap(15))
    job = run(15.01)
    log = JobLog(job_handle=job.job_handle, job_name=job.name, original_job_name=job.original_name,
                 log_type="ImageServingPublish", start_date=at(15.01), end_date=at(15.5))  # fmt: skip
    assert d.cycle(30, snap(30), logs=(log,)) == []
    assert d.cycle(40) == []


def test_a_trigger_that_does_not_fire_is_a_missed_run_too() -> None:
    """IPS still shows 09:15 as next at 09:25 with the trigger Normal: it did not fire (`not_fired`)."""
    d = Driver()
    d.cycle(0, snap(15))
    assert d.cycle(20, snap(15)) == []
    (missed,) = d.cycle(25, snap(15))
    assert (missed.fire_time, missed.reason) == (at(15), "not_fired")


def test_a_paused_schedule_is_not_missed_and_resuming_it_forgives_the_pause() -> None:
    """Paused with its nextFireTime long past: no miss; resumed, the fire times it skipped are no miss either,
    and the first one after it resumes is judged as usual."""
    d = Driver()
    d.cycle(0, snap(15))
    assert d.cycle(10, snap(15, "Paused")) == []
    assert d.cycle(60, snap(15, "Paused")) == []
    assert d.cycle(70, snap(75)) == []
    assert d.cycle(80, snap(90), jobs=(run(75),)) == []
    assert d.cycle(95, snap(105)) == []
    assert kinds(d.cycle(100, snap(105))) == [("schedule.missed", "no_run")]


def test_a_broken_trigger_fails_once_and_recovers_when_normal_again() -> None:
    """Error → `schedule.failed` once (with the state before); Normal again → `schedule.recovered` (normal), and
    what it could not fire meanwhile is not a miss."""
    d = Driver()
    d.cycle(0, snap(15))
    (failed,) = d.cycle(16, snap(15, "Error"))
    assert (failed.kind, failed.previous, failed.schedule and failed.schedule.trigger_state) == (
        "schedule.failed", {"trigger_state": "Normal"}, "Error"
    )  # fmt: skip
    assert d.cycle(30, snap(15, "Error")) == []
    (recovered,) = d.cycle(60, snap(75))
    assert (recovered.kind, recovered.reason, recovered.previous) == (
        "schedule.recovered", "normal", {"trigger_state": "Error"}
    )  # fmt: skip
    assert d.cycle(80) == []


def test_blocked_while_its_own_run_goes_on_is_not_a_failure() -> None:
    """Blocked is how a trigger waits for its own long run; Blocked with no run of it active is a failure."""
    d = Driver()
    d.cycle(0, snap(15), jobs=(run(-2),))
    assert d.cycle(16, snap(15, "Blocked"), jobs=(run(-2),)) == []
    assert d.cycle(20, jobs=()) == []
    assert kinds(d.cycle(21, snap(15, "Blocked"))) == [("schedule.failed", None)]


def test_a_schedule_gone_twice_closes_its_episode_as_removed() -> None:
    """Absent from one snapshot it may be a hiccup; absent from two, it is gone, and an open miss closes."""
    d = Driver()
    d.cycle(0, snap(15))
    d.cycle(16, snap(30))
    d.cycle(25)
    assert d.cycle(30, []) == []
    assert kinds(d.cycle(35, [])) == [("schedule.recovered", "removed")]
    assert d.tracker.states == {}


def test_history_before_first_sight_is_not_judged() -> None:
    """A fire time before we first saw the schedule is no miss, even if IPS shows it moving on afterwards."""
    d = Driver()
    d.cycle(20, snap(15, "Paused"))
    assert d.cycle(25, snap(30)) == []
    assert d.cycle(35, snap(30)) == []


def test_a_fire_time_before_the_visible_runs_is_not_judged() -> None:
    """After a restart whose job log scan reaches back only so far, an older fire time could have had a run we
    cannot see: not judged."""
    state = ScheduleState(replace(NIGHTLY, next_fire_time=at(15)), judged_from=at(-60), next_fire=at(15))
    d = Driver(ScheduleTracker(COMPANY, grace=600, marks={NIGHTLY.key: state}), scan_start=at(40))
    assert d.cycle(60, snap(75)) == []


def test_restored_marks_neither_repeat_a_miss_nor_lose_a_fire_time() -> None:
    """A restarted tracker from the marks of the first: the miss already reported is not reported again (only
    repeated on the next schedules poll, as ever), and a fire time that came while it was down is judged."""
    first = Driver()
    first.cycle(0, snap(15))
    first.cycle(16, snap(30))
    assert kinds(first.cycle(25)) == [("schedule.missed", "no_run")]
    marks = {k: mark_from_dict(mark_to_dict(v)) for k, v in first.tracker.marks().items()}
    second = Driver(ScheduleTracker(COMPANY, grace=600, marks=marks))
    assert second.cycle(26) == []
    down = Driver()
    down.cycle(0, snap(15))
    later = Driver(ScheduleTracker(COMPANY, grace=600, marks=down.tracker.marks()))
    assert kinds(later.cycle(30, snap(30))) == [("schedule.missed", "no_run")]


def test_daylight_saving_changes_are_whatever_ips_says() -> None:
    """A daily 02:30 Berlin schedule: IPS's fire times 23 and 25 hours apart, each with its run, are never a
    miss (nothing is read from the cron expression)."""
    fires = [datetime(2026, 3, 28, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
             datetime(2026, 3, 30, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
             datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]  # fmt: skip
    tracker = ScheduleTracker(COMPANY, grace=600)
    events = tracker.observe_schedules([replace(NIGHTLY, next_fire_time=fires[0])], fires[0] - timedelta(hours=1))
    for fire, following in itertools.pairwise(fires):
        now = fire + timedelta(minutes=20)
        events += tracker.observe_schedules([replace(NIGHTLY, next_fire_time=following)], now)
        job = replace(run(0), job_handle=f"47||Price_refresh_{fire:%Y-%m-%d-%H:%M:%S}", start_date=fire)
        events += tracker.observe_runs([job], [], fires[0] - timedelta(hours=2), now)
        events += tracker.check(now, polled=True)
    assert events == []


def test_lateness_is_measured_on_the_server_s_clock_when_it_runs_ahead() -> None:
    """A server an hour ahead of us (its runs say so): its 10:15 fire time without a run is missed once the
    server's time is past 10:25, though our clock still says 09:25."""
    d = Driver()
    d.cycle(0, snap(75), jobs=(run(60, name="Other_job"),))
    d.cycle(20, snap(90), jobs=(run(80, name="Other_job"),))
    (missed,) = d.cycle(25)
    assert (missed.fire_time, missed.late_seconds) == (at(75), 600.0)


def test_job_events_of_a_run_carry_its_schedule() -> None:
    """`attribute` sets `schedule` on events of runs that belong to one, and leaves other jobs' alone."""
    d = Driver()
    d.cycle(0, snap(15))
    ours, theirs = run(15), run(15, name="Catalogue")
    events = [Event("job.started", at(15), COMPANY, ours), Event("job.started", at(15), COMPANY, theirs)]
    attributed = d.tracker.attribute(events)
    assert [e.schedule.key if e.schedule else None for e in attributed] == ["47||Price_refresh", None]


def test_reconcile_takes_over_an_open_episode_and_closes_one_whose_schedule_is_gone() -> None:
    """Episodes the engine still has open after a restart: a missed one closes with the next run, one about a
    schedule that no longer exists closes at once."""
    d = Driver()
    d.cycle(0, snap(15))
    gone = replace(NIGHTLY, job_handle="47||Old", name="Old")
    events = d.tracker.reconcile(
        {NIGHTLY.key: (NIGHTLY, frozenset({"schedule.missed"})), gone.key: (gone, frozenset({"schedule.failed"}))},
        at(1),
    )
    assert [(e.kind, e.reason, e.schedule and e.schedule.key) for e in events] == [
        ("schedule.recovered", "removed", "47||Old")
    ]
    assert kinds(d.cycle(16, snap(30), jobs=(run(15.02),))) == [("schedule.recovered", "ran")]
