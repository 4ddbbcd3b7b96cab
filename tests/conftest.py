"""Shared fixtures: the simulator served on 127.0.0.1, real clients pointed at it, and a daemon on it whose time
and polls a test drives (`Harness`)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, settings

from notifier.app.daemon import Daemon
from notifier.config import Config, load_config
from notifier.ips.client import IpsClient, IpsSettings
from notifier.ips.simulator.server import SERVICE_PATH, create_app, make_world
from notifier.ips.simulator.soap import SimUser
from notifier.ips.simulator.world import World
from notifier.runtime.clock import ManualClock
from notifier.store.sqlite.store import SqliteStore
from tests.support.store import sqlite_store

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHIPPED_RULES = Path(__file__).resolve().parents[1] / "rules"
# Property tests run a quick sweep in `make test` and the exhaustive one in `make test-slow` (CI runs both);
# tests marked `slow` (the large equivalence runs) only run there.
SLOW = os.environ.get("NOTIFIER_SLOW_TESTS") == "1"
settings.register_profile("quick", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if SLOW else "quick")
USER, PASSWORD = "demo@example.com", "demo"


@dataclass
class Sim:
    """One running simulator (frozen simulated time) and a session to talk to it."""

    world: World
    server: TestServer
    session: aiohttp.ClientSession

    @property
    def endpoint(self) -> str:
        return str(self.server.make_url(SERVICE_PATH))

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def settings(self, **changes: Any) -> IpsSettings:
        base = IpsSettings(endpoint=self.endpoint, user=USER, password=PASSWORD, timeout=5.0)
        return replace(base, **changes)

    def client(self, **changes: Any) -> IpsClient:
        return IpsClient(self.session, self.settings(**changes))


StartSim = Callable[..., Awaitable[Sim]]


async def collect_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    """Append each line a subprocess writes to `into` as it arrives (decoded, without its newline)."""
    async for line in stream:
        into.append(line.decode("utf-8", "replace").rstrip("\n"))


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Factory: start a simulator for a scenario; everything started is closed after the test."""
    started: list[Sim] = []

    async def start(
        scenario: str = "demo",
        *,
        seed: int = 0,
        users: Mapping[str, SimUser] | None = None,
        prefix: str | None = "ns1",
        start: datetime = START,
        **options: Any,
    ) -> Sim:
        world = make_world(scenario, seed=seed, speed=0.0, start=start, **options)
        server = TestServer(create_app(world, users=users, prefix=prefix), host="127.0.0.1")
        await server.start_server()
        sim = Sim(world, server, aiohttp.ClientSession())
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.session.close()
        await sim.server.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """A real SQLite state store in the test's directory, closed afterwards."""
    async with sqlite_store(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture
async def sim(start_sim: StartSim) -> Sim:
    """The demo scenario, simulated time frozen at START."""
    return await start_sim("demo")


# ---------------------------------------------------------------------------------- a daemon on the simulator


def write_config(
    tmp_path: Path, sim: Sim, companies: str = '[{handle: "47"}]', rules: Path = SHIPPED_RULES, poll: str = ""
) -> Config:
    """A config for `Harness`: the shipped rules (or `rules`) notifying a console channel; `poll` adds settings."""
    path = tmp_path / "notifier.yaml"
    path.write_text(
        f"""
ips: {{endpoint: "{sim.endpoint}", user: {USER}, password: {PASSWORD}, timeout: 5s}}
poll: {{interval: 30s, unreachable_after: 2{", " + poll if poll else ""}}}
companies: {companies}
rules: {rules}
state: sqlite:///state.db
shutdown_grace: 2s
channels:
  console: {{type: console}}
""",
        encoding="utf-8",
    )
    return load_config(path)


class Harness:
    """A daemon on the simulator whose polls and time the test drives."""

    def __init__(self, sim: Sim, config: Config, clock: ManualClock) -> None:
        self.sim, self.config, self.clock = sim, config, clock
        self.daemon: Daemon | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Daemon]:
        store = await SqliteStore.open(self.config.state_path)
        async with aiohttp.ClientSession() as session:
            daemon = Daemon(self.config, self.clock, session, store)
            await daemon.start(poll=False)
            self.daemon = daemon
            try:
                yield daemon
            finally:
                await daemon.stop(self.config.shutdown_grace)
                await store.close()

    async def poll(self, after: float = 0.0) -> None:
        """Advance simulated and daemon time by `after` seconds, poll every company, settle the pipeline."""
        assert self.daemon is not None
        if after:
            self.sim.world.advance(after)
            self.clock.advance(after)
        for poller in self.daemon.ingest.pollers:
            await poller.poll_once()
        await self.daemon.settle()


def console_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def summary(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(rule, status, name) per notification: the job's original name, or the schedule's for a schedule's own."""
    return [(d["data"]["rule"], d["data"]["status"], subject_name(d)) for d in lines]


def subject_name(line: dict[str, Any]) -> str:
    data = line["data"]
    about = data["schedule"] if line["type"].startswith("schedule.") else data["job"]
    return str(about["original_name"])


REPO = Path(__file__).resolve().parents[1]
Spawn = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def notifier_process() -> AsyncIterator[Spawn]:
    """Factory: `python -m notifier ARGS…` as a real process from the repository (output to the given files or
    pipes); whatever is still running when the test ends, passed or failed, is killed."""
    started: list[asyncio.subprocess.Process] = []

    async def spawn(*args: str, stdout: Any = asyncio.subprocess.PIPE, stderr: Any = asyncio.subprocess.PIPE) -> Any:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", *args, cwd=REPO, stdout=stdout, stderr=stderr
        )
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
