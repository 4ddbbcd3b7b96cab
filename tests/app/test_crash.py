"""kill -9 in the middle of delivery loses nothing: a restarted daemon sends what the dead one did not confirm.

A real `python -m notifier run` process drains 500 committed notifications to a webhook receiver on 127.0.0.1.
The receiver stops answering after a while, the process is SIGKILLed with sends on the wire, and a second
process takes over the same state file. Every webhook-id must arrive; an id seen twice must carry the same
bytes; every request must verify with the independent `standardwebhooks` implementation.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from notifier.store.records import Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.channels import free_port, sample_notification

SECRET = "whsec_" + base64.b64encode(b"crash-test-signing-key-0123456789").decode()
TOTAL = 500
FIRST_RUN_ANSWERS = 150  # the receiver answers this many, then holds every further request open
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Receiver:
    """Verifies and keeps every request; once `answers` run out it holds requests until released."""

    answers: int
    bodies: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    held: int = 0
    invalid: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        msg_id = request.headers.get("webhook-id", "")
        try:
            Webhook(SECRET).verify(body, dict(request.headers))
        except Exception as exc:  # any refusal is a test failure, reported with the id
            self.invalid.append(f"{msg_id}: {exc}")
        self.bodies[msg_id].append(body)
        if self.answers <= 0:
            self.held += 1
            await self.release.wait()
        self.answers -= 1
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, TestServer]]:
    state = Receiver(answers=FIRST_RUN_ANSWERS)
    app = web.Application()
    app.router.add_post("/hook", state.hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield state, server
    state.release.set()
    await server.close()


def write_config(tmp_path: Path, url: str) -> Path:
    """One company on a port nothing listens on (its polls fail, which must not matter) and one webhook."""
    config = tmp_path / "notifier.yaml"
    config.write_text(
        f"""
ips: {{endpoint: "http://127.0.0.1:{free_port()}/scene7/services/IpsApiService", user: u, password: p, timeout: 1s}}
companies: [{{handle: "47"}}]
state: sqlite:///state.db
shutdown_grace: 2s
channels:
  downstream: {{type: webhook, url: "{url}", secret: "{SECRET}", timeout: 5s}}
log: {{format: json, level: warning}}
""",
        encoding="utf-8",
    )
    return config


async def seed(path: Path) -> None:
    store = await SqliteStore.open(path)
    try:
        items = [
            Outgoing(sample_notification(key=f"crash-{i:03d}"), (Destination("downstream"),)) for i in range(TOTAL)
        ]
        assert len(await store.commit(items, [], [], datetime.now(UTC))) == TOTAL
    finally:
        await store.close()


async def start_daemon(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:  # a file, not a pipe: a full pipe would stall the daemon mid-test
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", "run", "--config", str(config), cwd=REPO, stdout=sink, stderr=sink
        )


async def until(condition: Callable[[], bool], limit: float, what: str, log: Path) -> None:
    """Poll `condition` every 10 ms for at most `limit` seconds; fail with the daemon's log otherwise."""
    try:
        async with asyncio.timeout(limit):
            while not condition():  # noqa: ASYNC110 - the receiver's counters are plain state
                await asyncio.sleep(0.01)
    except TimeoutError:
        output = await asyncio.to_thread(log.read_text, errors="replace")
        pytest.fail(f"timed out waiting for {what}; daemon log:\n{output[-3000:]}")


async def test_sigkill_mid_delivery_loses_nothing(receiver: tuple[Receiver, TestServer], tmp_path: Path) -> None:
    """After SIGKILL and a restart all 500 ids arrive, repeats byte-identical, every request verified."""
    state, server = receiver
    config = write_config(tmp_path, str(server.make_url("/hook")))
    await seed(tmp_path / "state.db")
    log = tmp_path / "daemon.log"

    first = await start_daemon(config, log)
    await until(lambda: state.held > 0, 15, "the first daemon to reach the held requests", log)
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    arrived_before_kill = len(state.bodies)
    assert FIRST_RUN_ANSWERS < arrived_before_kill < TOTAL
    print(f"arrived before the kill: {arrived_before_kill}, held open: {state.held}")

    state.answers = TOTAL * 2
    state.release.set()
    second = await start_daemon(config, log)
    await until(lambda: len(state.bodies) == TOTAL, 15, "every webhook-id to arrive", log)
    second.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 10) == 0

    assert state.invalid == []
    assert set(state.bodies) == {f"crash-{i:03d}" for i in range(TOTAL)}
    repeated = {msg_id: bodies for msg_id, bodies in state.bodies.items() if len(bodies) > 1}
    assert repeated, "the kill happened with sends on the wire, so some ids must have been sent again"
    assert all(len(set(bodies)) == 1 for bodies in repeated.values())
    store = await SqliteStore.open(tmp_path / "state.db")
    try:
        stats = await store.stats()
    finally:
        await store.close()
    assert (stats.delivered, stats.pending, stats.dead) == (TOTAL, 0, 0)
