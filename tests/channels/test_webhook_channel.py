"""Signed webhooks against a real aiohttp receiver on 127.0.0.1, verified by the independent standardwebhooks."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.channels.base import ConfigurationError, HttpStatusError, TransportFailure
from notifier.channels.webhook import USER_AGENT, WebhookSender, decode_secret, sign, webhook_body
from notifier.config import WebhookChannel
from notifier.models.notifications import JobJson
from notifier.runtime.clock import ManualClock
from tests.support.channels import CREATED, sample_delivery, sample_notification
from tests.support.receiver import Receiver, Reply

OLD_SECRET = "whsec_" + base64.b64encode(b"old-signing-key-0123456789abcdef").decode()
HOOK = "/hook/s3cr3t-path"
NEW_SECRET = "whsec_" + base64.b64encode(b"new-signing-key-fedcba9876543210").decode()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def config(url: str, secrets: tuple[str, ...] = (NEW_SECRET,), **extra: Any) -> WebhookChannel:
    return WebhookChannel.model_validate({"type": "webhook", "url": url, "secrets": list(secrets), **extra})


SenderFactory = Callable[..., WebhookSender]


@pytest.fixture
def sender(receiver: Receiver, session: aiohttp.ClientSession) -> SenderFactory:
    def build(
        secrets: tuple[str, ...] = (NEW_SECRET,), clock: ManualClock | None = None, **extra: Any
    ) -> WebhookSender:
        url = receiver.url(HOOK)
        return WebhookSender("downstream", config(url, secrets, **extra), session, clock=clock)

    return build


async def test_receiver_verifies_signature(receiver: Receiver, sender: SenderFactory) -> None:
    """An independent Standard Webhooks implementation accepts what we send and parses the same JSON."""
    await sender().send(sample_delivery())
    [seen] = receiver.requests
    headers, body = seen.headers, seen.body
    payload = Webhook(NEW_SECRET).verify(body, headers)
    assert payload["type"] == "job.failed"
    assert payload["data"]["message"]["title"] == sample_notification().message.title


async def test_rotation_signs_with_every_secret(receiver: Receiver, sender: SenderFactory) -> None:
    """With two secrets configured, a receiver knowing only either one of them still verifies."""
    await sender(secrets=(OLD_SECRET, NEW_SECRET)).send(sample_delivery())
    [seen] = receiver.requests
    headers, body = seen.headers, seen.body
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(NEW_SECRET).verify(body, headers)
    Webhook(OLD_SECRET).verify(body, headers)


async def test_wrong_secret_fails_verification(receiver: Receiver, sender: SenderFactory) -> None:
    """The signature really depends on the key: a receiver with another secret rejects it."""
    await sender(secrets=(OLD_SECRET,)).send(sample_delivery())
    [seen] = receiver.requests
    headers, body = seen.headers, seen.body
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW_SECRET).verify(body, headers)


async def test_headers(receiver: Receiver, sender: SenderFactory) -> None:
    """webhook-id is the notification key; content type, user agent and configured headers are sent."""
    await sender(headers={"X-Team": "media"}).send(sample_delivery())
    headers = receiver.requests[0].headers
    assert headers["webhook-id"] == sample_notification().key
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["X-Team"] == "media"


def test_configured_headers_cannot_replace_the_signature() -> None:
    """A `headers:` entry naming a Standard Webhooks header is a config error, not a silent override."""
    with pytest.raises(ValidationError, match="headers may not set webhook-signature"):
        config("https://hooks.example.com/x", headers={"Webhook-Signature": "v1,forged"})


async def test_timestamp_comes_from_the_clock(receiver: Receiver, sender: SenderFactory) -> None:
    """webhook-timestamp is the injected clock's unix time and is part of what is signed."""
    clock = ManualClock(datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC))
    await sender(clock=clock).send(sample_delivery())
    [seen] = receiver.requests
    headers, body = seen.headers, seen.body
    assert headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    expected = Webhook(NEW_SECRET).sign(headers["webhook-id"], clock.now(), body.decode())
    assert headers["webhook-signature"] == expected


async def test_body_identical_across_sends(receiver: Receiver, sender: SenderFactory) -> None:
    """Two sends of one notification (a retry) carry byte-identical bodies and the same webhook-id."""
    channel = sender()
    await channel.send(sample_delivery())
    await channel.send(replace(sample_delivery(), attempt=2))
    (h1, b1), (h2, b2) = ((seen.headers, seen.body) for seen in receiver.requests)
    assert b1 == b2 == webhook_body(sample_notification())
    assert h1["webhook-id"] == h2["webhook-id"]


