"""The one wiring point: `Daemon.open(config)` builds the pipeline from the config and owns its lifecycle.

    ingest (ownership → pollers) → queue → compose (engine, renderer, silences, commit) → outbox
        → dispatch (lanes) → channels;  the window reads it all through `DaemonStatus`

`async with Daemon.open(config, clock=…) as daemon:` opens the state store and the HTTP sessions, starts every
component in one task group (the window, delivery, composing, housekeeping, reloading, then polling) and, when
the block ends however it ends, stops them in reverse: polling stops, what was queued is committed, sends on
the wire get `shutdown_grace`, the rest stays in the outbox. There is no half-built daemon and no stop method.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aiohttp
import structlog

from notifier.app.housekeeping import Housekeeping
from notifier.app.metrics import Metrics
from notifier.app.observe import Listener, Observer
from notifier.app.reload import Reloader
from notifier.app.setup import load_ruleset
from notifier.app.status import DaemonStatus
from notifier.app.takeover import AlertHandover, LeftOpen
from notifier.app.window import Window
from notifier.app.wiring import (
    build_lanes,
    channel_locales,
    company_plans,
    delivery_session,
    ips_session,
    ips_settings,
    renderer,
    retry_settings,
)
from notifier.compose.composer import Composer
from notifier.compose.digests import Digests, Wakers
from notifier.config import Config
from notifier.dispatch.dispatcher import Dispatcher
from notifier.engine.book import Alert
from notifier.engine.evaluate import Engine
from notifier.ingest.ownership import Ownership
from notifier.ingest.pollers import EventQueue, Pollers
from notifier.ips.client import IpsClient
from notifier.runtime.clock import Clock, SystemClock
from notifier.runtime.tasks import Component, Tasks, started
from notifier.safety import learn
from notifier.store.backends import open_store
from notifier.store.errors import StoreError
from notifier.store.protocol import Store
from notifier.web.source import Phase

log = structlog.get_logger(__name__)
Sleep = Callable[[float], Awaitable[None]]


class Daemon:
    """The running pipeline and its state store; only `Daemon.open` makes one."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        store: Store,
        sessions: tuple[aiohttp.ClientSession, aiohttp.ClientSession],
        alerts: Sequence[Alert],
        *,
        polling: bool,
        listeners: Sequence[Listener],
        sleep: Sleep,
    ) -> None:
        self.config = config  # the running configuration (a reload replaces it)
        self.clock = clock
        self.store = store
        self.ips, self.delivering = sessions  # IPS calls; webhooks, Slack, Teams and PagerDuty
        self.phase: Phase = "starting"
        self.metrics = Metrics()
        self.observer = Observer(self.metrics, listeners)
        store.health.observer = self.observer
        self.queue: EventQueue = asyncio.Queue(maxsize=config.poll.queue_size)
        self.engine = Engine(load_ruleset(config), alerts)
        client = IpsClient(self.ips, ips_settings(config), asyncio.Semaphore(config.poll.concurrency))
        self.pollers = Pollers(client, self.queue, clock, company_plans(config), seeds=store,
                               observer=self.observer, takeover=LeftOpen(self.engine))  # fmt: skip
        self.ownership = Ownership(store, self.pollers, clock, lease=config.cluster.lease, polling=polling,
                                   handover=AlertHandover(self.engine, store, self.queue),
                                   unavailable=StoreError)  # fmt: skip
        self.dispatcher = Dispatcher(
            store, build_lanes(config, self.delivering, clock), clock, owner=self.ownership.replica,
            retry=retry_settings(config), grace=config.shutdown_grace, observer=self.observer, sleep=sleep,
        )  # fmt: skip
        self.digests = Digests(
            store, clock, rules=lambda: self.engine.rules, catalogs=lambda: self.composer.renderer.catalogs,
            locales=lambda: channel_locales(self.config), waker=self.dispatcher, observer=self.observer, sleep=sleep,
        )  # fmt: skip
        self.composer = Composer(self.queue, self.engine, renderer(config), store, clock, observer=self.observer,
                                 waker=Wakers(self.dispatcher, self.digests), sleep=sleep,
                                 accepts=self.pollers.decides)  # fmt: skip
        store.subscribe(self.dispatcher.wake)  # another replica's commit, an operator's re-queue
        self.housekeeping = Housekeeping(self.engine, store, clock, lambda: self.config.retention)
        self.reloader = Reloader(self)
        self.status = DaemonStatus(self)
        self.window = Window(self.status, config.http)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        polling: bool = True,
        listeners: Sequence[Listener] = (),
        sleep: Sleep = asyncio.sleep,
    ) -> AsyncIterator[Daemon]:
        """The daemon on `config`, running until the block ends, then stopped (see the module docstring).

        For tests and embedding: `clock` is the daemon's time, `polling=False` leaves polling to the caller
        (`daemon.pollers.pollers[i].poll_once()`), `listeners` hear every outcome, and `sleep` is how composing
        and delivery wait out a failing state store.
        """
        learn(config)  # before anything can reach a log, the store or a channel
        async with contextlib.AsyncExitStack() as stack:
            opening = open_store(config.state_location, daemon=True, lease=config.cluster.lease)
            store = await stack.enter_async_context(opening)
            sessions = (
                await stack.enter_async_context(ips_session(config)),
                await stack.enter_async_context(delivery_session()),
            )
            alerts = await store.load_alerts()
            daemon = cls(
                config,
                clock or SystemClock(),
                store,
                sessions,
                alerts,
                polling=polling,
                listeners=listeners,
                sleep=sleep,
            )
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = Tasks(group)
                    async with daemon._running(tasks):
                        yield daemon
                    await tasks.cancel_all()
            except BaseExceptionGroup as failed:
                # Supervised tasks never fail: what the group carries is the one exception raised where it runs
                # (starting, stopping, or the caller's block), and it is raised as itself.
                if len(failed.exceptions) != 1:
                    raise
                raise failed.exceptions[0] from None

    @contextlib.asynccontextmanager
    async def _running(self, tasks: Tasks) -> AsyncIterator[None]:
        try:
            async with started(self._components(), tasks):
                self.phase = "running"
                log.info("started", companies=len(self.config.companies), rules=len(self.engine.rules.rules),
                         channels=len(self.dispatcher.lanes))  # fmt: skip
                try:
                    yield
                finally:
                    self.phase = "stopping"
            # Every component has stopped (no claim is held, no lease): the other replicas count one fewer now.
            with contextlib.suppress(StoreError):
                await self.store.leave(self.ownership.replica)
        finally:
            self.phase = "stopping"

    def _components(self) -> list[Component]:
        """In start order: the window first (it answers while the rest starts and drains), polling last."""
        return [self.window, self.dispatcher, self.digests, self.composer, self.housekeeping, self.reloader,
                self.ownership]  # fmt: skip

    async def settle(self) -> None:
        """Wait until every queued event is committed, every due digest made and every due delivery attempted
        (tests, embedding)."""
        await self.queue.join()
        await self.digests.flush_due()
        await self.dispatcher.flush()

    def alerts(self) -> list[Alert]:
        """The alert book as it stands (what is firing, pending, or remembered for a repeat window)."""
        return list(self.engine.alerts.values())
