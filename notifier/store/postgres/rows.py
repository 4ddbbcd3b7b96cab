"""Writing new notifications into the PostgreSQL outbox: the notification, and a delivery per destination or its
place in a group. Shared by the intake's commit and by a group's digest (see the SQLite store's `rows`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from notifier.models.codec import encode_notification
from notifier.store.operations import joins_group
from notifier.store.postgres.connection import Db
from notifier.store.records import PENDING, SILENCED, Destination, Outgoing

NEW_NOTIFICATIONS = """
INSERT INTO notifications (key, rule, company, job, status, severity, created_at, silenced_by, body, thread)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                     $8::text[], $9::text[], $10::text[])
ON CONFLICT (key) DO NOTHING RETURNING key
"""
NEW_DELIVERIES = """
INSERT INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at, silenced_by)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::timestamptz[],
                     $8::text[])
ON CONFLICT (key, channel) DO NOTHING
"""
# When a group is due once members join: see `GROUP_JOIN` of the SQLite store, whose rule this is.
GROUP_JOIN = """
INSERT INTO groups (key, rule, channel, labels, wait_s, interval_s, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (key) DO UPDATE SET wait_s = EXCLUDED.wait_s, interval_s = EXCLUDED.interval_s,
    next_at = COALESCE(groups.next_at,
        CASE WHEN groups.last_at IS NOT NULL AND groups.last_at + EXCLUDED.interval_s > $8
             THEN groups.last_at + EXCLUDED.interval_s ELSE EXCLUDED.next_at END)
"""
MEMBER_INSERT = (
    "INSERT INTO group_members (grp, key, recipients, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
)


async def insert_new(db: Db, scrubbed: Sequence[Outgoing], now: datetime) -> tuple[list[Outgoing], bool]:
    """Store `scrubbed` notifications a key is not stored for yet, their deliveries and their places in groups;
    returns those that were new, and whether deliveries became due (to wake the replicas)."""
    keys = {r[0] for r in await db.fetch(NEW_NOTIFICATIONS, *columns(map(_notification_row, scrubbed), 10))}
    new = [item for item in scrubbed if item.notification.key in keys]
    rows = [_delivery_row(item, d, now) for item in new for d in item.destinations if not joins_group(d)]
    if rows:
        await db.execute(NEW_DELIVERIES, *columns(rows, 8))
    joined = [(item, d) for item in new for d in item.destinations if joins_group(d)]
    stamp = now.timestamp()
    groups = {d.group.key: (d.channel, d.group) for _, d in joined if d.group is not None}
    for channel, g in sorted(groups.values(), key=lambda pair: pair[1].key):  # one order: no deadlocks
        labels = json.dumps([list(pair) for pair in g.labels], ensure_ascii=False)
        await db.execute(GROUP_JOIN, g.key, g.rule, channel, labels, g.wait, g.interval, stamp + g.wait, stamp)
    await db.executemany(
        MEMBER_INSERT,
        [(d.group.key, item.notification.key, json.dumps(list(d.recipients)), stamp)
         for item, d in joined if d.group is not None],
    )  # fmt: skip
    return new, any(row[3] == PENDING for row in rows)


def columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows turned into one list per column, for `unnest`."""
    out: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(out, row, strict=True):
            column.append(value)
    return out


def _notification_row(item: Outgoing) -> tuple[object, ...]:
    n = item.notification
    return (n.key, n.rule, n.company_handle, n.job_handle, n.status, n.severity, n.created_at, item.silenced_by,
            encode_notification(n), n.thread or None)  # fmt: skip


def _delivery_row(item: Outgoing, d: Destination, now: datetime) -> tuple[object, ...]:
    return (item.notification.key, d.channel, json.dumps(list(d.recipients)), SILENCED if d.silenced_by else PENDING,
            now.timestamp(), f"silenced by {d.silenced_by}" if d.silenced_by else None, now, d.silenced_by)  # fmt: skip
