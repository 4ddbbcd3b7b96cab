"""A real SQLite state store for tests, and what tests do to its rows: only what the `Store` operations do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notifier.models import Message, Notification
from notifier.store.location import StateLocation
from notifier.store.postgres.store import PostgresStore
from notifier.store.protocol import Store
from notifier.store.records import DEAD, DeliveryOutcome, DeliveryRow, DeliveryState, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BACKENDS = ("sqlite", "postgresql")  # `@pytest.mark.parametrize("store", BACKENDS, indirect=True)`: both stores
OWNER = "tests"


@asynccontextmanager
async def sqlite_store(path: Path) -> AsyncIterator[SqliteStore]:
    """The SQLite store in the file at `path`, closed afterwards (as a second process would open it)."""
    store = await SqliteStore.open(path)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def postgres_store(location: StateLocation, *, member_ttl: float = 15.0) -> AsyncIterator[PostgresStore]:
    """The PostgreSQL store in the database at `location`, closed afterwards (one replica's view of it)."""
    store = await PostgresStore.open(location, member_ttl=member_ttl)
    try:
        yield store
    finally:
        await store.close()


def notification(key: str = "msg_1", title: str = "Job A failed") -> Notification:
    """A failed-publish notification in Japanese for company 47."""
    return Notification(
        key=key,
        rule="failed-publish",
        severity="critical",
        status="firing",
        event_kind="job.failed",
        created_at=NOW,
        company={"handle": "47", "name": "Planetary"},
        job={"job_handle": "47||A", "locale": "ja-JP"},
        log=None,
        message=Message("ja-JP", title, "本文", "<p>本文</p>", (("会社", "Planetary"),)),
        details=("ファイルが見つかりません",),
    )


async def due(store: Store, now: float, limit: int = 100, **filters: Any) -> list[DeliveryRow]:
    """The rows due at `now`, as a dispatcher claims them, released again so that the next look sees them too."""
    rows = await store.claim_due(OWNER, now, limit, lease=60.0, **filters)
    await store.release(OWNER, [row.id for row in rows])
    return rows


async def disable_channel(store: Store, channel: str, reason: str, now: datetime) -> None:
    """Leave `channel` disabled as its endpoint's final answer (a 410) does: on the dead row of a delivery."""
    probe = replace(notification(f"probe-{channel}"), created_at=now)
    await store.commit([Outgoing(probe, (Destination(channel),))], [], [], now)
    [row] = await due(store, now.timestamp(), channel=channel)
    await settle(store, row, DEAD, now=now, error=reason, disable=reason)


async def settle(
    store: Store,
    row: DeliveryRow,
    state: DeliveryState,
    *,
    now: datetime,
    attempts: int = 1,
    next_at: float | None = None,
    error: str | None = None,
    disable: str | None = None,
) -> None:
    """Record one attempt's outcome for `row` as the dispatcher does (`disable` also disables its channel)."""
    at = now.timestamp() if next_at is None else next_at
    await store.record([DeliveryOutcome(row.id, row.channel, state, attempts, at, error, disable)], now)
