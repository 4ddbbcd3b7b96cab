"""The dispatcher: drains the outbox, one send per delivery row, and records what the retry policy decides.

Each (notification, channel) row lives on its own: Slack succeeding never marks the webhook delivered.
Per channel, a semaphore bounds concurrency, a token bucket bounds the rate and a circuit breaker stops a
dead endpoint from holding a slot while other channels wait. Nothing is retried here by sleeping: a failed
row gets a `next_at` and comes back when due, so retries survive restarts like everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from notifier.channels.base import Channel, SendError
from notifier.clock import Clock
from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.dispatch.policy import RetrySettings, Verdict, decide
from notifier.models import Delivery
from notifier.store.sqlite import DEAD, DELIVERED, PENDING, DeliveryRow, SqliteStore

log = structlog.get_logger(__name__)
IDLE_WAIT = 1.0  # upper bound between looks at the outbox when nothing wakes us


@dataclass(slots=True)
class Lane:
    """Everything that throttles one channel."""

    channel: Channel
    slots: asyncio.Semaphore
    limiter: RateLimiter | None
    breaker: CircuitBreaker


@dataclass(slots=True)
class DispatchStats:
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, action) → count

    def count(self, channel: str, action: str) -> None:
        self.outcomes[(channel, action)] = self.outcomes.get((channel, action), 0) + 1


class Dispatcher:
    def __init__(
        self,
        store: SqliteStore,
        lanes: Mapping[str, Lane],
        clock: Clock,
        *,
        retry: RetrySettings | None = None,
        rng: random.Random | None = None,
        batch: int = 200,
        on_outcome: Callable[[DeliveryRow, Verdict], None] = lambda _r, _v: None,
    ) -> None:
        self.store = store
        self.lanes = dict(lanes)
        self.clock = clock
        self.retry = retry or RetrySettings()
        self.rng = rng or random.Random()
        self.batch = batch
        self.on_outcome = on_outcome
        self.stats = DispatchStats()
        self._wake = asyncio.Event()
        self._picking = asyncio.Lock()
        self._closing = False
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._disabled: dict[str, str] = {}

    def wake(self) -> None:
        """New notifications were committed: look at the outbox now rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        self._disabled = await self.store.disabled_channels()
        while True:
            started = await self.dispatch_once()
            if not started:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=await self._idle_wait())

    async def dispatch_once(self) -> int:
        """Start sends for every due row not already in flight; returns how many were started."""
        # One picker at a time: a second caller holding an older `due` answer could restart a row that was
        # delivered meanwhile (its task already finished and left `_inflight`).
        async with self._picking:
            return await self._pick()

    async def _pick(self) -> int:
        now = self.clock.now()
        skip = set(self._disabled) | {name for name, lane in self.lanes.items() if not lane.breaker.allows(now)}
        rows = await self.store.due(now.timestamp(), self.batch + len(self._inflight), skip)
        started = 0
        for row in rows:
            if row.id in self._inflight:
                continue
            if row.channel not in self.lanes:
                await self._record(row, Verdict("dead", None, f"channel {row.channel!r} is not configured"))
                continue
            task = asyncio.create_task(self._deliver(row), name=f"deliver:{row.channel}:{row.id}")
            self._inflight[row.id] = task
            task.add_done_callback(functools.partial(self._forget, row.id))
            started += 1
        return started

    def _forget(self, row_id: int, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(row_id, None)

    async def flush(self) -> None:
        """Attempt every delivery due now and wait for the attempts (retries scheduled later are not awaited)."""
        while True:
            started = await self.dispatch_once()
            tasks = list(self._inflight.values())
            if tasks:
                await asyncio.wait(tasks)
            elif not started:
                return

    async def replace_lanes(self, lanes: Mapping[str, Lane]) -> None:
        """Switch to reconfigured channels; sends in flight finish on the old ones, which are closed after."""
        old, self.lanes = self.lanes, dict(lanes)
        self._disabled = {k: v for k, v in self._disabled.items() if k in self.lanes}
        tasks = list(self._inflight.values())
        if tasks:
            await asyncio.wait(tasks)
        for lane in old.values():
            await lane.channel.close()

    async def drain(self, grace: float) -> int:
        """Wait for in-flight sends up to `grace` seconds; what is cut off stays pending in the outbox.

        Deliveries still waiting for a concurrency slot or the rate limiter give up at once: shutting down
        finishes what was started, it does not start more.
        """
        self._closing = True
        tasks = list(self._inflight.values())
        if not tasks:
            return 0
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)

    async def _idle_wait(self) -> float:
        due = await self.store.next_due_at()
        if due is None:
            return IDLE_WAIT
        return min(IDLE_WAIT, max(0.0, due - self.clock.now().timestamp()))

    async def _deliver(self, row: DeliveryRow) -> None:
        lane = self.lanes[row.channel]
        async with lane.slots:
            if lane.limiter is not None and not self._closing:
                await lane.limiter.acquire()
            if self._closing:
                return  # never started: the row stays pending for the next run
            delivery = Delivery(row.notification, row.channel, row.recipients, attempt=row.attempts + 1)
            error: SendError | None = None
            try:
                await lane.channel.send(delivery)
            except SendError as exc:
                error = exc
            now = self.clock.now()
            since = row.notification.created_at
            verdict = decide(error, row.attempts + 1, now=now, rng=self.rng, settings=self.retry, since=since)
            lane.breaker.record(verdict.action == "delivered", self.clock.now())
            await self._record(row, verdict)

    async def _record(self, row: DeliveryRow, verdict: Verdict) -> None:
        now = self.clock.now()
        attempts = row.attempts + 1
        bound = log.bind(channel=row.channel, rule=row.notification.rule, key=row.notification.key, attempt=attempts)
        self.stats.count(row.channel, verdict.action)
        self.on_outcome(row, verdict)
        if verdict.action == "delivered":
            await self.store.mark(row.id, DELIVERED, attempts=attempts, next_at=now.timestamp(), error=None, now=now)
            bound.info("delivered")
        elif verdict.action == "retry":
            next_at = now.timestamp() + (verdict.delay or 0.0)
            await self.store.mark(row.id, PENDING, attempts=attempts, next_at=next_at, error=verdict.reason, now=now)
            bound.warning("delivery failed, will retry", reason=verdict.reason, retry_in=round(verdict.delay or 0.0, 1))
        elif verdict.action == "disable":
            # The endpoint said it is gone for good: stop using it, keep this row for a later `outbox retry`.
            self._disabled[row.channel] = verdict.reason
            await self.store.disable_channel(row.channel, verdict.reason, now)
            await self.store.mark(
                row.id, DEAD, attempts=attempts, next_at=now.timestamp(), error=verdict.reason, now=now
            )
            bound.error("channel disabled", reason=verdict.reason)
        else:
            await self.store.mark(
                row.id, DEAD, attempts=attempts, next_at=now.timestamp(), error=verdict.reason, now=now
            )
            bound.error("delivery dead-lettered", reason=verdict.reason)
