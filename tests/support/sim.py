"""The IPS simulator served on 127.0.0.1 (port 0) with simulated time frozen, and real clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from notifier.ips.client import IpsClient, IpsSettings
from notifier.ips.simulator.server import SERVICE_PATH, create_app, make_world
from notifier.ips.simulator.soap import SimUser
from notifier.ips.simulator.world import World

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
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


@asynccontextmanager
async def simulators() -> AsyncIterator[StartSim]:
    """A factory of simulators for one scenario each; everything it started is closed when the block ends."""
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
        server = TestServer(create_app(world, users=users, prefix=prefix), host="127.0.0.1", port=0)
        await server.start_server()
        sim = Sim(world, server, aiohttp.ClientSession())
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in started:
            await sim.session.close()
            await sim.server.close()
