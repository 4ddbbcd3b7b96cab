"""Group commit for delivery outcomes: every outcome that arrives while one transaction is being written goes
into the next one, so the outbox pays one fsync per batch instead of one per delivery.

A caller's `write` returns only once its outcome is committed, so the dispatcher never forgets a row (and
never lets it be picked again) before the store says what happened to it. Nothing waits on a timer: a write
lets the loop turn a few times first, which takes microseconds when it is idle and gathers the outcomes of
sends answered meanwhile when it is busy; under heavy load batches grow by themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from notifier.runtime.clock import Clock
from notifier.store.records import DeliveryOutcome

# Turns of the event loop a write waits for more outcomes: none when idle (a few turns take microseconds), a
# batch's worth when the loop is busy (each turn then carries other work, such as rendering an event).
LINGER_TURNS = 4


class Recorder(Protocol):
    """The part of the store the ledger writes through (`Store.record`)."""

    async def record(self, outcomes: Sequence[DeliveryOutcome], now: datetime) -> None: ...


class Ledger:
    """Writes `DeliveryOutcome`s to the store in batches; one writer task at a time, started on demand."""

    def __init__(self, store: Recorder, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._queue: list[tuple[DeliveryOutcome, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, outcome: DeliveryOutcome) -> None:
        """Queue `outcome` and return once it is committed; raises what the store raised for its batch.

        Cancelling the caller does not take the outcome back: it is written with its batch all the same.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((outcome, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name="outbox-ledger")
        await done

    async def close(self) -> None:
        """Wait until everything queued so far is written (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _write_queued(self) -> None:
        while self._queue:
            for _ in range(LINGER_TURNS):  # outcomes of sends answered in the next turns join this batch
                await asyncio.sleep(0)
            batch, self._queue = self._queue, []
            try:
                await self.store.record([outcome for outcome, _ in batch], self.clock.now())
            except Exception as exc:  # each waiter decides whether to try again
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
