"""Writing new notifications into the SQLite outbox: the notification, and a delivery per destination or its
place in a group. Shared by the intake's commit and by a group's digest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import aiosqlite

from notifier.models.codec import encode_notification
from notifier.safety import SCRUBBER
from notifier.store.operations import joins_group
from notifier.store.records import PENDING, SILENCED, Destination, Grouping, Outgoing

NOTIFICATION_INSERT = (
    "INSERT OR IGNORE INTO notifications (key, rule, company, job, status, severity, created_at, silenced_by, body,"
    " thread) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DELIVERY_INSERT = (
    "INSERT OR IGNORE INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at, "
    "silenced_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# A new group is due `wait` from now. An idle one (nothing collected since its last digest) whose last digest
# is recent is due `interval` after that digest: at most one digest per interval. One idle for longer collects
# for `wait` again, as a new group would: a second storm an hour later is one digest too, not its first alert.
GROUP_JOIN = """
INSERT INTO groups (key, rule, channel, labels, wait, interval, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET wait = excluded.wait, interval = excluded.interval,
    next_at = COALESCE(groups.next_at, CASE WHEN groups.last_at IS NOT NULL AND groups.last_at + excluded.interval > ?
                                       THEN groups.last_at + excluded.interval ELSE excluded.next_at END)
"""
MEMBER_INSERT = "INSERT OR IGNORE INTO group_members (grp, key, recipients, added_at) VALUES (?, ?, ?, ?)"


async def insert_new(db: aiosqlite.Connection, items: Sequence[Outgoing], now: datetime) -> list[Outgoing]:
    """Store `items` (all of them new), scrubbed on the way in; returns them as stored."""
    # What is stored is what every channel sends: scrubbed (secrets, controls, lengths) on the way in.
    new = [replace(item, notification=SCRUBBER.notification(item.notification)) for item in items]
    await db.executemany(NOTIFICATION_INSERT, map(_notification_row, new))
    await db.executemany(
        DELIVERY_INSERT, [_delivery_row(item, d, now) for item in new for d in item.destinations if not joins_group(d)]
    )
    joined = [(item, d) for item in new for d in item.destinations if joins_group(d)]
    if joined:
        stamp = now.timestamp()
        groups = {d.group.key: (d.channel, d.group) for _, d in joined if d.group is not None}
        await db.executemany(GROUP_JOIN, [_group_row(channel, g, stamp) for channel, g in groups.values()])
        await db.executemany(
            MEMBER_INSERT,
            [(d.group.key, item.notification.key, json.dumps(list(d.recipients)), stamp)
             for item, d in joined if d.group is not None],
        )  # fmt: skip
    return new


def _group_row(channel: str, group: Grouping, now: float) -> tuple[object, ...]:
    labels = json.dumps([list(pair) for pair in group.labels], ensure_ascii=False)
    return (group.key, group.rule, channel, labels, group.wait, group.interval, now + group.wait, now)


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
        n.thread or None,
    )


def _delivery_row(item: Outgoing, d: Destination, now: datetime) -> tuple[object, ...]:
    return (
        item.notification.key,
        d.channel,
        json.dumps(list(d.recipients)),
        SILENCED if d.silenced_by else PENDING,
        now.timestamp(),
        f"silenced by {d.silenced_by}" if d.silenced_by else None,
        now.isoformat(),
        d.silenced_by,
    )
