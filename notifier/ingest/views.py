"""What the rest of the daemon may read about the companies being polled: frozen views, taken on request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.ingest.health import Health, PollStatus
from notifier.ingest.schedules.state import ScheduleState
from notifier.models import ActiveJob, CompanyId


@dataclass(frozen=True, slots=True)
class SchedulesView:
    """A company's scheduled jobs as last listed, and what judging them needs: the server's time and the grace."""

    states: tuple[ScheduleState, ...]
    server_now: datetime
    grace: timedelta
    refused: str | None  # why IPS refuses to list them, while it does


@dataclass(frozen=True, slots=True)
class CompanyView:
    """One polled company: who it is, its health, its active jobs (with when their progress last moved) and its
    schedules (None: not watched)."""

    id: CompanyId
    name: str | None
    interval: float
    status: PollStatus
    health: Health
    ready: bool  # see `PollStatus.ready`
    jobs: tuple[tuple[ActiveJob, datetime], ...]
    schedules: SchedulesView | None

    @property
    def label(self) -> str:
        return self.id.label
