"""Stopping is leaving `Daemon.open`: whatever is queued then is committed, a batch being committed is finished,
and stopping always ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from notifier.compose.composer import Composer
from notifier.compose.render import Renderer
from notifier.engine.evaluate import Engine
from notifier.ingest.marks import PollDone
from notifier.models import Event
from notifier.runtime.clock import ManualClock
from notifier.runtime.tasks import Tasks
from notifier.store.records import DELIVERED, PENDING
from notifier.store.sqlite.store import SqliteStore
from tests.support.daemon import Harness, daemon_config
from tests.support.engine import T0, RulesFactory, active
from tests.support.sim import START, StartSim
from tests.support.store import sqlite_store

STALLED = "- name: stalled\n  on: job.active\n  where: job.stalled_seconds >= 900\n  notify: [{channel: console}]\n"


async def test_events_queued_when_the_daemon_stops_are_committed(start_sim: StartSim, tmp_path: Path) -> None:
    """An event put on the queue just before the block ends is in the outbox once it has ended, which is soon."""
    sim = await start_sim("stall")
    (tmp_path / "rules.yaml").write_text(STALLED, encoding="utf-8")
    harness = Harness(sim, daemon_config(tmp_path, sim, rules=tmp_path / "rules.yaml"), ManualClock(START))
    async with asyncio.timeout(10), harness.running() as daemon:
        daemon.queue.put_nowait(active(1, stalled=1000))
    async with sqlite_store(harness.config.state_location.path) as store:
        rows = await store.list_deliveries([PENDING, DELIVERED], 10)
    assert [r.notification.rule for r in rows] == ["stalled"]


async def test_stopping_finishes_the_batch_being_committed_and_what_is_still_queued(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """The composer stopped while it commits a batch (its commit waits on a gate) finishes that batch, then commits
    what was queued behind it: nothing taken from IPS is lost."""
    committing, gate = asyncio.Event(), asyncio.Event()
    real_commit = store.commit

    async def slow_commit(*args: object) -> list[str]:
        committing.set()
        await gate.wait()
        return await real_commit(*args)  # type: ignore[arg-type]

    store.commit = slow_commit  # type: ignore[method-assign, assignment]
    queue: asyncio.Queue[Event | PollDone] = asyncio.Queue()
    composer = Composer(queue, Engine(make_rules(STALLED)), Renderer(), store, ManualClock(T0))
    async with asyncio.TaskGroup() as group:
        await composer.start(Tasks(group))
        queue.put_nowait(active(1, stalled=1000, job_handle="47||First"))
        await committing.wait()  # the first event is in a batch being committed
        queue.put_nowait(active(1, stalled=1000, job_handle="47||Second"))
        stopping = asyncio.create_task(composer.stop())
        await asyncio.sleep(0)
        gate.set()
        await asyncio.wait_for(stopping, 10)
    rows = await store.list_deliveries([PENDING], 10)
    assert sorted(r.notification.job_handle for r in rows) == ["47||First", "47||Second"]
