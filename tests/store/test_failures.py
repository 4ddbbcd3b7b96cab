"""What counts as a failing state store: the database and the file system, never a bug in our own code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier.ingest.marks import PollMark
from notifier.store.errors import StoreError
from notifier.store.sqlite import tracking
from notifier.store.sqlite.store import SqliteStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_value_error_from_our_own_code_is_raised_as_it_is(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ValueError raised while preparing a write is a bug: it surfaces, and the store is not called failing."""

    def broken(*_args: object) -> list[tuple[str, str, str, str]]:
        raise ValueError("a bug, not a disk")

    monkeypatch.setattr(tracking, "mark_rows", broken)
    with pytest.raises(ValueError, match="a bug, not a disk"):
        await store.save_poll_marks({"47": PollMark(NOW, NOW, {})})
    assert store.health.problem is None


async def test_a_closed_connection_is_a_store_failure(tmp_path: Path) -> None:
    """The ValueError aiosqlite raises for a closed connection is a failing store, waited out and reported."""
    store = await SqliteStore.open(tmp_path / "state.db")
    await store.close()
    with pytest.raises(StoreError, match="poll_marks"):
        await store.poll_marks()
    assert store.health.problem is not None


async def test_a_row_that_no_longer_decodes_is_a_store_failure(store: SqliteStore) -> None:
    """A damaged value in a row is reported as the store failing, with the operation that met it."""
    await store.save_poll_marks({"47": PollMark(NOW, NOW, {})})
    async with store.transaction() as db:
        await db.execute("UPDATE poll_marks SET locales = ?", (json.dumps([1, 2])[:-1],))
    with pytest.raises(StoreError, match="does not decode"):
        await store.poll_marks()
