"""Per-channel lanes: disabled endpoints, circuit breakers, concurrency, rate limits and backlog caps."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from notifier.channels.base import HttpStatusError, TransportFailure
from notifier.config import SlackChannel
from notifier.dispatch.policy import RetrySettings
from notifier.models import Delivery
from notifier.runtime.clock import ManualClock
from notifier.store.records import DEAD, DELIVERED, PENDING, DeliveryOutcome, DeliveryRow
from notifier.store.sqlite.store import SqliteStore
from tests.support.dispatch import Scripted, advance_to, commit, dispatcher, lane, rows, settle_loop, until

DOWN = TransportFailure("connection", "refused")


async def test_410_disables_the_channel_and_its_other_rows_wait(store: SqliteStore, clock: ManualClock) -> None:
    """The 410 row is dead, the channel disabled, its other rows untouched; other channels still deliver."""
    hook, slack = Scripted("hook", [HttpStatusError(410)]), Scripted("slack")
    await commit(store, clock, "hook", "slack", count=3)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=1), "slack": lane(slack, clock)})
    await dispatch.flush()
    states = [(r.state, r.attempts) for r in await rows(store, "hook")]
    assert states == [(DEAD, 1), (PENDING, 0), (PENDING, 0)]
    assert await store.disabled_channels() == {"hook": "HTTP 410: the endpoint is gone"}
    assert len(slack.sent) == 3
    clock.advance(3600)
    await dispatch.flush()
    assert len(hook.sent) == 1


async def test_outbox_retry_from_another_process_re_enables(store: SqliteStore, clock: ManualClock) -> None:
    """`outbox retry` of the dead row (another connection, as the CLI is) brings the whole channel back."""
    hook = Scripted("hook", [HttpStatusError(410)])
    await commit(store, clock, "hook", count=3)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=1)})
    await dispatch.flush()
    [dead] = await store.list_deliveries([DEAD])
    cli = await store.open(store.path)
    try:
        requeued = await cli.retry(dead.id, clock.now())
    finally:
        await cli.close()
    assert requeued is not None
    assert requeued.reenabled
    await dispatch.flush()
    assert [r.state for r in await rows(store)] == [DELIVERED] * 3
    assert sorted(hook.keys()) == ["msg_1", "msg_1", "msg_2", "msg_3"]


async def test_410_racing_on_concurrent_sends_dead_letters_one_row(store: SqliteStore, clock: ManualClock) -> None:
    """When several sends in flight all get 410, one row takes the blame; the others wait with the rest."""
    gate = asyncio.Event()
    hook = Scripted("hook", [HttpStatusError(410)] * 3, gate=gate)
    await commit(store, clock, "hook", count=3)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=3)})
    await dispatch.dispatch_once()
    await until(lambda: hook.active == 3)
    gate.set()
    await dispatch.flush()
    assert sorted(r.state for r in await rows(store)) == [DEAD, PENDING, PENDING]


async def test_open_breaker_never_delays_other_channels(store: SqliteStore, clock: ManualClock) -> None:
    """A dead endpoint takes `threshold` attempts, then its rows wait untried while other channels deliver."""
    dead, alive = Scripted("dead", [DOWN] * 10), Scripted("alive")
    await commit(store, clock, "dead", "alive", count=6)
    lanes = {"dead": lane(dead, clock, concurrency=1, threshold=2), "alive": lane(alive, clock, concurrency=1)}
    await dispatcher(store, clock, lanes).flush()
    assert len(dead.sent) == 2
    assert [r.attempts for r in await rows(store, "dead")] == [1, 1, 0, 0, 0, 0]
    assert len(alive.sent) == 6


async def test_breaker_admits_one_trial_after_cooldown(store: SqliteStore, clock: ManualClock) -> None:
    """After each cooldown exactly one row is tried; a failed trial re-opens, a successful one lets all through."""
    hook = Scripted("hook", [DOWN, DOWN, DOWN])
    await commit(store, clock, "hook", count=4)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=2, threshold=2, cooldown=30)})
    await dispatch.flush()
    assert len(hook.sent) == 2
    clock.advance(29)
    await dispatch.flush()
    assert len(hook.sent) == 2
    clock.advance(1)
    await dispatch.flush()
    assert len(hook.sent) == 3
    clock.advance(30)
    await dispatch.flush()
    assert len(hook.sent) == 7
    assert [r.state for r in await rows(store)] == [DELIVERED] * 4


async def test_half_open_breaker_with_nothing_due_is_not_stuck(store: SqliteStore, clock: ManualClock) -> None:
    """A cooldown ending while the channel has nothing due still lets a trial through once a row is due."""
    hook = Scripted("hook", [DOWN])
    await commit(store, clock, "hook")
    lanes = {"hook": lane(hook, clock, threshold=1, cooldown=1)}
    dispatch = dispatcher(store, clock, lanes, retry=RetrySettings(base=100.0))
    await dispatch.flush()
    [row] = await rows(store)
    clock.advance(1)  # cooldown over, the retry not yet due
    assert clock.now().timestamp() < row.next_at
    await dispatch.flush()
    advance_to(clock, row.next_at)
    await dispatch.flush()
    assert [r.state for r in await rows(store)] == [DELIVERED]


async def test_concurrency_is_bounded_per_channel(store: SqliteStore, clock: ManualClock) -> None:
    """No more than `concurrency` sends of one channel are on the wire at once."""
    gate = asyncio.Event()
    hook = Scripted("hook", gate=gate)
    await commit(store, clock, "hook", count=6)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=2)})
    assert await dispatch.dispatch_once() == 6
    await until(lambda: hook.active == 2)
    await settle_loop()
    assert hook.active == 2
    gate.set()
    await dispatch.flush()
    assert (hook.max_active, len(hook.sent)) == (2, 6)


async def test_slack_is_paced_at_one_message_per_second(store: SqliteStore, clock: ManualClock) -> None:
    """With Slack's default rate limit, sends to one Slack channel are one second apart."""
    slack = Scripted("slack")
    slack.clock = clock
    rate = SlackChannel.model_validate({"type": "slack", "token": "xoxb-1", "channel": "#a"}).rate_limit
    await commit(store, clock, "slack", count=4)
    start = clock.now().timestamp()
    await dispatcher(store, clock, {"slack": lane(slack, clock, concurrency=4, rate=rate)}).flush()
    assert [t - start for t in slack.times] == [0.0, 1.0, 2.0, 3.0]


