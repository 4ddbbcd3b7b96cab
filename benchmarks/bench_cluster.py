"""Outbox deliveries per second: `notifier run` on SQLite, and 1, 2 and 4 replicas sharing PostgreSQL, interleaved.

    .venv/bin/python benchmarks/bench_cluster.py [--quick]

A webhook receiver in its own process verifies every signature with `standardwebhooks`; the replicas are real
`notifier run` processes (their one company on an IPS port nothing answers on: polling fails, which costs them
nothing here). Once every replica has started, this script commits a batch of notifications to the store (as
the compose stage does: one transaction, which on PostgreSQL NOTIFYs every replica) and times, from the end of
that commit, the receiver until it has accepted all of them: the rate is the batch over that time, claims,
sends and recorded outcomes included. PostgreSQL is a server this script starts (initdb, pg_ctl) in a
temporary directory, on a unix socket. Each configuration runs once per round, rounds interleave them, the
median is reported. The target: ≥ 2,000 deliveries/s from the replicas together.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from harness import ROOT, Row, machine, median, options, report
from procs import free_port, started, wait_until_answering

sys.path.insert(0, str(ROOT))  # the test suite's PostgreSQL server, started the same way
from notifier.models import Message, Notification
from notifier.store.backends import open_store
from notifier.store.location import StateLocation, locate
from notifier.store.records import Destination, Outgoing
from tests.support.postgres import postgres_server

SECRET = "whsec_" + base64.b64encode(b"benchmark-signing-key-0123456789").decode()
TARGET = 2000.0
REPLICAS = (1, 2, 4)


def notification(key: str, at: datetime) -> Notification:
    return Notification(
        key=key, rule="failed-publish", severity="critical", status="firing", event_kind="job.failed", created_at=at,
        company={"handle": "47", "name": "Planetary"}, job={"job_handle": f"47||{key}", "locale": "en-US"}, log=None,
        message=Message("en-US", f"Job {key} failed", "Files could not be published.", "<p>Failed.</p>", ()),
        details=("file.psd: not found",),
    )  # fmt: skip


RULES = "- name: failed-publish\n  on: job.failed\n  notify: [{channel: downstream}]\n"


def config(directory: Path, state: str, hook: str, ips_port: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "rules.yaml").write_text(RULES)
    channel = f'{{type: webhook, url: "{hook}", secret: "{SECRET}"}}'
    path = directory / "notifier.yaml"
    path.write_text(
        f"ips: {{endpoint: http://127.0.0.1:{ips_port}/x, user: u@example.com, password: p}}\n"
        f'companies: [{{handle: "47"}}]\nrules: rules.yaml\nstate: "{state}"\n'
        f"channels: {{downstream: {channel}}}\nlog: {{format: json, level: info}}\n"
    )
    return path


async def accepted(base: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/count") as response:
        return int((await response.json())["accepted"])


async def commit(location: StateLocation, batch: int, tag: str) -> None:
    now = datetime.now(UTC)
    items = [Outgoing(notification(f"{tag}-{i:05d}", now), (Destination("downstream"),)) for i in range(batch)]
    async with open_store(location) as store:
        assert len(await store.commit(items, [], [], now)) == batch


def wait_for(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {limit:.0f} s")
        time.sleep(0.05)


def one_run(location: StateLocation, replicas: int, batch: int, hook_base: str, folder: Path, tag: str) -> float:
    """`replicas` daemons on `location`; a batch committed once all have started, timed until all arrived."""
    ips_port = free_port()  # nothing listens there
    logs = [folder / f"{tag}-{n}.log" for n in range(replicas)]
    commands = [
        [sys.executable, "-m", "notifier", "run", "--config",
         str(config(folder / f"{tag}-{n}", location.url, f"{hook_base}/hook", ips_port))]
        for n in range(replicas)
    ]  # fmt: skip
    with contextlib.ExitStack() as running:  # every replica stopped, then every log closed, however it ends
        sinks = [running.enter_context(log.open("wb")) for log in logs]
        processes = [
            running.enter_context(started(c, stdout=s, stderr=s)) for c, s in zip(commands, sinks, strict=True)
        ]
        wait_for(lambda: all(b'"started"' in log.read_bytes() for log in logs), f"{replicas} replicas starting")
        before = asyncio.run(accepted(hook_base))
        asyncio.run(commit(location, batch, tag))
        began = time.perf_counter()  # the batch is in the outbox: from here on, the replicas deliver it
        wait_for(lambda: asyncio.run(accepted(hook_base)) - before >= batch, f"{batch} deliveries")
        elapsed = time.perf_counter() - began
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a replica exited during the run")
    return batch / elapsed


def main() -> None:
    args = options(__doc__.splitlines()[0])
    rounds, batch = (1, 2000) if args.quick else (3, 5000)
    hook_port = free_port()
    hook_base = f"http://127.0.0.1:{hook_port}"
    receiver_cmd = [sys.executable, str(Path(__file__).with_name("receiver.py")), "--port", str(hook_port),
                    "--secret", SECRET]  # fmt: skip
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as server, started(receiver_cmd) as receiver:
        asyncio.run(wait_until_answering(f"{hook_base}/count", receiver))
        folder = Path(tmp)
        for round_ in range(rounds):
            sqlite = locate(f"sqlite:///{folder / f'state-{round_}.db'}", folder)
            rates.setdefault("sqlite", []).append(one_run(sqlite, 1, batch, hook_base, folder, f"s{round_}"))
            for replicas in REPLICAS:
                location = asyncio.run(server.database())
                rate = one_run(location, replicas, batch, hook_base, folder, f"p{replicas}-{round_}")
                rates.setdefault(f"pg{replicas}", []).append(rate)
    sqlite_rate = median(rates["sqlite"])
    rows = [Row("outbox deliveries, one notifier run on SQLite", sqlite_rate, "/s")]
    for replicas in REPLICAS:
        rate = median(rates[f"pg{replicas}"])
        target = (">=", TARGET) if replicas == max(REPLICAS) else None
        rows.append(Row(f"  {replicas} replica{'s' if replicas > 1 else ''} on PostgreSQL", rate, "/s", sqlite_rate,
                        "(SQLite)", rate / sqlite_rate, target))  # fmt: skip
    notes = [
        f"a batch of {batch:,} notifications committed at once, one signed webhook each, timed until the receiver"
        f" accepted all; default concurrency (8) per replica; median of {rounds} interleaved rounds ({machine()})",
    ]
    report("Outbox deliveries: SQLite, and replicas sharing PostgreSQL", rows, notes, args.json)


if __name__ == "__main__":
    main()
