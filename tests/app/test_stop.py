"""Stopping in process: whatever is queued at SIGTERM is committed, and stopping always finishes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from notifier.dispatch.dispatcher import Dispatcher
from notifier.runtime.clock import ManualClock
from notifier.store.records import PENDING
from tests.conftest import START, Harness, StartSim, write_config


async def test_stop_finishes_when_the_last_queued_events_notify(start_sim: StartSim, tmp_path: Path) -> None:
    """Events still queued at stop are committed (waking the dispatcher) and stop() still returns promptly."""
    sim = await start_sim("stall")
    harness = Harness(sim, write_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:
        intake = daemon._tasks.pop("intake")
        intake.cancel()  # hold events in the queue, as when SIGTERM arrives while the intake is busy
        await asyncio.gather(intake, return_exceptions=True)
        await daemon.settle()
        await _dispatcher_waiting(daemon.dispatcher)
        for poller in daemon.ingest.pollers:
            await poller.poll_once()  # "Homepage banners" is stalled: stalled-progress fires
        assert daemon.ingest.queue.qsize() > 0
        await asyncio.wait_for(daemon.stop(2.0), 10)
        daemon.stop = _already_stopped  # type: ignore[method-assign]
    store_rows = await _rows(harness)
    assert [(rule, state) for rule, state in store_rows] == [("stalled-progress", PENDING)]


async def _dispatcher_waiting(dispatcher: Dispatcher) -> None:
    """Return once the dispatcher's loop has made its idle query and sits waiting for a wake-up.

    The loop is woken once; the idle query is the last await before it waits, and nothing yields in between,
    so by the time this coroutine runs again the loop is waiting: no amount of real time is guessed.
    """
    idle = asyncio.Event()
    real = dispatcher.store.next_due_at

    async def observed(after: float | None = None) -> float | None:
        try:
            return await real(after=after)
        finally:
            idle.set()

    dispatcher.store.next_due_at = observed  # type: ignore[method-assign]  # observed for this test only
    try:
        dispatcher.wake()
        await asyncio.wait_for(idle.wait(), 10)
    finally:
        del dispatcher.store.next_due_at


async def _already_stopped(grace: float) -> None:
    return None


async def _rows(harness: Harness) -> list[tuple[str, str]]:
    from notifier.store.sqlite.store import SqliteStore

    store = await SqliteStore.open(harness.config.state_path)
    try:
        rows = await store.list_deliveries([PENDING, "delivered"], 10)
    finally:
        await store.close()
    return [(r.notification.rule, r.state) for r in rows]
