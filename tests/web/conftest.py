"""A real daemon on the IPS simulator, its operator's window served on 127.0.0.1, time and polls driven by tests.

Deliveries go to a local webhook receiver with one endpoint per behaviour (accepts, rejects for good, is
busy), so the window has delivered, dead-lettered, retrying and silenced rows to show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.app.daemon import Daemon
from notifier.config import Config, load_config
from notifier.ips.simulator.scenarios import JobSpec
from notifier.runtime.clock import ManualClock
from notifier.store.sqlite.store import SqliteStore
from notifier.web import create_app
from tests.conftest import PASSWORD, START, USER, Sim, StartSim

SECRET = "whsec_b3BlcmF0b3Itd2luZG93LXRlc3Qta2V5"
INTERVAL = 30.0
COMPANIES = ("47", "311", "118")  # Planetary, Lumière Maison (a job stalled since before START), Nordwind
RULES = """
- name: job-started
  on: job.started
  severity: info
  notify: [{channel: hook}, {channel: broken}]
- name: stalled-progress
  on: job.active
  where: job.state == "Running" and job.stalled_seconds >= 900
  severity: warning
  notify: [{channel: busy}, {channel: pager}]
"""


@dataclass
class Receiver:
    """Webhook endpoints: /ok takes everything, /busy is overloaded (503); /dead is a Slack incoming webhook that
    refuses every message for good (`invalid_payload`)."""

    server: TestServer
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


def write_config(tmp_path: Path, sim: Sim, receiver: Receiver, companies: tuple[str, ...] = COMPANIES) -> Config:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    # A company is a handle, or a YAML mapping as written in the config (e.g. `{name: "Nordwind Moden"}`).
    listed = ", ".join(c if c.startswith("{") else f'{{handle: "{c}"}}' for c in companies)
    channels = {"hook": "/ok", "busy": "/busy", "pager": "/ok"}
    hooks = "\n".join(
        f'  {name}: {{type: webhook, url: "{receiver.url(path)}", secret: {SECRET}}}' for name, path in channels.items()
    )
    hooks += f'\n  broken: {{type: slack, webhook_url: "{receiver.url("/dead")}", rate_limit: 1000}}'
    path = tmp_path / "notifier.yaml"
    path.write_text(
        f"""
ips: {{endpoint: "{sim.endpoint}", user: {USER}, password: {PASSWORD}, timeout: 5s}}
poll: {{interval: {INTERVAL:g}s, unreachable_after: 2}}
companies: [{listed}]
rules: rules.yaml
state: sqlite:///state.db
shutdown_grace: 2s
channels:
{hooks}
http: {{listen: "127.0.0.1:0"}}
""",
        encoding="utf-8",
    )
    return load_config(path)


@dataclass
class Window:
    """The daemon, the simulator it polls, the clock both follow and an HTTP client for the window."""

    daemon: Daemon
    sim: Sim
    clock: ManualClock
    server: TestServer
    session: aiohttp.ClientSession
    receiver: Receiver

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def advance(self, seconds: float) -> None:
        """Move the simulator's world and the daemon's clock together."""
        self.sim.world.advance(seconds)
        self.clock.advance(seconds)

    async def poll(self, after: float = 0.0) -> None:
        """Advance by `after` seconds, poll every company once and let events reach the outbox and channels."""
        self.advance(after)
        for poller in self.daemon.ingest.pollers:
            await poller.poll_once()
        await self.daemon.settle()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url(path)) as response:
            return response.status, await response.text()

    async def json(self, path: str, status: int = 200) -> Any:
        async with self.session.get(self.url(path)) as response:
            assert response.status == status, await response.text()
            return await response.json()

    async def silence_pager(self) -> None:
        """A maintenance window on the pager channel: its deliveries are kept, marked silenced, never sent."""
        await self.daemon.store.add_silence(
            [("channel", "pager")], START, START + timedelta(hours=2), "pager maintenance", "ops@example.com"
        )

    def add_job(self, name: str, company: str = "47", run: float = 600.0) -> None:
        self.sim.world.add_job(JobSpec(company, "ImageServingPublish", "success", name, run=run, files=20))


@asynccontextmanager
async def unstarted(config: Config) -> AsyncIterator[tuple[Daemon, TestServer]]:
    """A daemon built but not started (no intake, no dispatcher), its window served: what a probe sees while
    the daemon is still starting, and a queue that nothing drains."""
    store = await SqliteStore.open(config.state_path)
    async with aiohttp.ClientSession() as session:
        daemon = Daemon(config, ManualClock(START), session, store)
        server = TestServer(create_app(daemon), host="127.0.0.1")
        await server.start_server()
        try:
            yield daemon, server
        finally:
            await server.close()
            await store.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hits: dict[str, int] = {}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        hits[request.path] = hits.get(request.path, 0) + 1
        if request.path == "/dead":
            return web.Response(status=400, text="invalid_payload")
        return web.Response(status={"/ok": 204, "/busy": 503}[request.path])

    app = web.Application()
    app.router.add_post("/{name}", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield Receiver(server, hits)
    await server.close()


@asynccontextmanager
async def serving(
    config: Config, clock: ManualClock
) -> AsyncIterator[tuple[Daemon, TestServer, aiohttp.ClientSession]]:
    """A started daemon (polling left to the test) with its window served, and a session to ask it; everything
    is stopped afterwards."""
    store = await SqliteStore.open(config.state_path)
    async with aiohttp.ClientSession() as session:
        daemon = Daemon(config, clock, session, store)
        await daemon.start(poll=False)
        server = TestServer(create_app(daemon), host="127.0.0.1")
        await server.start_server()
        try:
            yield daemon, server, session
        finally:
            await server.close()
            await daemon.stop(config.shutdown_grace)
            await store.close()


@pytest.fixture
async def window(start_sim: StartSim, receiver: Receiver, tmp_path: Path) -> AsyncIterator[Window]:
    """A started daemon (polling left to the test) on the demo scenario, nothing polled yet."""
    sim = await start_sim("demo")
    clock = ManualClock(START)
    async with serving(write_config(tmp_path, sim, receiver), clock) as (daemon, server, session):
        yield Window(daemon, sim, clock, server, session, receiver)
