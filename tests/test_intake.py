"""The intake: events in, notifications committed; neither a rendering bug nor a failing store loses one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from notifier.clock import ManualClock
from notifier.engine.evaluate import Engine
from notifier.intake import Intake
from notifier.models import Event
from notifier.render import Renderer
from notifier.store.sqlite import PENDING, SqliteStore
from tests.engine.support import T0, RulesFactory, ended, make_rules

__all__ = ["make_rules"]  # the fixture

FAILED = "- name: failed\n  on: job.failed\n  description: A job failed\n  notify: [{channel: downstream}]\n"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "state.db")
    yield opened
    await opened.close()


def intake(store: SqliteStore, make_rules: RulesFactory, renderer: Renderer, **kw: Any) -> Intake:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    return Intake(queue, Engine(make_rules(FAILED)), renderer, store, ManualClock(T0), **kw)


class BrokenRenderer(Renderer):
    def render(self, *args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in rendering")


async def test_a_rendering_bug_sends_a_plain_message_instead_of_nothing(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """When rendering itself raises, the notification is still committed, with a plain untemplated message."""
    [key] = await intake(store, make_rules, BrokenRenderer()).process([ended("job.failed", 1, fatal_error=True)])
    [row] = await store.list_deliveries([PENDING])
    assert row.notification.key == key
    assert row.notification.message.title == "A job failed Spring catalog"
    assert "job.failed" in row.notification.message.text


async def test_a_failing_store_is_retried_until_it_takes_the_batch(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails (disk full, a lock) is retried with backoff; the batch is committed, not dropped."""
    real_commit = store.commit
    failures = [OSError("disk full"), OSError("database is locked")]

    async def flaky_commit(*args: Any) -> list[str]:
        if failures:
            raise failures.pop(0)
        return await real_commit(*args)

    monkeypatch.setattr(store, "commit", flaky_commit)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    taker = intake(store, make_rules, Renderer(), sleep=sleep)
    new = await taker.process([ended("job.failed", 1, fatal_error=True)])
    assert len(new) == 1
    assert waits == [1.0, 2.0]
    assert len(await store.list_deliveries([PENDING])) == 1
