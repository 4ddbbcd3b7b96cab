"""The compose stage, from the event queue to the outbox: evaluate rules, render what fired, apply silences,
commit it all durably, wake delivery.

Events are taken in small batches so one commit covers many decisions (throughput), yet a batch is never
held back waiting for more: whatever is queued is processed at once. Alert state and the notifications it
produced are committed together, so a crash cannot leave one without the other. What happened is told to an
observer (metrics and logs are made there), never kept here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import structlog

from notifier.compose.grouping import grouped
from notifier.compose.render import Rendered, Renderer
from notifier.compose.silencing import silence
from notifier.engine.book import Alert, AlertId
from notifier.engine.evaluate import Decision, Engine, RuleError
from notifier.ingest.marks import PollDone
from notifier.models import Event, Notification
from notifier.runtime.backoff import STORE_BACKOFF
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Loop
from notifier.safety import SCRUBBER
from notifier.store.errors import StoreError
from notifier.store.protocol import AlertStore, SilenceStore
from notifier.store.records import Outgoing

log = structlog.get_logger(__name__)
BATCH = 256
T = TypeVar("T")


class ComposeStore(AlertStore, SilenceStore, Protocol):
    """What the compose stage asks of the state store: the silences in force, and commits."""


class ComposeObserver(Protocol):
    """Told what the compose stage did: events taken, rules that failed, what silences held back, commits."""

    def events_taken(self, kind: str, count: int) -> None: ...

    def rule_failed(self, error: RuleError, at: datetime) -> None: ...

    def silenced(self, notification: Notification, channel: str, silence: str) -> None:
        """A stored delivery held back by `silence` (told once: a replayed notification is not stored again)."""
        ...

    def committed(self, new: int, duplicates: int) -> None:
        """A batch is committed: `new` notifications, `duplicates` decided before and left out."""
        ...


class Waker(Protocol):
    """Whoever delivers: told that new notifications wait in the outbox."""

    def wake(self) -> None: ...


class Composer(Loop):
    """Owns the engine and the renderer (a reload swaps both); runs until cancelled, then `drain` commits what is
    still queued."""

    name = "composer"

    def __init__(
        self,
        queue: asyncio.Queue[Event | PollDone],
        engine: Engine,
        renderer: Renderer,
        store: ComposeStore,
        clock: Clock,
        *,
        observer: ComposeObserver | None = None,
        waker: Waker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        accepts: Callable[[str], bool] | None = None,
    ) -> None:
        self.queue = queue
        # Whether a company's events are still this daemon's to decide: those a company handed to another
        # replica queued are dropped with its poll mark, and its new owner polls them again from the last mark.
        self.accepts = accepts
        self.engine = engine
        self.renderer = renderer
        self.store = store
        self.clock = clock
        self.observer = observer
        self.waker = waker
        self.sleep = sleep
        self._batch: asyncio.Task[None] | None = None  # the batch being committed
        self._processing = asyncio.Lock()  # one batch at a time: each commits exactly the engine changes it made

    async def stop(self) -> None:
        """Stop taking events; the batch being committed is finished and what is still queued committed too."""
        await super().stop()
        if self._batch is not None:
            await asyncio.gather(self._batch, return_exceptions=True)
        await self.drain()

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            # Shielded: events taken from the queue are committed even when stopping cancels this loop.
            self._batch = asyncio.ensure_future(self._commit_batch(batch))
            await asyncio.shield(self._batch)

    async def _commit_batch(self, batch: list[Event | PollDone]) -> None:
        try:
            await self.process(batch)
        finally:
            for _ in batch:  # lets `queue.join()` say when everything queued has been committed
                self.queue.task_done()

    async def drain(self) -> None:
        """Commit whatever is still queued (the stage's loop has stopped): nothing taken from IPS is lost."""
        pending = []
        while not self.queue.empty():
            pending.append(self.queue.get_nowait())
            self.queue.task_done()
        if pending:
            await self.process(pending)

    async def process(self, items: Sequence[Event | PollDone]) -> list[str]:
        """Evaluate, render and commit a batch; returns the keys of new notifications.

        A poll's mark comes after its events, so it is committed in the same transaction as the last of them
        (or a later one): a crash never leaves a mark saying a poll is done whose endings were not committed.
        The loop gets a turn after each event that rendered a notification, so answers to sends on the wire
        are taken while a large batch is rendered (a busy daemon keeps delivering what it decided while it
        decides more, rather than letting its outbox grow); batches never interleave.
        """
        async with self._processing:
            return await self._process(items)

    async def _process(self, items: Sequence[Event | PollDone]) -> list[str]:
        accepts = self.accepts
        if accepts is not None:
            items = [i for i in items if accepts(i.company if isinstance(i, PollDone) else i.company.key)]
        events = [item for item in items if isinstance(item, Event)]
        polls = [item for item in items if isinstance(item, PollDone)]
        self._count(events)
        rendered: list[tuple[Rendered, Decision]] = []
        turn = False
        for event in events:
            if turn:  # after a render, answers to sends on the wire are taken (never after the last: it commits)
                await asyncio.sleep(0)
            before = len(rendered)
            try:
                rendered.extend(self._decide(event))
            except Exception:  # a bug met by one event must not cost the others in the batch theirs
                job = event.job.job_handle if event.job else None
                log.exception("event could not be evaluated", kind=event.kind, company=event.company.key, job=job)
            turn = len(rendered) > before  # an event that decides nothing is cheap: no turn for it
        outgoing: list[Outgoing] = []
        if rendered:  # silences matter only to what is sent: a batch that sends nothing need not read them
            silences = await self._retrying("reading silences", self.store.silences)
            now = self.clock.now()
            outgoing = [grouped(silence(r.notification, r.targets, silences, now), d) for r, d in rendered]
        upserts, deletes = self.engine.changes()
        new: list[str] = []
        if outgoing or upserts or deletes or polls:  # most batches of a quiet poll change nothing to store
            now = self.clock.now()
            new = await self._retrying(
                "committing notifications", lambda: self._commit(outgoing, upserts, deletes, now, polls)
            )
        self._tell(outgoing, new)
        if new and self.waker is not None:
            self.waker.wake()
        return new

    async def _commit(
        self,
        outgoing: list[Outgoing],
        upserts: list[Alert],
        deletes: list[AlertId],
        now: datetime,
        polls: list[PollDone],
    ) -> list[str]:
        """One attempt at the commit. A company handed to another replica while the store refused (the attempt
        is retried) keeps what its new owner wrote since: only its notifications, keyed, are still stored."""
        accepts = self.accepts
        if accepts is not None:
            upserts = [alert for alert in upserts if accepts(alert.company)]
            deletes = [alert_id for alert_id in deletes if accepts(alert_id[1])]
            polls = [done for done in polls if accepts(done.company)]
        return await self.store.commit(outgoing, upserts, deletes, now, polls)

    def _count(self, events: Sequence[Event]) -> None:
        """Events taken, told once per kind and batch (a poll cycle takes some two per tracked job)."""
        if self.observer is not None:
            for kind, count in Counter(event.kind for event in events).items():
                self.observer.events_taken(kind, count)

    def _tell(self, outgoing: list[Outgoing], new: list[str]) -> None:
        """What this batch stored: each silenced delivery once (a replayed, duplicate one was told before)."""
        if self.observer is None:
            return
        stored = set(new)
        for item in outgoing:
            if item.notification.key in stored:
                for destination in item.destinations:
                    if destination.silenced_by:
                        self.observer.silenced(item.notification, destination.channel, destination.silenced_by)
        self.observer.committed(len(new), len(outgoing) - len(new))

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """The store's answer, waiting out failures (disk full, a file locked by a backup …): the engine already
        counts this batch's notifications as sent, so giving up would lose them. Meanwhile the queue fills and
        pollers wait: back-pressure, not loss. Only a failing store is waited out: a bug surfaces."""
        for attempt in itertools.count(1):
            try:
                return await operation()
            except StoreError as exc:
                delay = STORE_BACKOFF.delay(attempt)
                log.error(f"state store failed {what}, retrying", error=str(exc), attempt=attempt, retry_in=delay)
                await self.sleep(delay)
        raise AssertionError("unreachable")

    def _decide(self, event: Event) -> list[tuple[Rendered, Decision]]:
        result = self.engine.evaluate(event)
        if self.observer is not None:
            for error in result.errors:
                self.observer.rule_failed(error, event.at)
        # Rendered from scrubbed data: a megabyte job name or an echoed password never reaches a template. Each
        # event is scrubbed (its whole job snapshot walked) once, however many rules decided about it.
        scrubbed: dict[int, Event] = {}
        return [(self._render(dataclasses.replace(d, event=_scrubbed(d.event, scrubbed))), d) for d in result.decisions]

    def _render(self, decision: Decision) -> Rendered:
        try:
            return self.renderer.render(decision)
        except Exception:  # template faults are handled inside; this is a bug, and must not lose the alert
            log.exception("rendering failed, sending a plain message", rule=decision.rule.name,
                          company=decision.event.company.handle)  # fmt: skip
            return self.renderer.render_bare(decision)


def _scrubbed(event: Event, done: dict[int, Event]) -> Event:
    """`event` scrubbed, from `done` (by identity) when it already was."""
    found = done.get(id(event))
    if found is None:
        found = done[id(event)] = SCRUBBER(event)
    return found
