"""Fixtures for dispatcher tests: a manual clock and a real SQLite state file in the test's directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier.runtime.clock import ManualClock
from notifier.store.sqlite.store import SqliteStore
from tests.dispatch.support import start_clock


@pytest.fixture
def clock() -> ManualClock:
    return start_clock()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "state.db")
    yield opened
    await opened.close()
