"""The embedded state store: one SQLite file holding the alert book, the outbox and silences.

Every text stored goes through the scrubber first (secrets redacted, controls neutralized, lengths capped).
A notification and its deliveries are committed in the same transaction as the alert state that produced
them, before anything is sent: a crash at any point either loses the decision entirely (it is made again
from the next poll) or keeps it for delivery. Notification keys are primary keys, so a replayed decision is
ignored rather than sent twice. WAL mode lets the status page read while the dispatcher writes.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from notifier.engine.book import Alert, AlertId
from notifier.engine.silences import Silence
from notifier.ingest.tracker import PollDone, PollMark
from notifier.models import Notification
from notifier.models.codec import encode_notification, event_from_dict, event_to_dict
from notifier.safety import SCRUBBER
from notifier.store.errors import StateFileError, StoreError
from notifier.store.sqlite.connection import decoded, operation
from notifier.store.sqlite.deliveries import (
    DEAD,
    DELIVERED,
    PENDING,
    SILENCED,
    DeliveryRow,
    Mark,
    OutboxStats,
    OutboxStore,
    Requeued,
)
from notifier.store.sqlite.inspect import header_problem
from notifier.store.sqlite.marks import SCHEMA as SCHEDULES_SCHEMA
from notifier.store.sqlite.marks import ScheduleStore, write_schedule_marks

__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "SILENCED",
    "DeliveryRow",
    "Mark",
    "OutboxStats",
    "Outgoing",
    "Requeued",
    "SqliteStore",
    "Target",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    rule TEXT NOT NULL, company TEXT NOT NULL, job TEXT NOT NULL,
    state TEXT NOT NULL, active_since TEXT NOT NULL, last_sent TEXT, sends INTEGER NOT NULL,
    event TEXT, PRIMARY KEY (rule, company, job));
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY, rule TEXT NOT NULL, company TEXT NOT NULL, job TEXT NOT NULL,
    status TEXT NOT NULL, severity TEXT NOT NULL, created_at TEXT NOT NULL,
    silenced_by TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL REFERENCES notifications(key),
    channel TEXT NOT NULL, recipients TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT, updated_at TEXT NOT NULL,
    UNIQUE (key, channel));
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE INDEX IF NOT EXISTS deliveries_lane ON deliveries (state, channel, next_at);
CREATE INDEX IF NOT EXISTS notifications_alert ON notifications (rule, company, job);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
    comment TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disabled_channels (
    channel TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS poll_marks (
    company TEXT PRIMARY KEY, polled_at TEXT NOT NULL, floor TEXT NOT NULL, locales TEXT NOT NULL);
"""
KEYS_PER_QUERY = 500  # bound parameters per lookup, well under SQLite's limit
# Columns added after the first release, with how to fill them in an existing file.
MIGRATIONS = {
    "requeued_at": ("ALTER TABLE deliveries ADD COLUMN requeued_at REAL", None),
    "silenced_by": (
        "ALTER TABLE deliveries ADD COLUMN silenced_by TEXT",
        "UPDATE deliveries SET silenced_by = substr(last_error, 13) WHERE state = 'silenced' "
        "AND last_error LIKE 'silenced by %'",
    ),
}


