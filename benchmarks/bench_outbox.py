"""Signed webhooks through the durable outbox, against raw aiohttp POSTs to the same receiver in the same run.

    .venv/bin/python benchmarks/bench_outbox.py [--count 5000] [--concurrency 8]

The receiver runs in its own process on 127.0.0.1 and answers 204. Four ways of sending `count` webhooks:
raw POSTs of pre-signed bodies (the baseline: transport only), the webhook channel alone (signing and
serialising, no outbox), and the dispatcher draining a real SQLite outbox (synchronous=FULL, WAL): once with
outcomes group-committed as it runs, once with one transaction per delivery. The design asks for at least
1,000 signed webhooks/s through the durable outbox; the ratio says what the outbox costs over the transport.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import multiprocessing
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web

from notifier.channels.webhook import WebhookSender, decode_secret, signed_headers, webhook_body
from notifier.clock import SystemClock
from notifier.config import WebhookChannel
from notifier.dispatch.ledger import Ledger
from notifier.dispatch.limits import CircuitBreaker
from notifier.dispatch.outbox import Dispatcher, Lane
from notifier.dispatch.policy import Verdict
from notifier.models import Delivery, Message, Notification
from notifier.store.sqlite import DeliveryRow, Mark, Outgoing, SqliteStore, Target

SECRET = "whsec_" + base64.b64encode(b"benchmark-signing-key-0123456789").decode()
TARGET = 1000.0  # signed webhooks per second through the outbox, from the design


def serve(port: int) -> None:
    """The receiver process: read the body, answer 204, count what arrived (GET /count)."""
    received = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        return web.Response(status=204)

    async def count(_request: web.Request) -> web.Response:
        return web.Response(text=str(received))

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


def notifications(count: int) -> list[Notification]:
    created = datetime.now(UTC)
    message = Message("en-US", "Publish job “Spring catalog” failed", "2 files failed.\n" * 5, None, (("Job", "x"),))
    return [
        Notification(
            key=f"bench-{i:06d}", rule="failed-publish", severity="critical", status="firing", event_kind="job.failed",
            created_at=created, company={"handle": "47", "name": "Planetary"},
            job={"job_handle": f"47||job-{i}", "type": "ImageServingPublish", "progress": 40},
            log={"fatal_error": True, "file_error_count": 2}, message=message,
        )
        for i in range(count)
    ]  # fmt: skip


def channel(url: str, session: aiohttp.ClientSession, concurrency: int) -> WebhookSender:
    config = WebhookChannel.model_validate(
        {"type": "webhook", "url": url, "secret": SECRET, "concurrency": concurrency}
    )
    return WebhookSender("hook", config, session)


async def raw_posts(url: str, items: Sequence[Notification], concurrency: int) -> float:
    """Baseline: pre-signed bodies POSTed over one keep-alive session, `concurrency` at a time."""
    keys = [decode_secret(SECRET)]
    now = int(time.time())
    prepared = [(webhook_body(n), signed_headers(keys, n.key, now, webhook_body(n))) for n in items]
    slots = asyncio.Semaphore(concurrency)

    async def post(session: aiohttp.ClientSession, body: bytes, headers: dict[str, str]) -> None:
        async with slots, session.post(url, data=body, headers=headers) as response:
            await response.read()
            assert response.status == 204

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(post(session, body, headers) for body, headers in prepared))
        return time.perf_counter() - started


async def channel_only(url: str, items: Sequence[Notification], concurrency: int) -> float:
    """The webhook channel (serialise, sign, POST) without the outbox."""
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        sender = channel(url, session, concurrency)

        async def send(notification: Notification) -> None:
            async with slots:
                await sender.send(Delivery(notification, "hook"))

        started = time.perf_counter()
        await asyncio.gather(*(send(n) for n in items))
        return time.perf_counter() - started


class OneCommitPerRow(Ledger):
    """What the dispatcher did before batching: one transaction (one fsync) per delivery outcome."""

    async def write(self, mark: Mark) -> None:
        await self.store.record([mark], self.clock.now())


async def through_outbox(url: str, items: Sequence[Notification], concurrency: int, *, batched: bool) -> float:
    """Commit every notification to a fresh outbox file, then time the dispatcher draining it."""
    with tempfile.TemporaryDirectory() as directory:
        store = await SqliteStore.open(Path(directory) / "state.db")
        try:
            await store.commit([Outgoing(n, (Target("hook"),)) for n in items], [], [], datetime.now(UTC))
            async with aiohttp.ClientSession() as session:
                return await _drain(store, channel(url, session, concurrency), len(items), concurrency, batched)
        finally:
            await store.close()


async def _drain(store: SqliteStore, sender: WebhookSender, total: int, concurrency: int, batched: bool) -> float:
    clock = SystemClock()
    done, delivered = asyncio.Event(), 0

    def counted(_row: DeliveryRow, verdict: Verdict) -> None:
        nonlocal delivered
        delivered += verdict.action == "delivered"
        if delivered == total:
            done.set()

    lane = Lane(sender, asyncio.Semaphore(concurrency), None, CircuitBreaker(clock=clock))
    dispatcher = Dispatcher(store, {"hook": lane}, clock, on_outcome=counted)
    if not batched:
        dispatcher.ledger = OneCommitPerRow(store, clock)
    started = time.perf_counter()
    runner = asyncio.create_task(dispatcher.run())
    await done.wait()
    await dispatcher.drain(30.0)  # the last outcomes are committed before the clock stops
    elapsed = time.perf_counter() - started
    runner.cancel()
    stats = await store.stats()
    assert stats.delivered == total, stats
    return elapsed


async def received(base: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/count") as response:
        return int(await response.text())


async def bench(base: str, count: int, concurrency: int) -> float:
    url = f"{base}/hook"
    items = notifications(count)
    await raw_posts(url, items[: min(500, count)], concurrency)  # warm up the receiver and the code paths
    runs = [
        ("raw aiohttp POSTs (baseline)", await raw_posts(url, items, concurrency)),
        ("webhook channel, no outbox", await channel_only(url, items, concurrency)),
        ("outbox, one commit per row", await through_outbox(url, items, concurrency, batched=False)),
        ("outbox, group commit", await through_outbox(url, items, concurrency, batched=True)),
    ]
    baseline = count / runs[0][1]
    print(f"{count} signed webhooks, concurrency {concurrency}, receiver in its own process on 127.0.0.1")
    for name, seconds in runs:
        rate = count / seconds
        print(f"  {name:32} {rate:8.0f} deliveries/s   {rate / baseline:5.2f}× baseline")
    outbox_rate = count / runs[-1][1]
    print(f"outbox/baseline ratio: {outbox_rate / baseline:.2f}; target ≥ {TARGET:.0f}/s: "
          + ("met" if outbox_rate >= TARGET else "NOT met"))  # fmt: skip
    assert await received(base) == min(500, count) + 4 * count
    return outbox_rate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_for_receiver(base: str) -> None:
    for _ in range(500):
        try:
            await received(base)
            return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.01)
    raise SystemExit("the receiver did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="webhooks per run (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=8, help="sends in flight (default: the webhook default)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    port = free_port()
    receiver = multiprocessing.get_context("spawn").Process(target=serve, args=(port,), daemon=True)
    receiver.start()
    try:
        base = f"http://127.0.0.1:{port}"

        async def go() -> float:
            await wait_for_receiver(base)
            return await bench(base, args.count, args.concurrency)

        rate = asyncio.run(go())
    finally:
        receiver.terminate()
        receiver.join()
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
