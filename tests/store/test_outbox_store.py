"""Outbox operations of the store: batched outcomes, re-queues, tombstones, per-delivery silence counts, upgrades."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier.engine.book import Alert
from notifier.store.errors import StoreError
from notifier.store.protocol import Store
from notifier.store.records import DEAD, DELIVERED, PENDING, SILENCED, DeliveryOutcome, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.store import BACKENDS, due, notification, settle

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_record_writes_outcomes_and_a_disable_together(store: Store) -> None:
    """One `record` call updates every row and disables the channel a mark names, in one transaction."""
    await store.commit([Outgoing(notification(), (Destination("hook"), Destination("slack")))], [], [], NOW)
    hook, slack = sorted(await due(store, NOW.timestamp(), 10), key=lambda r: r.channel)
    stamp = NOW.timestamp()
    await store.record(
        [
            DeliveryOutcome(hook.id, "hook", DEAD, 1, stamp, "HTTP 410", disable="HTTP 410"),
            DeliveryOutcome(slack.id, "slack", DELIVERED, 1, stamp, None),
        ],
        NOW,
    )
    assert await store.disabled_channels() == {"hook": "HTTP 410"}
    assert (await store.stats()).dead == 1
    assert (await store.stats()).delivered == 1


async def test_outcomes_skip_the_fsync_that_notifications_wait_for(store: SqliteStore) -> None:
    """Outcomes are committed with `synchronous=NORMAL` (a power loss only resends, same id); notifications, and
    everything after an outcome, with `synchronous=FULL`."""
    statements: list[str] = []
    await store.db.set_trace_callback(statements.append)
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    assert not [s for s in statements if "synchronous" in s]
    (row,) = await due(store, NOW.timestamp(), 10)
    statements.clear()
    await store.record([DeliveryOutcome(row.id, "hook", DELIVERED, 1, NOW.timestamp(), None)], NOW)
    await store.db.set_trace_callback(None)  # type: ignore[arg-type]  # None stops tracing (sqlite3)
    marks = [s for s in statements if "synchronous" in s or s == "COMMIT" or s.startswith("UPDATE deliveries")]
    assert marks[0] == "PRAGMA synchronous=NORMAL"
    assert marks[-2:] == ["COMMIT", "PRAGMA synchronous=FULL"]
    async with store.db.execute("PRAGMA synchronous") as cursor:
        assert await cursor.fetchone() == (2,)  # FULL


async def test_a_failed_outcome_write_leaves_commits_waiting_for_the_disk(store: SqliteStore) -> None:
    """When writing outcomes fails, the connection is back at `synchronous=FULL` for the commits after it."""
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    (row,) = await due(store, NOW.timestamp(), 10)
    await store.db.execute(
        "CREATE TRIGGER refuse BEFORE UPDATE ON deliveries BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    await store.db.commit()
    with pytest.raises(StoreError):
        await store.record([DeliveryOutcome(row.id, "hook", DELIVERED, 1, NOW.timestamp(), None)], NOW)
    async with store.db.execute("PRAGMA synchronous") as cursor:
        assert await cursor.fetchone() == (2,)  # FULL


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_due_can_be_asked_per_channel(store: Store) -> None:
    """`due(channel=…)` returns only that channel's rows, so one busy channel cannot fill another's batch."""
    await store.commit([Outgoing(notification(), (Destination("hook"), Destination("slack")))], [], [], NOW)
    assert [r.channel for r in await due(store, NOW.timestamp(), 10, channel="slack")] == ["slack"]
    assert [r.channel for r in await due(store, NOW.timestamp(), 10, exclude_channels=["slack"])] == ["hook"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_next_due_after_skips_rows_already_due(store: Store) -> None:
    """`next_due_at(after=now)` names the next future retry, ignoring rows that are due (maybe in flight)."""
    await store.commit([Outgoing(notification(), (Destination("hook"), Destination("slack")))], [], [], NOW)
    hook, _slack = sorted(await due(store, NOW.timestamp(), 10), key=lambda r: r.channel)
    await settle(store, hook, PENDING, attempts=1, next_at=NOW.timestamp() + 30, error="HTTP 503", now=NOW)
    assert await store.next_due_at() == NOW.timestamp()
    assert await store.next_due_at(after=NOW.timestamp()) == NOW.timestamp() + 30


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_retry_re_enables_and_refreshes_waiting_rows(store: Store) -> None:
    """Re-queuing a disabled channel's dead row re-enables it and brings its other rows forward."""
    items = [Outgoing(notification(f"k{i}"), (Destination("hook"),)) for i in range(3)]
    await store.commit(items, [], [], NOW)
    first, second, _third = await due(store, NOW.timestamp(), 10)
    await settle(store, first, DEAD, next_at=NOW.timestamp(), error="HTTP 410", disable="HTTP 410", now=NOW)
    await settle(store, second, PENDING, next_at=NOW.timestamp() + 900, error="HTTP 503", now=NOW)
    later = datetime(2026, 11, 24, tzinfo=UTC)
    requeued = await store.retry(first.id, later)
    assert requeued is not None
    assert (requeued.channel, requeued.reenabled) == ("hook", True)
    assert await store.disabled_channels() == {}
    rows = await due(store, later.timestamp(), 10)
    assert len(rows) == 3
    assert {r.requeued_at for r in rows} == {later.timestamp()}
    assert [r.attempts for r in rows if r.id == first.id] == [0]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_retry_refuses_delivered_and_unknown_rows(store: Store) -> None:
    """A delivered row cannot be re-queued (that would send it twice), nor can a row that does not exist."""
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    [row] = await due(store, NOW.timestamp(), 10)
    await settle(store, row, DELIVERED, attempts=1, next_at=NOW.timestamp(), error=None, now=NOW)
    assert await store.retry(row.id, NOW) is None
    assert await store.retry(9999, NOW) is None


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_purge_keeps_the_key_so_a_replay_is_still_ignored(store: Store) -> None:
    """After purging a delivered notification, committing the same key again sends nothing."""
    item = Outgoing(notification(), (Destination("hook"),))
    await store.commit([item], [], [], NOW)
    [row] = await due(store, NOW.timestamp(), 10)
    await settle(store, row, DELIVERED, attempts=1, next_at=NOW.timestamp(), error=None, now=NOW)
    assert await store.purge([DELIVERED]) == 1
    assert await store.commit([item], [], [], NOW) == []
    assert await due(store, NOW.timestamp(), 10) == []


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_silence_counts_deliveries_not_whole_notifications(store: Store) -> None:
    """A silence holding back only the Slack target of a notification is counted once, and the row listed."""
    item = Outgoing(notification(), (Destination("hook"), Destination("slack", silenced_by="s1")))
    await store.commit([item], [], [], NOW)
    assert await store.silenced_counts() == {"s1": 1}
    assert [r.channel for r in await store.list_deliveries([SILENCED])] == ["slack"]
    assert [r.channel for r in await due(store, NOW.timestamp(), 10)] == ["hook"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_concurrent_transactions_do_not_interleave(store: Store) -> None:
    """An outcome written while an intake commit is under way neither commits nor rolls back part of it."""
    await store.commit([Outgoing(notification("first"), (Destination("hook"),))], [], [], NOW)
    [row] = await due(store, NOW.timestamp(), 10)
    alert = Alert("stalled", "47", "47||A", "firing", NOW, last_sent=NOW, sends=1)
    items = [Outgoing(notification(f"k{i}"), (Destination("hook"),)) for i in range(20)]
    broken = [*items, Outgoing(notification("bad"), (Destination("hook", recipients=(object(),)),))]  # type: ignore[arg-type]
    outcome = settle(store, row, DELIVERED, attempts=1, next_at=NOW.timestamp(), error=None, now=NOW)
    results = await asyncio.gather(store.commit(broken, [alert], [], NOW), outcome, return_exceptions=True)
    assert isinstance(results[0], TypeError)
    assert results[1] is None
    assert await store.load_alerts() == []
    assert ((await store.stats()).delivered, (await store.stats()).pending) == (1, 0)


async def test_a_file_from_before_the_new_columns_is_upgraded(tmp_path: Path) -> None:
    """A state file without `requeued_at`/`silenced_by` gains them on open, its silenced rows counted."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, channel TEXT NOT NULL, "
        "recipients TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, "
        "last_error TEXT, updated_at TEXT NOT NULL, UNIQUE (key, channel));"
        "INSERT INTO deliveries (key, channel, recipients, state, next_at, last_error, updated_at) "
        "VALUES ('k', 'slack', '[]', 'silenced', 0, 'silenced by abc123', '2026-01-01');"
    )
    old.commit()
    old.close()
    store = await SqliteStore.open(path)
    try:
        assert await store.silenced_counts() == {"abc123": 1}
    finally:
        await store.close()
