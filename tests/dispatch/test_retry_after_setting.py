"""`delivery.max_retry_after`: how long a receiver's Retry-After is honoured, set in the config and on reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.app.daemon import Daemon
from notifier.config import load_config
from notifier.runtime.clock import ManualClock
from notifier.store.records import PENDING, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.channels.support import free_port, sample_notification
from tests.conftest import START

SECRET = "whsec_cmV0cnktYWZ0ZXItc2V0dGluZy10ZXN0LWtleQ=="


@pytest.fixture
async def patient_receiver() -> AsyncIterator[TestServer]:
    """A webhook receiver that is down for maintenance and asks to be left alone for a day."""

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=503, headers={"Retry-After": "86400"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def write_config(tmp_path: Path, url: str, cap: str) -> Path:
    path = tmp_path / "notifier.yaml"
    path.write_text(
        f"""
ips: {{endpoint: "http://127.0.0.1:{free_port()}/ips", user: u, password: p}}
companies: [{{handle: "47"}}]
state: sqlite:///state.db
channels:
  hook: {{type: webhook, url: "{url}", secret: "{SECRET}"}}
delivery: {{max_retry_after: {cap}}}
""",
        encoding="utf-8",
    )
    return path


async def next_wait(daemon: Daemon, clock: ManualClock) -> float:
    """Attempt every due delivery now; seconds until the one pending row is tried again."""
    await daemon.dispatcher.flush()
    [row] = await daemon.store.list_deliveries([PENDING])
    return row.next_at - clock.now().timestamp()


async def test_retry_after_is_honoured_up_to_the_configured_cap_which_a_reload_changes(
    patient_receiver: TestServer, tmp_path: Path
) -> None:
    """A day's Retry-After waits `max_retry_after` (plus at most 2 s of jitter); a reload's new cap applies next."""
    path = write_config(tmp_path, str(patient_receiver.make_url("/hook")), "2m")
    config = load_config(path)
    assert config.delivery.max_retry_after == 120
    clock = ManualClock(START)
    store = await SqliteStore.open(config.state_path)
    await store.commit([Outgoing(sample_notification(created_at=START), (Destination("hook"),))], [], [], START)
    async with aiohttp.ClientSession() as session:
        daemon = Daemon(config, clock, session, store)
        await daemon.start(poll=False)
        try:
            assert 120 <= await next_wait(daemon, clock) <= 122
            path.write_text(path.read_text(encoding="utf-8").replace("2m", "10m"), encoding="utf-8")
            assert await daemon.reload(path)
            clock.advance(122)
            assert 600 <= await next_wait(daemon, clock) <= 602
        finally:
            await daemon.stop(1)
            await store.close()
