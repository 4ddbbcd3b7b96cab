"""The digest loop: when a group is due, its digest is built and committed in the store's one flush, then
delivery is woken. Groups and their timing live in the store, so a restart picks up exactly where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

import structlog

from notifier.compose.composer import Waker
from notifier.compose.digest import MEMBERS_PER_DIGEST, flush
from notifier.compose.silencing import held_back
from notifier.engine.rules import RuleSet
from notifier.engine.silences import Silence
from notifier.i18n.catalogs import Catalogs
from notifier.models import Notification
from notifier.runtime.backoff import STORE_BACKOFF
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Loop
from notifier.store.errors import StoreError
from notifier.store.protocol import GroupStore, SilenceStore
from notifier.store.records import DueGroup, GroupFlush


class DigestObserver(Protocol):
    """Told each digest committed, and each member a silence held back from one."""

    def digested(self, rule: str, channel: str, alerts: int) -> None: ...

    def silenced(self, notification: Notification, channel: str, silence: str) -> None: ...


class DigestStore(GroupStore, SilenceStore, Protocol):
    """Groups, and the silences that hold members back from their digest."""


log = structlog.get_logger(__name__)
IDLE_WAIT = 60.0  # look again this often even when nothing is due (another replica may have added members)
# While a group waits, look at least this often: the daemon's clock may not be the wall clock (the demo's
# simulated time runs faster) or may jump, and a digest must not wait for a timeout computed in other seconds.
NAP = 1.0


class Wakers:
    """Several wakers as one: the composer's commit concerns delivery and digests both."""

    def __init__(self, *wakers: Waker | None) -> None:
        self.wakers = [w for w in wakers if w is not None]

    def wake(self) -> None:
        for waker in self.wakers:
            waker.wake()


class Digests(Loop):
    """Flushes due groups; `rules`, `catalogs` and `locales` (each channel's `locale:`) are read at each flush, so
    a reload applies to the next digest."""

    name = "digests"

    def __init__(
        self,
        store: DigestStore,
        clock: Clock,
        *,
        rules: Callable[[], RuleSet],
        catalogs: Callable[[], Catalogs],
        locales: Callable[[], Mapping[str, str | None]],
        waker: Waker | None = None,
        observer: DigestObserver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.observer = observer
        self.clock = clock
        self.rules, self.catalogs, self.locales = rules, catalogs, locales
        self.waker = waker
        self.sleep = sleep
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Members joined a group: its due time may be sooner than the one waited for."""
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.flush_due()
                due = await self.store.next_group_at()
            except StoreError as exc:
                failures += 1
                delay = STORE_BACKOFF.delay(failures)
                log.error("state store failed; digests wait", error=str(exc), failures=failures, retry_in=delay)
                await self.sleep(delay)
                continue
            failures = 0
            timeout = IDLE_WAIT if due is None else min(NAP, max(0.0, due - self.clock.now().timestamp()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def flush_due(self) -> int:
        """Commit the digest of every group due now (a big group's several digests); returns how many."""
        sent = 0
        while True:
            now = self.clock.now()
            groups = await self.store.due_groups(now.timestamp(), MEMBERS_PER_DIGEST)
            if not groups:
                break
            silences = await self.store.silences()
            before = sent
            for group in groups:
                made = self._flush(group, silences, now)
                if await self.store.flush_group(made, now.timestamp()):
                    sent += 1
                    self._observe(group, made)
            if sent == before:  # every one was flushed by someone else meanwhile: look again later
                break
        if sent and self.waker is not None:
            self.waker.wake()
        return sent

    def _flush(self, group: DueGroup, silences: Sequence[Silence], now: datetime) -> GroupFlush:
        """The group's digest of the members no silence holds back (none, when it holds back every one)."""
        held = held_back(group, silences, now)
        kept = tuple(member for member in group.members if member.key not in held)
        more = len(group.members) >= MEMBERS_PER_DIGEST  # read up to the bound: the group may hold more
        if not kept:
            return GroupFlush(group.key, group.sent, None, (), group.open, group.thread, more, tuple(held.items()))
        rule, locale = self.rules().by_name(group.rule), self.locales().get(group.channel)
        made = flush(replace(group, members=kept), rule, locale=locale, catalogs=self.catalogs(), now=now)
        return replace(made, more=more, silenced=tuple(held.items()))

    def _observe(self, group: DueGroup, made: GroupFlush) -> None:
        if self.observer is None:
            return
        if made.digest is not None:
            self.observer.digested(group.rule, group.channel, len(made.members))
        held = dict(made.silenced)
        for member in group.members:
            if member.key in held:
                self.observer.silenced(member, group.channel, held[member.key])
