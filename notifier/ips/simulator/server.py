"""An IPS SOAP service on aiohttp, answering from a simulated world, for tests, demos and benchmarks.

    POST /scene7/services/IpsApiService            getActiveJobs, getJobLogs, getJobLogDetails,
                                                   getCompanyInfo, getScheduledJobs (SOAP 1.1)
    GET  /scene7/webservice/IpsApi-<version>.wsdl  the WSDL (document/literal)
    /_sim/...                                      the control API (see `control`)

Default credentials: user `demo@example.com`, password `demo` (authHeader or HTTP Basic);
`noaccess@example.com` / `demo` may only call getCompanyInfo and gets authorizationFault 20003 elsewhere.
Responses are gzip-compressed when the request accepts gzip (unless authHeader/gzipResponse is false),
large ones are sent chunked, and faults use HTTP 500 or authHeader/faultHttpStatusCode.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from notifier.ips.simulator import hostile, soap
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.control import ControlApi
from notifier.ips.simulator.scenarios import build_scenario
from notifier.ips.simulator.soap import DEFAULT_USERS, SimFault, SimUser, SoapCall
from notifier.ips.simulator.world import World
from notifier.ips.simulator.wsdl import wsdl

SERVICE_PATH = "/scene7/services/IpsApiService"
WSDL_PATH = "/scene7/webservice/IpsApi-{version:[0-9]{4}-[0-9]{2}-[0-9]{2}(?:-beta)?}.wsdl"
CHUNKED_ABOVE = 16 * 1024  # bodies larger than this are streamed with chunked transfer encoding
_WRITE_CHUNK = 64 * 1024
_MAX_REQUEST = 1024 * 1024
ANSWERED_HERE = ("slow", "truncated", "auth", "echo")  # faults that need the request or a genuine answer

log = structlog.get_logger(__name__)


class SoapEndpoint:
    """The IpsApiService endpoint: chaos first, then decode → authenticate → answer."""

    def __init__(self, world: World, users: Mapping[str, SimUser], prefix: str | None) -> None:
        self.world, self.users, self.prefix = world, users, prefix

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.world.calls += 1
        operation = soap.action_name(request.headers.get("SOAPAction")) or "getActiveJobs"
        fault = self.world.chaos.next_fault(operation)
        if fault is not None and fault.mode not in ANSWERED_HERE:
            return await hostile.respond(request, fault, operation, self.world.chaos.stream)
        try:
            body: bytes | None = await request.read()
        except web.HTTPRequestEntityTooLarge:
            body = None  # answered as invalid request XML, the way IPS refuses what it cannot parse
        if fault is not None and fault.mode == "slow" and not await _linger(request, fault.delay):
            return web.Response(status=408)  # the client is gone; nobody will read this
        status, payload, call = self._answer(body, request, fault)
        payload = self.world.tainted(payload)
        if fault is not None and fault.mode == "truncated":
            payload = payload[: len(payload) // 2]
        gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "").lower()
        if call is not None and call.auth is not None and call.auth.gzip_response is False:
            gzip_ok = False
        return await write_xml(request, payload, status, gzip_ok=gzip_ok)

    def _answer(
        self, body: bytes | None, request: web.Request, fault: FaultSpec | None
    ) -> tuple[int, bytes, SoapCall | None]:
        call: SoapCall | None = None
        try:
            if body is None:
                raise SimFault("ipsApi", 30003, "Invalid request XML: the request is too large")
            call = soap.decode(body, request.headers.get("SOAPAction"))
            if fault is not None and fault.mode == "auth":
                raise SimFault("authentication", 10001, "Invalid credentials")
            if fault is not None and fault.mode == "echo":  # as servers do that quote what they refuse
                raise SimFault("ipsApi", 30003, f"Invalid request XML: {body.decode('utf-8', 'replace')}")
            user = soap.authenticate(call, _basic(request), self.users)
            payload = soap.answer(self.world, call, request.headers.get("Accept-Language"), self.prefix)
            log.debug("ips call", operation=call.operation, user=user, bytes=len(payload))
            return 200, payload, call
        except SimFault as exc:
            log.debug("ips fault", kind=exc.kind, code=exc.code, reason=exc.reason)
            status = call.auth.fault_http_status_code if call is not None and call.auth is not None else None
            return status or 500, exc.render(), call


def _basic(request: web.Request) -> tuple[str, str] | None:
    """HTTP Basic credentials, decoded by hand: aiohttp's BasicAuth is deprecated."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, separator, password = decoded.partition(":")
    return (user, password) if separator else None


