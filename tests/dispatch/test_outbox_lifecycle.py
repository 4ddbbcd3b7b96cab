"""The dispatcher's life: waking on commits, idling without spinning, draining, restarts and new lanes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from notifier.channels.webhook import WebhookSender
from notifier.config import WebhookChannel
from notifier.runtime.clock import ManualClock
from notifier.store.records import DELIVERED, PENDING, DeliveryRow
from notifier.store.sqlite.store import SqliteStore
from tests.support.dispatch import (
    SECRET,
    Scripted,
    advance_to,
    commit,
    dispatcher,
    lane,
    rows,
    settle_loop,
    until,
)
from tests.support.receiver import Receiver, Reply
from tests.support.store import sqlite_store


async def test_run_wakes_when_told_of_a_commit(store: SqliteStore, clock: ManualClock) -> None:
    """A notification committed while the dispatcher idles goes out as soon as `wake` is called."""
    hook = Scripted("hook")
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock)})
    runner = asyncio.create_task(dispatch.run())
    try:
        await settle_loop()
        await commit(store, clock, "hook")
        dispatch.wake()
        await until(lambda: len(hook.sent) == 1)
    finally:
        await dispatch.drain(1.0)
        runner.cancel()
    assert [r.state for r in await rows(store)] == [DELIVERED]


async def test_idle_loop_does_not_spin_while_a_send_is_in_flight(store: SqliteStore, clock: ManualClock) -> None:
    """With every due row already in flight the loop waits, rather than querying the outbox over and over."""
    gate = asyncio.Event()
    hook = Scripted("hook", gate=gate)
    await commit(store, clock, "hook")
    queries = 0
    real_claim = store.claim_due

    async def counting_claims(*args: Any, **kwargs: Any) -> list[DeliveryRow]:
        nonlocal queries
        queries += 1
        return await real_claim(*args, **kwargs)

    store.claim_due = counting_claims  # type: ignore[method-assign]
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock)})
    runner = asyncio.create_task(dispatch.run())
    try:
        await until(lambda: hook.active == 1)
        before = queries
        await asyncio.sleep(0.2)  # measuring that nothing happens takes a (short) while
        assert queries - before <= 2
    finally:
        gate.set()
        await dispatch.drain(1.0)
        runner.cancel()


async def test_drain_leaves_cut_off_sends_pending(store: SqliteStore, clock: ManualClock) -> None:
    """Sends still on the wire when the grace ends are cancelled and stay pending, attempts not counted."""
    hook = Scripted("hook", gate=asyncio.Event())
    await commit(store, clock, "hook", count=5)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=2)})
    await dispatch.dispatch_once()
    await until(lambda: hook.active == 2)
    assert await dispatch.drain(0) == 2
    assert [(r.state, r.attempts) for r in await rows(store)] == [(PENDING, 0)] * 5
    assert await dispatch.dispatch_once() == 0


async def test_drain_waits_for_sends_that_finish_within_grace(store: SqliteStore, clock: ManualClock) -> None:
    """A send answered during the grace period is recorded; rows that never started are left for later."""
    gate = asyncio.Event()
    hook = Scripted("hook", gate=gate)
    await commit(store, clock, "hook", count=3)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=1)})
    await dispatch.dispatch_once()
    await until(lambda: hook.active == 1)
    asyncio.get_running_loop().call_soon(gate.set)
    assert await dispatch.drain(30.0) == 0
    assert [r.state for r in await rows(store)] == [DELIVERED, PENDING, PENDING]
    assert len(hook.sent) == 1


async def test_restart_picks_up_pending_rows(tmp_path: Path, clock: ManualClock) -> None:
    """Rows left pending by a stopped dispatcher are delivered by the next one on a reopened file."""
    path = tmp_path / "restarted.db"
    async with sqlite_store(path) as store:
        await commit(store, clock, "hook", count=4)
        first = dispatcher(store, clock, {"hook": lane(Scripted("hook", gate=asyncio.Event()), clock, concurrency=1)})
        await first.dispatch_once()
        await first.drain(0)
    async with sqlite_store(path) as reopened:
        hook = Scripted("hook")
        await dispatcher(reopened, clock, {"hook": lane(hook, clock)}).flush()
        assert sorted(hook.keys()) == ["msg_1", "msg_2", "msg_3", "msg_4"]
        assert [r.state for r in await rows(reopened)] == [DELIVERED] * 4


async def test_webhook_id_and_body_survive_a_restart(
    store: SqliteStore, clock: ManualClock, receiver: Receiver
) -> None:
    """The retry after a restart carries the same webhook-id and bytes as the attempt before it."""
    receiver.script("/hook", Reply(503))
    config = WebhookChannel.model_validate({"type": "webhook", "url": receiver.url(), "secret": SECRET})
    await commit(store, clock, "hook")
    async with aiohttp.ClientSession() as session:
        await dispatcher(store, clock, {"hook": lane(WebhookSender("hook", config, session), clock)}).flush()
    [row] = await rows(store)
    advance_to(clock, row.next_at)
    async with aiohttp.ClientSession() as session:
        await dispatcher(store, clock, {"hook": lane(WebhookSender("hook", config, session), clock)}).flush()
    first, second = receiver.requests
    (first_headers, first_body), (second_headers, second_body) = (
        (first.headers, first.body),
        (second.headers, second.body),
    )
    assert first_headers["webhook-id"] == second_headers["webhook-id"] == "msg_1"
    assert first_body == second_body
    Webhook(SECRET).verify(second_body, second_headers)


async def test_replaced_lanes_take_over_and_old_channels_close(store: SqliteStore, clock: ManualClock) -> None:
    """After a reload rows waiting on the old lane go out through the new one, and the old channel is closed."""
    gate = asyncio.Event()
    old = Scripted("hook", gate=gate)
    await commit(store, clock, "hook", count=3)
    dispatch = dispatcher(store, clock, {"hook": lane(old, clock, concurrency=1)})
    await dispatch.dispatch_once()
    await until(lambda: old.active == 1)
    new = Scripted("hook")
    replacing = asyncio.create_task(dispatch.replace_lanes({"hook": lane(new, clock)}))
    await settle_loop()
    gate.set()
    await replacing
    await dispatch.flush()
    assert (old.keys(), sorted(new.keys())) == (["msg_1"], ["msg_2", "msg_3"])
    assert old.closed
    assert [r.state for r in await rows(store)] == [DELIVERED] * 3
