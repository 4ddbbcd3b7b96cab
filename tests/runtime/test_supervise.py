"""Supervision: a crashing long-lived task is logged and restarted with growing delays, never fatal."""

from __future__ import annotations

import asyncio
import random

import pytest
from structlog.testing import capture_logs

from notifier.runtime.supervise import supervise


async def test_a_crashing_task_is_restarted_with_backoff_and_logged() -> None:
    """Two crashes in a row restart the task twice, with delays from the growing backoff, then it completes."""
    runs: list[int] = []
    delays: list[float] = []

    async def task() -> None:
        runs.append(len(runs))
        if len(runs) <= 2:
            raise RuntimeError(f"crash {len(runs)}")

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    with capture_logs() as logs:
        await supervise("poller:47", task, sleep=sleep, rng=random.Random(1))
    assert len(runs) == 3
    assert len(delays) == 2
    assert 0.5 <= delays[0] <= 2.0
    assert 0.5 <= delays[1] <= 4.0
    crashes = [e for e in logs if e["event"] == "task crashed; restarting"]
    assert [(e["task"], e["crashes"]) for e in crashes] == [("poller:47", 1), ("poller:47", 2)]


async def test_cancellation_is_not_a_crash() -> None:
    """Cancelling a supervised task ends it at once instead of restarting it."""
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise("dispatcher", forever))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
