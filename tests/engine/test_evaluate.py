"""The engine's firing/resolved lifecycle, repeat windows, stable keys and isolation of rule errors."""

from __future__ import annotations

from notifier.engine.evaluate import Engine
from notifier.models import Event, ScheduledJob
from tests.support.engine import COMPANY, RulesFactory, active, at, ended, job

STALLED = """
- name: stalled-progress
  on: job.active
  where: job.state == "Running" and job.stalled_seconds >= 900
  for: 5m
  send_resolved: true
  notify: [{channel: console}]
"""

FAILED = """
- name: failed-publish
  on: [job.failed]
  where: job.type == "ImageServingPublish"
  severity: critical
  repeat: 4h
  notify: [{channel: downstream}, {channel: ops-slack}]
"""


def statuses(engine: Engine, events: list[Event]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for event in events:
        out.extend((d.rule.name, d.status) for d in engine.evaluate(event).decisions)
    return out


def test_state_rule_waits_for_its_for_duration_then_fires_once(make_rules: RulesFactory) -> None:
    """A state rule stays pending until the condition has held for `for`, then fires exactly once."""
    engine = Engine(make_rules(STALLED))
    events = [active(0, 900), active(1, 960), active(5, 1200), active(6, 1260), active(30, 2700)]
    assert statuses(engine, events) == [("stalled-progress", "firing")]


def test_state_rule_resolves_when_condition_stops_holding(make_rules: RulesFactory) -> None:
    """Progress moving again resolves a firing alert, and the resolution is announced once."""
    engine = Engine(make_rules(STALLED))
    events = [active(0, 900), active(5, 1200), active(6, 0, progress=50), active(7, 60, progress=50)]
    assert statuses(engine, events) == [("stalled-progress", "firing"), ("stalled-progress", "resolved")]


def test_state_rule_resolves_when_job_leaves_active_list(make_rules: RulesFactory) -> None:
    """A job that departs resolves its firing state alerts."""
    engine = Engine(make_rules(STALLED))
    departed = Event("job.departed", at(8), COMPANY, job())
    decisions = [d for e in (active(0, 900), active(5, 1200), departed) for d in engine.evaluate(e).decisions]
    assert [(d.status, d.cause) for d in decisions] == [("firing", ""), ("resolved", "job.departed")]


def test_pending_alert_that_clears_sends_nothing(make_rules: RulesFactory) -> None:
    """A condition that stops holding before `for` elapses never notifies, not even a resolution."""
    engine = Engine(make_rules(STALLED))
    assert statuses(engine, [active(0, 900), active(2, 0, progress=41), active(9, 0, progress=42)]) == []
    assert engine.alerts == {}


def test_state_rule_repeat_renotifies_while_firing(make_rules: RulesFactory) -> None:
    """`repeat` sends another firing notification per elapsed window, each with its own key."""
    engine = Engine(make_rules(STALLED.replace("send_resolved: true", "repeat: 1h")))
    events = [active(m, 900 + m * 60) for m in (0, 5, 30, 64, 65, 125)]  # fires at 5, repeats at 65 and 125
    keys = [d.key for e in events for d in engine.evaluate(e).decisions]
    assert len(keys) == 3
    assert len(set(keys)) == 3


def test_event_rule_fires_once_per_event_and_filters(make_rules: RulesFactory) -> None:
    """An event rule fires for matching events only."""
    engine = Engine(make_rules(FAILED))
    other = Event("job.failed", at(1), COMPANY, job("47||Upload", type="UrlUpload"))
    assert statuses(engine, [ended("job.failed", 0, fatal_error=True), other]) == [("failed-publish", "firing")]


def test_event_rule_repeat_window_suppresses_per_job(make_rules: RulesFactory) -> None:
    """Within `repeat`, a second failure of the same job is suppressed and counted; after it, it fires."""
    engine = Engine(make_rules(FAILED))
    first = engine.evaluate(ended("job.failed", 0, fatal_error=True))
    second = engine.evaluate(ended("job.failed", 60, fatal_error=True))
    third = engine.evaluate(ended("job.failed", 300, fatal_error=True))
    assert (len(first.decisions), len(second.decisions), second.suppressed, len(third.decisions)) == (1, 0, 1, 1)


def test_keys_are_stable_across_engines(make_rules: RulesFactory) -> None:
    """The same event through a fresh engine (a restart, a replay) yields the same notification key."""
    event = ended("job.failed", 0, fatal_error=True)
    one = Engine(make_rules(FAILED)).evaluate(event).decisions[0].key
    two = Engine(make_rules(FAILED)).evaluate(event).decisions[0].key
    assert one == two
    assert one.startswith("msg_")


def test_firing_alert_survives_restart_without_resending(make_rules: RulesFactory) -> None:
    """Alert records exported by one engine let the next one carry on: no second firing, resolution works."""
    rules = make_rules(STALLED)
    first = Engine(rules)
    statuses(first, [active(0, 900), active(5, 1200)])
    upserts, _ = first.changes()
    second = Engine(rules, upserts)
    assert statuses(second, [active(6, 1260), active(7, 0, progress=60)]) == [("stalled-progress", "resolved")]


def test_runtime_error_in_one_rule_does_not_stop_others(make_rules: RulesFactory) -> None:
    """A rule whose expression fails at runtime is reported; the other rules still fire."""
    rules = make_rules(
        """
- name: broken
  on: job.failed
  where: job.progress > "x"
  notify: [{channel: console}]
- name: fine
  on: job.failed
  notify: [{channel: console}]
"""
    )
    result = Engine(rules).evaluate(ended("job.failed", 0, fatal_error=True))
    assert [d.rule.name for d in result.decisions] == ["fine"]
    assert [e.rule for e in result.errors] == ["broken"]


def test_company_unreachable_fires_and_resolves_on_recovery(make_rules: RulesFactory) -> None:
    """An outage is one episode: fired when unreachable, resolved when the company recovers."""
    rules = make_rules(
        """
- name: ips-unreachable
  on: company.unreachable
  severity: critical
  send_resolved: true
  notify: [{channel: console}]
"""
    )
    engine = Engine(rules)
    down = Event("company.unreachable", at(0), COMPANY, error="HTTP 503", consecutive_failures=3)
    again = Event("company.unreachable", at(1), COMPANY, error="HTTP 503", consecutive_failures=4)
    up = Event("company.recovered", at(5), COMPANY)
    assert statuses(engine, [down, again, up]) == [("ips-unreachable", "firing"), ("ips-unreachable", "resolved")]
    second = Event("company.unreachable", at(60), COMPANY, error="timeout")
    assert statuses(engine, [second]) == [("ips-unreachable", "firing")]


def test_reload_forgets_alerts_of_removed_rules(make_rules: RulesFactory) -> None:
    """Replacing the rules drops state of rules that no longer exist, so nothing resolves out of nowhere."""
    engine = Engine(make_rules(STALLED))
    statuses(engine, [active(0, 900), active(5, 1200)])
    engine.changes()
    engine.replace_rules(make_rules(FAILED))
    _, deletes = engine.changes()
    assert deletes == [("stalled-progress", "47", "47||Publish_1")]
    assert statuses(engine, [active(6, 0, progress=60)]) == []


def test_a_job_passing_through_the_same_state_twice_is_told_twice(make_rules: RulesFactory) -> None:
    """Running → WaitingClient → Running gives two notifications for 'Running', with distinct keys."""
    engine = Engine(make_rules("- name: states\n  on: job.state_changed\n  notify: [{channel: console}]\n"))
    keys: list[str] = []
    for minute, state in ((1, "WaitingClient"), (2, "Running"), (3, "WaitingClient"), (4, "Running")):
        event = Event("job.state_changed", at(minute), COMPANY, job(state=state), previous={"state": "x"})
        keys.extend(d.key for d in engine.evaluate(event).decisions)
    assert len(set(keys)) == 4


SCHEDULES = """
- name: missed-schedule
  on: schedule.missed
  where: event.late_seconds >= 1800
  send_resolved: true
  notify: [{channel: console}]
- name: ips-unreachable
  on: company.unreachable
  send_resolved: true
  notify: [{channel: console}]
"""


def schedule_event(kind: str, minutes: float, name: str = "Nightly", late: float | None = None) -> Event:
    schedule = ScheduledJob(company_handle="47", job_handle=f"47||{name}", name=name, original_name=name)
    return Event(kind, at(minutes), COMPANY, schedule=schedule, late_seconds=late, reason="no_run")


def test_a_missed_schedule_fires_once_per_episode_when_late_enough(make_rules: RulesFactory) -> None:
    """Repeated schedule.missed events fire once, when `where` on the lateness first holds; schedule.recovered
    of that schedule resolves it, and a later miss is a new episode."""
    engine = Engine(make_rules(SCHEDULES))
    events = [
        schedule_event("schedule.missed", 10, late=600),
        schedule_event("schedule.missed", 30, late=1800),
        schedule_event("schedule.missed", 35, late=2100),
        schedule_event("schedule.recovered", 40),
        schedule_event("schedule.missed", 90, late=1800),
    ]
    assert statuses(engine, events) == [
        ("missed-schedule", "firing"), ("missed-schedule", "resolved"), ("missed-schedule", "firing")
    ]  # fmt: skip
    (alert,) = engine.alerts.values()
    assert alert.job == "schedule:47||Nightly"


def test_schedule_episodes_are_kept_per_schedule_and_apart_from_the_company_s(make_rules: RulesFactory) -> None:
    """One schedule recovering resolves its own alert only; the company recovering resolves no schedule's, and
    a schedule recovering does not end the company's outage."""
    engine = Engine(make_rules(SCHEDULES))
    events = [
        schedule_event("schedule.missed", 0, "Nightly", late=1800),
        schedule_event("schedule.missed", 0, "Hourly", late=1800),
        Event("company.unreachable", at(1), COMPANY),
        schedule_event("schedule.recovered", 5, "Hourly"),
        Event("company.recovered", at(6), COMPANY),
    ]
    decisions = [d for e in events for d in engine.evaluate(e).decisions]
    assert [(d.rule.name, d.status, d.event.schedule.label if d.event.schedule else None) for d in decisions] == [
        ("missed-schedule", "firing", "Nightly"),
        ("missed-schedule", "firing", "Hourly"),
        ("ips-unreachable", "firing", None),
        ("missed-schedule", "resolved", "Hourly"),
        ("ips-unreachable", "resolved", None),
    ]
    assert [a.job for a in engine.alerts.values()] == ["schedule:47||Nightly"]
