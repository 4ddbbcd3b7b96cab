"""Group commit of delivery outcomes against a real state file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import pytest

from notifier.dispatch.ledger import Ledger
from notifier.runtime.clock import ManualClock
from notifier.store.records import DELIVERED, DeliveryOutcome
from notifier.store.sqlite.store import SqliteStore
from tests.support.dispatch import commit, rows


class CountingStore:
    """Passes `record` through to the real store, remembering each batch size; can be told to fail once."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.batches: list[int] = []
        self.fail_next = False

    async def record(self, outcomes: Sequence[DeliveryOutcome], now: datetime) -> None:
        self.batches.append(len(outcomes))
        if self.fail_next:
            self.fail_next = False
            raise sqlite3.OperationalError("database or disk is full")
        await self.store.record(outcomes, now)


def delivered(row_id: int, now: float) -> DeliveryOutcome:
    return DeliveryOutcome(row_id, "hook", DELIVERED, 1, now, None)


async def test_outcomes_arriving_together_share_one_transaction(store: SqliteStore, clock: ManualClock) -> None:
    """Outcomes queued while no write has started yet are committed in a single transaction."""
    await commit(store, clock, "hook", count=10)
    counting = CountingStore(store)
    ledger = Ledger(counting, clock)
    stamp = clock.now().timestamp()
    await asyncio.gather(*(ledger.write(delivered(r.id, stamp)) for r in await rows(store)))
    assert counting.batches == [10]
    assert {r.state for r in await rows(store)} == {DELIVERED}


async def test_outcomes_arriving_during_a_write_go_into_the_next(store: SqliteStore, clock: ManualClock) -> None:
    """While one transaction is being written, later outcomes gather into the following one."""
    await commit(store, clock, "hook", count=6)
    counting = CountingStore(store)
    ledger = Ledger(counting, clock)
    stamp = clock.now().timestamp()
    first, *rest = await rows(store)
    writing = asyncio.create_task(ledger.write(delivered(first.id, stamp)))
    while not counting.batches:  # noqa: ASYNC110 - plain state: the writer has taken the first outcome
        await asyncio.sleep(0)
    await asyncio.gather(*(ledger.write(delivered(r.id, stamp)) for r in rest))
    await writing
    assert counting.batches == [1, 5]


async def test_outcomes_of_the_next_turns_of_the_loop_join_the_batch(store: SqliteStore, clock: ManualClock) -> None:
    """A write lets the loop turn a few times before taking its batch: outcomes arriving meanwhile join it."""
    await commit(store, clock, "hook", count=3)
    counting = CountingStore(store)
    ledger = Ledger(counting, clock)
    stamp = clock.now().timestamp()
    first, second, third = await rows(store)
    writing = asyncio.create_task(ledger.write(delivered(first.id, stamp)))
    await asyncio.sleep(0)
    joining = asyncio.create_task(ledger.write(delivered(second.id, stamp)))
    await asyncio.sleep(0)
    await asyncio.gather(writing, joining, ledger.write(delivered(third.id, stamp)))
    assert counting.batches == [3]


async def test_a_failed_transaction_is_reported_to_its_writers(store: SqliteStore, clock: ManualClock) -> None:
    """Every writer of a batch the store refused gets the error; the next batch is written normally."""
    await commit(store, clock, "hook", count=2)
    counting = CountingStore(store)
    counting.fail_next = True
    ledger = Ledger(counting, clock)
    stamp = clock.now().timestamp()
    one, two = await rows(store)
    with pytest.raises(sqlite3.OperationalError):
        await ledger.write(delivered(one.id, stamp))
    await ledger.write(delivered(two.id, stamp))
    assert [r.state for r in await rows(store)] == ["pending", DELIVERED]


async def test_a_cancelled_writer_still_has_its_outcome_written(store: SqliteStore, clock: ManualClock) -> None:
    """Cancelling the caller does not take its outcome back: `close` waits until it is in the file."""
    await commit(store, clock, "hook")
    ledger = Ledger(store, clock)
    [row] = await rows(store)
    writing = asyncio.create_task(ledger.write(delivered(row.id, clock.now().timestamp())))
    await asyncio.sleep(0)
    writing.cancel()
    await ledger.close()
    assert [r.state for r in await rows(store)] == [DELIVERED]
