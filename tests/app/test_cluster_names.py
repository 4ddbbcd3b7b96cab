"""Replicas on one PostgreSQL state with companies configured by name: a company's lease, alerts, poll marks and
handle all move together, exactly as for a company configured by handle."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from notifier.ips.simulator.scenarios import JobSpec
from tests.support.cluster import notifications, owned, rounds, shared_harnesses
from tests.support.postgres import PostgresServer
from tests.support.sim import Sim

LUMIERE = "name:Lumière Maison"  # resolved to 311 by getCompanyInfo


def stall_another(sim: Sim) -> str:
    """A second job of 311 stalled like the scenario's own; returns its handle."""
    spec = JobSpec("311", "ImageServingPublish", "stall", "Lookbook hiver", run=600, files=20, stall_files=8)
    return sim.world.add_job(spec, sim.world.now() - timedelta(seconds=1500)).job_handle


async def test_a_company_configured_by_name_is_taken_over_without_a_repeat_or_a_missed_ending(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """Lumière Maison, configured by name, has two stalled jobs announced by the first replica; one of them fails
    while the company moves to the second replica, which was running all along. The second announces that
    failure and that stall's end once each, and neither stall again."""
    failing = stall_another(sim)
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies='[{name: "Lumière Maison"}]')
    async with AsyncExitStack() as stopping_first:
        a = await stopping_first.enter_async_context(first.running())
        async with second.running() as b:
            await rounds(a, b)
            assert (owned(a), owned(b)) == ({LUMIERE}, set())
            await first.poll(after=10)
            before = await notifications(a)
            assert before == [("stalled-progress", "firing", "311")] * 2
            await stopping_first.aclose()  # its lease is given back
            sim.world.finish(failing, "failure")
            await rounds(b)
            assert owned(b) == {LUMIERE}
            assert sorted((alert.rule, alert.company) for alert in b.alerts()) == [("stalled-progress", "311")] * 2
            await second.poll(after=5)
            await second.poll(after=5)
            after = await notifications(b)
    assert after == sorted([*before, ("failed-publish", "firing", "311"), ("stalled-progress", "resolved", "311")])


@pytest.mark.parametrize("moves", [False, True], ids=["kept", "handed-over"])
async def test_companies_configured_by_name_are_shared_out_with_their_alerts(
    sim: Sim, tmp_path: Path, postgres: PostgresServer, moves: bool
) -> None:
    """Two companies configured by name, one each once the second replica joins (the first keeps the one it has
    configured first): 311's stalled-job alert is in the book of whichever polls it and no other, the other
    refuses what 311's poll would bring, and when the second stops the first takes its company back with the
    alert as stored, announced once."""
    named = ['{name: "Lumière Maison"}', '{name: "Sakura Interiors"}']
    companies = "[" + ", ".join(reversed(named) if moves else named) + "]"
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies=companies)
    async with first.running() as a:
        assert owned(a) == {LUMIERE, "name:Sakura Interiors"}
        await first.poll(after=10)  # 311's stalled job fires
        async with second.running() as b:
            await rounds(a, b)
            polling, other = (b, a) if moves else (a, b)
            assert (owned(polling), owned(other)) == ({LUMIERE}, {"name:Sakura Interiors"})
            assert [alert.company for alert in polling.alerts()] == ["311"]
            assert other.alerts() == []
            assert polling.pollers.decides("311")
            assert not other.pollers.decides("311")
            assert not other.pollers.decides(LUMIERE)
            assert other.pollers.decides("999")  # not configured: whatever is left of it is anyone's to forget
            await (second if moves else first).poll(after=10)
        await rounds(a)
        assert owned(a) == {LUMIERE, "name:Sakura Interiors"}
        assert [alert.company for alert in a.alerts()] == ["311"]
        await first.poll(after=10)
        stalls = [n for n in await notifications(a) if n[0] == "stalled-progress"]
    assert stalls == [("stalled-progress", "firing", "311")]


async def test_a_company_configured_by_name_taken_over_while_ips_is_down_is_not_announced_unreachable_twice(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """The first replica announced Lumière Maison unreachable; the second, which cannot resolve the name while IPS
    is down, keeps that alert (under the handle the store knows) rather than announcing another, and resolves it
    once IPS is back."""
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies='[{name: "Lumière Maison"}]')
    async with AsyncExitStack() as stopping_first:
        a = await stopping_first.enter_async_context(first.running())
        async with second.running() as b:
            await rounds(a, b)
            await first.poll()
            sim.world.chaos.down = True
            await first.poll(after=30)
            await first.poll(after=30)
            assert [n for n in await notifications(a) if n[0] == "ips-unreachable"] == [
                ("ips-unreachable", "firing", "311")
            ]
            await stopping_first.aclose()
            await rounds(b)
            await second.poll(after=30)
            await second.poll(after=30)
            sim.world.chaos.down = False
            await second.poll(after=30)
            unreachable = [n for n in await notifications(b) if n[0] == "ips-unreachable"]
    assert unreachable == [("ips-unreachable", "firing", "311"), ("ips-unreachable", "resolved", "311")]


async def test_a_removed_company_is_forgotten_by_a_replica_that_never_resolved_the_names(
    sim: Sim, tmp_path: Path, postgres: PostgresServer
) -> None:
    """A reload dropping 203 forgets its alert on the replica polling it, though Lumière Maison, configured by
    name, was only ever resolved by the other replica (the store says to which handle)."""
    companies = '[{name: "Lumière Maison"}, {handle: "203"}]'
    first, second = await shared_harnesses(sim, tmp_path, postgres, 2, companies=companies)
    async with first.running() as a:
        await first.poll()  # the name is resolved here
        async with second.running() as b:
            await rounds(a, b)
            assert owned(b) == {"203"}
            for _ in range(4):  # 203's job fails meanwhile; each round well within a lease, so nothing moves
                second.advance(10)
                await rounds(a, b)
            await second.poll()
            assert [alert.company for alert in b.alerts()] == ["203"]
            path = second.config.source
            path.write_text(path.read_text(encoding="utf-8").replace(companies, '[{name: "Lumière Maison"}]'))
            assert await b.reloader.reload(path)
            assert (owned(a), owned(b)) == ({LUMIERE}, set())
            assert b.alerts() == []
            assert [alert.company for alert in await b.store.load_alerts()] == []
