"""Retention: old delivered and silenced notifications are forgotten; dead letters and recent rows stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from notifier.store.protocol import Store
from notifier.store.records import DEAD, DELIVERED, PENDING, SILENCED, DeliveryState, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.store import BACKENDS, NOW, due, notification, settle


async def aged(store: SqliteStore, key: str, state: DeliveryState, days_ago: float) -> None:
    """A notification created and last touched `days_ago`, its one delivery left in `state`."""
    when = NOW - timedelta(days=days_ago)
    silenced = "silence-1" if state == SILENCED else None
    item = Outgoing(replace(notification(key), created_at=when), (Destination("hook", silenced_by=silenced),))
    await store.commit([item], [], [], when)
    if state in (DELIVERED, DEAD):
        [row] = [r for r in await due(store, when.timestamp() + 1, 100) if r.notification.key == key]
        await settle(store, row, state, attempts=1, next_at=when.timestamp(), error=None, now=when)


async def test_old_delivered_and_silenced_rows_are_forgotten(store: SqliteStore) -> None:
    """Past the cutoff, delivered and silenced rows go with their notifications; dead, pending and recent stay."""
    for key, state, age in [
        ("old-delivered", DELIVERED, 40), ("old-silenced", SILENCED, 40), ("old-dead", DEAD, 40),
        ("old-pending", PENDING, 40), ("new-delivered", DELIVERED, 5),
    ]:  # fmt: skip
        await aged(store, key, state, age)
    assert await store.forget_before(NOW - timedelta(days=30)) == 2
    left = await store.list_deliveries([PENDING, DELIVERED, DEAD, SILENCED], 100)
    assert sorted(r.notification.key for r in left) == ["new-delivered", "old-dead", "old-pending"]
    async with store.reading() as db, db.execute("SELECT key FROM notifications ORDER BY key") as cur:
        keys = [r[0] for r in await cur.fetchall()]
    assert keys == ["new-delivered", "old-dead", "old-pending"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_silences_that_ended_before_the_cutoff_are_forgotten(store: Store) -> None:
    """An expired silence is kept for a while (it explains held-back rows), then forgotten with them."""
    old = await store.add_silence([("rule", "a")], NOW - timedelta(days=50), NOW - timedelta(days=40), "old", "ops")
    new = await store.add_silence([("rule", "b")], NOW - timedelta(days=2), NOW - timedelta(days=1), "new", "ops")
    await store.forget_before(NOW - timedelta(days=30))
    assert [s.id for s in await store.silences()] == [new.id]
    assert old.id != new.id
