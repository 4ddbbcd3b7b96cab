"""The embedded state store: one SQLite file holding the alert book, the outbox and silences.

A notification and its deliveries are committed in the same transaction as the alert state that produced
them, before anything is sent: a crash at any point either loses the decision entirely (it is made again
from the next poll) or keeps it for delivery. Notification keys are primary keys, so a replayed decision is
ignored rather than sent twice. WAL mode lets the status page read while the dispatcher writes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from notifier.codec import event_from_dict, event_to_dict, notification_from_dict, notification_to_dict
from notifier.engine.evaluate import Alert, AlertId
from notifier.engine.silences import Silence
from notifier.models import Notification

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
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
    comment TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disabled_channels (
    channel TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
"""

PENDING, DELIVERED, DEAD, SILENCED = "pending", "delivered", "dead", "silenced"


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


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    notification: Notification
    channel: str
    recipients: tuple[str, ...]
    state: str
    attempts: int
    next_at: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    dead: int
    silenced: int
    delivered: int
    oldest_pending_at: float | None


class SqliteStore:
    """Async access to the state file. One connection; SQLite serialises writers anyway."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")  # a committed notification must survive power loss
        await db.execute("PRAGMA busy_timeout=5000")
        await db.executescript(SCHEMA)
        await db.commit()
        return cls(db, path)

    async def close(self) -> None:
        await self.db.close()

    # ------------------------------------------------------------------------------------- alerts + outbox

    async def load_alerts(self) -> list[Alert]:
        async with self.db.execute(
            "SELECT rule, company, job, state, active_since, last_sent, sends, event FROM alerts"
        ) as cur:
            rows = await cur.fetchall()
        return [
            Alert(
                rule=r[0],
                company=r[1],
                job=r[2],
                state=r[3],
                active_since=_dt(r[4]),
                last_sent=_dt(r[5]) if r[5] else None,
                sends=r[6],
                event=event_from_dict(json.loads(r[7])) if r[7] else None,
            )
            for r in rows
        ]

    async def commit(
        self, outgoing: Sequence[Outgoing], upserts: Iterable[Alert], deletes: Iterable[AlertId], now: datetime
    ) -> list[str]:
        """Alert state and new notifications in one transaction; returns the keys that were new."""
        new: list[str] = []
        try:
            for alert in upserts:
                await self.db.execute(
                    "INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        alert.rule,
                        alert.company,
                        alert.job,
                        alert.state,
                        alert.active_since.isoformat(),
                        alert.last_sent.isoformat() if alert.last_sent else None,
                        alert.sends,
                        json.dumps(event_to_dict(alert.event), ensure_ascii=False) if alert.event else None,
                    ),
                )
            await self.db.executemany("DELETE FROM alerts WHERE rule=? AND company=? AND job=?", list(deletes))
            for item in outgoing:
                if await self._insert(item, now):
                    new.append(item.notification.key)
            await self.db.commit()
        except BaseException:
            await self.db.rollback()
            raise
        return new

    async def _insert(self, item: Outgoing, now: datetime) -> bool:
        n = item.notification
        cur = await self.db.execute(
            "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                n.key,
                n.rule,
                str(n.company.get("handle", "")),
                str((n.job or {}).get("job_handle") or ""),
                n.status,
                n.severity,
                n.created_at.isoformat(),
                item.silenced_by,
                json.dumps(notification_to_dict(n), ensure_ascii=False),
            ),
        )
        if cur.rowcount == 0:
            return False  # the same notification was decided before: never twice
        rows = [
            (
                n.key,
                t.channel,
                json.dumps(list(t.recipients)),
                SILENCED if t.silenced_by else PENDING,
                now.timestamp(),
                f"silenced by {t.silenced_by}" if t.silenced_by else None,
                now.isoformat(),
            )
            for t in item.targets
        ]
        await self.db.executemany(
            "INSERT OR IGNORE INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return True

    # ------------------------------------------------------------------------------------------ dispatch

    async def due(self, now: float, limit: int, exclude_channels: Iterable[str] = ()) -> list[DeliveryRow]:
        excluded = list(exclude_channels)
        marks = ",".join("?" * len(excluded))
        where = f"AND d.channel NOT IN ({marks})" if excluded else ""
        sql = (
            "SELECT d.id, n.body, d.channel, d.recipients, d.state, d.attempts, d.next_at, d.last_error "
            # placeholders only: the values themselves are bound parameters
            f"FROM deliveries d JOIN notifications n ON n.key = d.key WHERE d.state = ? AND d.next_at <= ? {where} "
            "ORDER BY d.next_at, d.id LIMIT ?"
        )
        return await self._rows(sql, (PENDING, now, *excluded, limit))

    async def next_due_at(self) -> float | None:
        async with self.db.execute("SELECT MIN(next_at) FROM deliveries WHERE state = ?", (PENDING,)) as cur:
            row = await cur.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def mark(
        self, row_id: int, state: str, *, attempts: int, next_at: float, error: str | None, now: datetime
    ) -> None:
        await self.db.execute(
            "UPDATE deliveries SET state=?, attempts=?, next_at=?, last_error=?, updated_at=? WHERE id=?",
            (state, attempts, next_at, error, now.isoformat(), row_id),
        )
        await self.db.commit()

    async def disable_channel(self, channel: str, reason: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO disabled_channels VALUES (?, ?, ?)", (channel, reason, now.isoformat())
        )
        await self.db.commit()

    async def disabled_channels(self) -> dict[str, str]:
        async with self.db.execute("SELECT channel, reason FROM disabled_channels") as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}

    async def enable_channel(self, channel: str) -> bool:
        cur = await self.db.execute("DELETE FROM disabled_channels WHERE channel=?", (channel,))
        await self.db.commit()
        return cur.rowcount > 0

    # -------------------------------------------------------------------------------- outbox operations

    async def list_deliveries(self, states: Sequence[str], limit: int = 100) -> list[DeliveryRow]:
        marks = ",".join("?" * len(states))
        sql = (
            "SELECT d.id, n.body, d.channel, d.recipients, d.state, d.attempts, d.next_at, d.last_error "
            f"FROM deliveries d JOIN notifications n ON n.key = d.key WHERE d.state IN ({marks}) "
            "ORDER BY d.updated_at DESC, d.id DESC LIMIT ?"
        )
        return await self._rows(sql, (*states, limit))

    async def retry(self, row_id: int, now: datetime) -> bool:
        """Put a dead or silenced delivery back in line, attempts reset."""
        cur = await self.db.execute(
            "UPDATE deliveries SET state=?, attempts=0, next_at=?, updated_at=? WHERE id=? AND state != ?",
            (PENDING, now.timestamp(), now.isoformat(), row_id, DELIVERED),
        )
        await self.db.commit()
        return cur.rowcount > 0

    async def purge(self, states: Sequence[str]) -> int:
        marks = ",".join("?" * len(states))
        cur = await self.db.execute(f"DELETE FROM deliveries WHERE state IN ({marks})", tuple(states))
        await self.db.execute(
            "DELETE FROM notifications WHERE key NOT IN (SELECT key FROM deliveries) AND "
            "key IN (SELECT key FROM notifications)"
        )
        await self.db.commit()
        return cur.rowcount

    async def stats(self) -> OutboxStats:
        async with self.db.execute("SELECT state, COUNT(*), MIN(next_at) FROM deliveries GROUP BY state") as cur:
            rows = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
        pending = rows.get(PENDING, (0, None))
        return OutboxStats(
            pending=pending[0],
            dead=rows.get(DEAD, (0, None))[0],
            silenced=rows.get(SILENCED, (0, None))[0],
            delivered=rows.get(DELIVERED, (0, None))[0],
            oldest_pending_at=pending[1],
        )

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[DeliveryRow]:
        async with self.db.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return [
            DeliveryRow(
                r[0], notification_from_dict(json.loads(r[1])), r[2], tuple(json.loads(r[3])), r[4], r[5], r[6], r[7]
            )
            for r in rows
        ]

    # ------------------------------------------------------------------------------------------ silences

    async def add_silence(
        self, matchers: Sequence[tuple[str, str]], starts_at: datetime, ends_at: datetime, comment: str, created_by: str
    ) -> Silence:
        silence = Silence(uuid.uuid4().hex[:12], tuple(matchers), starts_at, ends_at, comment, created_by)
        await self.db.execute(
            "INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?)",
            (
                silence.id,
                json.dumps(list(silence.matchers)),
                starts_at.isoformat(),
                ends_at.isoformat(),
                comment,
                created_by,
            ),
        )
        await self.db.commit()
        return silence

    async def silences(self) -> list[Silence]:
        async with self.db.execute(
            "SELECT id, matchers, starts_at, ends_at, comment, created_by FROM silences ORDER BY starts_at"
        ) as cur:
            rows = await cur.fetchall()
        return [
            Silence(r[0], tuple((m[0], m[1]) for m in json.loads(r[1])), _dt(r[2]), _dt(r[3]), r[4], r[5]) for r in rows
        ]

    async def expire_silence(self, silence_id: str, now: datetime) -> bool:
        cur = await self.db.execute(
            "UPDATE silences SET ends_at=? WHERE id=? AND ends_at > ?", (now.isoformat(), silence_id, now.isoformat())
        )
        await self.db.commit()
        return cur.rowcount > 0

    async def silenced_counts(self) -> dict[str, int]:
        async with self.db.execute(
            "SELECT silenced_by, COUNT(*) FROM notifications WHERE silenced_by IS NOT NULL GROUP BY silenced_by"
        ) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
