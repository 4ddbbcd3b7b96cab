"""Replicas for tests: daemons' harnesses on one fresh PostgreSQL database and the simulator, sharing one clock,
with what the cluster tests look at (who polls what, what was notified)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from notifier.app.daemon import Daemon
from notifier.runtime.clock import ManualClock
from notifier.store.records import STATES
from tests.support.daemon import Harness, daemon_config
from tests.support.postgres import PostgresServer
from tests.support.sim import START, Sim


async def shared_harnesses(
    sim: Sim, tmp_path: Path, postgres: PostgresServer, count: int, **settings: str
) -> list[Harness]:
    """`count` daemons' harnesses on one fresh database and the simulator, sharing one clock."""
    location = await postgres.database()
    clock = ManualClock(START)
    harnesses = []
    for n in range(count):
        folder = tmp_path / f"replica-{n}"
        folder.mkdir()
        config = daemon_config(folder, sim, state=f'"{location.url}"', http="listen: 127.0.0.1:0", **settings)
        harnesses.append(Harness(sim, config, clock))
    return harnesses


@asynccontextmanager
async def running(harnesses: Sequence[Harness]) -> AsyncIterator[list[Daemon]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(h.running()) for h in harnesses]


async def rounds(*daemons: Daemon) -> None:
    """One ownership round on each replica, in turn (the order a timer would give them)."""
    for daemon in daemons:
        await daemon.ownership.settle()


def owned(daemon: Daemon) -> set[str]:
    return set(daemon.pollers.owned)


async def notifications(daemon: Daemon) -> list[tuple[str, str, str]]:
    """(rule, status, company) of every notification stored, whichever replica committed it."""
    rows = await daemon.store.list_deliveries(STATES, limit=1000)
    return sorted((r.notification.rule, r.notification.status, r.notification.company_handle) for r in rows)
