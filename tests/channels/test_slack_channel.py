"""Slack through the real slack-sdk against Slack-compatible fakes on 127.0.0.1 (Web API and incoming webhook)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.channels.base import ConfigurationError, SlackApiError, TransportFailure
from notifier.channels.slack import MAX_BLOCKS, SlackSender, blocks, escape, truncate
from notifier.config import SlackChannel
from notifier.models import Delivery, Message
from tests.support.channels import sample_delivery, sample_notification

TOKEN = "xoxb-test-token-123"
HOOK_PATH = "/services/T000/B000/s3cr3tw3bh00k"


@dataclass
class FakeSlack:
    """Answers like Slack; `replies` are consumed in order, then every call succeeds."""

    replies: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    hold: asyncio.Event | None = None

    def next_reply(self, ok: Any) -> tuple[int, Any, dict[str, str]]:
        return self.replies.pop(0) if self.replies else (200, ok, {})


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, TestServer]]:
    fake = FakeSlack()

    async def post_message(request: web.Request) -> web.Response:
        fake.raw.append(await request.read())
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        fake.calls.append(await request.json())
        if fake.hold is not None:
            await fake.hold.wait()
        status, body, headers = fake.next_reply({"ok": True, "channel": "C1", "ts": "1.2"})
        return web.json_response(body, status=status, headers=headers)

    async def incoming_webhook(request: web.Request) -> web.Response:
        fake.raw.append(await request.read())
        fake.calls.append(await request.json())
        status, body, headers = fake.next_reply("ok")
        return web.Response(status=status, text=body, headers=headers)

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    app.router.add_post(HOOK_PATH, incoming_webhook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, server
    if fake.hold is not None:
        fake.hold.set()
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def api_sender(server: TestServer, session: aiohttp.ClientSession | None, token: str = TOKEN, **kw: Any) -> SlackSender:
    config = SlackChannel.model_validate(
        {"type": "slack", "token": token, "channel": "#dmc-alerts", "api_url": str(server.make_url("/api/")), **kw}
    )
    return SlackSender("ops-slack", config, session)


def hook_sender(server: TestServer, session: aiohttp.ClientSession) -> SlackSender:
    config = SlackChannel.model_validate({"type": "slack", "webhook_url": str(server.make_url(HOOK_PATH))})
    return SlackSender("team-hook", config, session)


async def test_post_message(slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession) -> None:
    """chat.postMessage is called with the bearer token, the configured channel, fallback text and blocks."""
    await api_sender(slack[1], session).send(sample_delivery())
    call = slack[0].calls[0]
    assert call["channel"] == "#dmc-alerts"
    assert sample_notification().message.title in call["text"]
    assert call["blocks"][0]["type"] == "header"


async def test_job_data_cannot_mention_or_link(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """`<!channel>`, `<!here>` and `<url|text>` from job data arrive escaped, nowhere raw."""
    await api_sender(slack[1], session).send(sample_delivery())
    raw = json.dumps(slack[0].calls[0], ensure_ascii=False)
    assert "&lt;!channel&gt;" in raw
    assert "&lt;!here&gt;" in raw
    assert "&lt;https://evil.example|click&gt;" in raw
    assert "<!channel>" not in raw
    assert "<!here>" not in raw
    assert "<https://" not in raw


async def test_ok_false_raises_with_the_error_code(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """A 200 with ok:false becomes SlackApiError carrying Slack's error code."""
    slack[0].replies.append((200, {"ok": False, "error": "channel_not_found"}, {}))
    with pytest.raises(SlackApiError) as caught:
        await api_sender(slack[1], session).send(sample_delivery())
    assert (caught.value.error, caught.value.status) == ("channel_not_found", 200)


