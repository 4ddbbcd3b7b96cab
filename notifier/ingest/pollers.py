"""The pollers this daemon runs: one supervised task per company it owns, all feeding one bounded event queue.

Which companies it owns is not decided here (`ownership` does, from the leases it holds): `own` starts a
poller for each company gained, its trackers seeded from the store, and stops those lost. The configured
companies can change in place (SIGHUP, `configure`): a poller that stays keeps its trackers, so a job that
ends while the configuration changes is still seen leaving and its ending is still announced. A company
configured by name is known by its key (`name:…`) and, once resolved here or by another replica, by its handle
too (`configured`, `aliases`): what is kept under either is the company's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from notifier.ingest.hooks import PollObserver, SeedSource, Takeover
from notifier.ingest.marks import PollDone
from notifier.ingest.poller import CompanyPoller
from notifier.ingest.settings import PollSettings
from notifier.ingest.views import CompanyView
from notifier.ips.client import IpsClient
from notifier.models import CompanyId, CompanyRef, Event
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Tasks, cancel

log = structlog.get_logger(__name__)
EventQueue = asyncio.Queue[Event | PollDone]  # events, and after each good poll its PollDone (committed with them)


@dataclass(frozen=True, slots=True)
class CompanyPlan:
    """A configured company and how to poll it."""

    id: CompanyId  # the handle when configured by handle, else the configured name
    locale: str | None
    timezone: str
    settings: PollSettings

    @property
    def key(self) -> str:
        """What tells configured companies apart across reloads, and what a company's lease is held on."""
        return self.id.key


