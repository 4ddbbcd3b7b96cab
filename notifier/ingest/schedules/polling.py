"""The I/O side of watching one company's schedules: when to ask IPS for them, and what a refusal means.

Schedules change rarely, so they are asked for on their own, longer interval, inside a poll cycle: through the
same client (concurrency limit, timeouts), and a failure fails the cycle as any other call's does (backoff,
`company.unreachable`). One exception: a user may lack the right to this operation alone (authorization fault,
or a server that refuses it as an invalid request). Retrying soon cannot help, and the company's jobs must not
go unwatched for it, so schedules are then left alone for `refused_backoff` and the cycle goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import structlog

from notifier.ingest.schedules.state import ScheduleState
from notifier.ingest.schedules.tracker import ScheduleTracker
from notifier.ips.client import IpsClient
from notifier.ips.errors import IpsFault
from notifier.models import ActiveJob, CompanyRef, Event, JobLog, ScheduledJob


class SchedulePolling:
    """The schedule-poll timetable of one company."""

    def __init__(self, interval: float, refused_backoff: float) -> None:
        self.interval = interval
        self.refused_backoff = refused_backoff
        self.due: datetime | None = None  # None: at the next cycle
        self.refused: str | None = None  # why IPS refused the last call, while it does

    async def fetch(
        self, client: IpsClient, company_handle: str, now: datetime, log: structlog.typing.FilteringBoundLogger
    ) -> list[ScheduledJob] | None:
        """The company's scheduled jobs, or None when they are not due (or refused for a while)."""
        if self.due is not None and now < self.due:
            return None
        try:
            schedules = await client.get_scheduled_jobs(company_handle)
        except IpsFault as exc:
            if exc.retryable or exc.kind == "authentication":
                raise
            self.due = now + timedelta(seconds=self.refused_backoff)
            if self.refused is None:
                log.warning("scheduled jobs refused; schedules are not watched for now", error=str(exc),
                            retry_at=self.due.isoformat())  # fmt: skip
            self.refused = str(exc)
            return None
        if self.refused is not None:
            log.info("scheduled jobs answered again")
            self.refused = None
        self.due = now + timedelta(seconds=self.interval)
        return schedules


class ScheduleWatch:
    """One company's schedules: the pure tracker, fed by the poller's cycle and by its own timetable."""

    def __init__(
        self,
        company: CompanyRef,
        *,
        interval: float,
        grace: float,
        refused_backoff: float,
        marks: Mapping[str, ScheduleState] | None = None,
    ) -> None:
        self.tracker = ScheduleTracker(company, grace=grace, marks=marks)
        self.polling = SchedulePolling(interval, refused_backoff)
        self.polled = False  # whether the current cycle took a snapshot

    def retune(self, *, interval: float, grace: float, refused_backoff: float) -> None:
        self.tracker.grace = timedelta(seconds=grace)
        self.polling.interval, self.polling.refused_backoff = interval, refused_backoff

    async def poll(
        self, client: IpsClient, company_handle: str, now: datetime, log: structlog.typing.FilteringBoundLogger
    ) -> list[Event]:
        """A cycle's start: the events of a new snapshot, if one was due."""
        found = await self.polling.fetch(client, company_handle, now, log)
        self.polled = found is not None
        return [] if found is None else self.tracker.observe_schedules(found, now)

    def runs(
        self, jobs: Sequence[ActiveJob], logs: Sequence[JobLog], scan_start: datetime, now: datetime
    ) -> list[Event]:
        """A cycle's end: runs that close a missed episode, then fire times now missed."""
        return self.tracker.observe_runs(jobs, logs, scan_start, now) + self.tracker.check(now, polled=self.polled)

    def attribute(self, events: list[Event]) -> list[Event]:
        return self.tracker.attribute(events)


def settle_watch(
    watch: ScheduleWatch | None,
    company: CompanyRef,
    marks: Mapping[str, ScheduleState] | None,
    *,
    interval: float,
    grace: float,
    refused_backoff: float,
) -> ScheduleWatch | None:
    """The company's watch as the settings want it now: made, retuned, or dropped when turned off (`interval` 0).

    A new one starts from `marks`, what the previous run left; a retuned one keeps all it knows (a reload)."""
    if interval <= 0:
        return None
    if watch is None:
        return ScheduleWatch(company, interval=interval, grace=grace, refused_backoff=refused_backoff, marks=marks)
    watch.retune(interval=interval, grace=grace, refused_backoff=refused_backoff)
    return watch
