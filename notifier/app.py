"""The one wiring point: configuration in, a running pipeline out. Nothing else builds sessions or tasks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TextIO

import aiohttp
import structlog
from aiohttp import web

from notifier import __version__
from notifier.channels.base import build_channel
from notifier.clock import Clock, SystemClock
from notifier.codec import event_to_dict
from notifier.config import CompanyConfig, Config, load_config
from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.dispatch.outbox import Dispatcher, Lane
from notifier.dispatch.policy import Verdict
from notifier.engine.evaluate import Alert, Engine
from notifier.engine.rules import RuleSet, load_rules
from notifier.intake import Intake
from notifier.ips.client import IpsClient, IpsSettings
from notifier.metrics import Metrics
from notifier.models import CompanyRef, Event
from notifier.poller import CompanyPoller, PollObserver, PollSettings
from notifier.render import Renderer
from notifier.sourcemap import SourceErrors
from notifier.store.sqlite import DeliveryRow, SqliteStore
from notifier.supervise import supervise
from notifier.web import create_app

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

    def __init__(
        self, config: Config, clock: Clock, session: aiohttp.ClientSession, on_poll: PollObserver | None = None
    ) -> None:
        self.config = config
        self.on_poll = on_poll
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
            on_poll=self.on_poll,
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


# ------------------------------------------------------------------------------------------------ daemon


def load_ruleset(config: Config) -> RuleSet:
    """The configured rules, or none at all when the config names no rules source."""
    if config.rules is None:
        return RuleSet(())
    return load_rules(config.rules, channels=config.channels.keys())


def check_all(config: Config) -> list[str]:
    """Every problem in rules and templates as `file:line: message` (config itself is already valid)."""
    problems: list[str] = []
    try:
        load_ruleset(config)
    except SourceErrors as exc:
        problems.extend(str(e) for e in exc.errors)
    problems.extend(Renderer(config.templates).check())
    return problems


def build_lanes(config: Config, session: aiohttp.ClientSession, clock: Clock) -> dict[str, Lane]:
    lanes = {}
    for name, channel_config in config.channels.items():
        rate = getattr(channel_config, "rate_limit", None)
        lanes[name] = Lane(
            channel=build_channel(name, channel_config, session),
            slots=asyncio.Semaphore(getattr(channel_config, "concurrency", 4)),
            limiter=RateLimiter(rate=rate, burst=1, clock=clock) if rate else None,
            breaker=CircuitBreaker(threshold=5, cooldown=60.0, clock=clock),
        )
    return lanes


class Daemon:
    """The whole pipeline: ingest → intake (rules, render, outbox) → dispatcher → channels."""

    def __init__(self, config: Config, clock: Clock, session: aiohttp.ClientSession, store: SqliteStore) -> None:
        self.config = config
        self.clock = clock
        self.session = session
        self.store = store
        self.store_open = True
        self.metrics = Metrics()
        self.ingest = Ingest(config, clock, session, on_poll=self._observe_poll)
        self.lanes = build_lanes(config, session, clock)
        self.dispatcher = Dispatcher(store, self.lanes, clock, on_outcome=self._observe_delivery)
        self.intake: Intake | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        rules = load_ruleset(self.config)
        engine = Engine(rules, await self.store.load_alerts())
        self.intake = Intake(
            self.ingest.queue,
            engine,
            Renderer(self.config.templates),
            self.store,
            self.clock,
            on_commit=self.dispatcher.wake,
            on_event=lambda kind: self.metrics.events.labels(kind).inc(),
        )
        self._spawn("intake", self.intake.run)
        self._spawn("dispatcher", self.dispatcher.run)
        self._spawn("housekeeping", self._housekeeping)
        self.ingest.start()
        log.info("started", companies=len(self.config.companies), rules=len(rules.rules), channels=len(self.lanes))

    def _spawn(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(supervise(name, factory), name=name))

    def alerts(self) -> list[Alert]:
        return list(self.intake.engine.alerts.values()) if self.intake else []

    def reload(self, path: Path) -> bool:
        """Swap rules and templates from a fresh read of the config; on any error keep what runs now."""
        try:
            config = load_config(path)
            rules = load_ruleset(config)
        except SourceErrors as exc:
            for error in exc.errors:
                log.error("reload failed, keeping the running configuration", error=str(error))
            return False
        problems = Renderer(config.templates).check()
        if problems:
            for problem in problems:
                log.error("reload failed, keeping the running configuration", error=problem)
            return False
        assert self.intake is not None
        self.intake.engine.replace_rules(rules)
        self.intake.renderer = Renderer(config.templates)
        log.info("reloaded", rules=len(rules.rules))
        return True

    async def stop(self, grace: float) -> None:
        """Stop polling, commit what is queued, give in-flight sends `grace` seconds; the rest stays queued."""
        await self.ingest.stop()
        if self.intake is not None:
            pending = []
            while not self.ingest.queue.empty():
                pending.append(self.ingest.queue.get_nowait())
            if pending:
                await self.intake.process(pending)
        cut = await self.dispatcher.drain(grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for lane in self.lanes.values():
            await lane.channel.close()
        log.info("stopped", unfinished_sends=cut)

    async def _housekeeping(self) -> None:
        """Once a minute: forget expired repeat windows so the alert book stays small over months."""
        while True:
            await asyncio.sleep(60)
            if self.intake is not None:
                self.intake.engine.prune(self.clock.now())

    async def refresh_gauges(self) -> None:
        stats = await self.store.stats()
        m = self.metrics
        m.outbox_depth.set(stats.pending)
        oldest = stats.oldest_pending_at
        m.outbox_oldest.set(max(0.0, self.clock.now().timestamp() - oldest) if oldest else 0.0)
        m.queue_depth.set(self.ingest.queue.qsize())
        m.firing.set(sum(1 for a in self.alerts() if a.state == "firing"))
        for poller in self.ingest.pollers:
            m.company_up.labels(poller.company.handle or poller.company_name or "").set(
                0 if poller.status.consecutive_failures else 1
            )

    def _observe_poll(self, company: str, outcome: str, seconds: float) -> None:
        self.metrics.polls.labels(company, outcome).inc()
        self.metrics.poll_latency.labels(company).observe(seconds)

    def _observe_delivery(self, row: DeliveryRow, verdict: Verdict) -> None:
        self.metrics.notifications.labels(row.notification.rule, row.channel, verdict.action).inc()
        if verdict.action == "retry":
            self.metrics.retries.labels(row.channel).inc()
        elif verdict.action in ("dead", "disable"):
            self.metrics.dead_letters.labels(row.channel).inc()


@contextlib.asynccontextmanager
async def serve_http(daemon: Daemon) -> AsyncIterator[web.AppRunner | None]:
    """The status server on `http.listen`, if configured."""
    listen = daemon.config.http.listen
    if not listen:
        yield None
        return
    runner = web.AppRunner(create_app(daemon), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, daemon.config.http.host, daemon.config.http.port)
    await site.start()
    log.info("http listening", listen=listen)
    try:
        yield runner
    finally:
        await runner.cleanup()


async def run(
    config: Config,
    *,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    reload: asyncio.Event | None = None,
    started: Callable[[Daemon], None] | None = None,
) -> None:
    """The daemon until `stop` is set; `reload` (SIGHUP) re-reads config, rules and templates.

    `started` is called with the running daemon, for tests and embedding.
    """
    clock = clock or SystemClock()
    stop = stop or asyncio.Event()
    reload = reload or asyncio.Event()
    store = await SqliteStore.open(config.state_path)
    try:
        async with http_session(config) as session:
            daemon = Daemon(config, clock, session, store)
            await daemon.start()
            try:
                async with serve_http(daemon):
                    if started is not None:
                        started(daemon)
                    await _serve(daemon, config, stop, reload)
            finally:
                await daemon.stop(config.shutdown_grace)
    finally:
        await store.close()


async def _serve(daemon: Daemon, config: Config, stop: asyncio.Event, reload: asyncio.Event) -> None:
    while not stop.is_set():
        waiter = asyncio.ensure_future(reload.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if reload.is_set() and not stop.is_set():
            reload.clear()
            daemon.reload(config.source)


def install_reload_signal(reload: asyncio.Event) -> None:
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload.set)
