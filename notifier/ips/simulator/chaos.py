"""How the simulated service misbehaves: injected faults, an outage switch and scenario-level flakiness.

Tests queue exact faults (`inject`) so hostile answers arrive on the call they expect; the `flaky` and
`auth-failure` scenarios misbehave on their own, drawing from a seeded generator so a run can be replayed.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

# 5xx: a gateway error page; slow: answer after `delay` seconds; doctype/entity: XXE and billion-laughs
# payloads; huge: `size` bytes of endless XML; bomb: a gzip body that inflates to `size` bytes; garbage: random
# bytes; truncated: a genuine answer cut in half; reset: the connection is dropped; auth: authenticationFault;
# echo: an ipsApiFault whose reason quotes the whole request, credentials included; html: a proxy's full HTML page
# (doctype and title) with `status` (200 for a login page).
MODES = ("5xx", "slow", "doctype", "entity", "huge", "bomb", "garbage", "truncated", "reset", "auth", "echo", "html")
HUGE_DEFAULT = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One misbehaviour for one call."""

    mode: str
    delay: float = 0.0
    status: int = 503
    size: int = HUGE_DEFAULT
    length: bool = False  # huge: announce Content-Length instead of streaming chunked
    operation: str | None = None  # only calls of this operation (getJobLogDetails …); None: any call

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}; known: {', '.join(MODES)}")
        if not 500 <= self.status <= 599 and self.mode == "5xx":
            raise ValueError(f"status {self.status} is not a 5xx status")
        if not 200 <= self.status <= 599 and self.mode == "html":
            raise ValueError(f"status {self.status} is not a final HTTP status")
        if self.delay < 0 or self.size < 0:
            raise ValueError("delay and size must not be negative")


@dataclass(frozen=True, slots=True)
class FlakySpec:
    """Scenario-level flakiness: share of calls answered with a 5xx, and share answered slowly."""

    error_rate: float = 0.2
    slow_rate: float = 0.1
    slow_delay: float = 5.0
    statuses: tuple[int, ...] = (502, 503, 504)


@dataclass(slots=True)
class StreamStats:
    """What the last streamed hostile body achieved, so tests can see the client stopped early."""

    written: int = 0
    complete: bool = False


@dataclass(slots=True)
class Chaos:
    """The misbehaviour of the next calls, in priority order: outage, queued faults, scenario behaviour."""

    flaky: FlakySpec | None = None
    auth_failure: bool = False
    seed: int = 0
    down: bool = False
    stream: StreamStats = field(default_factory=StreamStats)
    _queue: deque[FaultSpec] = field(default_factory=deque)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"chaos:{self.seed}")

    def inject(self, spec: FaultSpec, count: int = 1) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self._queue.extend([spec] * count)

    def clear(self) -> None:
        self._queue.clear()

    @property
    def pending(self) -> list[str]:
        return [spec.mode for spec in self._queue]

    def next_fault(self, operation: str | None = None) -> FaultSpec | None:
        """The misbehaviour for the call of `operation` being answered now, if any."""
        if self.down:
            return FaultSpec("5xx", status=503)
        for spec in self._queue:
            if spec.operation in (None, operation):
                self._queue.remove(spec)
                return spec
        if self.auth_failure:
            return FaultSpec("auth")
        return self._flaky() if self.flaky is not None else None

    def _flaky(self) -> FaultSpec | None:
        assert self.flaky is not None
        draw = self._rng.random()
        if draw < self.flaky.error_rate:
            return FaultSpec("5xx", status=self._rng.choice(self.flaky.statuses))
        if draw < self.flaky.error_rate + self.flaky.slow_rate:
            return FaultSpec("slow", delay=self.flaky.slow_delay)
        return None