class Pollers:
    """Pollers by company key, for the companies this daemon owns; started, stopped and retuned in place."""

    def __init__(
        self,
        client: IpsClient,
        queue: EventQueue,
        clock: Clock,
        plans: Sequence[CompanyPlan],
        *,
        seeds: SeedSource | None = None,
        observer: PollObserver | None = None,
        takeover: Takeover | None = None,
    ) -> None:
        self.client = client
        self.queue = queue
        self.clock = clock
        self.seeds = seeds
        self.observer = observer
        self.takeover = takeover
        self.plans: dict[str, CompanyPlan] = {plan.key: plan for plan in plans}
        self._pollers: dict[str, CompanyPoller] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._spawner: Tasks | None = None  # set while polling runs
        # Companies configured by name: the key each resolved handle means (learnt from the store, where whoever
        # resolved it left it, and from this daemon's own pollers); their alerts and marks are kept under it.
        self._named: dict[str, str] = {}

    @property
    def pollers(self) -> list[CompanyPoller]:
        """The pollers of the companies owned now, in the order they are configured."""
        return [self._pollers[key] for key in self.plans if key in self._pollers]

    @property
    def owned(self) -> list[str]:
        """The keys of the companies this daemon polls now."""
        return list(self._pollers)

    @property
    def by_name(self) -> bool:
        """Whether any company is configured by name (and so known by a handle only once resolved)."""
        return any(not plan.id.handle for plan in self.plans.values())

    def decides(self, company: str) -> bool:
        """Whether this daemon decides for `company` (a key or a resolved handle, as events and poll marks name
        it): it polls it, or it is not configured (any more; what is left of it is this daemon's to forget).
        False only for a company another replica polls."""
        key = self.configured(company)
        return key is None or key in self._pollers

    def configured(self, company: str) -> str | None:
        """The key of the configured company that `company` (a key or a resolved handle) means, if any."""
        if company in self.plans or company in self._pollers:
            return company
        if company not in self._named:
            self._named.update(self._resolved_here())  # one resolved since
        key = self._named.get(company)
        return key if key is not None and (key in self.plans or key in self._pollers) else None

    def aliases(self, keys: Collection[str]) -> list[str]:
        """`keys` of configured companies, with the handles those configured by name resolved to: everything
        their alerts may be kept under."""
        self._named.update(self._resolved_here())
        wanted = set(keys)
        return [*keys, *(handle for handle, key in self._named.items() if key in wanted and handle not in wanted)]

    def learn(self, handles: Mapping[str, str]) -> None:
        """What the store says companies configured by name resolved to (by name), as of now."""
        names = {plan.id.name: key for key, plan in self.plans.items() if not plan.id.handle and plan.id.name}
        self._named = {handle: names[name] for name, handle in handles.items() if name in names}
        self._named.update(self._resolved_here())

    def identity(self, key: str) -> CompanyId:
        """Who the configured company `key` is: as its poller knows it, else with the handle the store knows."""
        poller = self._pollers.get(key)
        if poller is not None:
            return poller.company.id
        plan = self.plans[key]
        return CompanyId(plan.id.handle or self._handle_of(key) or "", plan.id.name)

    def _handle_of(self, key: str) -> str | None:
        """The handle the configured company `key` (by name) was last known to resolve to."""
        return next((handle for handle, known in reversed(self._named.items()) if known == key), None)

    def _resolved_here(self) -> dict[str, str]:
        """The handles this daemon's pollers of companies configured by name resolved to, with their keys."""
        return {p.company.handle: key for key, p in self._pollers.items() if p.company.handle not in ("", key)}

    def get(self, key: str) -> CompanyPoller | None:
        """The poller of the configured company `key`, if this daemon polls it."""
        return self._pollers.get(key)

    def views(self, now: datetime) -> list[CompanyView]:
        return [poller.view(now) for poller in self.pollers]

    # ------------------------------------------------------------------------------------------ ownership

    async def own(self, keys: Collection[str]) -> None:
        """Poll exactly the configured companies among `keys`: start those gained (their trackers seeded from
        the store), stop those lost."""
        wanted = [key for key in self.plans if key in keys]
        for key in [k for k in self._pollers if k not in wanted]:
            await self._drop(key)
        for key in wanted:
            if key not in self._pollers:
                self._pollers[key] = await self._poller(self.plans[key])
                self._start(key)

    async def _poller(self, plan: CompanyPlan) -> CompanyPoller:
        seed = None
        if plan.id.handle and self.seeds is not None:  # a company known by name is seeded once resolved
            seed = await self.seeds.seed(plan.id.handle, self.clock.now(), first_look=True)
        return CompanyPoller(
            self.client,
            CompanyRef(plan.id.handle, plan.id.name, plan.locale, plan.timezone),
            self.queue,
            self.clock,
            plan.settings,
            company_name=plan.id.name,
            rng=random.Random(),
            observer=self.observer,
            seed=seed,
            seeds=self.seeds,
            takeover=self.takeover,
            checkpoint=self.queue.put,
            resolved_before=None if plan.id.handle else self._handle_of(plan.key),
        )

    async def _drop(self, key: str) -> None:
        poller = self._pollers.pop(key)
        task = self._tasks.pop(key, None)
        await cancel(task)
        if key in self.plans:  # still configured: another replica polls it now
            log.info("company no longer polled here", company=poller.label)

    # ------------------------------------------------------------------------------------------- running

    def start(self, tasks: Tasks) -> None:
        """Poll every owned company on its schedule, and each one gained from now on."""
        self._spawner = tasks
        for key in self._pollers:
            self._start(key)

    def _start(self, key: str) -> None:
        if self._spawner is None or key in self._tasks:
            return
        poller = self._pollers[key]
        self._tasks[key] = self._spawner.spawn(f"poller:{poller.label}", poller.run)

    async def stop(self) -> None:
        """Stop polling; what the pollers queued stays queued."""
        self._spawner = None
        tasks = list(self._tasks.values())
        self._tasks.clear()
        await cancel(*tasks)

    # ------------------------------------------------------------------------------------- configuration

    def configure(self, plans: Sequence[CompanyPlan], client: IpsClient | None = None) -> None:
        """Switch to new plans (and a new client when IPS settings changed); `own` then adds or removes pollers.
        Pollers that stay are retuned and keep their trackers."""
        if client is not None:
            self.client = client
            for poller in self._pollers.values():
                poller.client = client
        added = [plan for plan in plans if plan.key not in self.plans]
        removed = [key for key in self.plans if key not in {plan.key for plan in plans}]
        self.plans = {plan.key: plan for plan in plans}
        for key, poller in self._pollers.items():
            if key in self.plans:
                _retune(poller, self.plans[key])
        for plan in added:
            log.info("company added", company=plan.id.label)
        for key in removed:
            log.info("company removed", company=CompanyId.from_key(key).label)


def _retune(poller: CompanyPoller, plan: CompanyPlan) -> None:
    # The tracker stays: it remembers which jobs are active, so none of their endings is missed.
    poller.settings = plan.settings
    poller.company = dataclasses.replace(poller.company, locale=plan.locale, timezone=plan.timezone)
    if poller.tracker is not None:
        poller.tracker.company = poller.company
    if poller.schedules is not None:
        poller.schedules.tracker.company = poller.company
