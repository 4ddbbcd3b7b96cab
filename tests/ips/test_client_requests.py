"""What the IPS client puts on the wire, seen from the server side: headers, authHeader and requests in flight.

The simulator answers as usual; a middleware in front of it records each SOAP request as received, or counts
how many are in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict

from notifier.app.daemon import Daemon
from notifier.config import load_config
from notifier.ips.client import IpsClient, IpsSettings
from notifier.ips.envelope import AUTH_NS, find_child, local, parse_xml
from notifier.ips.simulator.server import SERVICE_PATH, create_app, make_world
from notifier.runtime.clock import ManualClock
from tests.support.sim import PASSWORD, START, USER

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEMO_COMPANIES = ("47", "118", "203", "311", "512")  # every company of the demo scenario
HOLD = 0.25  # seconds requests stay held once the expected overlap is reached, for an excess one to show up
OVERLAP_WITHIN = 30.0  # seconds the expected overlap may take to build up on a loaded machine


@dataclass
class Recorded:
    """One SOAP request as the server got it."""

    headers: CIMultiDict[str]
    body: bytes

    def auth_header(self) -> dict[str, str]:
        """The authHeader's children by local name, checked to be in the IPS auth namespace."""
        root = parse_xml(self.body)
        header = find_child(root, "Header")
        assert header is not None
        auth = find_child(header, "authHeader")
        assert auth is not None
        assert all(child.tag.startswith(f"{{{AUTH_NS}}}") for child in auth)
        return {local(child.tag): child.text or "" for child in auth}


@dataclass
class Recorder:
    """Keeps every SOAP request as the server received it."""

    requests: list[Recorded] = field(default_factory=list)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == SERVICE_PATH:
            self.requests.append(Recorded(CIMultiDict(request.headers), await request.read()))
        return await handler(request)


@dataclass
class InFlight:
    """Counts SOAP requests being served at once. Every request is held until `overlap` of them are in flight
    together, and then for HOLD more, so that one request more than a client should allow would be counted too.

    The first wait is for exactly what the test asserts (however slowly a loaded machine gets the requests
    there); only the second is real time, and it can only miss an excess request, never invent one.
    """

    overlap: int
    now: int = 0
    peak: int = 0
    open: asyncio.Event = field(default_factory=asyncio.Event)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != SERVICE_PATH:
            return await handler(request)
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            if self.now == self.overlap and not self.open.is_set():
                asyncio.get_running_loop().call_later(HOLD, self.open.set)
            async with asyncio.timeout(OVERLAP_WITHIN):  # a client that never lets them overlap fails here
                await self.open.wait()
            return await handler(request)
        finally:
            self.now -= 1


ServeSim = Callable[[Middleware], Awaitable[str]]


@pytest.fixture
async def serve_sim() -> AsyncIterator[ServeSim]:
    """Factory: the demo simulator (time frozen at START) behind a middleware; returns its endpoint URL."""
    servers: list[TestServer] = []

    async def serve(middleware: Middleware) -> str:
        app = create_app(make_world("demo", speed=0.0, start=START))
        app.middlewares.append(middleware)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url(SERVICE_PATH))

    yield serve
    for server in servers:
        await server.close()


def settings(endpoint: str, **changes: Any) -> IpsSettings:
    base = IpsSettings(endpoint, USER, PASSWORD, app_name="dmc-notifier", app_version="9.8.7", locale="de-DE")
    return replace(base, timeout=5.0, **changes)


# ---------------------------------------------------------------------------------------- what is sent


async def test_a_call_asks_for_gzip_and_names_the_application_and_locale(serve_sim: ServeSim) -> None:
    """With gzip on: `Accept-Encoding: gzip`, and an authHeader with user, password, locale, appName, appVersion."""
    recorder = Recorder()
    endpoint = await serve_sim(recorder.middleware)
    async with aiohttp.ClientSession() as session:
        jobs = await IpsClient(session, settings(endpoint)).get_active_jobs("47")
    assert [j.original_name for j in jobs] == ["Spring catalogue"]
    [sent] = recorder.requests
    assert sent.headers["Accept-Encoding"] == "gzip"
    assert sent.headers["SOAPAction"] == "getActiveJobs"
    assert sent.auth_header() == {
        "user": USER,
        "password": PASSWORD,
        "locale": "de-DE",
        "appName": "dmc-notifier",
        "appVersion": "9.8.7",
    }


async def test_with_gzip_off_the_client_asks_for_plain_bodies_both_ways(serve_sim: ServeSim) -> None:
    """With gzip off: `Accept-Encoding: identity`, and authHeader says gzipResponse false as well."""
    recorder = Recorder()
    endpoint = await serve_sim(recorder.middleware)
    async with aiohttp.ClientSession() as session:
        await IpsClient(session, settings(endpoint, gzip=False)).get_active_jobs("47")
    [sent] = recorder.requests
    assert sent.headers["Accept-Encoding"] == "identity"
    assert sent.auth_header()["gzipResponse"] == "false"
    assert sent.auth_header()["appName"] == "dmc-notifier"


async def test_a_call_in_a_jobs_locale_carries_that_locale(serve_sim: ServeSim) -> None:
    """Log details asked in a job's locale put that locale in the authHeader instead of the configured one."""
    recorder = Recorder()
    endpoint = await serve_sim(recorder.middleware)
    async with aiohttp.ClientSession() as session:
        await IpsClient(session, settings(endpoint)).get_job_log_details("203", "203||x", locale="ja-JP")
    [sent] = recorder.requests
    assert sent.headers["SOAPAction"] == "getJobLogDetails"
    assert (sent.auth_header()["locale"], sent.auth_header()["appVersion"]) == ("ja-JP", "9.8.7")


# ------------------------------------------------------------------------------------ how many at once


async def test_pollers_of_all_companies_share_the_concurrency_limit(serve_sim: ServeSim, tmp_path: Path) -> None:
    """Five companies polled at once with `poll.concurrency: 2` never have more than two IPS calls in flight."""
    counter = InFlight(overlap=2)
    endpoint = await serve_sim(counter.middleware)
    path = tmp_path / "notifier.yaml"
    companies = ", ".join(f'{{handle: "{h}"}}' for h in DEMO_COMPANIES)
    path.write_text(
        f'ips: {{endpoint: "{endpoint}", user: {USER}, password: {PASSWORD}, timeout: 5s}}\n'
        f"poll: {{concurrency: 2}}\n"
        f"companies: [{companies}]\n",
        encoding="utf-8",
    )
    async with Daemon.open(load_config(path), clock=ManualClock(START), polling=False) as daemon:
        errors = await asyncio.gather(*(poller.poll_once() for poller in daemon.pollers.pollers))
    assert errors == [None] * len(DEMO_COMPANIES)
    assert counter.peak == 2
