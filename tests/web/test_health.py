"""/healthz and /readyz on a real daemon: ready only once every company has been polled, and only while polls
keep succeeding; each reason for not being ready is spelled out."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import pytest

from notifier.store.sqlite import store as sqlite_store_module
from notifier.store.sqlite.store import SqliteStore
from tests.support.dispatch import until
from tests.support.receiver import Receiver
from tests.support.sim import StartSim
from tests.support.window import INTERVAL, Window, window_config


async def test_healthz_says_alive_before_anything_is_polled(window: Window) -> None:
    """Liveness does not depend on IPS: a daemon that has polled nothing yet is alive."""
    body = await window.json("/healthz")
    assert body["status"] == "alive"
    assert body["version"]


async def test_not_ready_before_the_first_poll(window: Window) -> None:
    """Before any poll /readyz is 503 and names every company that has not been polled successfully."""
    body = await window.json("/readyz", status=503)
    assert body["ready"] is False
    assert body["reasons"] == [f"company {c}: no successful poll yet" for c in ("47", "311", "118")]
    assert body["checks"]["store"] == "ok"
    assert body["checks"]["started"] is True


async def test_ready_once_every_company_is_polled(window: Window) -> None:
    """One successful poll of every company makes /readyz answer 200 with no reasons."""
    await window.poll()
    body = await window.json("/readyz")
    assert body == {
        "ready": True,
        "reasons": [],
        "checks": {
            "config": str(window.daemon.config.source),
            "started": True,
            "store": "ok",
            "companies": {"47": "ok", "311": "ok", "118": "ok"},
        },
    }


async def test_a_failed_poll_within_three_intervals_keeps_the_daemon_ready(window: Window) -> None:
    """One outage shorter than three poll intervals is tolerated: the last good poll is still recent enough."""
    await window.poll()
    window.sim.world.chaos.down = True
    await window.poll(after=INTERVAL * 2)
    await window.json("/readyz", status=200)


async def test_readiness_flips_with_an_outage_and_back_when_it_ends(window: Window) -> None:
    """Simulator down and more than three intervals without a good poll: 503 with the last error; polls that
    succeed again make it 200."""
    await window.poll()
    window.sim.world.chaos.down = True
    for _ in range(3):
        await window.poll(after=INTERVAL + 1)
    body = await window.json("/readyz", status=503)
    assert len(body["reasons"]) == 3
    reason = body["reasons"][0]
    assert reason.startswith("company 47: last successful poll 1m 33s ago, more than 3 intervals (1m 30s)")
    assert "last error:" in reason
    assert "503" in reason
    window.sim.world.chaos.down = False
    await window.poll(after=INTERVAL)
    await window.json("/readyz", status=200)


async def test_not_ready_when_the_state_store_is_closed(window: Window) -> None:
    """A store that cannot answer a query makes the daemon not ready, whatever the pollers say."""
    await window.poll()
    await window.daemon.store.close()
    body = await window.json("/readyz", status=503)
    assert any(r.startswith("state store is not answering") for r in body["reasons"])


async def test_not_ready_while_the_store_is_stuck(window: Window, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store whose lock a never-ending transaction holds makes the daemon not ready, after a bounded wait."""
    await window.poll()
    monkeypatch.setattr(sqlite_store_module, "PING_TIMEOUT", 0.05)
    store = window.daemon.store
    assert isinstance(store, SqliteStore)
    async with store.transaction():
        body = await window.json("/readyz", status=503)
    assert body["reasons"] == ["state store is not answering: no answer within 0.05s"]
    await window.json("/readyz", status=200)


async def test_not_ready_while_the_daemon_is_stopping(start_sim: StartSim, receiver: Receiver, tmp_path: Path) -> None:
    """The window is the last thing to stop: while the daemon drains sends on the wire it still answers, and
    /readyz says the daemon is stopping."""
    sim = await start_sim("demo")
    receiver.answers = 0  # every delivery is held on the wire until released
    window = Window(sim, window_config(tmp_path, sim, receiver, companies=("47",), grace="60s"), receiver)
    async with contextlib.AsyncExitStack() as stack:
        daemon = await stack.enter_async_context(window.running())
        await window.poll()
        window.add_job("Autumn catalogue")
        window.advance(INTERVAL)
        await daemon.pollers.pollers[0].poll_once()  # job-started: two deliveries, held by the receiver
        await until(lambda: receiver.held == 2)
        readyz = window.url("/readyz")
        stopping = asyncio.create_task(stack.aclose())
        await until(lambda: daemon.phase == "stopping")
        async with aiohttp.ClientSession() as session, session.get(readyz) as response:
            assert response.status == 503
            body = await response.json()
        receiver.release()
        await asyncio.wait_for(stopping, 30)
    assert body["reasons"][0] == "daemon is stopping"


async def test_not_ready_while_the_disk_is_full_and_ready_again_once_there_is_room(window: Window) -> None:
    """A commit refused with SQLite's own "database or disk is full" makes /readyz 503 naming it; once pages
    can be written again the waiting batch is committed and the daemon is ready."""
    await window.poll()
    waits: list[float] = []
    store = window.daemon.store
    assert isinstance(store, SqliteStore)
    async with store.reading() as db:
        (pages,) = await (await db.execute("PRAGMA page_count")).fetchone()  # type: ignore[misc]
        (free,) = await (await db.execute("PRAGMA freelist_count")).fetchone()  # type: ignore[misc]
        await db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: no page can be added
    assert free == 0

    room = asyncio.Event()

    async def wait_for_room(seconds: float) -> None:
        waits.append(seconds)
        await room.wait()

    window.daemon.composer.sleep = wait_for_room
    window.add_job("Spring catalogue " + "x" * 900)  # its notification needs pages of its own
    window.advance(INTERVAL)
    await window.daemon.pollers.pollers[0].poll_once()
    async with asyncio.timeout(10):
        while not waits:  # noqa: ASYNC110 - the intake notes its first back-off step here
            await asyncio.sleep(0.01)
    body = await window.json("/readyz", status=503)
    assert any(r.startswith("state store is failing: commit failing for") for r in body["reasons"])
    assert "database or disk is full" in body["checks"]["store"]
    async with store.reading() as db:
        await db.execute("PRAGMA max_page_count = 1073741823")
    room.set()
    await window.daemon.settle()
    await window.poll()
    await window.json("/readyz", status=200)
