"""The outbox half of the PostgreSQL store: delivery rows claimed by replicas, outcomes, operator commands.

A replica claims due rows with `FOR UPDATE SKIP LOCKED`, so replicas claiming at once never wait for each other
nor take the same row, and marks each with its id and a claim lease. A claim ends with its outcome or a
release; a claim whose lease ran out, or whose replica stopped saying it is alive (its member heartbeat older
than the cluster lease), is void: the row is due for anyone again and goes out under the same notification
(the same webhook-id, the same Message-ID).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from notifier.safety import SCRUBBER
from notifier.store.bodies import Bodies
from notifier.store.operations import decoded
from notifier.store.postgres.connection import Pool, Row, operation
from notifier.store.postgres.listener import CHANNEL
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

WAKE_CHANNEL = CHANNEL  # NOTIFY'd when rows become due now: every replica's dispatcher looks at once
# A reply goes where the message it answers went: the conversation kept with that one's delivery on this channel.
ROW_COLUMNS = (
    "d.id, n.body, d.channel, d.recipients, d.state, d.attempts, d.next_at, d.last_error, d.requeued_at, d.key,"
    " (SELECT t.conversation FROM deliveries t WHERE t.key = n.thread AND t.channel = d.channel)"
)
ROW_SOURCE = "FROM deliveries d JOIN notifications n ON n.key = d.key"
# A resolution never overtakes its alert's firing on the same channel (see the SQLite store for why).
FIRING_FIRST = (
    "NOT (n.status = 'resolved' AND EXISTS (SELECT 1 FROM notifications f JOIN deliveries fd ON fd.key = f.key"
    " WHERE f.rule = n.rule AND f.company = n.company AND f.job = n.job AND f.status = 'firing'"
    " AND f.created_at <= n.created_at AND fd.channel = d.channel AND fd.state = 'pending'))"
    # nor a reply the message it answers (a thread needs it)
    " AND NOT EXISTS (SELECT 1 FROM deliveries t WHERE t.key = n.thread AND t.channel = d.channel"
    " AND t.state = 'pending')"
)
# A notification neither a delivery nor a group (waiting for its digest) still needs.
UNHELD = (
    "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.key = n.key)"
    " AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.key = n.key)"
)
# Nobody holds the row: never claimed, released, or claimed by another replica whose claim lapsed (its lease
# over, or the replica gone quiet). A replica's own claims never lapse for itself: they are sends it has under
# way, whatever its heartbeat says.
UNCLAIMED = (
    "(d.claimed_by IS NULL OR (d.claimed_by <> $3 AND (d.claim_until <= $1 OR EXISTS (SELECT 1 FROM members m"
    " WHERE m.id = d.claimed_by AND m.heartbeat < $2))))"
)
RECORD = """
UPDATE deliveries d SET state = o.state, attempts = o.attempts, next_at = o.next_at, last_error = o.error,
    updated_at = $6, claimed_by = NULL, claim_until = NULL, conversation = COALESCE(o.conversation, d.conversation)
FROM unnest($1::bigint[], $2::text[], $3::int[], $4::float8[], $5::text[], $7::text[])
    AS o(id, state, attempts, next_at, error, conversation)
