"""What a notification's key is made of, and which decisions an alert without `send_resolved` produces.

A key names a happening, not the moment it was seen: the same job ending seen again (a re-poll, a restart,
a replayed event) must give the same key, so the outbox stores it once. Without a `repeat` window the key is
the only thing standing between a replay and a second message, which is why these rules have none.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from notifier.engine.evaluate import Decision, Engine
from notifier.models import Event, JobLog
from tests.support.engine import COMPANY, RulesFactory, active, at, job

ENDED = """
- name: job-ended
  on: [job.failed, job.completed]
  notify: [{channel: console}]
"""

STALLED_QUIETLY = """
- name: stalled-progress
  on: job.active
  where: job.state == "Running" and job.stalled_seconds >= 900
  for: 5m
  notify: [{channel: console}]
"""


def ending(kind: str, seen_at: datetime, ended_at: datetime) -> Event:
    """The ending of the one test job, recorded in a log that says it ended at `ended_at`, seen at `seen_at`."""
    the_job = job()
    log = JobLog(company_handle="47", job_handle=the_job.job_handle, end_date=ended_at, fatal_error=True)
    return Event(kind, seen_at, COMPANY, the_job, log=log)


def fired(engine: Engine, event: Event) -> Decision:
    [decision] = engine.evaluate(event).decisions
    assert decision.status == "firing"
    return decision


@pytest.mark.parametrize("kind", ["job.failed", "job.completed"])
def test_the_same_job_ending_seen_twice_has_one_key(make_rules: RulesFactory, kind: str) -> None:
    """Two events for the same job and log, seen at different times, give the same notification key."""
    engine = Engine(make_rules(ENDED))
    first = fired(engine, ending(kind, seen_at=at(1), ended_at=at(0)))
    again = fired(engine, ending(kind, seen_at=at(9), ended_at=at(0)))
    assert again.key == first.key


@pytest.mark.parametrize("kind", ["job.failed", "job.completed"])
def test_another_ending_of_the_same_job_has_its_own_key(make_rules: RulesFactory, kind: str) -> None:
    """A log with a different end date is another happening, so it is not deduplicated against the first."""
    engine = Engine(make_rules(ENDED))
    first = fired(engine, ending(kind, seen_at=at(1), ended_at=at(0)))
    other = fired(engine, ending(kind, seen_at=at(1), ended_at=at(5)))
    assert other.key != first.key


def test_without_send_resolved_a_cleared_condition_announces_nothing(make_rules: RulesFactory) -> None:
    """A firing state rule without `send_resolved` forgets its alert when the condition stops, silently."""
    engine = Engine(make_rules(STALLED_QUIETLY))
    assert [d.status for d in engine.evaluate(active(0, 900)).decisions] == []
    assert [d.status for d in engine.evaluate(active(5, 1200)).decisions] == ["firing"]
    assert engine.evaluate(active(6, 0, progress=50)).decisions == []
    assert engine.alerts == {}


def test_without_send_resolved_a_departing_job_announces_nothing(make_rules: RulesFactory) -> None:
    """A firing state rule without `send_resolved` forgets its alert when the job leaves the list, silently."""
    engine = Engine(make_rules(STALLED_QUIETLY))
    assert [d.status for e in (active(0, 900), active(5, 1200)) for d in engine.evaluate(e).decisions] == ["firing"]
    assert engine.evaluate(Event("job.departed", at(8), COMPANY, job())).decisions == []
    assert engine.alerts == {}


STALLED_LOUDLY = """
- name: stalled-progress
  on: job.active
  where: job.state == "Running" and job.stalled_seconds >= 900
  repeat: 10m
  send_resolved: true
  notify: [{channel: console}]
"""


def test_an_alerts_firing_repeats_and_resolution_share_one_alert_key(make_rules: RulesFactory) -> None:
    """Firing, a repeat and the resolution of one episode carry the same alert key, and no notification key twice."""
    engine = Engine(make_rules(STALLED_LOUDLY))
    decisions = [
        d for e in (active(0, 900), active(11, 1560), active(12, 0, progress=50)) for d in engine.evaluate(e).decisions
    ]
    assert [d.status for d in decisions] == ["firing", "firing", "resolved"]
    assert len({d.alert_key for d in decisions}) == 1
    assert decisions[0].alert_key.startswith("alert_")
    assert len({d.key for d in decisions}) == 3


def test_the_next_episode_of_the_same_alert_has_its_own_alert_key(make_rules: RulesFactory) -> None:
    """A job that stalls again after recovering opens a new episode: a late resolution of the first can never
    close what the second opened."""
    engine = Engine(make_rules(STALLED_LOUDLY))
    first = [d for e in (active(0, 900), active(1, 0, progress=50)) for d in engine.evaluate(e).decisions]
    second = [d for e in (active(20, 900), active(21, 0, progress=60)) for d in engine.evaluate(e).decisions]
    assert [d.status for d in first + second] == ["firing", "resolved", "firing", "resolved"]
    assert first[0].alert_key == first[1].alert_key != second[0].alert_key == second[1].alert_key


def test_each_job_ending_is_its_own_alert(make_rules: RulesFactory) -> None:
    """Event rules never resolve: each ending is its own alert key, and seeing it again gives the same one."""
    engine = Engine(make_rules(ENDED))
    first = fired(engine, ending("job.failed", seen_at=at(1), ended_at=at(0)))
    again = fired(engine, ending("job.failed", seen_at=at(9), ended_at=at(0)))
    other = fired(engine, ending("job.failed", seen_at=at(9), ended_at=at(5)))
    assert first.alert_key == again.alert_key != other.alert_key
