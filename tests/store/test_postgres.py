"""The PostgreSQL store as several replicas see it: claims that lapse with their replica, leases, waking, the
schema's version, and what an unreachable or newer database does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from notifier.engine.book import Alert
from notifier.ingest.leases import Member
from notifier.store.errors import StoreError
from notifier.store.location import StateLocation, locate
from notifier.store.postgres.schema import VERSION
from notifier.store.postgres.store import PostgresStore
from notifier.store.records import Destination, Outgoing
from tests.support.postgres import PostgresServer
from tests.support.store import NOW, notification, postgres_store


@pytest.fixture
async def database(postgres: PostgresServer) -> StateLocation:
    """A fresh, empty database on the test process's server."""
    return await postgres.database()


async def test_two_replicas_never_claim_the_same_row(database: StateLocation) -> None:
    """Replicas claiming at once split the due rows between them: SKIP LOCKED, no row twice, none left out."""
    async with postgres_store(database) as a, postgres_store(database) as b:
        items = [Outgoing(notification(f"k{i}"), (Destination("hook"),)) for i in range(60)]
        await a.commit(items, [], [], NOW)
        claims = await asyncio.gather(*(s.claim_due(s_id, NOW.timestamp(), 7, lease=60.0)
                                        for _ in range(6) for s, s_id in ((a, "a"), (b, "b"))))  # fmt: skip
        ids = [row.id for rows in claims for row in rows]
        assert len(ids) == len(set(ids)) == 60


async def test_a_dead_replica_s_claims_lapse_with_its_heartbeat(database: StateLocation) -> None:
    """Rows claimed by a replica that stopped heartbeating are due again for another, as the same notification."""
    async with postgres_store(database, member_ttl=15.0) as a, postgres_store(database, member_ttl=15.0) as b:
        await a.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
        await a.heartbeat(Member("a", "host-a", 1, NOW))
        [claimed] = await a.claim_due("a", NOW.timestamp(), 10, lease=600.0)
        soon = NOW + timedelta(seconds=10)
        await a.heartbeat(Member("a", "host-a", 1, soon))
        assert await b.claim_due("b", soon.timestamp(), 10, lease=600.0) == []
        silent = soon + timedelta(seconds=16)  # "a" said nothing for longer than the cluster lease
        [again] = await b.claim_due("b", silent.timestamp(), 10, lease=600.0)
        assert (again.id, again.notification.key) == (claimed.id, claimed.notification.key)
        assert [m.id for m in await b.members(silent)] == []


async def test_a_claim_lapses_when_its_lease_ends(database: StateLocation) -> None:
    """A claim by an owner that is no member ends with its own lease."""
    async with postgres_store(database) as store:
        await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
        [row] = await store.claim_due("x", NOW.timestamp(), 10, lease=60.0)
        assert await store.claim_due("y", NOW.timestamp() + 59, 10, lease=60.0) == []
        assert [r.id for r in await store.claim_due("y", NOW.timestamp() + 60, 10, lease=60.0)] == [row.id]


async def test_a_company_is_leased_to_one_replica_until_its_lease_ends(database: StateLocation) -> None:
    """The first replica gets the lease and renews it; another gets it only once it ran out or was given up."""
    async with postgres_store(database) as a, postgres_store(database) as b:
        assert [lease.owner for lease in await a.acquire("a", ["47", "203"], NOW, 15.0)] == ["a", "a"]
        soon = NOW + timedelta(seconds=5)
        assert [lease.company for lease in await b.acquire("b", ["47", "203", "118"], soon, 15.0)] == ["118"]
        later = NOW + timedelta(seconds=10)
        assert [lease.until for lease in await a.acquire("a", ["47"], later, 15.0)] == [later + timedelta(seconds=15)]
        await a.surrender("a", ["203"])
        taken = await b.acquire("b", ["47", "203"], later, 15.0)
        assert [(lease.company, lease.owner) for lease in taken] == [("203", "b")]
        held = [(lease.company, lease.owner) for lease in await a.leases(later)]
        assert held == [("118", "b"), ("203", "b"), ("47", "a")]
        expired = later + timedelta(seconds=15)
        assert [lease.company for lease in await b.acquire("b", ["47"], expired, 15.0)] == ["47"]


