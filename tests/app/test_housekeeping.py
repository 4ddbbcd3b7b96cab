"""Housekeeping keeps state small over months: repeat windows forgotten each minute, old deliveries each hour."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from notifier.app.housekeeping import Housekeeping
from notifier.engine.evaluate import Engine
from notifier.runtime.clock import ManualClock
from notifier.store.records import DELIVERED, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.engine import RulesFactory, ended
from tests.support.store import NOW, due, notification, settle

REPEATING = "- name: failed\n  on: job.failed\n  repeat: 10m\n  notify: [{channel: console}]\n"


async def test_each_minute_prunes_and_each_hour_forgets_old_deliveries(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """After a minute the expired repeat window is gone; after an hour so is a delivery older than retention."""
    old = NOW - timedelta(days=40)
    await store.commit([Outgoing(replace(notification(), created_at=old), (Destination("hook"),))], [], [], old)
    [row] = await due(store, old.timestamp())
    await settle(store, row, DELIVERED, now=old)
    engine = Engine(make_rules(REPEATING))
    engine.evaluate(ended("job.failed", 1))
    assert len(engine.alerts) == 1
    clock = ManualClock(NOW)
    minutes = 0

    async def a_minute(seconds: float) -> None:
        nonlocal minutes
        minutes += 1
        clock.advance(seconds)
        if minutes == 1:
            return
        if minutes > 60:
            raise asyncio.CancelledError

    keeper = Housekeeping(engine, store, clock, lambda: 30 * 86400.0, sleep=a_minute)
    with pytest.raises(asyncio.CancelledError):
        await keeper.run()
    assert len(engine.alerts) == 0
    assert (await store.stats()).delivered == 0
