"""The dispatcher: drains the outbox, one send per delivery row, and records what the retry policy decides.

Each (notification, channel) row lives on its own: Slack succeeding never marks the webhook delivered.
Each channel has a lane: a semaphore bounds concurrency, a token bucket bounds the rate, a circuit breaker
stops a dead endpoint from taking attempts, and a backlog cap keeps a slow channel from filling memory or
starving the others. Nothing is retried here by sleeping: a failed row gets a `next_at` and comes back when
due, so retries survive restarts like everything else. A row is claimed from the store before it is started
and stays claimed until its outcome is committed (or the claim is released, when no attempt was made), so it
is never picked twice, here or by another replica; a crash before that commit re-sends it later with the
same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from notifier.channels.base import SendError
from notifier.dispatch.lanes import Lane, attempt, outcome
from notifier.dispatch.ledger import Ledger
from notifier.dispatch.policy import RetrySettings, Verdict, decide
from notifier.models import Delivery
from notifier.runtime.backoff import STORE_BACKOFF
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Loop
from notifier.store.errors import StoreError
from notifier.store.protocol import DeliveryStore
from notifier.store.records import PENDING, DeliveryOutcome, DeliveryRow

__all__ = ["IDLE_WAIT", "DeliveryObserver", "Dispatcher", "Lane"]
log = structlog.get_logger(__name__)
IDLE_WAIT = 1.0  # longest look-away from the outbox: rows re-queued by `notifier outbox retry` start this soon
# How long a claim on a row holds: longer than a row waits in a lane's backlog and is sent, so a live replica
# never loses a claim it is still working on; a dead one's claims lapse after it.
CLAIM_LEASE = 600.0


class DeliveryObserver(Protocol):
    """Told each delivery's outcome: the policy's verdict and the row's state after it (`already_disabled`: the
    channel was disabled before this attempt answered)."""

    def delivered(
        self, row: DeliveryRow, verdict: Verdict, outcome: DeliveryOutcome, already_disabled: bool
    ) -> None: ...


@dataclass(slots=True, eq=False)
class _Send:
    row: DeliveryRow
    lane: Lane
    task: asyncio.Task[None] | None = None
    sending: bool = False  # past the slot, the rate limit and the breaker: an attempt is on the wire
    recorded: bool = False  # its outcome is handed to the ledger, which ends the claim


class Dispatcher(Loop):
    """Turns due outbox rows into sends on their channel's lane and their outcomes into row states."""

    name = "dispatcher"

    def __init__(
        self,
        store: DeliveryStore,
        lanes: Mapping[str, Lane],
        clock: Clock,
        *,
        owner: str = "dispatcher",
        grace: float = 10.0,
        retry: RetrySettings | None = None,
        rng: random.Random | None = None,
        batch: int = 200,
        observer: DeliveryObserver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.owner = owner  # whose claims these are (the replica)
        self.grace = grace  # how long stopping waits for sends on the wire
        self.lanes = dict(lanes)
        self.clock = clock
        self.retry = retry or RetrySettings()
        self.rng = rng or random.Random()
        self.batch = batch  # rows of unconfigured channels handled per look
        self.observer = observer
        self.sleep = sleep  # how a failing store is waited out
        self.ledger = Ledger(store, clock)
        self._wake = asyncio.Event()
        self._picking = asyncio.Lock()
        self._sends: dict[int, _Send] = {}
        self._disabled: dict[str, str] = {}
        self._disabling: set[str] = set()  # disabled here, not committed yet: a refresh must not undo it
        self._looked_at = float("-inf")  # loop time of the last look at disabled channels and orphan rows
        self._due_at: float | None = None  # the earliest retry known to fall due later (epoch seconds)
        self._due_asked = float("-inf")  # loop time the outbox was last asked for it
        self._stopping = False

    @property
    def disabled(self) -> Mapping[str, str]:
        """Channels disabled by their endpoint (410, revoked token …), with the reason."""
        return dict(self._disabled)

    def wake(self) -> None:
        """New notifications were committed: look at the outbox now rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        """Start due sends whenever something changes: a commit, a finished send, a retry falling due.

        A store that cannot be read (a damaged page, a full disk) is waited out with backoff, logged once per
        step; meanwhile rows stay where they are and readiness says why.
        """
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                await self.dispatch_once()
                timeout = None if self._wake.is_set() else await self._idle_wait()
            except StoreError as exc:
                failures += 1
                delay = STORE_BACKOFF.delay(failures)
                log.error("state store failed; deliveries wait", error=str(exc), failures=failures, retry_in=delay)
                await self.sleep(delay)
                continue
            failures = 0
            if timeout is None:
                continue
            # Not asyncio.wait_for: on Python 3.11 it drops a cancellation that arrives in the same tick as
            # the wake-up, and then stopping the daemon would wait for this loop for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def dispatch_once(self) -> int:
        """Start sends for due rows, as far as each lane has room; returns how many were started."""
        return len(await self._pick(frozenset(), look=False))

    async def flush(self) -> None:
        """Attempt every delivery due now and wait until each outcome is committed (tests, embedding).

        Retries scheduled for later are not awaited, and no row is attempted twice by one flush.
        """
        attempted: set[int] = set()
        while True:
            started = await self._pick(frozenset(attempted), look=True)
            attempted.update(started)
            tasks = [send.task for send in self._sends.values() if send.task is not None]
            if not tasks and not started:
                return
            if tasks:
                await asyncio.wait(tasks)

    async def replace_lanes(self, lanes: Mapping[str, Lane]) -> None:
        """Switch to reconfigured channels; sends on the wire finish on the old ones, which are closed after.

        Rows that were only waiting for a slot on an old lane are let go and picked up by the new lanes.
        """
        async with self._picking:
            old, self.lanes = self.lanes, dict(lanes)
        current = set(map(id, self.lanes.values()))
        retired = [send for send in self._sends.values() if id(send.lane) not in current]
        await self._finish(retired, grace=None)
        for lane in old.values():
            if id(lane) not in current:
                await lane.channel.close()
        self._wake.set()

    async def stop(self) -> None:
        """Start no new sends; give those on the wire `grace` seconds, then close the channels. What is cut off
        stays pending in the outbox and goes out after the next start, under the same id."""
        self.halt()
        await super().stop()
        cut = await self.drain(self.grace)
        for lane in self.lanes.values():
            await lane.channel.close()
        log.info("stopped", unfinished_sends=cut)

    def halt(self) -> None:
        """Start nothing new from now on (the run loop ends at its next turn)."""
        self._stopping = True
        self._wake.set()

    async def drain(self, grace: float) -> int:
        """Start nothing new; give sends on the wire `grace` seconds; what is cut off stays pending."""
        self.halt()
        async with self._picking:  # a pick in progress finishes registering what it started
            cut = await self._finish(list(self._sends.values()), grace=grace)
        await self.ledger.close()
        return cut

    # ------------------------------------------------------------------------------------------- picking

    async def _pick(self, skip: frozenset[int], *, look: bool) -> list[int]:
        # One picker at a time, and rows in flight before the query are skipped: a row whose outcome was
        # committed while the query ran must not be started again from the query's older answer.
        async with self._picking:
            if self._stopping:
                return []
            await self._look(force=look)
            now = self.clock.now()
            started: list[int] = []
            for name, lane in list(self.lanes.items()):
                room = self._room(name, lane, now)
                if room <= 0:
                    continue
                claimed = await self.store.claim_due(
                    self.owner, now.timestamp(), room, lease=CLAIM_LEASE, channel=name, exclude_ids=skip
                )
                for row in claimed:
                    self._start(row, lane)
                    started.append(row.id)
            return started

    def _room(self, name: str, lane: Lane, now: datetime) -> int:
        """How many more rows this lane may hold now; one trial when its breaker is half-open."""
        if name in self._disabled:
            return 0
        state = lane.breaker.state(now)
        held = sum(1 for send in self._sends.values() if send.row.channel == name)
        if state == "open":
            return 0
        if state == "half_open":
            return 0 if held or lane.breaker.trial_pending else 1
        # Refilled once half of it has gone, not by a row per finished send: each refill is a claim, a query
        # (a round trip to a database server for replicas), while half a backlog still keeps every slot busy.
        return lane.backlog - held if held <= lane.backlog // 2 else 0

    async def _look(self, *, force: bool) -> None:
        """Now and then: pick up channels re-enabled from outside, dead-letter rows of unknown channels."""
        loop_now = asyncio.get_running_loop().time()
        if not force and loop_now - self._looked_at < IDLE_WAIT:
            return
        self._looked_at = loop_now
        stored = await self.store.disabled_channels()
        for channel in set(self._disabled) - set(stored) - self._disabling:
            log.info("channel re-enabled", channel=channel)
        self._disabled = {**stored, **{c: r for c, r in self._disabled.items() if c in self._disabling}}
        now = self.clock.now()
        orphans = await self.store.claim_due(
            self.owner, now.timestamp(), self.batch, lease=CLAIM_LEASE, exclude_channels=list(self.lanes)
        )
        for row in orphans:
            reason = f"channel {row.channel!r} is not configured; `notifier outbox retry {row.id}` once it is"
            await self._record(row, Verdict("dead", None, reason), attempted=False)

    def _start(self, row: DeliveryRow, lane: Lane) -> None:
        send = _Send(row, lane)
        send.task = asyncio.create_task(self._deliver(send), name=f"deliver:{row.channel}:{row.id}")
        self._sends[row.id] = send
        send.task.add_done_callback(functools.partial(self._finished, row.id))

    def _finished(self, row_id: int, task: asyncio.Task[None]) -> None:
        self._sends.pop(row_id, None)
        self._wake.set()  # a lane has room again
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", row=row_id, error=repr(task.exception()))

    async def _idle_wait(self) -> float:
        """Seconds until something could be due: a scheduled retry, or an open breaker's cooldown ending.

        The outbox is asked when the next retry falls due at most once per IDLE_WAIT (or once that time has
        come), not at every turn of a busy loop; retries scheduled here meanwhile are known without asking.
        """
        now = self.clock.now()
        stamp, loop_now = now.timestamp(), asyncio.get_running_loop().time()
        if self._due_at is not None and self._due_at <= stamp:
            self._due_asked = float("-inf")  # it has come: what is the next one?
        if loop_now - self._due_asked >= IDLE_WAIT:
            self._due_asked = loop_now
            self._due_at = await self.store.next_due_at(after=stamp)
        waits = [IDLE_WAIT]
        if self._due_at is not None:
            waits.append(self._due_at - stamp)
        waits.extend(r for lane in self.lanes.values() if (r := lane.breaker.retry_in(now)) > 0)
        return max(0.0, min(waits))

    async def _finish(self, sends: list[_Send], grace: float | None) -> int:
        """Let go of sends still waiting for a slot; wait for those on the wire (up to `grace`); returns the cut."""
        waiting = [s.task for s in sends if s.task is not None and not s.sending]
        wired = [s.task for s in sends if s.task is not None and s.sending]
        for task in waiting:
            task.cancel()
        cut: set[asyncio.Task[None]] = set()
        if wired:
            _done, cut = await asyncio.wait(wired, timeout=grace)
        for task in cut:
            task.cancel()
        await asyncio.gather(*waiting, *cut, return_exceptions=True)
        return len(cut)

    # ------------------------------------------------------------------------------------------ delivery

    async def _deliver(self, send: _Send) -> None:
        try:
            await self._attempt(send)
        finally:
            if not send.recorded:  # held back or cancelled before an attempt: the row is due again for anyone
                await self.store.release(self.owner, [send.row.id])

    async def _attempt(self, send: _Send) -> None:
        row, lane = send.row, send.lane
        async with lane.slots:
            if lane.limiter is not None:
                await lane.limiter.acquire()
            if not self._may_send(row.channel, lane):
                return  # held back (breaker, disabled, stopping, replaced): stays pending, no attempt counted
            send.sending = True
            try:
                delivery = Delivery(row.notification, row.channel, row.recipients, row.attempts + 1, row.conversation)
                error, kept = await attempt(lane.channel, delivery)
            except BaseException:
                lane.breaker.abandon()
                raise
            verdict = self._verdict(row, error)
            lane.breaker.record(verdict.action != "retry", self.clock.now())
        send.recorded = True
        await self._record(row, verdict, conversation=kept)

    def _may_send(self, channel: str, lane: Lane) -> bool:
        if self._stopping or channel in self._disabled or self.lanes.get(channel) is not lane:
            return False
        return lane.breaker.allows(self.clock.now())

    def _verdict(self, row: DeliveryRow, error: SendError | None) -> Verdict:
        since = row.notification.created_at
        if row.requeued_at is not None:  # re-queued by hand: the give-up clock starts again there
            since = max(since, datetime.fromtimestamp(row.requeued_at, UTC))
        return decide(error, row.attempts + 1, now=self.clock.now(), rng=self.rng, settings=self.retry, since=since)

    async def _record(
        self, row: DeliveryRow, verdict: Verdict, *, attempted: bool = True, conversation: str | None = None
    ) -> None:
        now = self.clock.now()
        already_disabled = row.channel in self._disabled
        result = outcome(row, verdict, now.timestamp(), attempted=attempted, channel_disabled=already_disabled,
                         conversation=conversation)  # fmt: skip
        if result.disable is not None:
            self._disabled[row.channel] = result.disable
            self._disabling.add(row.channel)
        if result.state == PENDING and (self._due_at is None or result.next_at < self._due_at):
            self._due_at = result.next_at
        if self.observer is not None:
            self.observer.delivered(row, verdict, result, already_disabled)
        await self._commit(result)
        self._disabling.discard(row.channel)

    async def _commit(self, result: DeliveryOutcome) -> None:
        """Write the outcome, waiting out a store that refuses (disk full, locked): the row stays claimed."""
        for failures in itertools.count(1):
            try:
                await self.ledger.write(result)
                return
            except StoreError as exc:
                delay = STORE_BACKOFF.delay(failures)
                log.error("recording a delivery outcome failed, retrying", error=str(exc), retry_in=delay)
                await self.sleep(delay)
