"""Signed webhooks (Standard Webhooks v1): one JSON POST per delivery, HMAC-signed with every configured secret.

The body is a pure function of the stored notification and the `webhook-id` is its key, so a retry, a replay
or a restart sends byte-identical content that a receiver can de-duplicate; only the timestamp is fresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from notifier import __version__
from notifier.channels.base import ConfigurationError, HttpStatusError, transport_failure
from notifier.config.channels import decode_secret as secret_key
from notifier.models import Delivery, Notification
from notifier.runtime.clock import Clock, SystemClock

if TYPE_CHECKING:
    from notifier.config import WebhookChannel

USER_AGENT = f"dmc-notifier/{__version__}"
MAX_ERROR_BODY = 64 * 1024  # read this much of a reply so the connection can be reused, and no more


def rfc3339(when: datetime) -> str:
    """UTC with a `Z`; a naive datetime is taken to be UTC already."""
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The body as a JSON-ready dict, in the documented key order. `data.group_key` is the same for every
    notification of one alert (or of one group), `data.thread` the key of the notification that opened its
    conversation; a digest (`type: alert.group`) adds its counts and `data.alerts`, each exactly the body that
    alert sends on its own."""
    message = notification.message
    body: dict[str, Any] = {
        "type": notification.event_kind,
        "timestamp": rfc3339(notification.created_at),
        "data": {
            "rule": notification.rule,
            "severity": notification.severity,
            "status": notification.status,
            "company": _stable(notification.company),
            "job": _stable(notification.job),
            "log": _stable(notification.log),
            "schedule": _stable(notification.schedule),
            "message": {
                "locale": message.locale,
                "title": message.title,
                "text": message.text,
                "links": [{"label": label, "url": url} for label, url in message.links],
            },
            "details": list(notification.details),
            "group_key": notification.alert_key or None,
            "thread": notification.thread or notification.key,
        },
    }
    group = notification.group
    if group is not None:
        data: dict[str, Any] = body["data"]
        data.update(
            labels=dict(group.labels),
            counts={"alerts": len(group.alerts), "firing": group.firing, "resolved": group.resolved,
                    "still_firing": group.open},
            alerts=[webhook_payload(alert) for alert in group.alerts],
        )  # fmt: skip
    return body


def dumps(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; deterministic for a given payload (snapshot keys are already sorted)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()


def webhook_body(notification: Notification) -> bytes:
    """The exact bytes POSTed for `notification`, the same on every attempt and after a restart."""
    return dumps(webhook_payload(notification))


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (checked by the config already; `ConfigurationError` if not)."""
    try:
        return secret_key(secret)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def sign(keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,<base64 HMAC-SHA256>` per key, space-separated (rotation)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode() for key in keys)


def signed_headers(keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(keys, msg_id, timestamp, body),
    }


def configured_secrets(config: WebhookChannel) -> list[str]:
    """`secrets` in order, plus a single `secret` when the config has one, each once."""
    values = [s.get_secret_value() for s in config.secrets]
    single = getattr(config, "secret", None)  # the one-secret spelling, where the config offers it
    if single is not None:
        values.insert(0, single.get_secret_value())
    return list(dict.fromkeys(values))


class WebhookSender:
    """POSTs signed notifications to one URL over the shared session; never follows redirects."""

    def __init__(
        self,
        name: str,
        config: WebhookChannel,
        session: aiohttp.ClientSession,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.url = str(config.url)
        self.timeout = aiohttp.ClientTimeout(total=config.timeout)
        self.extra_headers = dict(config.headers)
        self.keys = tuple(decode_secret(secret) for secret in configured_secrets(config))
        if not self.keys:
            raise ConfigurationError(f"webhook channel {name!r} has no signing secret")
        self.session = session
        self.clock = clock or SystemClock()

    async def send(self, delivery: Delivery) -> None:
        body = webhook_body(delivery.notification)
        timestamp = int(self.clock.now().timestamp())
        headers = {
            **self.extra_headers,  # configured headers first: they may never override the signature
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signed_headers(self.keys, delivery.notification.key, timestamp, body),
        }
        try:
            async with self.session.post(
                self.url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            ) as response:
                await response.content.read(MAX_ERROR_BODY)
                if not 200 <= response.status < 300:
                    raise HttpStatusError(response.status, response.headers.get("Retry-After"))
        except HttpStatusError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_failure(exc) from None

    async def close(self) -> None:
        """Nothing to release: the session belongs to the application."""


def _stable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Snapshot dicts with sorted keys, so bytes never depend on how the store happened to order them."""
    if value is None:
        return None
    return {key: _sorted_deep(value[key]) for key in sorted(value)}


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _sorted_deep(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted_deep(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
