"""PagerDuty: Events API v2 events sent to an enqueue fake on 127.0.0.1 that validates them as PagerDuty does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from notifier.channels.base import HttpStatusError, TransportFailure
from notifier.channels.pagerduty import PagerDutySender, pagerduty_event
from notifier.config import PAGERDUTY_EVENTS_URL, PagerDutyChannel
from notifier.models.notifications import ScheduleJson
from tests.support.channels import (
    PAGERDUTY_PATH,
    ROUTING_KEY,
    FakePagerDuty,
    events_v2_errors,
    oncall_server,
    sample_delivery,
    sample_notification,
)

ALERT_KEY = "alert_0123456789abcdef0123456789abcdef"
STATUS_URL = "https://dmc-notifier.example.com/status"


@pytest.fixture
async def pagerduty() -> AsyncIterator[tuple[FakePagerDuty, str]]:
    async with oncall_server() as (_, fake, server):
        yield fake, str(server.make_url(PAGERDUTY_PATH))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def sender(api_url: str, session: aiohttp.ClientSession, **extra: Any) -> PagerDutySender:
    config = {"type": "pagerduty", "routing_key": ROUTING_KEY, "api_url": api_url, **extra}
    return PagerDutySender("pd", PagerDutyChannel.model_validate(config), session)


async def test_a_firing_notification_triggers_with_the_alert_key(
    pagerduty: tuple[FakePagerDuty, str], session: aiohttp.ClientSession
) -> None:
    """A valid trigger arrives: dedup_key is the alert key, the summary the localized title, the source the company."""
    fake, url = pagerduty
    await sender(url, session).send(sample_delivery(alert_key=ALERT_KEY))
    [event] = fake.events
    assert (event["event_action"], event["dedup_key"], event["routing_key"]) == ("trigger", ALERT_KEY, ROUTING_KEY)
    payload = event["payload"]
    assert payload["summary"] == "公開ジョブ「春のカタログ」が失敗しました"
    assert (payload["source"], payload["severity"], payload["class"]) == ("Planetary (c100)", "critical", "job.failed")
    assert payload["timestamp"] == "2026-03-01T12:00:05Z"


async def test_a_resolution_resolves_the_same_dedup_key(
    pagerduty: tuple[FakePagerDuty, str], session: aiohttp.ClientSession
) -> None:
    """The resolved notification of the alert sends `resolve` with the dedup_key its trigger had."""
    fake, url = pagerduty
    channel = sender(url, session)
    await channel.send(sample_delivery(alert_key=ALERT_KEY))
    await channel.send(sample_delivery(alert_key=ALERT_KEY, status="resolved", key="other-notification-key"))
    sent = [(e["event_action"], e["dedup_key"]) for e in fake.events]
    assert sent == [("trigger", ALERT_KEY), ("resolve", ALERT_KEY)]
    assert set(fake.events[1]) == {"routing_key", "event_action", "dedup_key"}


@pytest.mark.parametrize(("ours", "theirs"), [("critical", "critical"), ("warning", "warning"), ("info", "info")])
def test_severity_maps_to_pagerdutys(ours: str, theirs: str) -> None:
    """Our three severities are PagerDuty's of the same name."""
    assert pagerduty_event(sample_notification(severity=ours), ROUTING_KEY)["payload"]["severity"] == theirs


def test_the_summary_is_cut_to_1024_characters() -> None:
    """A title longer than PagerDuty allows is cut with an ellipsis, still valid."""
    message = replace(sample_notification().message, title="失敗" * 1000)
    event = pagerduty_event(sample_notification(message=message), ROUTING_KEY)
    assert len(event["payload"]["summary"]) == 1024
    assert event["payload"]["summary"].endswith("…")
    assert events_v2_errors(event) == []


def test_custom_details_carry_the_localized_fields_and_identifiers() -> None:
    """Responders read the job's fields under their labels in the job's locale, then log lines and handles."""
    details = pagerduty_event(sample_notification(), ROUTING_KEY)["payload"]["custom_details"]
    assert details == {
        "会社": "Planetary",
        "ジョブ": "spring <!here>",
        "進捗": "40%",
        "log_lines": ["asset-1.tif: 変換に失敗しました", "asset-2.tif: unsupported"],
        "rule": "failed-publish",
        "event": "job.failed",
        "company": "c100",
        "job": "c100||A",
    }


def test_a_schedule_s_notification_names_the_schedule_as_its_component() -> None:
    """A missed run has no job: the schedule is the component and its type the group, its handle a detail."""
    schedule: ScheduleJson = {"job_handle": "c100||Nightly", "name": "Nightly", "original_name": "Nightly publish",
                "type": "ImageServingPublish"}  # fmt: skip
    notification = replace(sample_notification(), job=None, schedule=schedule, event_kind="schedule.missed")
    payload = pagerduty_event(notification, ROUTING_KEY)["payload"]
    assert (payload["component"], payload["group"], payload["class"]) == (
        "Nightly publish", "ImageServingPublish", "schedule.missed"
    )  # fmt: skip
    assert payload["custom_details"]["schedule"] == "c100||Nightly"
    assert "job" not in payload["custom_details"]


