"""The suite's fixtures; what they are built from, and what tests share besides, lives in `tests/support`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from notifier.store.protocol import Store
from tests.support.engine import RulesFactory, rules_factory
from tests.support.ports import refusing_port
from tests.support.postgres import PostgresServer, postgres_server
from tests.support.processes import Processes, processes
from tests.support.receiver import Receiver, serving
from tests.support.sim import Sim, StartSim, simulators
from tests.support.store import postgres_store, sqlite_store

# Property tests run a quick sweep in `make test` and the exhaustive one in `make test-slow` (CI runs both);
# tests marked `slow` (the large equivalence runs) only run there.
SLOW = os.environ.get("NOTIFIER_SLOW_TESTS") == "1"
settings.register_profile("quick", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if SLOW else "quick")


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Factory: start a simulator for a scenario; everything started is closed after the test."""
    async with simulators() as start:
        yield start


@pytest.fixture
async def sim(start_sim: StartSim) -> Sim:
    """The demo scenario, simulated time frozen at START."""
    return await start_sim("demo")


@pytest.fixture
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A real state store, closed afterwards: SQLite in the test's directory, or (parametrized indirectly with
    `BACKENDS`) each backend in turn, PostgreSQL in a fresh database on the test process's server."""
    if getattr(request, "param", "sqlite") == "sqlite":
        async with sqlite_store(tmp_path / "state.db") as opened:
            yield opened
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    async with postgres_store(await server.database()) as shared:
        yield shared


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this test process (unix socket only), stopped when the session ends."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def make_rules(tmp_path: Path) -> RulesFactory:
    """Factory: a rule set from YAML text, loaded as the daemon loads rules (channels: see tests.support.engine)."""
    return rules_factory(tmp_path)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on its own port, answering 204 unless told otherwise; stopped after the test."""
    async with serving(Receiver()) as started:
        yield started


@pytest.fixture
def refused() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection during the test (held, so nothing else can take it)."""
    with refusing_port() as port:
        yield port


@pytest.fixture
async def notifier_process() -> AsyncIterator[Processes]:
    """Factory: `python -m notifier ARGS…` as a real process from the repository; whatever is still running when
    the test ends, passed or failed, is killed."""
    async with processes() as spawn:
        yield spawn