async def test_backlog_caps_what_a_slow_channel_holds(store: SqliteStore, clock: ManualClock) -> None:
    """A stalled channel holds at most its backlog of rows in memory; the rest stay in the outbox."""
    gate = asyncio.Event()
    slow = Scripted("slow", gate=gate)
    await commit(store, clock, "slow", count=10)
    dispatch = dispatcher(store, clock, {"slow": lane(slow, clock, concurrency=1, backlog=3)})
    assert await dispatch.dispatch_once() == 3
    assert await dispatch.dispatch_once() == 0
    gate.set()
    await dispatch.flush()
    assert len(slow.sent) == 10


async def test_a_stalled_channel_never_delays_another(store: SqliteStore, clock: ManualClock) -> None:
    """While one endpoint hangs with older rows queued, a second channel's rows are all delivered."""
    gate = asyncio.Event()
    stalled, fast = Scripted("stalled", gate=gate), Scripted("fast")
    await commit(store, clock, "stalled", count=200)
    await commit(store, clock, "fast", n=500, count=5)
    lanes = {"stalled": lane(stalled, clock, concurrency=2), "fast": lane(fast, clock)}
    dispatch = dispatcher(store, clock, lanes)
    runner = asyncio.create_task(dispatch.run())
    try:
        await until(lambda: len(fast.sent) == 5)
        assert stalled.active == 2
    finally:
        await dispatch.drain(0)
        runner.cancel()
    assert {r.state for r in await rows(store, "stalled")} == {PENDING}


class OneAtATime(Scripted):
    """Accepts a send each time the test gives it a turn."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.turns = asyncio.Semaphore(0)

    async def send(self, delivery: Delivery) -> None:
        await self.turns.acquire()
        self.sent.append(delivery)


async def test_a_busy_lane_is_refilled_in_batches(store: SqliteStore, clock: ManualClock) -> None:
    """Rows are claimed when the lane runs low on rows waiting for a slot, not once for every send that ends."""
    hook = OneAtATime("hook")
    await commit(store, clock, "hook", count=60)
    claims: list[int] = []
    recorded: list[DeliveryOutcome] = []
    real_claim, real_record = store.claim_due, store.record

    async def claim(*args: Any, **kwargs: Any) -> list[DeliveryRow]:
        found = await real_claim(*args, **kwargs)
        if kwargs.get("channel") == "hook" and found:
            claims.append(len(found))
        return found

    async def record(outcomes: Sequence[DeliveryOutcome], now: datetime) -> None:
        await real_record(outcomes, now)
        recorded.extend(outcomes)

    store.claim_due, store.record = claim, record  # type: ignore[method-assign]
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=2, backlog=20)})
    await dispatch.dispatch_once()
    for sent in range(1, 61):  # each send ends alone, and the dispatcher looks again after each, as `run` does
        hook.turns.release()
        await until(lambda: len(recorded) == sent and not dispatch._sends.get(recorded[-1].row_id))  # noqa: B023
        await dispatch.dispatch_once()
    await dispatch.drain(1.0)
    assert sum(claims) == 60
    assert len(claims) <= 1 + (60 - 20) // (20 // 2), claims  # a refill takes half a backlog's rows at once
