"""The alert book: every alert by id, and the alerts of one job found without looking at the others. Pure.

A poll cycle of a large fleet ends thousands of jobs while tens of thousands of alerts are open (repeat windows
of event rules, stalled jobs); finding a job's alerts by scanning them all made a cycle quadratic in its size.
`AlertBook` keeps a second index by (company, job). `ScannedBook` is the plain reference the tests hold it to:
the same answers, in the same order, by scanning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, ValuesView
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from notifier.models import Event

AlertId = tuple[str, str, str]  # rule, company key, subject (job handle, `schedule:<handle>`, "" for the company)


@dataclass(slots=True)
class Alert:
    """What the engine remembers per rule, company and job; persisted so restarts neither resend nor forget."""

    rule: str
    company: str
    job: str
    state: Literal["pending", "firing", "sent"]
    active_since: datetime
    last_sent: datetime | None = None
    sends: int = 0
    event: Event | None = None  # the latest matching event: what a resolved notification talks about

    @property
    def id(self) -> AlertId:
        return (self.rule, self.company, self.job)


class ScannedBook(Mapping[AlertId, Alert]):
    """Alerts by id in insertion order; a job's alerts found by looking at every alert (the reference)."""

    def __init__(self) -> None:
        self._alerts: dict[AlertId, Alert] = {}

    def __getitem__(self, key: AlertId) -> Alert:
        return self._alerts[key]

    def __iter__(self) -> Iterator[AlertId]:
        return iter(self._alerts)

    def __len__(self) -> int:
        return len(self._alerts)

    # Asked for every rule of every job.active event, and mostly missing: straight to the dict, no exception.
    def get(self, key: AlertId, default: Alert | None = None) -> Alert | None:  # type: ignore[override]
        return self._alerts.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._alerts

    def values(self) -> ValuesView[Alert]:
        return self._alerts.values()

    def put(self, alert: Alert) -> None:
        """Add, or replace the alert with the same id (which keeps its place in the order)."""
        self._alerts[alert.id] = alert

    def remove(self, key: AlertId) -> None:
        del self._alerts[key]

    def of_job(self, company: str, job: str) -> list[Alert]:
        """The alerts kept under `company` (its key) and `job` ("" for company-level ones), in book order."""
        return [a for a in self._alerts.values() if a.company == company and a.job == job]


@dataclass(slots=True)
class _Index:
    by_job: dict[tuple[str, str], dict[str, Alert]] = field(default_factory=dict)


class AlertBook(ScannedBook):
    """`ScannedBook` with an index by (company, job): `of_job` costs the alerts of that job, not of the book."""

    def __init__(self) -> None:
        super().__init__()
        self._index = _Index()

    def put(self, alert: Alert) -> None:
        super().put(alert)
        self._index.by_job.setdefault((alert.company, alert.job), {})[alert.rule] = alert

    def remove(self, key: AlertId) -> None:
        super().remove(key)
        rule, company, job = key
        of_job = self._index.by_job[(company, job)]
        del of_job[rule]
        if not of_job:
            del self._index.by_job[(company, job)]

    def of_job(self, company: str, job: str) -> list[Alert]:
        # Both orders are insertion order of ids (a replaced alert keeps its place in either): within one job,
        # the index lists its alerts in the order the book does.
        return list(self._index.by_job.get((company, job), {}).values())