@dataclass(frozen=True, slots=True)
class Target:
    """One channel a notification goes to; a silenced target is stored (visible, counted) but not sent."""

    channel: str
    recipients: tuple[str, ...] = ()
    silenced_by: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A notification and where it goes, ready to be committed."""

    notification: Notification
    targets: tuple[Target, ...]

    @property
    def silenced_by(self) -> str | None:
        """The silence holding back every target, if all of them are silenced."""
        ids = {t.silenced_by for t in self.targets}
        return ids.pop() if len(ids) == 1 and None not in ids else None


class SqliteStore(OutboxStore, ScheduleStore):
    """Async access to the state file: alert state and new notifications here, delivery rows in `OutboxStore`,
    schedule marks in `ScheduleStore`."""

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
            await _prepare(db)
        except BaseException as exc:
            await db.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                raise StateFileError(path, str(exc)) from None
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"state file {path} cannot be used: {exc}") from None
            raise
        return cls(db, path)

    # ------------------------------------------------------------------------------------- alerts + outbox

    @operation
    async def load_alerts(self) -> list[Alert]:
        sql = "SELECT rule, company, job, state, active_since, last_sent, sends, event FROM alerts"
        async with self.reading() as db, db.execute(sql) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: [_alert(r) for r in rows])

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
        it is left out, never sent twice. Each table gets one statement for the whole batch.
        """
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", map(_alert_row, upserts)
            )
            await db.executemany("DELETE FROM alerts WHERE rule=? AND company=? AND job=?", list(deletes))
            # What is stored is what every channel sends: scrubbed (secrets, controls, lengths) on the way in.
            new = [
                replace(item, notification=SCRUBBER.notification(item.notification))
                for item in await _unseen(db, outgoing)
            ]
            await db.executemany(
                "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", map(_notification_row, new)
            )
            await db.executemany(
                "INSERT OR IGNORE INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at, "
                "silenced_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [row for item in new for row in _delivery_rows(item, now)],
            )
            if polls:
                await db.executemany(SAVE_MARK, _mark_rows({done.company: done.mark for done in polls}))
                schedules = {done.company: done.schedules for done in polls if done.schedules is not None}
                await write_schedule_marks(db, schedules)
        self.bodies.remember(item.notification for item in new)
        return [item.notification.key for item in new]

    # ---------------------------------------------------------------------------------------- poll marks

    @operation
    async def save_poll_marks(self, marks: Mapping[str, PollMark]) -> None:
        """What each company's tracker leaves for the next run: where a restarted daemon picks up."""
        async with self.transaction() as db:
            await db.executemany(SAVE_MARK, _mark_rows(marks))

    @operation
    async def poll_marks(self) -> dict[str, PollMark]:
        sql = "SELECT company, polled_at, floor, locales FROM poll_marks"
        async with self.reading() as db, db.execute(sql) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: {r[0]: PollMark(_dt(r[1]), _dt(r[2]), json.loads(r[3])) for r in rows})

    # ------------------------------------------------------------------------------------------ silences

    @operation
    async def add_silence(
        self, matchers: Sequence[tuple[str, str]], starts_at: datetime, ends_at: datetime, comment: str, created_by: str
    ) -> Silence:
        silence = Silence(uuid.uuid4().hex[:12], tuple(matchers), starts_at, ends_at, comment, created_by)
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?)",
                (
                    silence.id,
                    json.dumps(list(silence.matchers)),
                    starts_at.isoformat(),
                    ends_at.isoformat(),
                    SCRUBBER(comment),
                    created_by,
                ),
            )
        return silence

    @operation
    async def silences(self) -> list[Silence]:
        sql = "SELECT id, matchers, starts_at, ends_at, comment, created_by FROM silences ORDER BY starts_at"
        async with self.reading() as db, db.execute(sql) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: [_silence(r) for r in rows])

    @operation
    async def expire_silence(self, silence_id: str, now: datetime) -> bool:
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE silences SET ends_at=? WHERE id=? AND ends_at > ?",
                (now.isoformat(), silence_id, now.isoformat()),
            )
        return cur.rowcount > 0

    @operation
    async def silenced_counts(self) -> dict[str, int]:
        """Deliveries each silence held back, whether or not the notification's other targets went out."""
        sql = "SELECT silenced_by, COUNT(*) FROM deliveries WHERE silenced_by IS NOT NULL GROUP BY silenced_by"
        async with self.reading() as db, db.execute(sql) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}


async def _prepare(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")  # a committed notification must survive power loss
    await db.execute("PRAGMA busy_timeout=5000")
    await db.executescript(SCHEMA + SCHEDULES_SCHEMA)
    await _migrate(db)
    await db.commit()


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA table_info(deliveries)") as cur:
        columns = {row[1] for row in await cur.fetchall()}
    for column, (alter, backfill) in MIGRATIONS.items():
        if column not in columns:
            await db.execute(alter)
            if backfill is not None:
                await db.execute(backfill)


SAVE_MARK = "INSERT OR REPLACE INTO poll_marks VALUES (?, ?, ?, ?)"


def _mark_rows(marks: Mapping[str, PollMark]) -> list[tuple[str, str, str, str]]:
    return [
        (company, m.polled_at.isoformat(), m.floor.isoformat(), json.dumps(dict(m.locales)))
        for company, m in marks.items()
    ]


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
        async with db.execute(sql, chunk) as cur:
            taken.update(row[0] for row in await cur.fetchall())
    new = []
    for item in outgoing:
        if item.notification.key not in taken:
            taken.add(item.notification.key)
            new.append(item)
    return new


def _notification_row(item: Outgoing) -> tuple[object, ...]:
    n = item.notification
    return (
        n.key,
        n.rule,
        n.company_handle,
        n.job_handle,
        n.status,
        n.severity,
        n.created_at.isoformat(),
        item.silenced_by,
        encode_notification(n),
    )


def _delivery_rows(item: Outgoing, now: datetime) -> list[tuple[object, ...]]:
    return [
        (
            item.notification.key,
            t.channel,
            json.dumps(list(t.recipients)),
            SILENCED if t.silenced_by else PENDING,
            now.timestamp(),
            f"silenced by {t.silenced_by}" if t.silenced_by else None,
            now.isoformat(),
            t.silenced_by,
        )
        for t in item.targets
    ]


def _alert(r: Sequence[Any]) -> Alert:
    return Alert(
        rule=r[0],
        company=r[1],
        job=r[2],
        state=r[3],
        active_since=_dt(r[4]),
        last_sent=_dt(r[5]) if r[5] else None,
        sends=r[6],
        event=event_from_dict(json.loads(r[7])) if r[7] else None,
    )


def _silence(r: Sequence[Any]) -> Silence:
    return Silence(r[0], tuple((m[0], m[1]) for m in json.loads(r[1])), _dt(r[2]), _dt(r[3]), r[4], r[5])


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