def test_body_shape() -> None:
    """The body carries type, RFC 3339 timestamp and the documented data fields, compact and in UTF-8."""
    body = webhook_body(sample_notification())
    assert b'": ' not in body
    assert b'", "' not in body
    assert "失敗".encode() in body
    payload = json.loads(body)
    assert list(payload) == ["type", "timestamp", "data"]
    assert payload["timestamp"] == "2026-03-01T12:00:05Z" == CREATED.isoformat().replace("+00:00", "Z")
    assert list(payload["data"]) == [
        "rule", "severity", "status", "company", "job", "log", "schedule", "message", "details", "group_key", "thread"
    ]  # fmt: skip
    assert payload["data"]["message"] == {
        "locale": "ja-JP",
        "title": sample_notification().message.title,
        "text": sample_notification().message.text,
        "links": [],
    }
    assert payload["data"]["details"] == list(sample_notification().details)


def test_body_independent_of_snapshot_key_order() -> None:
    """Snapshots stored with keys in another order still produce the same bytes."""
    original = sample_notification()
    assert original.job is not None
    shuffled = replace(original, job=cast("JobJson", dict(reversed(list(original.job.items())))))
    assert webhook_body(shuffled) == webhook_body(original)


async def test_redirect_not_followed(receiver: Receiver, sender: SenderFactory) -> None:
    """A 302 is reported as such and the redirect target never sees the signed body."""
    receiver.always[HOOK] = Reply(302, {"Location": "/elsewhere"})
    with pytest.raises(HttpStatusError) as caught:
        await sender().send(sample_delivery())
    assert caught.value.status == 302
    assert receiver.hits("/elsewhere") == 0


@pytest.mark.parametrize(("status", "retry_after"), [(503, "7"), (429, "Wed, 21 Oct 2026 07:28:00 GMT"), (410, None)])
async def test_error_status_carries_retry_after(
    receiver: Receiver, sender: SenderFactory, status: int, retry_after: str | None
) -> None:
    """A non-2xx answer raises HttpStatusError with the status and the raw Retry-After header."""
    receiver.always[HOOK] = Reply(status, {"Retry-After": retry_after} if retry_after else {})
    with pytest.raises(HttpStatusError) as caught:
        await sender().send(sample_delivery())
    assert (caught.value.status, caught.value.retry_after) == (status, retry_after)


async def test_timeout(receiver: Receiver, sender: SenderFactory) -> None:
    """A receiver slower than the channel timeout is a timeout failure, not a hang."""
    receiver.answers = 0  # holds every request until the test ends
    with pytest.raises(TransportFailure) as caught:
        await sender(timeout=0.2).send(sample_delivery())
    assert caught.value.kind == "timeout"


async def test_connection_refused_hides_the_url(session: aiohttp.ClientSession, refused: int) -> None:
    """Nothing listening is a connection failure whose message does not reveal the URL's secret path."""
    url = f"http://127.0.0.1:{refused}/hook/s3cr3t-path?token=t0ps3cret"
    with pytest.raises(TransportFailure) as caught:
        await WebhookSender("downstream", config(url), session).send(sample_delivery())
    assert caught.value.kind == "connection"
    assert "s3cr3t" not in str(caught.value)
    assert "t0ps3cret" not in str(caught.value)


async def test_secret_never_in_errors(receiver: Receiver, sender: SenderFactory) -> None:
    """Error messages never contain the signing secret."""
    receiver.always[HOOK] = Reply(500)
    with pytest.raises(HttpStatusError) as caught:
        await sender().send(sample_delivery())
    assert NEW_SECRET not in str(caught.value)
    assert NEW_SECRET.removeprefix("whsec_") not in str(caught.value)


def test_sign_matches_reference_implementation() -> None:
    """The pure signer agrees with standardwebhooks' own signer for the same id, time and body."""
    body = webhook_body(sample_notification())
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ours = sign([decode_secret(NEW_SECRET)], "msg_1", int(when.timestamp()), body)
    assert ours == Webhook(NEW_SECRET).sign("msg_1", when, body.decode())


@pytest.mark.parametrize("secret", ["whsec_***not-base64***", "whsec_"])
def test_unusable_secret_is_a_configuration_error(secret: str) -> None:
    """A secret that is not base64 (or empty) is refused without echoing it."""
    with pytest.raises(ConfigurationError) as caught:
        decode_secret(secret)
    assert secret.removeprefix("whsec_") not in str(caught.value) or secret == "whsec_"


async def test_close_leaves_the_shared_session_open(session: aiohttp.ClientSession, sender: SenderFactory) -> None:
    """Closing the channel does not close the application's session."""
    await sender().close()
    assert not session.closed
