"""The polling half of the daemon: one IPS client, one supervised poller per company, one bounded event queue.

It can be reconfigured in place (SIGHUP): pollers of companies that stay configured keep their trackers, so
a job that ends while the configuration changes is still seen leaving and its ending is still announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Mapping
from datetime import datetime

import aiohttp
import structlog

from notifier import __version__
from notifier.config import CompanyConfig, Config
from notifier.ingest.marks import PollDone, PollMark
from notifier.ingest.poller import CompanyPoller, PollObserver, PollSettings
from notifier.ingest.schedules.state import ScheduleState
from notifier.ips.client import IpsClient, IpsSettings
from notifier.models import CompanyRef, Event
from notifier.runtime.clock import Clock
from notifier.runtime.supervise import supervise

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
        catch_up=poll.catch_up,
        schedules_interval=_first_set(company.schedules_interval, poll.schedules_interval),
        schedule_grace=poll.schedule_grace,
    )


def _first_set(value: float | None, default: float) -> float:
    return default if value is None else value  # 0 is a setting (off), not a missing one


def company_key(company: CompanyConfig) -> str:
    """What identifies a configured company across reloads: its handle, else its name."""
    return company.handle or f"name:{company.name}"


@contextlib.asynccontextmanager
async def http_session(config: Config) -> AsyncIterator[aiohttp.ClientSession]:
    """The keep-alive session for IPS calls; per-call timeouts are applied by the client."""
    connector = aiohttp.TCPConnector(limit=max(config.poll.concurrency * 2, 16))
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True) as session:
        yield session


@contextlib.asynccontextmanager
async def delivery_session() -> AsyncIterator[aiohttp.ClientSession]:
    """The keep-alive session for webhooks and Slack, apart from IPS polling so neither waits for the other's
    connections; each channel's own concurrency limit bounds what it opens."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


def first_marks(config: Config, stored: Mapping[str, PollMark], now: datetime) -> dict[str, PollMark]:
    """Marks for companies (configured by handle) that have none yet: a run killed before its first poll has
    still begun watching, and a restart then announces the endings since it began."""
    fresh = PollMark(now, now, {})
    return {c.handle: fresh for c in config.companies if c.handle and c.handle not in stored}


class Ingest:
    """Pollers by company key, all feeding `queue`; `start`, `apply` (reload) and `stop` manage their tasks."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        session: aiohttp.ClientSession,
        on_poll: PollObserver | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.session = session
        self.on_poll = on_poll
        # Events, and after each good poll its PollDone: the intake commits the mark with the poll's last events.
        self.queue: asyncio.Queue[Event | PollDone] = asyncio.Queue(maxsize=config.poll.queue_size)
        self.resume_marks: dict[str, PollMark] = {}  # company handle → what the previous run left
        self.schedule_marks: dict[str, dict[str, ScheduleState]] = {}  # company handle → its schedules then
        self.client = self._client(config)
        self._pollers: dict[str, CompanyPoller] = {company_key(c): self._poller(c) for c in config.companies}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def pollers(self) -> list[CompanyPoller]:
        return list(self._pollers.values())

    def _client(self, config: Config) -> IpsClient:
        return IpsClient(self.session, ips_settings(config), asyncio.Semaphore(config.poll.concurrency))

    def _poller(self, company: CompanyConfig) -> CompanyPoller:
        ref = CompanyRef(company.handle or "", company.name, company.locale, company.timezone)
        return CompanyPoller(
            self.client,
            ref,
            self.queue,
            self.clock,
            poll_settings(self.config, company),
            company_name=company.name,
            rng=random.Random(),
            on_poll=self.on_poll,
            resume_marks=self.resume_marks,
            schedule_marks=self.schedule_marks,
            checkpoint=self.queue.put,
        )

    def start(self) -> None:
        for key in self._pollers:
            self._start(key)

    def _start(self, key: str) -> None:
        poller = self._pollers[key]
        name = f"poller:{poller.label}"
        self._tasks[key] = asyncio.create_task(supervise(name, poller.run), name=name)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def apply(self, config: Config) -> None:
        """Switch to `config`: new client if IPS settings changed, pollers added, removed or retuned."""
        running = bool(self._tasks)
        if (config.ips, config.poll.concurrency) != (self.config.ips, self.config.poll.concurrency):
            self.client = self._client(config)
            for poller in self._pollers.values():
                poller.client = self.client
        self.config = config
        wanted = {company_key(c): c for c in config.companies}
        for key in [k for k in self._pollers if k not in wanted]:
            await self._remove(key)
        for key, company in wanted.items():
            if key in self._pollers:
                self._retune(self._pollers[key], company)
            else:
                self._pollers[key] = self._poller(company)
                if running:
                    self._start(key)
                log.info("company added", company=company.label)

    async def _remove(self, key: str) -> None:
        poller = self._pollers.pop(key)
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        log.info("company removed", company=poller.label)

    def _retune(self, poller: CompanyPoller, company: CompanyConfig) -> None:
        # The tracker stays: it remembers which jobs are active, so none of their endings is missed.
        poller.settings = poll_settings(self.config, company)
        poller.company = dataclasses.replace(poller.company, locale=company.locale, timezone=company.timezone)
        if poller.tracker is not None:
            poller.tracker.company = poller.company
        if poller.schedules is not None:
            poller.schedules.tracker.company = poller.company


def schedule_marks(pollers: list[CompanyPoller]) -> dict[str, dict[str, ScheduleState]]:
    """What each company's schedule watch leaves for the next run (companies whose schedules were seen)."""
    return {
        p.company.handle: p.schedules.tracker.marks()
        for p in pollers
        if p.schedules is not None and p.schedules.tracker.listed and p.company.handle
    }
