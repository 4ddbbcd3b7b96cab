"""What a poller is given to reach the rest of the daemon: where its events go, who hears each poll's outcome,
where its trackers' state is kept, and who closes what a previous owner left open."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Protocol

from notifier.ingest.marks import PollDone, TrackerSeed
from notifier.ingest.schedules.polling import ScheduleWatch
from notifier.models import CompanyId, CompanyRef, Event

Sleep = Callable[[float], Awaitable[None]]
Checkpoint = Callable[[PollDone], Awaitable[None]]  # what a restart needs, queued after a poll's events


class PollObserver(Protocol):
    """Told every poll's outcome: "ok", the error type that failed it, or "skipped" (the rules are behind)."""

    def polled(self, company: CompanyId, outcome: str, seconds: float) -> None: ...


class SeedSource(Protocol):
    """Where what a company's trackers start from is kept (the state store)."""

    async def seed(self, company: str, now: datetime, *, first_look: bool, name: str | None = None) -> TrackerSeed:
        """See `store.protocol.TrackingStore.seed`: `name` is the name a company configured by name resolved from."""
        ...


class Takeover(Protocol):
    """What a poller asks after its first good poll: events that end alerts whoever polled the company before
    left open (a job that ended unseen, an outage that ended meanwhile), queued like its own."""

    def left_open(
        self, company: CompanyRef, active: Collection[str], schedules: ScheduleWatch | None, now: datetime
    ) -> list[Event]: ...


class EventSink(Protocol):
    """Where a poller puts its events: the bounded queue, which pushes back when full."""

    async def put(self, item: Event) -> None: ...

    def put_nowait(self, item: Event) -> None: ...

    def full(self) -> bool: ...