async def test_rate_limit_is_not_retried_by_the_sdk(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """HTTP 429 surfaces at once as `ratelimited` with Retry-After; the SDK makes no second request."""
    slack[0].replies.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    with pytest.raises(SlackApiError) as caught:
        await api_sender(slack[1], session).send(sample_delivery())
    assert (caught.value.error, caught.value.status, caught.value.retry_after) == ("ratelimited", 429, "30")
    assert len(slack[0].calls) == 1


async def test_bad_token_is_reported_without_the_token(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """A wrong token is `invalid_auth`, and neither token appears in the error."""
    with pytest.raises(SlackApiError) as caught:
        await api_sender(slack[1], session, token="xoxb-wrong-token").send(sample_delivery())
    assert caught.value.error == "invalid_auth"
    assert "xoxb" not in str(caught.value)


async def test_non_json_server_error(slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession) -> None:
    """A proxy's 503 page becomes an http_503 error with the status, for the policy to retry."""
    slack[0].replies.append((503, {"message": "upstream unavailable"}, {}))
    with pytest.raises(SlackApiError) as caught:
        await api_sender(slack[1], session).send(sample_delivery())
    assert (caught.value.error, caught.value.status) == ("http_503", 503)


async def test_timeout(slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession) -> None:
    """A Slack API slower than the channel timeout is a timeout failure."""
    slack[0].hold = asyncio.Event()
    with pytest.raises(TransportFailure) as caught:
        await api_sender(slack[1], session, timeout=0.2).send(sample_delivery())
    assert caught.value.kind == "timeout"


async def test_own_session_is_closed(slack: tuple[FakeSlack, TestServer]) -> None:
    """Without a shared session the channel opens one and `close` releases it (no unclosed-session warning)."""
    sender = api_sender(slack[1], None)
    await sender.send(sample_delivery())
    await sender.send(sample_delivery())
    await sender.close()
    assert len(slack[0].calls) == 2


async def test_huge_message_stays_within_block_kit_limits(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """A huge text, title and field list is cut to ≤ 50 blocks, ≤ 3000-char sections and a ≤ 150-char header."""
    message = Message(
        locale="en-US",
        title="T" * 500,
        text="<!channel> " * 2000,
        fields=tuple((f"label {i}", "v" * 3000) for i in range(700)),
    )
    await api_sender(slack[1], session).send(sample_delivery(message=message, details=("x" * 5000,) * 3))
    sent = slack[0].calls[0]["blocks"]
    assert len(sent) <= MAX_BLOCKS
    assert len(sent[0]["text"]["text"]) <= 150
    assert sent[0]["text"]["text"].endswith("…")
    for block in sent:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for item in block.get("fields", []):
            assert len(item["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
    assert sent[-1]["type"] == "context"


async def test_incoming_webhook(slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession) -> None:
    """An incoming webhook gets the same escaped text and blocks."""
    await hook_sender(slack[1], session).send(sample_delivery())
    call = slack[0].calls[0]
    assert call["blocks"][0]["type"] == "header"
    assert "&lt;!channel&gt;" in call["text"]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (404, "no_service", {}, "no_service"),
        (403, "invalid_token", {}, "invalid_token"),
        (410, "channel_is_archived", {}, "channel_is_archived"),
        (429, "rate_limited", {"Retry-After": "12"}, "rate_limited"),
        (500, "<html>oops</html>", {}, "http_500"),
    ],
)
async def test_incoming_webhook_errors(
    slack: tuple[FakeSlack, TestServer],
    session: aiohttp.ClientSession,
    status: int,
    body: str,
    headers: dict[str, str],
    error: str,
) -> None:
    """Incoming-webhook text errors become SlackApiError codes; the secret URL is never in the message."""
    slack[0].replies.append((status, body, headers))
    with pytest.raises(SlackApiError) as caught:
        await hook_sender(slack[1], session).send(sample_delivery())
    assert (caught.value.error, caught.value.status) == (error, status)
    assert caught.value.retry_after == headers.get("Retry-After")
    assert "s3cr3t" not in str(caught.value)
    assert len(slack[0].calls) == 1


def test_missing_credentials_are_a_configuration_error() -> None:
    """A token without a channel cannot be sent anywhere and is refused when the channel is built."""
    config = SlackChannel.model_construct(token=None, channel=None, webhook_url=None, api_url=None, timeout=5.0)
    with pytest.raises(ConfigurationError):
        SlackSender("broken", config)


def test_escape_and_truncate_never_split_an_entity() -> None:
    """Truncation after escaping cuts before a partial `&lt;`, and marks the cut with an ellipsis."""
    text = escape("a" * 8 + "<b>")
    assert truncate(text, 11) == "a" * 8 + "…"
    assert truncate("short", 10) == "short"


def test_resolved_notifications_are_marked_resolved() -> None:
    """A resolved notification's header carries the resolved marker instead of the severity's."""
    header = blocks(sample_notification(status="resolved"))[0]["text"]["text"]
    assert header.startswith(":white_check_mark:")


def test_blocks_carry_title_severity_company_job_progress_and_details() -> None:
    """The header has the title with the severity marker; fields name company, job and progress; details and the
    rule, severity and status follow."""
    notification = sample_notification()
    laid_out = blocks(notification)
    assert laid_out[0]["text"]["text"] == f":red_circle: {notification.message.title}"
    fields = [item["text"] for block in laid_out for item in block.get("fields", [])]
    assert fields == ["*会社*\nPlanetary", "*ジョブ*\nspring &lt;!here&gt;", "*進捗*\n40%"]
    details = [
        b["text"]["text"] for b in laid_out if b["type"] == "section" and "• " in b.get("text", {}).get("text", "")
    ]
    assert details == ["• asset-1.tif: 変換に失敗しました\n• asset-2.tif: unsupported"]
    assert laid_out[-1]["elements"][0]["text"] == "failed-publish"


def test_ampersands_are_escaped_once() -> None:
    """`&` in job data becomes `&amp;` (so `&lt;` typed by a user stays literal text), never double-escaped."""
    message = Message(locale="en-US", title="A & B", text="x &lt;!channel&gt; & y", fields=(("Job", "a&b"),))
    laid_out = blocks(sample_notification(message=message))
    assert laid_out[0]["text"]["text"].endswith("A &amp; B")
    assert laid_out[1]["text"]["text"] == "x &amp;lt;!channel&amp;gt; &amp; y"
    assert laid_out[2]["fields"][0]["text"] == "*Job*\na&amp;b"


def test_long_sections_end_with_a_truncation_marker() -> None:
    """A section longer than 3,000 characters is cut to 3,000 ending in `…`, so the reader knows text is missing."""
    message = Message(locale="en-US", title="t", text="word " * 2000)
    section = blocks(sample_notification(message=message))[1]["text"]["text"]
    assert len(section) == 3000
    assert section.endswith("…")


async def test_api_url_without_trailing_slash(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """A configured `api_url` works with or without its trailing slash (the method name is appended to it)."""
    config = SlackChannel.model_validate(
        {"type": "slack", "token": TOKEN, "channel": "#dmc-alerts", "api_url": str(slack[1].make_url("/api"))}
    )
    await SlackSender("ops-slack", config, session).send(sample_delivery())
    assert len(slack[0].calls) == 1


CONVERSATION = '{"channel": "C1", "ts": "1.2"}'


def reply(**changes: Any) -> Delivery:
    """A delivery answering the message kept as CONVERSATION (a repeat, unless `changes` say otherwise)."""
    notification = replace(sample_notification(), thread="msg_first", **changes)
    return replace(sample_delivery(), notification=notification, conversation=CONVERSATION)


async def test_a_first_message_returns_where_it_went(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """A message that opens a conversation reports its channel and ts for replies to find."""
    assert await api_sender(slack[1], session).send(sample_delivery()) == CONVERSATION


async def test_a_repeat_replies_in_the_thread(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """A notification answering a kept conversation is posted with thread_ts there; a repeat edits nothing."""
    delivery = reply()
    assert await api_sender(slack[1], session).send(delivery) is None
    [call] = slack[0].calls
    assert (call["channel"], call["thread_ts"]) == ("C1", "1.2")


async def test_threads_off_posts_a_message_of_its_own(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """`threads: false`: even a resolution with a kept conversation is a new message in the configured channel."""
    await api_sender(slack[1], session, threads=False).send(reply(status="resolved"))
    [call] = slack[0].calls
    assert call["channel"] == "#dmc-alerts"
    assert "thread_ts" not in call


async def test_an_incoming_webhook_cannot_thread(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """Through an incoming webhook a reply is a message of its own, and nothing is kept."""
    delivery = reply()
    assert await hook_sender(slack[1], session).send(delivery) is None
    assert "thread_ts" not in slack[0].calls[0]


async def test_a_reply_to_a_message_that_is_gone_is_a_message_of_its_own(
    slack: tuple[FakeSlack, TestServer], session: aiohttp.ClientSession
) -> None:
    """Slack says the thread's message is gone: the reply is posted again as a new message, never lost."""
    fake, server = slack
    fake.replies.append((200, {"ok": False, "error": "message_not_found"}, {}))
    delivery = reply()
    await api_sender(server, session, update_on_resolve=False).send(delivery)
    threaded, alone = fake.calls
    assert threaded["thread_ts"] == "1.2"
    assert "thread_ts" not in alone
    assert alone["channel"] == "#dmc-alerts"
