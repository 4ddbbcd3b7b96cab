"""The outbox half of the SQLite store: delivery rows, what the dispatcher asks of them and what operators do.

A delivery row is one (notification, channel) target. The dispatcher claims due rows per channel and writes
outcomes in batches (`record`: one transaction for many rows); operators list, re-queue and purge rows.
One process owns the file, so claims are kept in memory: a row claimed and not yet recorded or released is
not due again here, and a crash forgets every claim with the process.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from notifier.safety import SCRUBBER
from notifier.store.bodies import Bodies
from notifier.store.operations import decoded
from notifier.store.records import (
    DEAD,
    DELIVERED,
    PENDING,
    SILENCED,
    DeliveryOutcome,
    DeliveryRow,
    DeliveryState,
    OutboxStats,
    Requeued,
)
from notifier.store.sqlite.connection import Connection, operation

ROW_COLUMNS = (
    "d.id, n.body, d.channel, d.recipients, d.state, d.attempts, d.next_at, d.last_error, d.requeued_at, d.key,"
    " t.conversation"
)
# A reply goes where the message it answers went: the conversation kept with that one's delivery on this channel.
ROW_SOURCE = (
    "FROM deliveries d JOIN notifications n ON n.key = d.key"
    " LEFT JOIN deliveries t ON t.key = n.thread AND t.channel = d.channel"
)
# A resolution never overtakes its alert's firing on the same channel: while an earlier firing of the same rule,
# company and job is still pending there (being retried, or on the wire), the resolution waits. Otherwise a
# resolve could reach PagerDuty before its trigger, and the incident the trigger then opens would never close.
FIRING_FIRST = (
    "NOT (n.status = 'resolved' AND EXISTS (SELECT 1 FROM notifications f JOIN deliveries fd ON fd.key = f.key"
    " WHERE f.rule = n.rule AND f.company = n.company AND f.job = n.job AND f.status = 'firing'"
    " AND f.created_at <= n.created_at AND fd.channel = d.channel AND fd.state = 'pending'))"
    " AND (t.state IS NULL OR t.state != 'pending')"  # nor a reply the message it answers (a thread needs it)
)


# A notification neither a delivery nor a group (waiting for its digest) still needs.
UNHELD = "key NOT IN (SELECT key FROM deliveries) AND key NOT IN (SELECT key FROM group_members)"


class DeliveryRows(Connection):
    """Delivery rows: claims and batched outcomes for the dispatcher, disabled channels, operator commands."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        super().__init__(db, path)
        self.bodies = Bodies()
        self._claims: dict[int, str] = {}  # row id → its channel, while claimed and not recorded or released

    # ------------------------------------------------------------------------------------------ dispatch

    @operation
    async def claim_due(
        self,
        owner: str,
        now: float,
        limit: int,
        *,
        lease: float,
        channel: str | None = None,
        exclude_channels: Collection[str] = (),
        exclude_ids: Collection[int] = (),
    ) -> list[DeliveryRow]:
        """Pending rows due at `now`, oldest first, claimed: of one `channel`, or of every channel not excluded;
        a resolution whose firing is still pending on the same channel is not due yet (`FIRING_FIRST`).

        Claimed rows and `exclude_ids` are left out in the query, so their bodies are not decoded. The claim
        holds until `record` or `release` (one process owns the file: `owner` and `lease` change nothing).
        """
        claimed = [
            i for i, c in self._claims.items() if (c == channel if channel is not None else c not in exclude_channels)
        ]
        where = f"d.state = ? AND d.next_at <= ? AND {FIRING_FIRST}"
        params: list[object] = [PENDING, now]
        if channel is not None:
            where, params = where + " AND d.channel = ?", [*params, channel]
        for column, values in (("d.channel", list(exclude_channels)), ("d.id", [*claimed, *exclude_ids])):
            if values:  # placeholders only: the values themselves are bound parameters
                where += f" AND {column} NOT IN ({','.join('?' * len(values))})"
                params.extend(values)
        sql = f"SELECT {ROW_COLUMNS} {ROW_SOURCE} WHERE {where} ORDER BY d.next_at, d.id LIMIT ?"
        rows = await self._rows(sql, (*params, limit))
        self._claims.update((row.id, row.channel) for row in rows)
        return rows

    async def release(self, owner: str, row_ids: Collection[int]) -> None:
        for row_id in row_ids:
            self._claims.pop(row_id, None)

    @operation
    async def next_due_at(self, after: float | None = None) -> float | None:
        """The earliest `next_at` of a pending row (only those later than `after`, when given)."""
        sql = "SELECT MIN(next_at) FROM deliveries WHERE state = ?"
        params: tuple[object, ...] = (PENDING,)
        if after is not None:
            sql, params = sql + " AND next_at > ?", (PENDING, after)
        row = next(iter(await self.fetch(sql, params)), None)
        return float(row[0]) if row and row[0] is not None else None

    @operation
    async def record(self, outcomes: Sequence[DeliveryOutcome], now: datetime) -> None:
        """Many outcomes in one transaction; each ends its row's claim.

        Not synced to disk on its own: after a power loss, an outcome recorded since the last synced commit
        may be lost, and its delivery is then sent again under the same id, as after any crash mid-send. A
        notification's commit (synced) never waits for the disk on behalf of outcomes meanwhile, and claims
        never wait behind an outcome's fsync."""
        # A receiver's error text is untrusted: it may echo a credential or be a page long.
        stamp = now.isoformat()
        updates = [
            (o.state, o.attempts, o.next_at, SCRUBBER(o.error), stamp, o.conversation, o.row_id) for o in outcomes
        ]
        disables = [(o.channel, SCRUBBER(o.disable), stamp) for o in outcomes if o.disable is not None]
        async with self.transaction(synced=False) as db:
            await db.executemany(
                "UPDATE deliveries SET state=?, attempts=?, next_at=?, last_error=?, updated_at=?, "
                "conversation=COALESCE(?, conversation) WHERE id=?",
                updates,
            )
            if disables:
                await db.executemany("INSERT OR REPLACE INTO disabled_channels VALUES (?, ?, ?)", disables)
        for outcome in outcomes:
            self._claims.pop(outcome.row_id, None)

    @operation
    async def disabled_channels(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.fetch("SELECT channel, reason FROM disabled_channels")}

    @operation
    async def enable_channel(self, channel: str) -> bool:
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM disabled_channels WHERE channel=?", (channel,))
        return cur.rowcount > 0

    # -------------------------------------------------------------------------------- outbox operations

    @operation
    async def list_deliveries(self, states: Sequence[DeliveryState], limit: int = 100) -> list[DeliveryRow]:
        marks = ",".join("?" * len(states))
        order = "ORDER BY d.updated_at DESC, d.id DESC"
        sql = f"SELECT {ROW_COLUMNS} {ROW_SOURCE} WHERE d.state IN ({marks}) {order} LIMIT ?"
        return await self._rows(sql, (*states, limit))

    @operation
    async def retry(self, row_id: int, now: datetime) -> Requeued | None:
        """Put an undelivered row back in line with a fresh retry budget, and re-enable its channel.

        Re-queuing by hand says the operator fixed the endpoint, so the rows that waited behind the disabled
        channel get a fresh budget too: they were held back, not failing. None when there is no such row.
        """
        stamp = now.timestamp()
        async with self.transaction() as db:
            async with db.execute(
                "SELECT channel FROM deliveries WHERE id=? AND state != ?", (row_id, DELIVERED)
            ) as cur:
                found = await cur.fetchone()
            if found is None:
                return None
            channel: str = found[0]
            await db.execute(
                "UPDATE deliveries SET state=?, attempts=0, next_at=?, requeued_at=?, updated_at=? WHERE id=?",
                (PENDING, stamp, stamp, now.isoformat(), row_id),
            )
            enabled = await db.execute("DELETE FROM disabled_channels WHERE channel=?", (channel,))
            if enabled.rowcount > 0:
                await db.execute(
                    "UPDATE deliveries SET requeued_at=?, next_at=MIN(next_at, ?) WHERE channel=? AND state=?",
                    (stamp, stamp, channel, PENDING),
                )
        return Requeued(channel, enabled.rowcount > 0)

    @operation
    async def retry_channel(self, channel: str, now: datetime) -> int:
        """Re-queue every dead delivery of `channel` (after its endpoint was fixed) and re-enable it."""
        stamp = now.timestamp()
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE deliveries SET state=?, attempts=0, next_at=?, requeued_at=?, updated_at=? "
                "WHERE channel=? AND state=?",
                (PENDING, stamp, stamp, now.isoformat(), channel, DEAD),
            )
            await db.execute("DELETE FROM disabled_channels WHERE channel=?", (channel,))
        return cur.rowcount

    @operation
    async def forget_before(self, cutoff: datetime) -> int:
        """Retention: drop delivered and silenced rows last touched before `cutoff`, notifications left with no
        rows that were created before it, and silences that ended before it. Dead letters wait for an operator.

        Dropping a key entirely (not keeping a tombstone) is safe this long after the fact: nothing can make
        the engine decide the same notification again once its job and scan window are that far behind.
        """
        async with self.transaction() as db:
            cur = await db.execute(
                "DELETE FROM deliveries WHERE state IN (?, ?) AND updated_at < ?",
                (DELIVERED, SILENCED, cutoff.isoformat()),
            )
            await db.execute(
                "DELETE FROM groups WHERE next_at IS NULL AND open = '[]' AND last_at < ?", (cutoff.timestamp(),)
            )
            await db.execute(
                f"DELETE FROM notifications WHERE created_at < ? AND {UNHELD}",
                (cutoff.isoformat(),),
            )
            await db.execute("DELETE FROM silences WHERE ends_at < ?", (cutoff.isoformat(),))
        return cur.rowcount

    @operation
    async def purge(self, states: Sequence[DeliveryState]) -> int:
        """Delete rows in `states`; a notification left without rows keeps only its key.

        The key stays as a tombstone because it is what makes a replayed decision a no-op: purging must
        free the space of old bodies without ever letting the same notification be sent again.
        """
        marks = ",".join("?" * len(states))
        async with self.transaction() as db:
            cur = await db.execute(f"DELETE FROM deliveries WHERE state IN ({marks})", tuple(states))
            await db.execute(f"UPDATE notifications SET body='{{}}' WHERE body != '{{}}' AND {UNHELD}")
        return cur.rowcount

    @operation
    async def stats(self) -> OutboxStats:
        """Rows per state, and since when the oldest pending row has waited: since its notification was created,
        or since an operator re-queued it (not its `next_at`, which every retry moves forward)."""
        waiting = "COALESCE(d.requeued_at, (julianday(n.created_at) - 2440587.5) * 86400.0)"  # epoch seconds
        async with self.reading() as db:
            async with db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state") as cur:
                rows = {r[0]: r[1] for r in await cur.fetchall()}
            async with db.execute(f"SELECT MIN({waiting}) {ROW_SOURCE} WHERE d.state = ?", (PENDING,)) as cur:
                oldest = await cur.fetchone()
        return OutboxStats(
            pending=rows.get(PENDING, 0),
            dead=rows.get(DEAD, 0),
            silenced=rows.get(SILENCED, 0),
            delivered=rows.get(DELIVERED, 0),
            oldest_pending_at=oldest[0] if oldest else None,
        )

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[DeliveryRow]:
        rows = await self.fetch(sql, params)
        return decoded(lambda: [self._row(r) for r in rows])

    def _row(self, r: Sequence[Any]) -> DeliveryRow:
        recipients = tuple(json.loads(r[3]))
        notification = self.bodies.read(r[9], r[1])
        return DeliveryRow(r[0], notification, r[2], recipients, r[4], r[5], r[6], r[7], r[8], r[10])
