"""The dispatcher over a real state file and a manual clock: independent targets, retries, dead letters."""

from __future__ import annotations

import random
import ssl
from datetime import timedelta
from email.utils import format_datetime

import aiohttp
import trustme
from standardwebhooks.webhooks import Webhook

from notifier.channels.base import HttpStatusError, SmtpReplyError, TransportFailure
from notifier.channels.webhook import WebhookSender, webhook_body
from notifier.config import WebhookChannel
from notifier.dispatch.policy import RetrySettings, backoff
from notifier.runtime.clock import ManualClock
from notifier.store.records import DEAD, DELIVERED, PENDING
from notifier.store.sqlite.store import SqliteStore
from tests.support.dispatch import (
    SECRET,
    SETTINGS,
    Scripted,
    advance_to,
    at,
    commit,
    dispatcher,
    lane,
    notification,
    rows,
)
from tests.support.receiver import Receiver, Reply, serving


def webhook(url: str, session: aiohttp.ClientSession) -> WebhookSender:
    """A real webhook channel; it stamps wall-clock time, as receivers check freshness against theirs."""
    config = WebhookChannel.model_validate({"type": "webhook", "url": url, "secret": SECRET})
    return WebhookSender("hook", config, session)


async def test_each_target_succeeds_or_retries_on_its_own(store: SqliteStore, clock: ManualClock) -> None:
    """Slack accepting never marks the failing webhook delivered: each target keeps its own state."""
    slack, hook = Scripted("slack"), Scripted("hook", [HttpStatusError(503)])
    await commit(store, clock, "slack", "hook")
    await dispatcher(store, clock, {"slack": lane(slack, clock), "hook": lane(hook, clock)}).flush()
    [slack_row] = await rows(store, "slack")
    [hook_row] = await rows(store, "hook")
    assert (slack_row.state, slack_row.attempts) == (DELIVERED, 1)
    assert (hook_row.state, hook_row.attempts, hook_row.last_error) == (PENDING, 1, "HTTP 503")
    assert hook_row.next_at > clock.now().timestamp()


async def test_retry_waits_for_its_full_jitter_backoff(store: SqliteStore, clock: ManualClock) -> None:
    """A failed row is scheduled exactly the seeded full-jitter delay ahead and not attempted before it."""
    hook = Scripted("hook", [TransportFailure("connection", "refused"), TransportFailure("timeout", "slow")])
    await commit(store, clock, "hook")
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock)})
    await dispatch.flush()
    expected = backoff(1, rng=random.Random(7), settings=SETTINGS)
    [row] = await rows(store)
    assert row.next_at == at(clock, expected)
    clock.advance(expected - 0.001)
    await dispatch.flush()
    assert len(hook.sent) == 1
    clock.advance(0.001)
    await dispatch.flush()
    assert [d.attempt for d in hook.sent] == [1, 2]
    [row] = await rows(store)
    assert (row.attempts, row.last_error) == (2, "timeout: slow")


async def test_backoff_windows_grow_with_attempts(store: SqliteStore, clock: ManualClock) -> None:
    """Successive retries are drawn from windows doubling from `base`, each within its own window."""
    hook = Scripted("hook", [HttpStatusError(500)] * 4)
    await commit(store, clock, "hook")
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock)}, retry=RetrySettings(base=10.0, max_attempts=9))
    delays = []
    for _ in range(4):
        before = clock.now().timestamp()
        await dispatch.flush()
        [row] = await rows(store)
        delays.append(row.next_at - before)
        advance_to(clock, row.next_at)
    assert [d <= 10.0 * 2**i for i, d in enumerate(delays)] == [True] * 4
    assert len(hook.sent) == 4


async def test_retry_after_seconds_sets_next_at(store: SqliteStore, clock: ManualClock, receiver: Receiver) -> None:
    """A webhook's 503 with `Retry-After: 120` schedules the next attempt 120 s (plus ≤ base jitter) later."""
    receiver.script("/hook", Reply(503, {"Retry-After": "120"}))
    async with aiohttp.ClientSession() as session:
        channel = webhook(receiver.url(), session)
        await commit(store, clock, "hook")
        await dispatcher(store, clock, {"hook": lane(channel, clock)}).flush()
    [row] = await rows(store)
    assert row.state == PENDING
    assert at(clock, 120) <= row.next_at <= at(clock, 120 + SETTINGS.base)


