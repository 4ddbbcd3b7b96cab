"""Replicas on one PostgreSQL state: companies split between them and handed over without a notification lost or
repeated, one book of alerts and silences, the window showing who polls what, readiness following the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from notifier.ingest.ownership import MARGIN
from notifier.store.errors import StoreError
from notifier.store.postgres.store import PostgresStore
from tests.support.cluster import notifications, owned, rounds, running, shared_harnesses
from tests.support.daemon import write_config
from tests.support.postgres import PostgresServer
from tests.support.processes import Processes
from tests.support.sim import START, Sim

COMPANIES = '[{handle: "47"}, {handle: "311"}, {handle: "203"}, {handle: "512"}]'


async def test_replicas_split_the_companies_and_rebalance_when_one_leaves(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """Two replicas hold two companies each, never the same one, each with the alerts of its own; when one
    stops, the other takes them all back."""
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies=COMPANIES)
    async with first.running() as a:
        assert owned(a) == {"47", "311", "203", "512"}
        await first.poll(after=10)  # 311's stalled job fires
        async with second.running() as b:
            await rounds(a, b)
            assert len(owned(a)) == len(owned(b)) == 2
            assert owned(a) | owned(b) == {"47", "311", "203", "512"}
            assert not owned(a) & owned(b)
            stalled = b if "311" in owned(b) else a
            assert [alert.company for alert in stalled.alerts()] == ["311"]  # the book goes with the company
            assert [alert for daemon in (a, b) if daemon is not stalled for alert in daemon.alerts()] == []
        await rounds(a)
        assert owned(a) == {"47", "311", "203", "512"}
        assert [alert.company for alert in a.alerts()] == ["311"]


async def test_a_takeover_neither_repeats_a_firing_alert_nor_misses_an_ending(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """311's stalled job fired on the first replica; 203's job failed while nobody polled, 311's catalogue
    after the takeover. The replica that takes over announces both failures once and not the stall again."""
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies='[{handle: "311"}, {handle: "203"}]')
    async with first.running():
        await first.poll(after=10)
        before = await notifications(first.daemon)
    assert before == [("stalled-progress", "firing", "311")]
    first.advance(40)  # 203's job fails meanwhile
    async with second.running() as b:
        assert owned(b) == {"311", "203"}
        await second.poll()
        await second.poll(after=30)
        after = await notifications(b)
    assert after == sorted([*before, ("failed-publish", "firing", "203"), ("failed-publish", "firing", "311")])


async def test_the_window_shows_the_replicas_and_who_polls_what(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """`/api/cluster` lists both replicas with their companies; the metrics count members and leases."""
    harnesses = await shared_harnesses(sim, tmp_path, postgres, 2, companies=COMPANIES)
    async with running(harnesses) as (a, b):
        await rounds(a, b)
        cluster = await harnesses[0].json("/api/cluster")
        assert cluster["replica"] == a.ownership.replica
        members = {m["id"]: m for m in cluster["members"]}
        assert set(members) == {a.ownership.replica, b.ownership.replica}
        assert [members[a.ownership.replica]["companies"], members[b.ownership.replica]["companies"]] == [2, 2]
        assert members[a.ownership.replica]["this"] is True
        assert {o["company"]: o["replica"] for o in cluster["owners"]} == {
            **dict.fromkeys(owned(a), a.ownership.replica), **dict.fromkeys(owned(b), b.ownership.replica)
        }  # fmt: skip
        _status, page = await harnesses[1].get("/status")
        assert b.ownership.replica in page
        assert "this one" in page
        _status, metrics = await harnesses[0].get("/metrics")
        assert "notifier_cluster_members 2.0" in metrics
        assert f'notifier_company_leases{{replica="{a.ownership.replica}"}} 2.0' in metrics


async def test_a_silence_added_through_one_replica_holds_on_the_other(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """Silences live in the shared store: one added by an operator against any replica holds everywhere."""
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies='[{handle: "311"}]')
    async with running([first, second]) as (a, b):
        end = START + timedelta(hours=1)
        await a.store.add_silence([("company", "311")], START, end, "maintenance", "ops")
        await rounds(a, b)
        polling = first if owned(a) else second
        await polling.poll(after=10)
        [row] = await b.store.list_deliveries(["silenced"])
        assert row.notification.rule == "stalled-progress"


async def test_while_the_database_is_down_the_replica_waits_and_then_delivers_everything(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """With PostgreSQL down the replica keeps running and is not ready, the poll made meanwhile waits for it; once
    it is back, the replica is ready again and delivers what that poll found (311's catalogue failed)."""
    [harness] = await shared_harnesses(sim, tmp_path, postgres, 1, companies='[{handle: "311"}]')
    async with harness.running() as daemon:
        await harness.poll(after=10)
        postgres.stop("fast")
        try:
            ready = await harness.json("/readyz", status=503)
            assert any("state store is not answering" in reason for reason in ready["reasons"])
            during = asyncio.ensure_future(harness.poll(after=50))
            while not {"silences", "commit"} & set(daemon.store.health.failing):  # noqa: ASYNC110 - plain state
                await asyncio.sleep(0.01)  # its events wait in the queue: composing them fails, and is retried
            assert not during.done()
        finally:
            postgres.start()
        await during
        while (await harness.get("/readyz"))[0] != 200:  # noqa: ASYNC110 - asked, not awaited
            await asyncio.sleep(0.01)
        delivered = await daemon.store.list_deliveries(["delivered"])
        assert sorted(r.notification.rule for r in delivered) == ["failed-publish", "stalled-progress"]


async def test_an_unreachable_database_at_start_is_one_line_and_exit_1(
    sim: Sim, tmp_path: Path, postgres: PostgresServer, notifier_process: Processes
) -> None:
    """`notifier run` on a database nobody answers for says so in one line, without the password or a
    traceback, and exits 1."""
    dead = f"postgresql://notifier:hunter2-secret@/notifier?host={postgres.folder}/nothing-here"
    config = write_config(tmp_path, sim.endpoint, state=f'"{dead}"')
    running = await notifier_process.collected("run", "--config", str(config))
    assert await running.exit_code() == 1
    assert len(running.err) == 1, running.err
    assert "cannot open the state database" in running.err[0]
    assert "hunter2-secret" not in running.err[0]


async def test_a_replica_that_cannot_renew_stops_polling_before_its_leases_end(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """With the database gone, polling goes on while the leases run, stops shortly before they end (another
    replica may hold them then), and resumes once the leases are renewed."""
    [harness] = await shared_harnesses(sim, tmp_path, postgres, 1, companies=COMPANIES)
    async with harness.running() as daemon:
        ownership = daemon.ownership
        every = {"47", "311", "203", "512"}
        assert owned(daemon) == every
        postgres.stop("fast")
        try:
            harness.clock.advance(ownership.lease * (1 - MARGIN) - 1)
            with pytest.raises(StoreError):
                await ownership.settle()
            await ownership.expire()
            assert owned(daemon) == every
            harness.clock.advance(2)
            await ownership.expire()
            assert owned(daemon) == set()
        finally:
            postgres.start()
        while True:  # as the ownership loop does: a connection the restart cut off fails once, then is replaced
            try:
                await ownership.settle()
                break
            except StoreError:
                await asyncio.sleep(0.01)
        assert owned(daemon) == every


async def test_a_commit_on_one_replica_wakes_the_dispatcher_of_another(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """Every replica's dispatcher listens for commits (LISTEN/NOTIFY): the notification one replica commits wakes
    the other at once, not at its next look."""
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies='[{handle: "311"}]')
    async with running([first, second]) as (a, b):
        assert isinstance(b.store, PostgresStore)
        assert b.dispatcher.wake in b.store.listener.wakers
        woken = asyncio.Event()
        b.store.subscribe(woken.set)
        await b.store.listener.listening.wait()
        await rounds(a, b)
        assert (owned(a), owned(b)) == ({"311"}, set())  # the first keeps its one company
        woken.clear()
        await first.poll(after=10)  # 311's stalled job: a notification committed by the first replica
        await woken.wait()
