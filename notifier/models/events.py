"""What the pipeline derives from IPS answers: the company an event belongs to, and the events themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from notifier.models.ips import ActiveJob, JobLog, JobLogDetail, ScheduledJob

EventKind = Literal[
    "job.started",
    "job.progressed",
    "job.state_changed",
    "job.active",
    "job.departed",
    "job.completed",
    "job.failed",
    "job.warning",
    "company.unreachable",
    "company.recovered",
    "schedule.missed",
    "schedule.failed",
    "schedule.recovered",
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CompanyId:
    """Who a company is, everywhere: its handle once known; until then, the name it is configured by.

    `key` is what alerts and the outbox keep it under, and what tells configured companies apart across
    reloads; `label` is what logs, metrics and pages call it; `is_known_as` says whether a stored key (an
    alert's company) means this company, by handle or by the name it started with.
    """

    handle: str = ""
    name: str | None = None

    @classmethod
    def from_key(cls, key: str) -> CompanyId:
        """The identity a stored `key` names."""
        return cls(name=key.removeprefix("name:")) if key.startswith("name:") else cls(key)

    @property
    def key(self) -> str:
        """The handle, or `name:<name>` while the handle is not known yet (an IPS that is down at start-up cannot
        resolve it, and several such companies must stay apart)."""
        return self.handle or f"name:{self.name}"

    @property
    def label(self) -> str:
        return self.handle or self.name or "?"

    def is_known_as(self, key: str) -> bool:
        return bool(key) and key in (self.handle, f"name:{self.name}")


@dataclass(frozen=True, slots=True)
class CompanyRef:
    """The company an event belongs to, as configured (handle resolved, name when known)."""

    handle: str
    name: str | None = None
    locale: str | None = None
    timezone: str = "UTC"

    @property
    def id(self) -> CompanyId:
        return CompanyId(self.handle, self.name)

    @property
    def key(self) -> str:
        """What alerts are kept under (see `CompanyId.key`)."""
        return self.id.key

    def is_known_as(self, key: str) -> bool:
        """Whether `key` (an alert's company) means this company (see `CompanyId.is_known_as`)."""
        return self.id.is_known_as(key)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a job or a company, as seen by one poller at time `at`.

    `stalled_seconds` is derived by the tracker: time since the job's progress last changed.
    `previous` holds what changed for job.progressed / job.state_changed (e.g. {"state": "New"}).
    `details` are the first error or warning lines of the job's log, localized in the job's locale.
    `schedule` is the scheduled job a `schedule.*` event is about, or the one a job's run belongs to.
    `fire_time`, `late_seconds`, `last_run` and `reason` describe a schedule's run: the fire time missed, how
    long ago it passed, when a run last started, and why the event came (see the schedules tracker).
    """

    kind: str
    at: datetime
    company: CompanyRef
    job: ActiveJob | None = None
    log: JobLog | None = None
    stalled_seconds: float | None = None
    previous: dict[str, Any] = field(default_factory=dict)
    details: tuple[JobLogDetail, ...] = ()
    error: str | None = None
    consecutive_failures: int | None = None
    schedule: ScheduledJob | None = None
    fire_time: datetime | None = None
    late_seconds: float | None = None
    last_run: datetime | None = None
    reason: str | None = None