async def test_retry_after_http_date_sets_next_at(store: SqliteStore, clock: ManualClock, receiver: Receiver) -> None:
    """A 429 with an HTTP-date Retry-After is measured against the dispatcher's clock."""
    when = format_datetime(clock.now() + timedelta(seconds=90), usegmt=True)
    receiver.script("/hook", Reply(429, {"Retry-After": when}))
    async with aiohttp.ClientSession() as session:
        channel = webhook(receiver.url(), session)
        await commit(store, clock, "hook")
        await dispatcher(store, clock, {"hook": lane(channel, clock)}).flush()
    [row] = await rows(store)
    assert at(clock, 90) <= row.next_at <= at(clock, 90 + SETTINGS.base)


async def test_retries_carry_the_same_webhook_id_and_body(
    store: SqliteStore, clock: ManualClock, receiver: Receiver
) -> None:
    """Every attempt of one notification has the same webhook-id and bytes, and each verifies."""
    receiver.script("/hook", Reply(500), Reply(502))
    async with aiohttp.ClientSession() as session:
        channel = webhook(receiver.url(), session)
        await commit(store, clock, "hook")
        dispatch = dispatcher(store, clock, {"hook": lane(channel, clock)})
        for _ in range(3):
            await dispatch.flush()
            clock.advance(SETTINGS.cap)
    assert len(receiver.requests) == 3
    assert {seen.headers["webhook-id"] for seen in receiver.requests} == {"msg_1"}
    assert {seen.body for seen in receiver.requests} == {webhook_body(notification(1))}
    for seen in receiver.requests:
        Webhook(SECRET).verify(seen.body, seen.headers)
    assert [r.state for r in await rows(store)] == [DELIVERED]


async def test_permanent_failure_is_kept_as_a_dead_letter(store: SqliteStore, clock: ManualClock) -> None:
    """An SMTP 550 is dead after one attempt, kept with its reason, and never attempted again."""
    mail = Scripted("mail", [SmtpReplyError(550, "no such user")])
    await commit(store, clock, "mail")
    dispatch = dispatcher(store, clock, {"mail": lane(mail, clock)})
    await dispatch.flush()
    clock.advance(SETTINGS.cap * 10)
    await dispatch.flush()
    [row] = await store.list_deliveries([DEAD])
    assert (row.attempts, row.last_error, row.notification) == (1, "SMTP 550 no such user", notification(1))
    assert len(mail.sent) == 1


async def test_a_receiver_answering_errors_while_it_deploys_gets_the_delivery_after(
    store: SqliteStore, clock: ManualClock, receiver: Receiver
) -> None:
    """404, 401, a redirect and a 413 during a receiver's deploy are retried on the schedule, the redirect never
    followed; then the same webhook-id is delivered."""
    receiver.script("/hook", Reply(404), Reply(401), Reply(302, {"Location": "/elsewhere"}), Reply(413))
    async with aiohttp.ClientSession() as session:
        channel = webhook(receiver.url(), session)
        await commit(store, clock, "hook")
        dispatch = dispatcher(store, clock, {"hook": lane(channel, clock)})
        for _ in range(5):
            await dispatch.flush()
            clock.advance(SETTINGS.cap)
    assert [(r.state, r.attempts) for r in await rows(store)] == [(DELIVERED, 5)]
    assert [seen.headers["webhook-id"] for seen in receiver.requests] == ["msg_1"] * 5
    assert receiver.hits("/elsewhere") == 0


async def test_a_certificate_that_fails_verification_is_retried_until_it_is_fixed(
    store: SqliteStore, clock: ManualClock
) -> None:
    """A receiver whose certificate does not verify (an expired one, say) is retried over TLS only, never over
    plaintext; once it serves a valid certificate the delivery goes through."""
    trusted, stranger = trustme.CA(), trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    stranger.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    trusted.configure_trust(client_tls)
    async with (
        serving(Receiver(), tls=server_tls) as receiver,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as session,
    ):
        channel = webhook(receiver.url(), session)
        await commit(store, clock, "hook")
        dispatch = dispatcher(store, clock, {"hook": lane(channel, clock)})
        await dispatch.flush()
        [row] = await rows(store)
        assert (row.state, row.attempts) == (PENDING, 1)
        assert row.last_error is not None
        assert row.last_error.startswith("TLS failure: ")
        trusted.issue_cert("127.0.0.1").configure_cert(server_tls)  # the operator renews the certificate
        clock.advance(SETTINGS.cap)
        await dispatch.flush()
    assert [(r.state, r.attempts) for r in await rows(store)] == [(DELIVERED, 2)]
    assert len(receiver.requests) == 1