WHERE d.id = o.id
"""


class DeliveryRows(Pool):
    """Delivery rows: claims and batched outcomes for the dispatcher, disabled channels, operator commands."""

    member_ttl: float  # seconds a replica counts as alive after its last heartbeat (the cluster lease)

    def __init__(self, pool: asyncpg.Pool, scrub: Callable[[str], str]) -> None:
        super().__init__(pool, scrub)
        self.bodies = Bodies()

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
        """Pending rows due at `now` that nobody holds, oldest first, claimed by `owner` for `lease` seconds."""
        stale = _moment(now) - timedelta(seconds=self.member_ttl)
        params: list[object] = [now, stale, owner, now + lease, limit, list(exclude_ids), list(exclude_channels)]
        where = f"d.state = 'pending' AND d.next_at <= $1 AND {UNCLAIMED} AND {FIRING_FIRST}"
        where += " AND NOT (d.id = ANY($6::bigint[])) AND NOT (d.channel = ANY($7::text[]))"
        if channel is not None:
            where, params = where + " AND d.channel = $8", [*params, channel]
        sql = (
            f"WITH picked AS (SELECT d.id {ROW_SOURCE} WHERE {where} ORDER BY d.next_at, d.id LIMIT $5"
            " FOR UPDATE OF d SKIP LOCKED)"
            " UPDATE deliveries d SET claimed_by = $3, claim_until = $4 FROM picked, notifications n"
            f" WHERE d.id = picked.id AND n.key = d.key RETURNING {ROW_COLUMNS}"
        )
        async with self.connection() as db:  # one statement: atomic on its own, one round trip
            rows = await db.fetch(sql, *params)
        claimed = decoded(lambda: [self._row(r) for r in rows])
        return sorted(claimed, key=lambda row: (row.next_at, row.id))

    @operation
    async def release(self, owner: str, row_ids: Collection[int]) -> None:
        if not row_ids:
            return
        async with self.connection() as db:
            await db.execute(
                "UPDATE deliveries SET claimed_by = NULL, claim_until = NULL WHERE id = ANY($1::bigint[])"
                " AND claimed_by = $2",
                list(row_ids),
                owner,
            )

    @operation
    async def next_due_at(self, after: float | None = None) -> float | None:
        """The earliest `next_at` of a pending row (only those later than `after`, when given)."""
        async with self.connection() as db:
            if after is None:
                found = await db.fetchval("SELECT min(next_at) FROM deliveries WHERE state = 'pending'")
            else:
                sql = "SELECT min(next_at) FROM deliveries WHERE state = 'pending' AND next_at > $1"
                found = await db.fetchval(sql, after)
        return float(found) if found is not None else None

    @operation
    async def record(self, outcomes: Sequence[DeliveryOutcome], now: datetime) -> None:
        """Many outcomes in one statement; each ends its row's claim, whoever held it."""
        # A receiver's error text is untrusted: it may echo a credential or be a page long.
        columns = (
            [o.row_id for o in outcomes],
            [o.state for o in outcomes],
            [o.attempts for o in outcomes],
            [o.next_at for o in outcomes],
            [SCRUBBER(o.error) for o in outcomes],
        )
        kept = [o.conversation for o in outcomes]
        disables = [(o.channel, SCRUBBER(o.disable), now) for o in outcomes if o.disable is not None]
        if not disables:  # one statement, one round trip: the common case
            async with self.connection() as db:
                await db.execute(RECORD, *columns, now, kept)
            return
        async with self.transaction() as db:
            await db.execute(RECORD, *columns, now, kept)
            await db.executemany(
                "INSERT INTO disabled_channels VALUES ($1, $2, $3)"
                " ON CONFLICT (channel) DO UPDATE SET reason = EXCLUDED.reason, at = EXCLUDED.at",
                disables,
            )

    @operation
    async def disabled_channels(self) -> dict[str, str]:
        async with self.connection() as db:
            return {r[0]: r[1] for r in await db.fetch("SELECT channel, reason FROM disabled_channels")}

    @operation
    async def enable_channel(self, channel: str) -> bool:
        async with self.connection() as db:
            done = await db.execute("DELETE FROM disabled_channels WHERE channel = $1", channel)
        return _count(done) > 0

    # -------------------------------------------------------------------------------- outbox operations

    @operation
    async def list_deliveries(self, states: Sequence[DeliveryState], limit: int = 100) -> list[DeliveryRow]:
        sql = (
            f"SELECT {ROW_COLUMNS} {ROW_SOURCE} WHERE d.state = ANY($1::text[])"
            " ORDER BY d.updated_at DESC, d.id DESC LIMIT $2"
        )
        async with self.connection() as db:
            rows = await db.fetch(sql, list(states), limit)
        return decoded(lambda: [self._row(r) for r in rows])

    @operation
    async def retry(self, row_id: int, now: datetime) -> Requeued | None:
        """Put an undelivered row back in line with a fresh retry budget, and re-enable its channel (and bring
        the rows that waited behind the disabled channel forward, as the embedded store does)."""
        stamp = now.timestamp()
        async with self.transaction() as db:
            channel = await db.fetchval(
                "SELECT channel FROM deliveries WHERE id = $1 AND state != $2 FOR UPDATE", row_id, DELIVERED
            )
            if channel is None:
                return None
            await db.execute(
                "UPDATE deliveries SET state = $1, attempts = 0, next_at = $2, requeued_at = $2, updated_at = $3,"
                " claimed_by = NULL, claim_until = NULL WHERE id = $4",
                PENDING, stamp, now, row_id,
            )  # fmt: skip
            enabled = _count(await db.execute("DELETE FROM disabled_channels WHERE channel = $1", channel)) > 0
            if enabled:
                await db.execute(
                    "UPDATE deliveries SET requeued_at = $1, next_at = LEAST(next_at, $1)"
                    " WHERE channel = $2 AND state = $3",
                    stamp, channel, PENDING,
                )  # fmt: skip
            await db.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
        return Requeued(str(channel), enabled)

    @operation
    async def retry_channel(self, channel: str, now: datetime) -> int:
        """Re-queue every dead delivery of `channel` (after its endpoint was fixed) and re-enable it."""
        stamp = now.timestamp()
        async with self.transaction() as db:
            done = await db.execute(
                "UPDATE deliveries SET state = $1, attempts = 0, next_at = $2, requeued_at = $2, updated_at = $3"
                " WHERE channel = $4 AND state = $5",
                PENDING, stamp, now, channel, DEAD,
            )  # fmt: skip
            await db.execute("DELETE FROM disabled_channels WHERE channel = $1", channel)
            await db.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
        return _count(done)

    @operation
    async def forget_before(self, cutoff: datetime) -> int:
        """Retention: delivered and silenced rows last touched before `cutoff` go, with notifications left
        without rows that were created before it, and silences that ended before it. Dead letters stay."""
        async with self.transaction() as db:
            sql = "DELETE FROM deliveries WHERE state = ANY($1::text[]) AND updated_at < $2"
            done = await db.execute(sql, [DELIVERED, SILENCED], cutoff)
            await db.execute(
                "DELETE FROM groups WHERE next_at IS NULL AND open = '[]' AND last_at < $1", cutoff.timestamp()
            )
            await db.execute(f"DELETE FROM notifications n WHERE created_at < $1 AND {UNHELD}", cutoff)
            await db.execute("DELETE FROM silences WHERE ends_at < $1", cutoff)
        return _count(done)

    @operation
    async def purge(self, states: Sequence[DeliveryState]) -> int:
        """Delete rows in `states`; a notification left without rows keeps only its key (the tombstone that
        keeps a replayed decision from being sent again)."""
        async with self.transaction() as db:
            done = await db.execute("DELETE FROM deliveries WHERE state = ANY($1::text[])", list(states))
            await db.execute(f"UPDATE notifications n SET body = '{{}}' WHERE body != '{{}}' AND {UNHELD}")
        return _count(done)

    @operation
    async def stats(self) -> OutboxStats:
        """Rows per state, and since when the oldest pending row has waited (since its notification was created,
        or since an operator re-queued it)."""
        waiting = "COALESCE(d.requeued_at, extract(epoch FROM n.created_at)::float8)"
        async with self.connection() as db:
            counts = {r[0]: r[1] for r in await db.fetch("SELECT state, count(*) FROM deliveries GROUP BY state")}
            oldest = await db.fetchval(f"SELECT min({waiting}) {ROW_SOURCE} WHERE d.state = $1", PENDING)
        return OutboxStats(
            pending=counts.get(PENDING, 0),
            dead=counts.get(DEAD, 0),
            silenced=counts.get(SILENCED, 0),
            delivered=counts.get(DELIVERED, 0),
            oldest_pending_at=float(oldest) if oldest is not None else None,
        )

    def _row(self, r: Row) -> DeliveryRow:
        recipients = tuple(json.loads(r[3]))
        notification = self.bodies.read(r[9], r[1])
        return DeliveryRow(r[0], notification, r[2], recipients, r[4], r[5], r[6], r[7], r[8], r[10])


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _count(status: str) -> int:
    """The row count of a command status such as `UPDATE 3`."""
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0
