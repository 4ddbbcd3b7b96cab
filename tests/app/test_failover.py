"""Three `notifier run` processes on one PostgreSQL database, one of them SIGKILLed while it has deliveries on the
wire and companies to poll: nothing is lost, nothing is announced under two ids, its companies are polled again
within a lease and an interval, and no company is ever polled by two replicas at once.

The simulator runs in this process on simulated time twenty times faster than the wall clock, so jobs end all the
time; each replica reaches it through a port of its own, which is how each IPS request is attributed to the
replica that made it. The webhook receiver holds every request until the victim is dead, so every replica has
claimed deliveries then.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import re
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.ips.simulator.server import SERVICE_PATH, create_app, make_world
from notifier.ips.simulator.world import World
from notifier.store.location import StateLocation
from notifier.store.records import Destination, Outgoing
from tests.support import daemon as support
from tests.support.channels import sample_notification
from tests.support.postgres import PostgresServer
from tests.support.processes import Processes
from tests.support.receiver import Receiver, serving
from tests.support.store import postgres_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
# Half by handle, half by name (the simulator's companies 1000-1005 are named "Company 001" to "Company 006").
COMPANIES = (
    "["
    + ", ".join(f'{{handle: "{1000 + n}"}}' if n % 2 else f'{{name: "Company {n + 1:03d}"}}' for n in range(6))
    + "]"
)
SECRET = "whsec_" + base64.b64encode(b"failover-test-signing-key-012345").decode()
LEASE = 3.0
INTERVAL = 2.0
SEEDED = 300  # notifications in the outbox before any replica starts
GUARD = 60.0  # seconds before a wait is a failure
RULES = """
- name: job-ended
  on: [job.completed, job.failed]
  severity: info
  notify: [{channel: downstream}]
"""
COMPANY = re.compile(rb"companyHandle>([^<]+)<")


@dataclass(frozen=True, slots=True)
class Call:
    """One IPS request as the simulator saw it: which replica (by port), about which company, when."""

    replica: int
    company: str
    operation: str
    started: float
    ended: float


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Verifies every request with `standardwebhooks`; holds them all until released."""
    holding = Receiver(secret=SECRET)
    holding.answers = 0
    async with serving(holding) as started:
        yield started


@pytest.fixture
async def ips() -> AsyncIterator[tuple[World, list[TestServer], list[Call]]]:
    """Six companies' jobs ending all the time, served on three ports; every call recorded."""
    world = make_world("scale", speed=20.0, start=datetime.now(UTC), companies=6, jobs=4)
    calls: list[Call] = []
    servers = []
    for replica in range(3):
        app = create_app(world)
        app.middlewares.append(_recorder(replica, calls))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
    yield world, servers, calls
    for server in servers:
        await server.close()


def _recorder(replica: int, calls: list[Call]) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        body = await request.read()
        started = time.monotonic()
        try:
            return await handler(request)
        finally:
            found = COMPANY.search(body)
            operation = request.headers.get("SOAPAction", "").strip('"').rpartition("/")[2]
            if found:
                calls.append(Call(replica, found.group(1).decode(), operation, started, time.monotonic()))

    return record


async def seed(location: StateLocation) -> None:
    async with postgres_store(location) as store:
        items = [
            Outgoing(sample_notification(key=f"seeded-{i:03d}"), (Destination("downstream"),)) for i in range(SEEDED)
        ]
        assert len(await store.commit(items, [], [], datetime.now(UTC))) == SEEDED


def write_config(folder: Path, endpoint: str, state: str, url: str) -> Path:
    folder.mkdir()
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    channels = f'  downstream: {{type: webhook, url: "{url}", secret: "{SECRET}", timeout: 30s, concurrency: 4}}'
    return support.write_config(
        folder, endpoint, interval=f"{INTERVAL:g}s", poll="jitter: 0", rules="rules.yaml", channels=channels,
        state=f'"{state}"', companies=COMPANIES, log="format: json, level: warning",
        extra=f"cluster: {{lease: {LEASE:g}s}}\n",
    )  # fmt: skip


