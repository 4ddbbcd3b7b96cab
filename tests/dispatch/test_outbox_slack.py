"""Slack through the dispatcher: the real slack-sdk against a Slack-compatible server, outcomes judged by our policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.channels.slack import SlackSender
from notifier.config import SlackChannel
from notifier.runtime.clock import ManualClock
from notifier.store.records import DEAD, DELIVERED, PENDING
from notifier.store.sqlite.store import SqliteStore
from tests.support.dispatch import SETTINGS, at, commit, dispatcher, lane, rows

Reply = tuple[int, dict[str, Any], dict[str, str]]


class FakeSlack:
    """chat.postMessage answering from `replies`, then ok; counts every request it receives."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests = 0

    async def post_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        await request.read()
        status, body, headers = self.replies.pop(0) if self.replies else (200, {"ok": True, "ts": "1.1"}, {})
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", fake.post_message)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/api/"))
    await server.close()


async def deliver_once(store: SqliteStore, clock: ManualClock, api_url: str) -> None:
    config = SlackChannel.model_validate({"type": "slack", "token": "xoxb-1", "channel": "#a", "api_url": api_url})
    async with aiohttp.ClientSession() as session:
        channel = SlackSender("slack", config, session)
        await dispatcher(store, clock, {"slack": lane(channel, clock)}).flush()


async def test_429_is_rescheduled_by_our_policy(
    slack: tuple[FakeSlack, str], store: SqliteStore, clock: ManualClock
) -> None:
    """Slack's 429 is one request (the SDK does not sleep and retry) and a row due after its Retry-After."""
    fake, api_url = slack
    fake.replies.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    await commit(store, clock, "slack")
    await deliver_once(store, clock, api_url)
    [row] = await rows(store)
    assert (fake.requests, row.state, row.last_error) == (1, PENDING, "Slack ratelimited (HTTP 429)")
    assert at(clock, 30) <= row.next_at <= at(clock, 30 + SETTINGS.base)


@pytest.mark.parametrize(
    ("error", "state", "disabled"),
    [("channel_not_found", DEAD, False), ("invalid_auth", DEAD, True), ("ratelimited", PENDING, False)],
)
async def test_ok_false_is_classified(
    slack: tuple[FakeSlack, str], store: SqliteStore, clock: ManualClock, error: str, state: str, disabled: bool
) -> None:
    """ok:false on HTTP 200: a missing channel is dead, a bad token dead and disables Slack, ratelimited retries."""
    fake, api_url = slack
    fake.replies.append((200, {"ok": False, "error": error}, {}))
    await commit(store, clock, "slack")
    await deliver_once(store, clock, api_url)
    [row] = await rows(store)
    assert (row.state, row.last_error) == (state, f"Slack {error} (HTTP 200)")
    assert ("slack" in await store.disabled_channels()) is disabled


async def test_accepted_message_is_delivered(
    slack: tuple[FakeSlack, str], store: SqliteStore, clock: ManualClock
) -> None:
    """ok:true marks the Slack row delivered after exactly one request."""
    fake, api_url = slack
    await commit(store, clock, "slack")
    await deliver_once(store, clock, api_url)
    assert (fake.requests, [r.state for r in await rows(store)]) == (1, [DELIVERED])