async def _linger(request: web.Request, delay: float) -> bool:
    """Wait `delay` seconds unless the client hangs up first; True if it is still there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay
    while loop.time() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        await asyncio.sleep(min(0.02, max(0.0, deadline - loop.time())))
    return True


async def write_xml(request: web.Request, payload: bytes, status: int, *, gzip_ok: bool) -> web.StreamResponse:
    """Send `payload` as text/xml, gzip-compressed if allowed, chunked when it is large."""
    headers = {"Content-Type": "text/xml; charset=UTF-8", "Vary": "Accept-Encoding"}
    large = len(payload) > CHUNKED_ABOVE  # judged before compression, as Axis2 streams what it serializes
    if gzip_ok:
        payload = gzip.compress(payload, compresslevel=5, mtime=0)
        headers["Content-Encoding"] = "gzip"
    if not large:
        return web.Response(body=payload, status=status, headers=headers)
    response = web.StreamResponse(status=status, headers=headers)
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        for offset in range(0, len(payload), _WRITE_CHUNK):
            await response.write(payload[offset : offset + _WRITE_CHUNK])
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away mid-answer; nothing to clean up
    return response


def create_app(
    world: World, *, users: Mapping[str, SimUser] | None = None, prefix: str | None = "ns1"
) -> web.Application:
    """The simulator as an aiohttp application; `prefix` is the body namespace prefix (None: default ns)."""
    endpoint = SoapEndpoint(world, DEFAULT_USERS if users is None else users, prefix)

    async def serve_wsdl(request: web.Request) -> web.Response:
        location = str(request.url.with_path(SERVICE_PATH).with_query(None))
        body = wsdl(request.match_info["version"], location)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    app = web.Application(client_max_size=_MAX_REQUEST)
    app.router.add_post(SERVICE_PATH, endpoint.handle)
    app.router.add_get(WSDL_PATH, serve_wsdl)
    app.add_routes(ControlApi(world).routes())
    return app


def make_world(scenario: str = "demo", *, seed: int = 0, speed: float = 1.0, start: datetime | None = None,
               **options: Any) -> World:  # fmt: skip
    """A world for a named scenario; options go to the scenario (scale, fleet: companies=, jobs=)."""
    return World(build_scenario(scenario, **options), seed=seed, speed=speed, start=start)


@dataclass(frozen=True, slots=True)
class Served:
    """A simulator being served: its world, and where (the port it bound, asked for or not)."""

    world: World
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}{SERVICE_PATH}"


@asynccontextmanager
async def serve_simulator(
    host: str,
    port: int,
    *,
    scenario: str = "demo",
    seed: int = 0,
    speed: float = 1.0,
    users: Mapping[str, SimUser] | None = None,
    prefix: str | None = "ns1",
    **options: Any,
) -> AsyncIterator[Served]:
    """Serve the simulator on host:port (port 0: any free one) for the duration of the block."""
    world = make_world(scenario, seed=seed, speed=speed, **options)
    runner = web.AppRunner(create_app(world, users=users, prefix=prefix), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        served = Served(world, host, int(runner.addresses[0][1]))
        log.info("IPS simulator listening", url=served.endpoint, scenario=scenario, seed=seed)
        yield served
    finally:
        await runner.cleanup()


async def run_simulator(
    host: str, port: int, *, scenario: str = "demo", seed: int = 0, speed: float = 1.0, **options: Any
) -> None:
    """Serve until cancelled (Ctrl-C under asyncio.run)."""
    async with serve_simulator(host, port, scenario=scenario, seed=seed, speed=speed, **options):
        await asyncio.Event().wait()
