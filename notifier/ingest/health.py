"""A company's health, said in one place: what its poller knows (`PollStatus`), and what that means for the
status page (`health`), for metrics (`up`) and for readiness (`ready`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Health = Literal["waiting", "up", "stale", "failing", "unreachable"]
STALE_INTERVALS = 3  # a company whose last good poll is older than this many intervals is stale (not ready)


@dataclass(slots=True)
class PollStatus:
    """What the outside world may want to know about a poller (readiness, status page, metrics)."""

    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    unreachable: bool = False
    queue_wait: float = 0.0  # seconds the last poll's events waited for room in the event queue
    skipped: int = 0  # polls skipped because the rules were falling behind, since start
    behind_since: datetime | None = None  # when polls started being skipped (None: keeping up)

    def copy(self) -> PollStatus:
        return replace(self)

    @property
    def up(self) -> bool:
        """Its last poll succeeded (`notifier_company_up`)."""
        return self.last_success is not None and not self.consecutive_failures

    def age(self, now: datetime) -> float | None:
        """Seconds since the last good poll (None: none yet)."""
        return None if self.last_success is None else (now - self.last_success).total_seconds()

    def stale(self, now: datetime, interval: float) -> bool:
        """No good poll for more than STALE_INTERVALS intervals."""
        age = self.age(now)
        return age is not None and age > interval * STALE_INTERVALS

    def health(self, now: datetime, interval: float) -> Health:
        """waiting (not polled yet) · up · stale (no good poll for too long, yet no failure) · failing · unreachable."""
        if self.unreachable:
            return "unreachable"
        if self.consecutive_failures:
            return "failing"
        if self.last_success is None:
            return "waiting"
        return "stale" if self.stale(now, interval) else "up"

    def ready(self, now: datetime, interval: float) -> bool:
        """Polled successfully recently enough, without its polls being skipped: the company is being watched."""
        return self.behind_since is None and self.last_success is not None and not self.stale(now, interval)
