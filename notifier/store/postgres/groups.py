"""Groups in the PostgreSQL store: what each collected since its last digest, when it is due, its digests.

As in the embedded store (`sqlite.groups`), a digest takes its members out of the group in the transaction that
stores it. Replicas flushing the same group at once are told apart by the group's digest count: the flush
built from an out-of-date read changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from notifier.safety import SCRUBBER
from notifier.store.bodies import Bodies
from notifier.store.operations import decoded, due_group, waiting_group, waiting_member
from notifier.store.postgres.connection import Pool, operation
from notifier.store.postgres.listener import CHANNEL
from notifier.store.postgres.rows import insert_new
from notifier.store.records import SILENCED, DueGroup, GroupFlush, WaitingGroup, WaitingMember

GROUP_COLUMNS = "key, rule, channel, labels, sent, thread, open"
MEMBERS = (
    "SELECT m.key, n.body, m.recipients FROM group_members m JOIN notifications n ON n.key = m.key"
    " WHERE m.grp = $1 ORDER BY m.added_at, m.seq LIMIT $2"
)
# A member a silence holds back leaves its group as a silenced delivery on the group's channel.
HOLD_BACK = (
    "INSERT INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at, silenced_by)"
    f" SELECT m.key, g.channel, m.recipients, '{SILENCED}', $1, $2, $3, $4 FROM group_members m"
    " JOIN groups g ON g.key = m.grp WHERE m.grp = $5 AND m.key = $6 ON CONFLICT (key, channel) DO NOTHING"
)
WAITING_GROUPS = (
    "SELECT g.key, g.rule, g.channel, g.labels, count(*), min(m.added_at), g.next_at, g.sent"
    " FROM groups g JOIN group_members m ON m.grp = g.key GROUP BY g.key ORDER BY g.next_at NULLS LAST, g.key"
)
WAITING_MEMBERS = (
    "SELECT g.key, g.channel, m.recipients, m.added_at, g.next_at, m.key, n.body"
    " FROM group_members m JOIN groups g ON g.key = m.grp JOIN notifications n ON n.key = m.key"
    " ORDER BY g.next_at NULLS LAST, g.key, m.added_at, m.seq LIMIT $1"
)


class GroupRows(Pool):
    """Due groups with their members, and digests committed against the digest count they were read at."""

    bodies: Bodies  # the decoded-body cache the outbox half keeps

    @operation
    async def due_groups(self, now: float, members: int) -> list[DueGroup]:
        sql = f"SELECT {GROUP_COLUMNS} FROM groups WHERE next_at IS NOT NULL AND next_at <= $1 ORDER BY next_at, key"
        async with self.connection() as db:
            groups = await db.fetch(sql, now)
            found = [(group, await db.fetch(MEMBERS, group[0], members)) for group in groups]
        return decoded(lambda: [due_group(tuple(group), list(map(tuple, rows)), self.bodies) for group, rows in found])

    @operation
    async def flush_group(self, flush: GroupFlush, now: float) -> bool:
        at = datetime.fromtimestamp(now, UTC)
        digests = [replace(d, notification=SCRUBBER.notification(d.notification)) for d in [flush.digest] if d]
        leaving = [*flush.members, *(key for key, _ in flush.silenced)]
        async with self.transaction() as db:
            taken = await db.fetchval(
                "UPDATE groups SET sent = sent + 1, last_at = CASE WHEN $6 THEN $1 ELSE last_at END, thread = $2,"
                " open = $3, next_at = NULL WHERE key = $4 AND sent = $5 RETURNING interval_s",
                now, flush.thread, json.dumps(list(flush.open)), flush.key, flush.sent, bool(digests),
            )  # fmt: skip
            if taken is None:
                return False
            await db.executemany(
                HOLD_BACK,
                [(now, f"silenced by {silence}", at, silence, flush.key, key) for key, silence in flush.silenced],
            )
            await db.execute("DELETE FROM group_members WHERE grp = $1 AND key = ANY($2::text[])", flush.key, leaving)
            await db.execute(
                "UPDATE groups SET next_at = $1 WHERE key = $2 AND EXISTS (SELECT 1 FROM group_members WHERE grp = $2)",
                now if flush.more else now + float(taken), flush.key,
            )  # fmt: skip
            new, due = await insert_new(db, digests, at)
            if due:
                await db.execute("SELECT pg_notify($1, '')", CHANNEL)
        self.bodies.remember(item.notification for item in new)
        return True

    @operation
    async def next_group_at(self) -> float | None:
        async with self.connection() as db:
            found = await db.fetchval("SELECT min(next_at) FROM groups")
        return float(found) if found is not None else None

    @operation
    async def waiting_groups(self) -> list[WaitingGroup]:
        async with self.connection() as db:
            rows = await db.fetch(WAITING_GROUPS)
        return decoded(lambda: [waiting_group(tuple(row)) for row in rows])

    @operation
    async def waiting_members(self, limit: int = 100) -> list[WaitingMember]:
        async with self.connection() as db:
            rows = await db.fetch(WAITING_MEMBERS, limit)
        return decoded(lambda: [waiting_member(tuple(row), self.bodies) for row in rows])
