"""Helpers for dispatcher tests: a real state file, scripted channels, lanes, and a scripted webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Callable, Sequence
from typing import Any

from notifier.channels.base import SendError
from notifier.dispatch.dispatcher import Dispatcher, Lane
from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.dispatch.policy import RetrySettings
from notifier.models import Delivery, Notification
from notifier.runtime.clock import ManualClock
from notifier.store.records import DeliveryRow, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.channels import CREATED, sample_notification

SECRET = "whsec_" + base64.b64encode(b"dispatch-test-signing-key-0123").decode()
SETTINGS = RetrySettings(base=2.0, cap=900.0, max_attempts=5, max_unknown_attempts=3)


def notification(n: int = 1, **changes: Any) -> Notification:
    """The sample notification under key `msg_<n>`."""
    return sample_notification(key=f"msg_{n}", **changes)


async def commit(store: SqliteStore, clock: ManualClock, *targets: str, n: int = 1, count: int = 1) -> None:
    """Commit `count` notifications (keys msg_<n> …), each going to every channel in `targets`."""
    items = [Outgoing(notification(i), tuple(Destination(t) for t in targets)) for i in range(n, n + count)]
    await store.commit(items, [], [], clock.now())


async def rows(store: SqliteStore, channel: str | None = None) -> list[DeliveryRow]:
    """Every delivery row, oldest first, optionally of one channel."""
    found = await store.list_deliveries(["pending", "delivered", "dead", "silenced"], 10_000)
    return sorted((r for r in found if channel in (None, r.channel)), key=lambda r: r.id)


class Scripted:
    """A channel answering from a script (an exception raises, None accepts), then accepting everything.

    With `gate` set, each send waits for it: the test decides when the receiver answers.
    """

    def __init__(self, name: str, outcomes: Sequence[BaseException | None] = (), gate: asyncio.Event | None = None):
        self.name = name
        self.outcomes = list(outcomes)
        self.gate = gate
        self.sent: list[Delivery] = []
        self.times: list[float] = []
        self.active = 0
        self.max_active = 0
        self.entered = asyncio.Event()
        self.closed = False
        self.clock: ManualClock | None = None

    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery)
        if self.clock is not None:
            self.times.append(self.clock.now().timestamp())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.entered.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            outcome = self.outcomes.pop(0) if self.outcomes else None
            if outcome is not None:
                raise outcome
        finally:
            self.active -= 1

    async def close(self) -> None:
        self.closed = True

    def keys(self) -> list[str]:
        return [d.notification.key for d in self.sent]


class AdvancingSleep:
    """An injected sleep that moves the manual clock instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)


def lane(
    channel: Any,
    clock: ManualClock,
    *,
    concurrency: int = 4,
    threshold: int = 5,
    cooldown: float = 60.0,
    rate: float | None = None,
    backlog: int = 64,
) -> Lane:
    limiter = RateLimiter(rate, clock=clock, sleep=AdvancingSleep(clock)) if rate else None
    breaker = CircuitBreaker(threshold=threshold, cooldown=cooldown, clock=clock)
    return Lane(channel, concurrency, limiter, breaker, backlog)


def dispatcher(store: SqliteStore, clock: ManualClock, lanes: dict[str, Lane], **kw: Any) -> Dispatcher:
    settings = kw.pop("retry", SETTINGS)
    return Dispatcher(store, lanes, clock, retry=settings, rng=random.Random(7), **kw)


def fail(message: str = "boom") -> SendError:
    return SendError(message)


def at(clock: ManualClock, seconds: float) -> float:
    """The unix time `seconds` after the clock's now."""
    return clock.now().timestamp() + seconds


def advance_to(clock: ManualClock, stamp: float) -> None:
    """Move the clock to unix time `stamp` or just past it (the clock keeps whole microseconds)."""
    clock.advance(max(0.0, stamp - clock.now().timestamp()) + 1e-6)


def start_clock() -> ManualClock:
    """A manual clock at the sample notification's creation time, so no delivery starts out too old."""
    return ManualClock(CREATED)


async def until(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Let the loop run until `condition` holds; fails after `limit` seconds (generous: a loaded machine is slow,
    a hang is not) instead of hanging."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - the condition is plain state, nothing to wait on
            await asyncio.sleep(0.001)


async def settle_loop(turns: int = 50) -> None:
    """Give every ready task many turns, so whatever could still start has started."""
    for _ in range(turns):
        await asyncio.sleep(0)
