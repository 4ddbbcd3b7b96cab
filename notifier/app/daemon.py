"""The daemon's one wiring point: configuration in, a running pipeline out; nothing else builds its tasks.

    Ingest (pollers) → queue → Intake (engine, renderer, outbox commit) → Dispatcher → channels

`run` is the daemon (signals set its `stop` and `reload` events); it can be embedded, e.g. in tests, by passing
a clock and those events instead of installing signal handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web

from notifier.app.logs import configure_logging
from notifier.app.metrics import Metrics
from notifier.app.setup import Fresh, keep_restart_only, load_for_reload, load_ruleset
from notifier.channels.registry import build_channel
from notifier.compose.composer import Intake
from notifier.compose.render import Renderer
from notifier.config import Config
from notifier.dispatch.dispatcher import Dispatcher, Lane
from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.dispatch.policy import RetrySettings, Verdict
from notifier.engine.book import Alert
from notifier.engine.evaluate import Engine
from notifier.engine.reconcile import orphans
from notifier.ingest.pollers import Ingest, delivery_session, first_marks, http_session
from notifier.ingest.schedules.adopt import adopt_schedule_episodes
from notifier.models import Event
from notifier.runtime.clock import Clock, SystemClock
from notifier.runtime.supervise import supervise
from notifier.safety import learn
from notifier.store.backends import open_store
from notifier.store.errors import StoreError
from notifier.store.protocol import Store
from notifier.store.records import DeliveryRow
from notifier.web import create_app

log = structlog.get_logger(__name__)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT end the process cleanly by setting `stop`."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def install_reload_signal(reload: asyncio.Event) -> None:
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload.set)


# ------------------------------------------------------------------------------------------------ daemon


def build_lanes(config: Config, session: aiohttp.ClientSession, clock: Clock) -> dict[str, Lane]:
    lanes = {}
    for name, channel in config.channels.items():
        lanes[name] = Lane(
            channel=build_channel(name, channel, session),
            concurrency=channel.concurrency,
            limiter=RateLimiter(rate=channel.rate_limit, burst=1, clock=clock) if channel.rate_limit else None,
            breaker=CircuitBreaker(threshold=5, cooldown=60.0, clock=clock),
        )
    return lanes


def retry_settings(config: Config) -> RetrySettings:
    return RetrySettings(max_retry_after=config.delivery.max_retry_after)


class Daemon:
    """The whole pipeline: ingest → intake (rules, render, outbox) → dispatcher → channels."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        session: aiohttp.ClientSession,
        store: Store,
        delivering: aiohttp.ClientSession | None = None,
    ) -> None:
        """`session` carries IPS calls; `delivering` (default: the same) carries webhooks and Slack."""
        self.config = config
        self.clock = clock
        self.session = session
        self.delivering = delivering or session
        self.store = store
        learn(config)  # before anything can reach a log, the store or a channel
        self.metrics = Metrics()
        store.health.on_failure = lambda operation: self.metrics.store_errors.labels(operation).inc()
        self.ingest = Ingest(config, clock, session, on_poll=self._observe_poll)
        self.lanes = build_lanes(config, self.delivering, clock)
        self.dispatcher = Dispatcher(
            store, self.lanes, clock, retry=retry_settings(config), on_outcome=self._observe_delivery
        )
        self.intake: Intake | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._reconciled: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def start(self, *, poll: bool = True) -> None:
        """Start every task; `poll=False` leaves polling to the caller (`poller.poll_once()`), for embedding."""
        rules = load_ruleset(self.config)
        engine = Engine(rules, await self.store.load_alerts())
        marks = await self.store.poll_marks()
        self.ingest.resume_marks.update(marks)
        self.ingest.schedule_marks.update(await self.store.schedule_marks())
        await self.store.save_poll_marks(first_marks(self.config, marks, self.clock.now()))
        self.intake = Intake(
            self.ingest.queue,
            engine,
            Renderer(self.config.templates, status_url=self.config.http.status_url),
            self.store,
            self.clock,
            on_commit=self.dispatcher.wake,
            on_event=lambda kind: self.metrics.events.labels(kind).inc(),
            on_silenced=lambda rule, channel: self.metrics.silenced.labels(rule, channel).inc(),
            on_rule_error=lambda rule: self.metrics.rule_errors.labels(rule).inc(),
        )
        self._spawn("intake", self.intake.run)
        self._spawn("dispatcher", self.dispatcher.run)
        self._spawn("housekeeping", self._housekeeping)
        if poll:
            self.ingest.start()
        log.info("started", companies=len(self.config.companies), rules=len(rules.rules), channels=len(self.lanes))

    def _spawn(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        self._tasks[name] = asyncio.create_task(supervise(name, factory), name=name)

    @property
    def engine(self) -> Engine:
        assert self.intake is not None, "the daemon is not started"
        return self.intake.engine

    def alerts(self) -> list[Alert]:
        return list(self.intake.engine.alerts.values()) if self.intake else []

    async def settle(self) -> None:
        """Wait until every queued event is committed and every due delivery attempted (tests, embedding)."""
        await self.ingest.queue.join()
        await self.dispatcher.flush()

    # -------------------------------------------------------------------------------------------- reload

    async def reload(self, path: Path) -> bool:
        """Switch to a fresh read of the config file, all or nothing: on any error the running setup stays."""
        try:
            fresh = load_for_reload(path)
            if fresh is None:
                return False
            config = keep_restart_only(fresh.config, self.config)
            # Built before anything switches, so a channel that cannot be built leaves all as it was.
            changed = config.channels != self.config.channels
            lanes = build_lanes(config, self.delivering, self.clock) if changed else None
        except Exception:  # whatever it is, it must not take the running daemon down with it
            log.exception("reload failed, keeping the running configuration")
            return False
        await self._switch(config, fresh, lanes)
        log.info("reloaded", rules=len(fresh.rules.rules), companies=len(config.companies), channels=len(self.lanes))
        return True

    async def _switch(self, config: Config, fresh: Fresh, lanes: dict[str, Lane] | None) -> None:
        # Channels first: a new rule may name a new channel, and its first notification must find it there.
        learn(config)
        if config.log != self.config.log:
            configure_logging(config.log.format, config.log.level)
        if lanes is not None:
            await self._reenable_changed(config)
            await self.dispatcher.replace_lanes(lanes)
            self.lanes = self.dispatcher.lanes
        self.dispatcher.retry = retry_settings(config)
        assert self.intake is not None
        self.intake.engine.replace_rules(fresh.rules)
        self.intake.renderer = fresh.renderer
        await self.ingest.apply(config)
        self.config = config
        self._forget_removed_companies()
        await self.intake.process([])  # alerts dropped with their rule or company are dropped from the store now

    def _forget_removed_companies(self) -> None:
        """Alerts of a company no longer configured could never resolve: forget them (said in the log)."""
        pollers = self.ingest.pollers
        if self.intake is None or any(not p.company.handle for p in pollers):
            return  # a company not resolved yet may own alerts under its handle: decide on a later reload
        gone = self.intake.engine.forget(lambda a: any(p.company.is_known_as(a.company) for p in pollers))
        for alert in gone:
            log.info("alert of a removed company forgotten", rule=alert.rule, company=alert.company, job=alert.job)

    # ---------------------------------------------------------------------------------------------- stop

    async def stop(self, grace: float) -> None:
        """Stop polling, commit what is queued, give in-flight sends `grace` seconds; the rest stays queued."""
        await self.ingest.stop()
        if self.intake is not None:
            pending = []
            while not self.ingest.queue.empty():
                pending.append(self.ingest.queue.get_nowait())
                self.ingest.queue.task_done()
            if pending:
                await self.intake.process(pending)
        self.dispatcher.halt()  # start no new sends; those in flight go on
        await _cancel(self._tasks.pop("dispatcher", None))
        cut = await self.dispatcher.drain(grace)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for lane in self.lanes.values():
            await lane.channel.close()
        log.info("stopped", unfinished_sends=cut)

    async def _reenable_changed(self, config: Config) -> None:
        """A channel disabled by its endpoint (410) whose settings changed is one the operator just fixed."""
        disabled = await self.store.disabled_channels()
        for name in disabled:
            if name in config.channels and config.channels[name] != self.config.channels.get(name):
                await self.store.enable_channel(name)
                log.info("channel re-enabled: its settings changed", channel=name)

    async def _housekeeping(self) -> None:
        """Once a minute forget expired repeat windows, once an hour old deliveries: small state over months."""
        for minute in itertools.count(1):
            await asyncio.sleep(60)
            now = self.clock.now()
            if self.intake is not None:
                self.intake.engine.prune(now)
            if minute % 60 == 0:
                await self.forget_old(now)

    async def forget_old(self, now: datetime) -> int:
        """Drop delivered and silenced notifications older than `retention` (dead letters stay)."""
        cutoff = now - timedelta(seconds=self.config.retention)
        forgotten = await self.store.forget_before(cutoff)
        if forgotten:
            log.info("old deliveries forgotten", deliveries=forgotten, before=cutoff.isoformat())
        return forgotten

    # ------------------------------------------------------------------------------------------ observers

    async def refresh_gauges(self) -> None:
        m = self.metrics
        with contextlib.suppress(StoreError):  # a failing store keeps its last outbox figures, and says so
            stats = await self.store.stats()
            m.outbox_depth.set(stats.pending)
            oldest = stats.oldest_pending_at
            m.outbox_oldest.set(max(0.0, self.clock.now().timestamp() - oldest) if oldest else 0.0)
        m.store_up.set(0 if self.store.health.failing else 1)
        m.queue_depth.set(self.ingest.queue.qsize())
        m.firing.set(sum(1 for a in self.alerts() if a.state == "firing"))
        m.company_up.clear()  # a company configured by name changes label once resolved; drop the old series
        for poller in self.ingest.pollers:
            status = poller.status
            m.company_up.labels(poller.label).set(1 if status.last_success and not status.consecutive_failures else 0)

    def _observe_poll(self, company: str, outcome: str, seconds: float) -> None:
        self.metrics.polls.labels(company, outcome).inc()
        if outcome != "skipped":
            self.metrics.poll_latency.labels(company).observe(seconds)
        if outcome == "ok" and company not in self._reconciled:
            self._reconcile(company)

    def _reconcile(self, label: str) -> None:
        """After the first good poll of a company, end alerts that the previous run left open.

        A restart loses the trackers: a job that ended while the daemon was down is never seen leaving, and a
        company that recovered meanwhile never reports recovering. Their alerts would fire forever.
        """
        poller = next((p for p in self.ingest.pollers if p.label == label), None)
        if poller is None or poller.tracker is None or self.intake is None:
            return
        self._reconciled.add(label)
        engine = self.intake.engine
        active = {job.job_handle or "" for job, _since in poller.tracker.active_jobs()}
        rules = {rule.name: rule for rule in engine.rules.rules}
        now = self.clock.now()
        events = orphans(engine.alerts, rules, poller.company, active, now)
        events += adopt_schedule_episodes(engine, poller.company, poller.schedules, now)
        for event in events:
            log.info("closing an alert left open by the previous run", kind=event.kind, company=label)
            self._enqueue(event)

    def _enqueue(self, event: Event) -> None:
        """Queue from synchronous code; a full queue gets the event as soon as it has room."""
        try:
            self.ingest.queue.put_nowait(event)
        except asyncio.QueueFull:
            task = asyncio.create_task(self.ingest.queue.put(event))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _observe_delivery(self, row: DeliveryRow, verdict: Verdict) -> None:
        self.metrics.notifications.labels(row.notification.rule, row.channel, verdict.action).inc()
        if verdict.action == "retry":
            self.metrics.retries.labels(row.channel).inc()
        elif verdict.action in ("dead", "disable"):
            self.metrics.dead_letters.labels(row.channel).inc()


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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
    async with open_store(config.state_location, daemon=True) as store:
        await _run_locked(config, store, clock, stop, reload, started)


async def _run_locked(
    config: Config,
    store: Store,
    clock: Clock,
    stop: asyncio.Event,
    reload: asyncio.Event,
    started: Callable[[Daemon], None] | None,
) -> None:
    async with http_session(config) as session, delivery_session() as delivering:
        daemon = Daemon(config, clock, session, store, delivering)
        await daemon.start()
        # What exists now (modules, rules, templates) lives as long as the process: keep the collector
        # from walking it again on every full collection, which at tens of thousands of jobs adds up.
        gc.freeze()
        try:
            async with serve_http(daemon):
                if started is not None:
                    started(daemon)
                await _serve(daemon, config.source, stop, reload)
        finally:
            await daemon.stop(daemon.config.shutdown_grace)


async def _serve(daemon: Daemon, source: Path, stop: asyncio.Event, reload: asyncio.Event) -> None:
    while not stop.is_set():
        waiter = asyncio.ensure_future(reload.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if reload.is_set() and not stop.is_set():
            reload.clear()
            await daemon.reload(source)
