"""Teams: Adaptive Cards POSTed to a Workflows webhook fake on 127.0.0.1 that checks them against Microsoft's schema."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from notifier.channels.base import HttpStatusError, SendError, TransportFailure
from notifier.channels.teams import MAX_MESSAGE_BYTES, TeamsSender, check_reply, escape_markdown, teams_body
from notifier.config import TeamsChannel
from notifier.dispatch.policy import RetrySettings, decide
from tests.support.channels import (
    TEAMS_SIG,
    FakeTeams,
    oncall_server,
    sample_delivery,
    sample_notification,
    teams_message_errors,
    teams_url,
)

STATUS_URL = "https://dmc-notifier.example.com/status"


@pytest.fixture
async def teams() -> AsyncIterator[tuple[FakeTeams, TestServer]]:
    async with oncall_server() as (fake, _, server):
        yield fake, server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def sender(url: str, session: aiohttp.ClientSession, **extra: Any) -> TeamsSender:
    config = TeamsChannel.model_validate({"type": "teams", "webhook_url": url, **extra})
    return TeamsSender("teams", config, session)


def card_of(body: bytes) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(body)["attachments"][0]["content"]
    return content


def texts(card: dict[str, Any]) -> list[str]:
    """Every text run of the card, in order."""
    return [run["text"] for block in _blocks(card["body"]) for run in block.get("inlines", [])]


def _blocks(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for element in elements:
        out.append(element)
        out.extend(_blocks(element.get("items", [])))
    return out


async def test_a_notification_arrives_as_a_valid_adaptive_card(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession
) -> None:
    """The fake accepts the message only if it is a Workflows message whose card passes the 1.4 and 1.5 schemas."""
    fake, server = teams
    await sender(teams_url(server), session).send(sample_delivery())
    [card] = fake.cards
    assert card["version"] == "1.4"
    assert texts(card)[0] == "公開ジョブ「春のカタログ」が失敗しました"


async def test_the_card_speaks_the_jobs_locale(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession
) -> None:
    """Title, summary and fact labels are the rendered Japanese message; the card's language says so too."""
    fake, server = teams
    await sender(teams_url(server), session).send(sample_delivery())
    [card] = fake.cards
    facts = next(e for e in card["body"] if e["type"] == "FactSet")["facts"]
    assert card["lang"] == "ja"
    assert [f["title"] for f in facts] == ["会社", "ジョブ", "進捗"]
    assert "asset-1.tif: 変換に失敗しました" in " ".join(texts(card))


@pytest.mark.parametrize(
    ("severity", "status", "style"),
    [
        ("critical", "firing", "attention"),
        ("warning", "firing", "warning"),
        ("info", "firing", "accent"),
        ("critical", "resolved", "good"),
    ],
)
def test_the_title_band_is_coloured_by_severity(severity: str, status: str, style: str) -> None:
    """Critical is red, warning amber, info blue; a resolution is green whatever the rule's severity."""
    band = card_of(teams_body(sample_notification(severity=severity, status=status)))["body"][0]
    assert band["style"] == style
    assert band["items"][0]["inlines"][0]["color"] == style


def test_job_data_cannot_turn_into_markdown_links() -> None:
    """A fact carrying a Markdown link is escaped; free text only ever sits in text runs, which Teams never parses."""
    message = replace(sample_notification().message, fields=(("Job", "[reset password](https://evil.example)"),))
    card = card_of(teams_body(sample_notification(message=message)))
    [fact] = next(e for e in card["body"] if e["type"] == "FactSet")["facts"]
    assert fact["value"] == r"\[reset password\](https://evil.example)"
    assert escape_markdown("- 1. **x** <b> #h") == r"\- 1. \*\*x\*\* \<b\> \#h"
    assert all(e["type"] in ("Container", "RichTextBlock", "FactSet") for e in card["body"])


def test_status_page_link_becomes_a_button() -> None:
    """A message with a status page link gets an Action.OpenUrl with its localized label."""
    message = replace(sample_notification().message, links=(("ステータスページを開く", STATUS_URL),))
    card = card_of(teams_body(sample_notification(message=message)))
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "ステータスページを開く", "url": STATUS_URL}]
    assert "actions" not in card_of(teams_body(sample_notification()))


def test_an_oversized_notification_is_trimmed_to_fit_and_stays_valid() -> None:
    """Huge log lines, summary and fields are cut until the message is within 28 KB; title and facts survive."""
    huge = "変換に失敗しました" * 700
    base = sample_notification()
    message = replace(
        base.message, summary=huge, fields=tuple((f"項目{i}", huge) for i in range(30)), links=(("開く", STATUS_URL),)
    )
    notification = replace(base, message=message, details=tuple(f"asset-{i}.tif: {huge}" for i in range(10)))
    body = teams_body(notification)
    assert len(body) <= MAX_MESSAGE_BYTES
    assert teams_message_errors(json.loads(body)) == []
    card = card_of(body)
    assert texts(card)[0] == base.message.title
    assert next(e for e in card["body"] if e["type"] == "FactSet")["facts"][0]["title"] == "項目0"
    assert any(t.endswith("…") for t in texts(card))
    assert card["actions"][0]["url"] == STATUS_URL


def test_a_small_notification_is_not_trimmed() -> None:
    """Everything of an ordinary notification is on the card: every log line, whole."""
    card = card_of(teams_body(sample_notification()))
    assert [t for t in texts(card) if t.startswith("• ")] == [
        "• asset-1.tif: 変換に失敗しました",
        "• asset-2.tif: unsupported",
    ]


