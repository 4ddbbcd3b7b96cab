"""Alerts a previous run left open, closed with the events that would have closed them. Pure.

A restarted daemon starts with empty trackers: a job that ended while it was down is never seen leaving, and a
company that recovered meanwhile never reports recovering, so their alerts would stay firing for ever. After
the first good poll of a company, the events returned here (`job.departed`, `company.recovered`) resolve them
through the ordinary rules, with `send_resolved` honoured as usual.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from notifier.engine.book import Alert, AlertId
from notifier.engine.rules import Rule
from notifier.models import CompanyRef, Event


def orphans(
    alerts: Mapping[AlertId, Alert],
    rules: Mapping[str, Rule],
    company: CompanyRef,
    active_jobs: Collection[str],
    now: datetime,
) -> list[Event]:
    """Events that end the company's open alerts whose job is gone, and its episode if it had one."""
    events: list[Event] = []
    departed: set[str] = set()
    recovered = False
    for alert in alerts.values():
        rule = rules.get(alert.rule)
        if rule is None or not company.is_known_as(alert.company):
            continue
        if rule.kind == "state" and alert.job not in active_jobs and alert.job not in departed:
            last = alert.event
            if last is not None and last.job is not None:
                departed.add(alert.job)
                events.append(Event("job.departed", now, company, last.job, stalled_seconds=last.stalled_seconds))
        elif rule.closer == "company.recovered" and not recovered:
            recovered = True
            events.append(Event("company.recovered", now, company))
    return events
