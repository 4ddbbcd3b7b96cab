"""From the event queue to the outbox: evaluate rules, render what fired, commit it durably, wake delivery.

Events are taken in small batches so one commit covers many decisions (throughput), yet a batch is never
held back waiting for more: whatever is queued is processed at once. Alert state and the notifications it
produced are committed together, so a crash cannot leave one without the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import structlog

from notifier.compose.render import Renderer
from notifier.engine.evaluate import Decision, Engine, RuleError
from notifier.engine.silences import Silence, silenced_by
from notifier.ingest.marks import PollDone
from notifier.models import Event
from notifier.runtime.backoff import STORE_BACKOFF
from notifier.runtime.clock import Clock
from notifier.safety import SCRUBBER
from notifier.store.errors import StoreError
from notifier.store.protocol import AlertStore, SilenceStore
from notifier.store.records import Destination, Outgoing

log = structlog.get_logger(__name__)
BATCH = 256
RULE_ERROR_LOG_EVERY = timedelta(hours=1)
T = TypeVar("T")


class ComposeStore(AlertStore, SilenceStore, Protocol):
    """What the compose stage asks of the state store: the silences in force, and commits."""


@dataclass(slots=True)
class IntakeStats:
    events: dict[str, int] = field(default_factory=dict)
    notifications: int = 0
    duplicates: int = 0
    silenced: int = 0
    suppressed: int = 0
    rule_errors: int = 0


class Intake:
    """Owns the engine and renderer; swapped atomically on reload via `replace`."""

    def __init__(
        self,
        queue: asyncio.Queue[Event | PollDone],
        engine: Engine,
        renderer: Renderer,
        store: ComposeStore,
        clock: Clock,
        *,
        on_commit: Callable[[], None] = lambda: None,
        on_event: Callable[[str], None] = lambda _kind: None,
        on_silenced: Callable[[str, str], None] = lambda _rule, _channel: None,
        on_rule_error: Callable[[str], None] = lambda _rule: None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sleep = sleep
        self.queue = queue
        self.engine = engine
        self.renderer = renderer
        self.store = store
        self.clock = clock
        self.on_commit = on_commit
        self.on_event = on_event
        self.on_silenced = on_silenced
        self.on_rule_error = on_rule_error
        self.stats = IntakeStats()
        self._silences: list[Silence] = []
        self._rule_errors_logged: dict[tuple[str, str], datetime] = {}

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.process(batch)
            finally:
                for _ in batch:  # lets `queue.join()` say when everything queued has been committed
                    self.queue.task_done()

    async def process(self, items: Sequence[Event | PollDone]) -> list[str]:
        """Evaluate, render and commit a batch; returns the keys of new notifications.

        A poll's mark comes after its events, so it is committed in the same transaction as the last of them
        (or a later one): a crash never leaves a mark saying a poll is done whose endings were not committed.
        """
        events = [item for item in items if isinstance(item, Event)]
        polls = [item for item in items if isinstance(item, PollDone)]
        self._silences = await self._retrying("reading silences", self.store.silences)
        outgoing: list[Outgoing] = []
        for event in events:
            self.stats.events[event.kind] = self.stats.events.get(event.kind, 0) + 1
            self.on_event(event.kind)
            try:
                outgoing.extend(self._decide(event))
            except Exception:  # a bug met by one event must not cost the others in the batch theirs
                job = event.job.job_handle if event.job else None
                log.exception("event could not be evaluated", kind=event.kind, company=event.company.key, job=job)
        upserts, deletes = self.engine.changes()
        now = self.clock.now()
        new = await self._retrying(
            "committing notifications", lambda: self.store.commit(outgoing, upserts, deletes, now, polls)
        )
        self.stats.notifications += len(new)
        self.stats.duplicates += len(outgoing) - len(new)
        self._count_silenced(outgoing, set(new))
        if new:
            self.on_commit()
        return new

    def _count_silenced(self, outgoing: list[Outgoing], new: set[str]) -> None:
        """Report each stored target a silence holds back; a replayed (duplicate) one was reported before."""
        for item in outgoing:
            if item.notification.key in new:
                for destination in item.destinations:
                    if destination.silenced_by:
                        self.on_silenced(item.notification.rule, destination.channel)

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """The store's answer, waiting out failures (disk full, a file locked by a backup …): the engine already
        counts this batch's notifications as sent, so giving up would lose them. Meanwhile the queue fills and
        pollers wait: back-pressure, not loss."""
        for attempt in itertools.count(1):
            try:
                return await operation()
            except StoreError as exc:
                delay = STORE_BACKOFF.delay(attempt)
                log.error(f"state store failed {what}, retrying", error=str(exc), attempt=attempt, retry_in=delay)
                await self.sleep(delay)
        raise AssertionError("unreachable")

    def _decide(self, event: Event) -> list[Outgoing]:
        result = self.engine.evaluate(event)
        self.stats.suppressed += result.suppressed
        for error in result.errors:
            self.stats.rule_errors += 1
            self.on_rule_error(error.rule)
            self._log_rule_error(error, event.at)
        return [self._render(d) for d in result.decisions]

    def _log_rule_error(self, error: RuleError, at: datetime) -> None:
        """The first failure of a kind per rule is an error in the log, repeats within an hour only debug: a
        rule failing on every job.active of every job would otherwise flood the log (the metric counts all)."""
        kind = (error.rule, error.message.split(":", 1)[0])
        last = self._rule_errors_logged.get(kind)
        fresh = last is None or at - last >= RULE_ERROR_LOG_EVERY
        if fresh:
            self._rule_errors_logged[kind] = at
        emit = log.error if fresh else log.debug
        emit("rule failed", rule=error.rule, company=error.company, job=error.job, error=error.message)

    def _render(self, decision: Decision) -> Outgoing:
        # Rendered from scrubbed data: a megabyte job name or an echoed password never reaches a template.
        decision = dataclasses.replace(decision, event=SCRUBBER(decision.event))
        try:
            rendered = self.renderer.render(decision)
        except Exception:  # template faults are handled inside; this is a bug, and must not lose the alert
            log.exception("rendering failed, sending a plain message", rule=decision.rule.name,
                          company=decision.event.company.handle)  # fmt: skip
            rendered = self.renderer.render_bare(decision)
        n = rendered.notification
        labels = {
            "rule": n.rule,
            "company": n.company_handle,
            "job": n.job_handle,
            "schedule": n.schedule_name,
            "severity": n.severity,
            "status": n.status,
        }
        now = self.clock.now()
        targets = []
        for channel, recipients in rendered.targets:
            silence = silenced_by(self._silences, {**labels, "channel": channel}, now)
            if silence is not None:
                self.stats.silenced += 1
                log.info("notification silenced", rule=n.rule, channel=channel, job=labels["job"], silence=silence.id)
            targets.append(Destination(channel, recipients, silence.id if silence else None))
        return Outgoing(n, tuple(targets))
