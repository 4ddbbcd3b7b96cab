"""Groups in the SQLite store: what each collected since its last digest, when it is due, its digests.

A group row keeps the timing (`next_at` while members wait, the last digest's time), the number of digests
sent (each digest's key derives from it, so a restart makes the same ids) and the conversation it is in.
Members are notifications already stored; a digest takes them out of the group in the same transaction that
stores the digest, so a crash either sends the digest with all of them or leaves them all for the next try.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from notifier.store.bodies import Bodies
from notifier.store.operations import decoded, due_group, waiting_group, waiting_member
from notifier.store.records import SILENCED, DueGroup, GroupFlush, WaitingGroup, WaitingMember
from notifier.store.sqlite.connection import Connection, operation
from notifier.store.sqlite.rows import insert_new

GROUP_COLUMNS = "key, rule, channel, labels, sent, thread, open"
MEMBER_COLUMNS = "m.key, n.body, m.recipients"
# A member a silence holds back leaves its group as a silenced delivery on the group's channel.
HOLD_BACK = (
    "INSERT OR IGNORE INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at, silenced_by) "
    f"SELECT m.key, g.channel, m.recipients, '{SILENCED}', ?, ?, ?, ? FROM group_members m "
    "JOIN groups g ON g.key = m.grp WHERE m.grp = ? AND m.key = ?"
)
WAITING_GROUPS = (
    "SELECT g.key, g.rule, g.channel, g.labels, COUNT(*), MIN(m.added_at), g.next_at, g.sent "
    "FROM groups g JOIN group_members m ON m.grp = g.key GROUP BY g.key ORDER BY g.next_at IS NULL, g.next_at, g.key"
)
WAITING_MEMBERS = (
    "SELECT g.key, g.channel, m.recipients, m.added_at, g.next_at, m.key, n.body "
    "FROM group_members m JOIN groups g ON g.key = m.grp JOIN notifications n ON n.key = m.key "
    "ORDER BY g.next_at IS NULL, g.next_at, g.key, m.added_at, m.rowid LIMIT ?"
)


class GroupRows(Connection):
    """Due groups with their members, and digests committed against the digest count they were read at."""

    bodies: Bodies  # the decoded-body cache the outbox half keeps

    @operation
    async def due_groups(self, now: float, members: int) -> list[DueGroup]:
        """Groups due at `now`, earliest first, each with its oldest `members` members."""
        sql = f"SELECT {GROUP_COLUMNS} FROM groups WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at, key"
        found: list[tuple[Sequence[Any], list[Sequence[Any]]]] = []
        async with self.reading() as db:
            async with db.execute(sql, (now,)) as cur:
                groups = await cur.fetchall()
            for group in groups:
                async with db.execute(
                    f"SELECT {MEMBER_COLUMNS} FROM group_members m JOIN notifications n ON n.key = m.key "
                    "WHERE m.grp = ? ORDER BY m.added_at, m.rowid LIMIT ?",
                    (group[0], members),
                ) as cur:
                    found.append((group, list(await cur.fetchall())))
        return decoded(lambda: [due_group(group, rows, self.bodies) for group, rows in found])

    @operation
    async def flush_group(self, flush: GroupFlush, now: float) -> bool:
        """The digest and its delivery stored, its members out of the group and the group's timing moved on,
        in one transaction; nothing, and False, when the group is no longer at `flush.sent` digests."""
        at = datetime.fromtimestamp(now, UTC)
        digests = [flush.digest] if flush.digest is not None else []
        leaving = [*flush.members, *(key for key, _ in flush.silenced)]
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE groups SET sent = sent + 1, last_at = CASE WHEN ? THEN ? ELSE last_at END, thread = ?, "
                "open = ?, next_at = NULL WHERE key = ? AND sent = ?",
                (bool(digests), now, flush.thread, json.dumps(list(flush.open)), flush.key, flush.sent),
            )
            if cur.rowcount == 0:
                return False
            await db.executemany(
                HOLD_BACK,
                [(now, f"silenced by {silence}", at.isoformat(), silence, flush.key, key)
                 for key, silence in flush.silenced],
            )  # fmt: skip
            await db.executemany(
                "DELETE FROM group_members WHERE grp = ? AND key = ?", [(flush.key, key) for key in leaving]
            )
            # Members left over because one digest could not hold them go in the next at once; members that joined
            # while this digest was being made wait the interval, as any that join later.
            await db.execute(
                "UPDATE groups SET next_at = CASE WHEN ? THEN ? ELSE ? + interval END "
                "WHERE key = ? AND EXISTS (SELECT 1 FROM group_members WHERE grp = ?)",
                (flush.more, now, now, flush.key, flush.key),
            )
            stored = await insert_new(db, digests, at)
        self.bodies.remember(item.notification for item in stored)
        return True

    @operation
    async def next_group_at(self) -> float | None:
        async with self.reading() as db, db.execute("SELECT MIN(next_at) FROM groups") as cur:
            row = await cur.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    @operation
    async def waiting_groups(self) -> list[WaitingGroup]:
        async with self.reading() as db, db.execute(WAITING_GROUPS) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: [waiting_group(row) for row in rows])

    @operation
    async def waiting_members(self, limit: int = 100) -> list[WaitingMember]:
        async with self.reading() as db, db.execute(WAITING_MEMBERS, (limit,)) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: [waiting_member(row, self.bodies) for row in rows])
