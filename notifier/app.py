"""The one wiring point: configuration in, a running pipeline out. Nothing else builds sessions or tasks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
from collections.abc import AsyncIterator
from typing import TextIO

import aiohttp
import structlog

from notifier import __version__
from notifier.clock import Clock, SystemClock
from notifier.codec import event_to_dict
from notifier.config import CompanyConfig, Config
from notifier.ips.client import IpsClient, IpsSettings
from notifier.models import CompanyRef, Event
from notifier.poller import CompanyPoller, PollSettings
from notifier.supervise import supervise

log = structlog.get_logger(__name__)


def ips_settings(config: Config) -> IpsSettings:
    ips = config.ips
    return IpsSettings(
        endpoint=ips.endpoint,
        user=ips.user,
        password=ips.password.get_secret_value(),
        api_version=ips.api_version,
        app_name=ips.app_name,
        app_version=ips.app_version or __version__,
        locale=ips.locale,
        timeout=ips.timeout,
        max_response_bytes=ips.max_response_bytes,
        gzip=ips.gzip,
    )


def poll_settings(config: Config, company: CompanyConfig) -> PollSettings:
    poll = config.poll
    return PollSettings(
        interval=company.interval or poll.interval,
        jitter=poll.jitter,
        max_backoff=poll.max_backoff,
        auth_backoff=poll.auth_backoff,
        unreachable_after=poll.unreachable_after,
        log_retry_polls=poll.log_retry_polls,
        details_limit=poll.details_limit,
    )


class Ingest:
    """The polling half: one HTTP session, one IPS client, one poller per company, one bounded queue."""

    def __init__(self, config: Config, clock: Clock, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=config.poll.queue_size)
        limit = asyncio.Semaphore(config.poll.concurrency)
        self.client = IpsClient(session, ips_settings(config), limit)
        self.pollers = [self._poller(company, clock) for company in config.companies]
        self._tasks: list[asyncio.Task[None]] = []

    def _poller(self, company: CompanyConfig, clock: Clock) -> CompanyPoller:
        ref = CompanyRef(handle=company.handle or "", locale=company.locale, timezone=company.timezone)
        return CompanyPoller(
            self.client,
            ref,
            self.queue,
            clock,
            poll_settings(self.config, company),
            company_name=company.name,
            rng=random.Random(),
        )

    def start(self) -> None:
        for poller in self.pollers:
            name = f"poller:{poller.company.handle or poller.company_name}"
            self._tasks.append(asyncio.create_task(supervise(name, poller.run), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


@contextlib.asynccontextmanager
async def http_session(config: Config) -> AsyncIterator[aiohttp.ClientSession]:
    """One keep-alive session for every IPS call; per-call timeouts are applied by the client."""
    connector = aiohttp.TCPConnector(limit=max(config.poll.concurrency * 2, 16))
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True) as session:
        yield session


async def watch(config: Config, out: TextIO, *, clock: Clock | None = None, stop: asyncio.Event | None = None) -> None:
    """Poll every company and print each event as one JSON line, flushed; send nothing."""
    stop = stop or asyncio.Event()
    async with http_session(config) as session:
        ingest = Ingest(config, clock or SystemClock(), session)
        ingest.start()
        printer = asyncio.create_task(_print_events(ingest.queue, out))
        try:
            await stop.wait()
        finally:
            await ingest.stop()
            printer.cancel()
            await asyncio.gather(printer, return_exceptions=True)


async def _print_events(queue: asyncio.Queue[Event], out: TextIO) -> None:
    while True:
        event = await queue.get()
        out.write(json.dumps(event_to_dict(event), ensure_ascii=False) + "\n")
        out.flush()


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT end the process cleanly by setting `stop`."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