async def query(location: StateLocation, sql: str) -> list[asyncpg.Record]:
    db = await asyncpg.connect(location.url)
    try:
        return await db.fetch(sql)
    finally:
        await db.close()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` every 100 ms until it holds; fail naming `what` after GUARD seconds."""
    try:
        async with asyncio.timeout(GUARD):
            while not await check():  # noqa: ASYNC110 - the database and the receiver are looked at, not awaited
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def test_a_replica_killed_mid_delivery_loses_nothing_and_its_companies_move_on(
    tmp_path: Path,
    postgres: PostgresServer,
    receiver: Receiver,
    ips: tuple[World, list[TestServer], list[Call]],
    notifier_process: Processes,
) -> None:
    """Every notification is delivered (the victim's claims under their own ids), none twice under two ids,
    the victim's companies polled again within lease + interval, and no company polled by two replicas at once."""
    _world, servers, calls = ips
    location = await postgres.database()
    await seed(location)
    leases = "SELECT m.pid, l.company FROM leases l JOIN members m ON m.id = l.owner WHERE l.until > now()"
    pids: list[int] = []
    for n, server in enumerate(servers):
        config = write_config(
            tmp_path / f"replica-{n}", str(server.make_url(SERVICE_PATH)), location.url, receiver.url()
        )
        with (tmp_path / f"replica-{n}.log").open("ab") as log:
            proc = await notifier_process("run", "--config", str(config), stdout=log, stderr=log)
        pids.append(proc.pid)

        async def settled(replicas: int = n + 1) -> bool:
            held = [r["pid"] for r in await query(location, leases)]
            return (
                len(held) == 6
                and len(set(held)) == replicas
                and max(held.count(p) for p in set(held)) <= 6 // replicas + (6 % replicas > 0)
            )

        await until(settled, f"{n + 1} replicas sharing the companies")

    claims = "SELECT m.pid, count(*) AS n FROM deliveries d JOIN members m ON m.id = d.claimed_by GROUP BY m.pid"

    async def all_claim() -> bool:
        return len(await query(location, claims)) == 3

    await until(all_claim, "every replica holding claimed deliveries")
    victim = pids[2]
    resolved = {f"name:{r['name']}": r["handle"] for r in await query(location, "SELECT * FROM company_handles")}
    owned = {resolved.get(r["company"], r["company"]) for r in await query(location, leases) if r["pid"] == victim}
    assert all(company.isdigit() for company in owned)  # the names the victim polled were resolved
    assert owned
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    receiver.release()

    def repolled() -> dict[str, float]:
        return {
            c.company: c.started - killed for c in calls if c.started > killed and c.company in owned and c.replica != 2
        }

    async def taken_over() -> bool:
        return set(repolled()) == owned

    await until(taken_over, "the victim's companies polled by the others")
    assert max(repolled().values()) <= LEASE + INTERVAL + 1.0  # one second for a loaded machine

    async def drained() -> bool:
        [row] = await query(location, "SELECT count(*) AS n FROM deliveries WHERE state != 'delivered'")
        return row["n"] == 0 and len(receiver.requests) >= SEEDED

    await until(drained, "every delivery delivered")
    stored = await query(location, "SELECT key, body FROM notifications")
    seen: dict[str, set[bytes]] = defaultdict(set)
    for request in receiver.requests:
        seen[request.headers["webhook-id"]].add(request.body)
    assert {r["key"] for r in stored} <= set(seen)  # every notification arrived
    assert all(len(bodies) == 1 for bodies in seen.values())  # a repeat is the same message under the same id
    ended = await query(location, "SELECT job, count(*) AS n FROM notifications WHERE rule = 'job-ended' GROUP BY job")
    assert ended
    assert [r["job"] for r in ended if r["n"] > 1] == []  # no ending announced under two ids
    _never_two_at_once(calls)


def _never_two_at_once(calls: list[Call]) -> None:
    """Per company, requests of different replicas never overlap, and polling moves between replicas only a few
    times (the start's rebalancing and the takeover), never back and forth."""
    by_company: dict[str, list[Call]] = defaultdict(list)
    for call in sorted(calls, key=lambda c: c.started):
        by_company[call.company].append(call)
    for company, seq in by_company.items():
        runs = [seq[0].replica] + [b.replica for a, b in itertools.pairwise(seq) if b.replica != a.replica]
        assert len(runs) <= 4, (company, runs)
        for a, b in itertools.pairwise(seq):
            if a.replica != b.replica:
                assert a.ended <= b.started, (company, a, b)