async def test_throttling_is_an_http_429_with_its_retry_after(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession
) -> None:
    """Teams' 429 comes back as the status and Retry-After, which the policy turns into a later retry."""
    fake, server = teams
    fake.replies.append((429, "Too many requests", {"Retry-After": "20"}))
    with pytest.raises(HttpStatusError) as caught:
        await sender(teams_url(server), session).send(sample_delivery())
    assert (caught.value.status, caught.value.retry_after) == (429, "20")
    assert fake.cards == []


async def test_a_200_reporting_a_failure_is_a_failure(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession
) -> None:
    """An older connector's 200 carrying "returned HTTP error 429" is the 429 it reports: retried, not delivered."""
    fake, server = teams
    text = (
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with "
        "ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef"
    )
    fake.replies.append((200, text, {}))
    with pytest.raises(HttpStatusError) as caught:
        await sender(teams_url(server), session).send(sample_delivery())
    assert caught.value.status == 429
    assert "answered 200" in str(caught.value)
    verdict = decide(caught.value, 1, now=datetime.now(UTC), rng=random.Random(1), settings=RetrySettings())
    assert verdict.action == "retry"


async def test_a_200_reporting_an_unexplained_failure_is_retried_a_few_times(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession
) -> None:
    """A failure text without a status is still a failure; the policy retries it, but only a few times."""
    fake, server = teams
    fake.replies.append((200, "Webhook message delivery failed with error: Unknown", {}))
    with pytest.raises(SendError) as caught:
        await sender(teams_url(server), session).send(sample_delivery())
    settings = RetrySettings(max_unknown_attempts=3)
    rng = random.Random(1)
    assert decide(caught.value, 1, now=datetime.now(UTC), rng=rng, settings=settings).action == "retry"
    assert decide(caught.value, 3, now=datetime.now(UTC), rng=rng, settings=settings).action == "dead"


@pytest.mark.parametrize("text", ["1", ""])
async def test_connector_and_workflow_successes_are_successes(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession, text: str
) -> None:
    """An older connector's `200 1` and a workflow's empty 200/202 mean the message was taken."""
    fake, server = teams
    fake.replies.append((200, text, {}))
    await sender(teams_url(server), session).send(sample_delivery())


async def test_server_errors_come_back_with_their_status(
    teams: tuple[FakeTeams, TestServer], session: aiohttp.ClientSession
) -> None:
    """A 502 from the workflow host is reported as HTTP 502, for the policy to retry."""
    fake, server = teams
    fake.replies.append((502, "<html>Bad gateway</html>", {}))
    with pytest.raises(HttpStatusError) as caught:
        await sender(teams_url(server), session).send(sample_delivery())
    assert caught.value.status == 502


async def test_a_refusal_carries_the_workflows_reason_and_never_the_url(
    session: aiohttp.ClientSession,
) -> None:
    """Power Automate's JSON error becomes the detail; a reply echoing the webhook URL is redacted."""

    async def refuse(request: web.Request) -> web.Response:
        error = {"code": "WorkflowTriggerIsNotEnabled", "message": f"The workflow at {request.url} is disabled."}
        return web.json_response({"error": error}, status=409)

    app = web.Application()
    app.router.add_post("/workflows/x", refuse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/workflows/x").with_query({"sig": TEAMS_SIG}))
        with pytest.raises(HttpStatusError) as caught:
            await sender(url, session).send(sample_delivery())
    finally:
        await server.close()
    assert (caught.value.status, caught.value.final) == (409, False)  # an operator may enable it again
    assert "WorkflowTriggerIsNotEnabled: The workflow at *** is disabled." in str(caught.value)
    assert TEAMS_SIG not in str(caught.value)


def test_a_refused_card_is_final_and_nothing_else_is() -> None:
    """Teams' 400 (the card's content refused) never will pass; a 404 or 409 may, once the workflow is back."""
    for status, final in ((400, True), (404, False), (409, False), (429, False)):
        with pytest.raises(HttpStatusError) as caught:
            check_reply(status, '{"error": {"code": "X", "message": "y"}}', None, [])
        assert caught.value.final is final


async def test_redirects_are_not_followed(session: aiohttp.ClientSession) -> None:
    """A 302 is reported as such; the card never goes to the redirect's target."""
    hits = []

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(_request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/hook", moved)
    app.router.add_route("*", "/elsewhere", elsewhere)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        with pytest.raises(HttpStatusError) as caught:
            await sender(str(server.make_url("/hook")), session).send(sample_delivery())
    finally:
        await server.close()
    assert caught.value.status == 302
    assert hits == []


async def test_an_unreachable_webhook_is_a_connection_failure(session: aiohttp.ClientSession, refused: int) -> None:
    """Nothing listening is a retryable transport failure whose text does not name the URL."""
    url = f"http://127.0.0.1:{refused}/workflows/x?sig={TEAMS_SIG}"
    with pytest.raises(TransportFailure) as caught:
        await sender(url, session).send(sample_delivery())
    assert caught.value.kind == "connection"
    assert TEAMS_SIG not in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "Field required"),
        ({"webhook_url": ""}, "is empty"),
        ({"webhook_url": "ftp://example.com/x"}, "http:// or https://"),
        ({"webhook_url": "https://example.com/x", "timeout": "0s"}, "greater than 0"),
    ],
)
def test_config_refuses_unusable_settings(settings: dict[str, Any], message: str) -> None:
    """A missing, empty or non-HTTP webhook URL and a zero timeout are configuration errors."""
    with pytest.raises(ValidationError, match=message):
        TeamsChannel.model_validate({"type": "teams", **settings})


def test_config_defaults_send_one_card_at_a_time() -> None:
    """One card in flight and one a second keeps a channel's cards in order and under Teams' throttling."""
    config = TeamsChannel.model_validate({"type": "teams", "webhook_url": "https://example.com/x"})
    assert (config.concurrency, config.rate_limit, config.timeout) == (1, 1.0, 15.0)
