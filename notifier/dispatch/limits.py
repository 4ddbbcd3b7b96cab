"""Per-channel throttles: a token bucket for send rate and a circuit breaker for endpoints that keep failing.

Both read time from an injected clock and keep plain state, so tests drive them without sleeping; the only
awaiting is `RateLimiter.acquire`, whose sleep function is injectable too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

from notifier.runtime.clock import Clock

Sleep = Callable[[float], Awaitable[None]]
BreakerState = Literal["closed", "open", "half_open"]


class RateLimiter:
    """Token bucket: `rate` sends per second on average, at most `burst` back to back.

    Each caller reserves a token up front and sleeps off any deficit, so concurrent callers are served in
    arrival order at exactly `rate` without a lock or a background task.
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock.now().timestamp()

    def reserve(self) -> float:
        """Take one token now; returns how many seconds the caller must wait before using it."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait until this caller may send."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)

    def _refill(self) -> None:
        now = self._clock.now().timestamp()
        elapsed = max(0.0, now - self._stamp)  # a wall clock stepped backwards must not mint or eat tokens
        self._stamp = max(self._stamp, now)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `cooldown` seconds lets one trial through.

    While open, the dispatcher leaves the channel's deliveries in the outbox rather than spending attempts and
    concurrency slots on an endpoint that is down. A successful trial closes it; a failed one re-opens it.
    """

    def __init__(self, threshold: int = 5, cooldown: float = 60.0, *, clock: Clock) -> None:
        if threshold < 1 or cooldown < 0:
            raise ValueError("threshold must be >= 1 and cooldown >= 0")
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: datetime | None = None
        self._trial_pending = False

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def trial_pending(self) -> bool:
        """A half-open trial was admitted and its outcome is not recorded yet."""
        return self._trial_pending

    def state(self, now: datetime | None = None) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self.retry_in(now) > 0:
            return "open"
        return "half_open"

    def retry_in(self, now: datetime | None = None) -> float:
        """Seconds until an open breaker admits a trial (0 when closed or already due)."""
        if self._opened_at is None:
            return 0.0
        elapsed = ((now or self._clock.now()) - self._opened_at).total_seconds()
        return max(0.0, self.cooldown - elapsed)

    def allows(self, now: datetime | None = None) -> bool:
        """May a send start now? In half-open state only one trial is admitted until its result is recorded."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "open" or self._trial_pending:
            return False
        self._trial_pending = True
        return True

    def record(self, success: bool, now: datetime | None = None) -> None:
        """Feed the outcome of a send that `allows` admitted."""
        self._trial_pending = False
        if success:
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.threshold:
            self._opened_at = now or self._clock.now()

    def abandon(self) -> None:
        """An admitted send ended without an outcome (cancelled): let the next trial through, count nothing."""
        self._trial_pending = False