async def test_transient_failures_give_up_after_max_attempts(store: SqliteStore, clock: ManualClock) -> None:
    """A receiver failing every time is dead-lettered on the last allowed attempt, with the reason kept."""
    hook = Scripted("hook", [HttpStatusError(503)] * SETTINGS.max_attempts)
    await commit(store, clock, "hook")
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, threshold=100)})
    for _ in range(SETTINGS.max_attempts + 2):
        await dispatch.flush()
        clock.advance(SETTINGS.cap)
    [row] = await rows(store)
    assert (row.state, row.attempts) == (DEAD, SETTINGS.max_attempts)
    assert row.last_error is not None
    assert row.last_error.startswith("HTTP 503; gave up after 5 attempts")


async def test_row_for_an_unconfigured_channel_is_dead_lettered(store: SqliteStore, clock: ManualClock) -> None:
    """A row whose channel is gone from the config is dead-lettered with a reason; the others go out."""
    hook = Scripted("hook")
    await commit(store, clock, "hook", "gone")
    await dispatcher(store, clock, {"hook": lane(hook, clock)}).flush()
    [gone] = await rows(store, "gone")
    assert (gone.state, gone.attempts) == (DEAD, 0)
    assert gone.last_error is not None
    assert "'gone' is not configured" in gone.last_error
    assert [r.state for r in await rows(store, "hook")] == [DELIVERED]


async def test_requeued_row_of_a_now_configured_channel_is_sent(store: SqliteStore, clock: ManualClock) -> None:
    """After the channel is configured again, `outbox retry` of its dead row delivers it."""
    await commit(store, clock, "later")
    await dispatcher(store, clock, {}).flush()
    [row] = await rows(store)
    assert await store.retry(row.id, clock.now())
    later = Scripted("later")
    await dispatcher(store, clock, {"later": lane(later, clock)}).flush()
    assert later.keys() == ["msg_1"]
    assert [r.state for r in await rows(store)] == [DELIVERED]


async def test_a_channel_bug_is_retried_a_few_times_not_in_a_loop(store: SqliteStore, clock: ManualClock) -> None:
    """A channel raising something unexpected is an unclassified failure: rescheduled, then dead."""
    hook = Scripted("hook", [RuntimeError("bug")] * 5)
    await commit(store, clock, "hook")
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, threshold=100)})
    await dispatch.flush()
    [row] = await rows(store)
    assert (row.state, row.attempts, row.last_error) == (
        PENDING,
        1,
        "unclassified failure: unexpected RuntimeError in channel",
    )
    assert row.next_at > clock.now().timestamp()
    for _ in range(SETTINGS.max_unknown_attempts):
        clock.advance(SETTINGS.cap)
        await dispatch.flush()
    assert [(r.state, r.attempts) for r in await rows(store)] == [(DEAD, SETTINGS.max_unknown_attempts)]


async def test_age_limit_counts_from_an_operator_requeue(store: SqliteStore, clock: ManualClock) -> None:
    """A row re-queued by hand long after creation gets retries again instead of dying on its first failure."""
    hook = Scripted("hook", [SmtpReplyError(550, "no such user"), HttpStatusError(503)])
    await commit(store, clock, "hook")
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock)})
    await dispatch.flush()
    clock.advance(3 * 86400)
    [row] = await rows(store)
    await store.retry(row.id, clock.now())
    await dispatch.flush()
    [row] = await rows(store)
    assert (row.state, row.attempts, row.last_error) == (PENDING, 1, "HTTP 503")


async def test_outcomes_are_committed_before_rows_are_forgotten(store: SqliteStore, clock: ManualClock) -> None:
    """Once flush returns, every outcome is in the file: a second connection sees the rows delivered."""
    hook = Scripted("hook")
    await commit(store, clock, "hook", count=20)
    await dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=8)}).flush()
    other = await SqliteStore.open(store.path)
    try:
        assert (await other.stats()).delivered == 20
    finally:
        await other.close()
    assert sorted(hook.keys()) == sorted(f"msg_{i}" for i in range(1, 21))


async def test_a_row_is_never_started_twice(store: SqliteStore, clock: ManualClock) -> None:
    """Repeated passes while sends complete never hand the same row to a channel twice."""
    hook = Scripted("hook")
    await commit(store, clock, "hook", count=30)
    dispatch = dispatcher(store, clock, {"hook": lane(hook, clock, concurrency=3, backlog=5)})
    for _ in range(40):
        await dispatch.dispatch_once()
    await dispatch.flush()
    assert sorted(hook.keys()) == sorted(f"msg_{i}" for i in range(1, 31))