def test_the_status_page_is_linked() -> None:
    """With a status page link the event carries it as a link and as the client URL."""
    message = replace(sample_notification().message, links=(("ステータスページを開く", STATUS_URL),))
    event = pagerduty_event(sample_notification(message=message), ROUTING_KEY)
    assert event["links"] == [{"href": STATUS_URL, "text": "ステータスページを開く"}]
    assert (event["client"], event["client_url"]) == ("dmc-notifier", STATUS_URL)
    assert events_v2_errors(event) == []


async def test_an_invalid_event_is_a_400_with_pagerdutys_reason(
    pagerduty: tuple[FakePagerDuty, str], session: aiohttp.ClientSession
) -> None:
    """PagerDuty's 400 comes back with its status, message and errors as the detail, never the routing key."""
    fake, url = pagerduty
    reply = {"status": "invalid event", "message": "Event object is invalid", "errors": [f"bad key {ROUTING_KEY}"]}
    fake.replies.append((400, json.dumps(reply), {}))
    with pytest.raises(HttpStatusError) as caught:
        await sender(url, session).send(sample_delivery())
    assert (caught.value.status, caught.value.final) == (400, True)  # PagerDuty: it never will be valid
    assert caught.value.detail == "invalid event: Event object is invalid; bad key ***"


async def test_a_malformed_event_is_refused_by_the_fake(
    pagerduty: tuple[FakePagerDuty, str], session: aiohttp.ClientSession
) -> None:
    """The fake is strict: an event without a payload summary is refused with PagerDuty's error shape."""
    _, url = pagerduty
    event = pagerduty_event(sample_notification(), ROUTING_KEY)
    del event["payload"]["summary"]
    async with session.post(url, json=event) as response:
        reply = await response.json()
    assert response.status == 400
    assert reply["status"] == "invalid event"
    assert any("summary" in error for error in reply["errors"])


@pytest.mark.parametrize(("status", "retry_after"), [(429, None), (500, None), (503, "7")])
async def test_throttling_and_server_errors_come_back_with_their_status(
    pagerduty: tuple[FakePagerDuty, str], session: aiohttp.ClientSession, status: int, retry_after: str | None
) -> None:
    """429 and 5xx are reported with their status (and Retry-After, when given) for the policy to retry."""
    fake, url = pagerduty
    fake.replies.append((status, "{}", {"Retry-After": retry_after} if retry_after else {}))
    with pytest.raises(HttpStatusError) as caught:
        await sender(url, session).send(sample_delivery())
    assert (caught.value.status, caught.value.retry_after) == (status, retry_after)
    assert fake.events == []


async def test_an_unreachable_api_is_a_connection_failure(session: aiohttp.ClientSession, refused: int) -> None:
    """Nothing listening is a retryable transport failure."""
    with pytest.raises(TransportFailure) as caught:
        await sender(f"http://127.0.0.1:{refused}/v2/enqueue", session).send(sample_delivery())
    assert caught.value.kind == "connection"


async def test_redirects_are_not_followed(session: aiohttp.ClientSession) -> None:
    """A redirect is reported as its status; the routing key is never sent on to another host."""

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    app = web.Application()
    app.router.add_post("/v2/enqueue", moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        with pytest.raises(HttpStatusError) as caught:
            await sender(str(server.make_url("/v2/enqueue")), session).send(sample_delivery())
    finally:
        await server.close()
    assert caught.value.status == 307


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "Field required"),
        ({"routing_key": ""}, "is empty"),
        ({"routing_key": "https://events.pagerduty.com/integration/abc"}, "32 letters and digits"),
        ({"routing_key": ROUTING_KEY, "api_url": "events.pagerduty.com"}, "http:// or https://"),
    ],
)
def test_config_refuses_unusable_settings(settings: dict[str, Any], message: str) -> None:
    """A missing or malformed routing key and a non-HTTP api_url are configuration errors."""
    with pytest.raises(ValidationError, match=message):
        PagerDutyChannel.model_validate({"type": "pagerduty", **settings})


def test_config_defaults_to_pagerdutys_endpoint_and_rate() -> None:
    """Without api_url events go to PagerDuty's enqueue endpoint, at most two a second (its 120 a minute)."""
    config = PagerDutyChannel.model_validate({"type": "pagerduty", "routing_key": ROUTING_KEY})
    assert config.api_url == PAGERDUTY_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"
    assert (config.rate_limit, config.timeout) == (2.0, 10.0)
