"""The embedded state store: one SQLite file holding the alert book, the outbox, silences and tracker marks.

Every text stored goes through the scrubber first (secrets redacted, controls neutralized, lengths capped).
A notification and its deliveries are committed in the same transaction as the alert state that produced
them, before anything is sent: a crash at any point either loses the decision entirely (it is made again
from the next poll) or keeps it for delivery. Notification keys are primary keys, so a replayed decision is
ignored rather than sent twice. WAL mode lets the status page read while the dispatcher writes.

One daemon owns the file (`lock`), so what replicas sharing a store would negotiate is trivial here: this
process is the only member, holds every company's lease, and claims deliveries in memory.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from notifier.engine.book import Alert, AlertId
from notifier.ingest.leases import Lease, Member
from notifier.ingest.marks import PollDone
from notifier.models.codec import event_from_dict, event_to_dict
from notifier.safety import SCRUBBER
from notifier.store.errors import StateFileError, StoreError
from notifier.store.operations import decoded
from notifier.store.records import Outgoing
from notifier.store.sqlite.connection import operation
from notifier.store.sqlite.deliveries import DeliveryRows
from notifier.store.sqlite.groups import GroupRows
from notifier.store.sqlite.inspect import header_problem
from notifier.store.sqlite.rows import insert_new
from notifier.store.sqlite.schema import prepare
from notifier.store.sqlite.silences import SilenceRows
from notifier.store.sqlite.tracking import SAVE_MARK, TrackingRows, mark_rows, stored_time, write_schedule_marks

KEYS_PER_QUERY = 500  # bound parameters per lookup, well under SQLite's limit
PING_TIMEOUT = 2.0  # a store that cannot answer `SELECT 1` this fast cannot take notifications either


class SqliteStore(DeliveryRows, GroupRows, TrackingRows, SilenceRows):
    """The `Store` in one SQLite file: alert state and new notifications here, delivery rows in `DeliveryRows`,
    groups and their digests in `GroupRows`, tracker marks in `TrackingRows`, silences in `SilenceRows`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        super().__init__(db, path)
        self._member: Member | None = None
        self._leases: dict[str, Lease] = {}
        self.handles = {}

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        """The store in the file at `path`, created when missing; `StateFileError` when it is no usable database.

        A connection that fails while being set up is closed before the error is raised: its worker thread
        would otherwise keep the process alive after everything else has ended.
        """
        problem = header_problem(path)
        if problem is not None:
            raise StateFileError(path, problem)
        try:
            db = await aiosqlite.connect(path)
        except sqlite3.Error as exc:
            raise StoreError(f"state file {path} cannot be opened: {exc}") from None
        try:
            await prepare(db)
        except BaseException as exc:
            await db.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                raise StateFileError(path, str(exc)) from None
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"state file {path} cannot be used: {exc}") from None
            raise
        return cls(db, path)

    async def ping(self) -> None:
        """`SELECT 1` through the store's lock, as every reader goes: a transaction stuck holding it is caught too."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.reading() as db, db.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        except TimeoutError:
            raise StoreError(f"no answer within {PING_TIMEOUT:g}s") from None
        except Exception as exc:  # closed connection, I/O error …: all mean "cannot take notifications"
            raise StoreError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc

    # ------------------------------------------------------------------------------------- alerts + outbox

    @operation
    async def load_alerts(self, companies: Collection[str] | None = None) -> list[Alert]:
        sql = "SELECT rule, company, job, state, active_since, last_sent, sends, event FROM alerts"
        async with self.reading() as db, db.execute(sql) as cur:
            rows = await cur.fetchall()
        alerts = decoded(lambda: [_alert(r) for r in rows])
        return alerts if companies is None else [a for a in alerts if a.company in companies]

    def subscribe(self, wake: Callable[[], None]) -> None:
        """Only this process writes deliveries here; an operator's re-queue is found at the next idle look."""

    @operation
    async def commit(
        self,
        outgoing: Sequence[Outgoing],
        upserts: Iterable[Alert],
        deletes: Iterable[AlertId],
        now: datetime,
        polls: Sequence[PollDone] = (),
    ) -> list[str]:
        """Alert state, new notifications and what `polls` leave for a restart, in one transaction; returns the
        keys that were new.

        A notification whose key is stored already (or came earlier in the same batch) was decided before:
        it is left out, never sent twice. Each table gets one statement for the whole batch (none when it has
        nothing to write); alert rows are made before the transaction starts, so the connection is held only
        for the writes.
        """
        alerts, gone = [_alert_row(alert) for alert in upserts], list(deletes)
        marks = mark_rows({done.company: done.mark for done in polls})
        async with self.transaction() as db:
            if alerts:
                await db.executemany("INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", alerts)
            if gone:
                await db.executemany("DELETE FROM alerts WHERE rule=? AND company=? AND job=?", gone)
            unseen = await _unseen(db, outgoing)
            new = await insert_new(db, unseen, now) if unseen else []
            if polls:
                await db.executemany(SAVE_MARK, marks)
                schedules = {done.company: done.schedules for done in polls if done.schedules is not None}
                await write_schedule_marks(db, schedules)
        self.bodies.remember(item.notification for item in new)
        return [item.notification.key for item in new]

    # ------------------------------------------------------------------------------------------- cluster
    # One process owns the file: it is the only member and holds every lease, for as long as it asks.

    async def heartbeat(self, member: Member) -> None:
        self._member = member

    async def members(self, now: datetime) -> list[Member]:
        return [self._member] if self._member is not None else []

    async def acquire(self, owner: str, companies: Collection[str], now: datetime, lease: float) -> list[Lease]:
        until = now + timedelta(seconds=lease)
        for company in companies:
            self._leases[company] = Lease(company, owner, until)
        return [self._leases[company] for company in companies]

    async def surrender(self, owner: str, companies: Collection[str]) -> None:
        for company in companies:
            self._leases.pop(company, None)

    async def leases(self, now: datetime) -> list[Lease]:
        return list(self._leases.values())

    async def leave(self, member: str) -> None:
        if self._member is not None and self._member.id == member:
            self._member = None

    async def company_handles(self) -> dict[str, str]:
        return dict(self.handles)


def _alert_row(alert: Alert) -> tuple[object, ...]:
    return (
        alert.rule,
        alert.company,
        alert.job,
        alert.state,
        alert.active_since.isoformat(),
        alert.last_sent.isoformat() if alert.last_sent else None,
        alert.sends,
        json.dumps(SCRUBBER(event_to_dict(alert.event)), ensure_ascii=False) if alert.event else None,
    )


async def _unseen(db: aiosqlite.Connection, outgoing: Sequence[Outgoing]) -> list[Outgoing]:
    """The first of each key in `outgoing` that the notifications table does not hold yet, in order."""
    keys = list(dict.fromkeys(item.notification.key for item in outgoing))
    taken = set[str]()  # stored already, or met earlier in this batch
    for at in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[at : at + KEYS_PER_QUERY]
        sql = f"SELECT key FROM notifications WHERE key IN ({','.join('?' * len(chunk))})"
        taken.update(row[0] for row in await db.execute_fetchall(sql, chunk))
    new = []
    for item in outgoing:
        if item.notification.key not in taken:
            taken.add(item.notification.key)
            new.append(item)
    return new


def _alert(r: Sequence[Any]) -> Alert:
    return Alert(
        rule=r[0],
        company=r[1],
        job=r[2],
        state=r[3],
        active_since=stored_time(r[4]),
        last_sent=stored_time(r[5]) if r[5] else None,
        sends=r[6],
        event=event_from_dict(json.loads(r[7])) if r[7] else None,
    )
