"""Alerts whoever polled a company before left open, closed after this daemon's first good poll of it.

A restarted daemon (or one that takes a company over) starts with empty trackers: a job that ended meanwhile
is never seen leaving, and a company that recovered meanwhile never reports recovering, so their alerts would
fire for ever. `engine.reconcile.orphans` gives the events that end them through the ordinary rules.

Schedule alerts are handed to the company's schedule watch instead: the engine's alert book survives a restart
exactly, the watch's own marks may be a minute older. Each open `schedule.*` episode is given to the watch,
which closes it when the schedule recovers (or at once, when the schedule is gone). Where schedules are no
longer watched for the company (`schedules_interval: 0`), nothing could ever close them: they are forgotten,
and the log says so.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

import structlog

from notifier.engine.book import Alert
from notifier.engine.evaluate import SCHEDULE_SUBJECT, Engine
from notifier.engine.reconcile import orphans
from notifier.ingest.schedules.polling import ScheduleWatch
from notifier.models import CompanyRef, Event, ScheduledJob

log = structlog.get_logger(__name__)


class LeftOpen:
    """The pollers' `Takeover`: what the alert book holds open for a company that its first good poll ends."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # a reload swaps the rules inside it, never the engine

    def left_open(
        self, company: CompanyRef, active: Collection[str], schedules: ScheduleWatch | None, now: datetime
    ) -> list[Event]:
        engine = self.engine
        rules = {rule.name: rule for rule in engine.rules.rules}
        events = orphans(engine.alerts, rules, company, active, now)
        return events + adopt_schedule_episodes(engine, company, schedules, now)


def adopt_schedule_episodes(
    engine: Engine, company: CompanyRef, watch: ScheduleWatch | None, now: datetime
) -> list[Event]:
    """Events that close what is already over; the rest is left to the watch (see the module docstring)."""
    open_episodes: dict[str, tuple[ScheduledJob, frozenset[str]]] = {}
    for alert in engine.alerts.values():
        schedule = _schedule_episode(engine, alert, company)
        if schedule is not None:
            rule = engine.rules.by_name(alert.rule)
            kinds = open_episodes.get(schedule.key, (schedule, frozenset()))[1] | (rule.on if rule else frozenset())
            open_episodes[schedule.key] = (schedule, kinds)
    if not open_episodes:
        return []
    if watch is None:
        keys = {SCHEDULE_SUBJECT + key for key in open_episodes}
        for alert in engine.forget(lambda a: not (a.job in keys and company.is_known_as(a.company))):
            log.info("alert of a schedule no longer watched forgotten", rule=alert.rule, company=alert.company,
                     schedule=alert.job)  # fmt: skip
        return []
    if not watch.tracker.listed:
        return []  # its schedules were not seen yet (refused for now): nothing to compare with
    return watch.tracker.reconcile(open_episodes, now)


def _schedule_episode(engine: Engine, alert: Alert, company: CompanyRef) -> ScheduledJob | None:
    """The schedule an open episode alert of this company is about, if it is one."""
    rule = engine.rules.by_name(alert.rule)
    event = alert.event
    if rule is None or rule.closer != "schedule.recovered" or not company.is_known_as(alert.company):
        return None
    return event.schedule if event is not None and alert.job.startswith(SCHEDULE_SUBJECT) else None


class AlertHandover:
    """The ownership's `Handover`: the alert book holds what this daemon polls. A company gained brings its
    alerts in as the store has them (another replica may have changed them since this daemon started); one lost
    takes them out (another replica keeps them now, and nothing here may overwrite them)."""

    def __init__(self, engine: Engine, store: AlertReader, queue: Joinable) -> None:
        self.engine = engine
        self.store = store
        self.queue = queue

    async def gained(self, companies: Collection[str]) -> None:
        self.engine.take_over(companies, await self.store.load_alerts(companies))

    def lost(self, companies: Collection[str]) -> None:
        self.engine.take_over(companies)

    async def committed(self) -> None:
        await self.queue.join()


class AlertReader(Protocol):
    async def load_alerts(self, companies: Collection[str] | None = None) -> list[Alert]: ...


class Joinable(Protocol):
    async def join(self) -> None: ...