async def test_replicas_racing_for_companies_each_get_them_once(database: StateLocation) -> None:
    """Many replicas acquiring the same companies at once: every company ends up with exactly one owner."""
    companies = [str(n) for n in range(40)]
    async with postgres_store(database) as store:
        won = await asyncio.gather(*(store.acquire(f"r{i}", companies, NOW, 15.0) for i in range(5)))
    owners = [lease.company for leases in won for lease in leases]
    assert sorted(owners) == sorted(companies)


async def test_alert_state_is_shared_between_replicas(database: StateLocation) -> None:
    """What one replica commits of the alert book another reads, in full or for the companies it takes over."""
    async with postgres_store(database) as a, postgres_store(database) as b:
        alerts = [Alert("stalled", c, f"{c}||A", "firing", NOW, last_sent=NOW, sends=1) for c in ("47", "203")]
        await a.commit([], alerts, [], NOW)
        assert sorted(x.company for x in await b.load_alerts()) == ["203", "47"]
        assert await b.load_alerts(["47"]) == [alerts[0]]


async def test_a_commit_wakes_every_listening_replica(database: StateLocation) -> None:
    """A commit with due deliveries NOTIFYs: a replica listening for it is woken without looking."""
    listening = await PostgresStore.open(database, listen=True)
    woken = asyncio.Event()
    listening.subscribe(woken.set)
    try:
        async with postgres_store(database) as other:
            await woken.wait()  # the listener wakes everyone once when it connects
            woken.clear()
            await other.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
            await woken.wait()
    finally:
        await listening.close()


async def test_a_database_of_the_version_before_is_migrated_keeping_what_it_holds(database: StateLocation) -> None:
    """A database written before resolved names were kept is brought to this version at start: its alerts stay,
    and the names' handles are kept from then on."""
    async with postgres_store(database) as first:
        await first.commit([], [Alert("stalled", "311", "311||A", "firing", NOW, last_sent=NOW, sends=1)], [], NOW)
    db = await asyncpg.connect(database.url)
    try:
        await db.execute("DROP TABLE company_handles")
        await db.execute("UPDATE notifier_schema SET version = $1", VERSION - 1)
    finally:
        await db.close()
    async with postgres_store(database) as migrated:
        assert [a.company for a in await migrated.load_alerts()] == ["311"]
        await migrated.seed("311", NOW, first_look=False, name="Lumière Maison")
        assert await migrated.company_handles() == {"Lumière Maison": "311"}
    db = await asyncpg.connect(database.url)
    try:
        assert await db.fetchval("SELECT version FROM notifier_schema") == VERSION
    finally:
        await db.close()


async def test_a_database_written_by_a_newer_version_is_refused_in_one_line(database: StateLocation) -> None:
    """A schema version above ours is refused with a message that says what to do, before anything is written."""
    async with postgres_store(database):
        pass
    db = await asyncpg.connect(database.url)
    try:
        await db.execute("UPDATE notifier_schema SET version = $1", VERSION + 1)
    finally:
        await db.close()
    with pytest.raises(StoreError, match=f"schema version {VERSION + 1}.*newer") as raised:
        await PostgresStore.open(database)
    assert "\n" not in str(raised.value)


async def test_an_unreachable_server_is_one_line_without_the_password(postgres: PostgresServer) -> None:
    """A server nobody answers for: one line naming the database, its password never shown."""
    location = locate(f"postgresql://notifier:s3cr3t-pw@/nowhere?host={postgres.folder}/absent", postgres.folder)
    with pytest.raises(StoreError, match="cannot open the state database") as raised:
        await PostgresStore.open(location)
    assert "s3cr3t-pw" not in str(raised.value)
    assert "\n" not in str(raised.value)


async def test_a_server_that_goes_away_is_a_store_failure_until_it_is_back(
    database: StateLocation, postgres: PostgresServer
) -> None:
    """Operations fail as `StoreError`s while the server is down, health says so, and the pool heals after."""
    async with postgres_store(database) as store:
        await store.ping()
        postgres.stop("fast")
        try:
            with pytest.raises(StoreError):
                await store.poll_marks()
            assert store.health.problem is not None
        finally:
            postgres.start()
        while True:  # a pooled connection the restart cut off may fail once more, and is replaced
            try:
                assert await store.poll_marks() == {}
                break
            except StoreError:
                await asyncio.sleep(0.01)
        assert store.health.problem is None
