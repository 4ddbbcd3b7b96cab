"""PagerDuty: Events API v2 `enqueue`: a firing notification triggers, its resolution resolves.

Both carry the notification's `alert_key` as `dedup_key`, which is the same for an alert's firing, repeats
and resolution and survives restarts (it is derived from the stored alert), so PagerDuty opens one incident
per alert episode and closes exactly that one. PagerDuty answers 202 when it took the event; a 400 says the
event is invalid and never will be valid (its reason goes into the dead letter); 429 and 5xx are retried.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aiohttp

from notifier import __version__
from notifier.channels.base import HttpStatusError, clip, post_json, redact
from notifier.channels.webhook import rfc3339
from notifier.models import Delivery, Notification
from notifier.models.notifications import CompanyJson

if TYPE_CHECKING:
    from notifier.config import PagerDutyChannel

SEVERITIES = {"critical": "critical", "warning": "warning", "info": "info"}
MAX_SUMMARY = 1024  # PagerDuty's limit for `payload.summary`
MAX_FIELD = 1024  # per custom detail value and per short field: a detail view, not a log archive
MAX_DEDUP_KEY = 255
CLIENT = "dmc-notifier"
USER_AGENT = f"{CLIENT}/{__version__}"


def pagerduty_event(notification: Notification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 event for `notification`: a trigger with the whole story, or a bare resolve."""
    dedup_key = clip(notification.alert_key or notification.key, MAX_DEDUP_KEY)
    if notification.status == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}
    message = notification.message
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": _payload(notification),
        "client": CLIENT,
    }
    if message.links:
        event["client_url"] = message.links[0][1]
        event["links"] = [{"href": url, "text": label} for label, url in message.links]
    return event


def _payload(notification: Notification) -> dict[str, Any]:
    message = notification.message
    # A schedule's own notification is about the schedule: it names the component and the group.
    about = notification.job or notification.schedule or {}
    name, kind = about.get("original_name") or about.get("name"), about.get("type")
    payload: dict[str, Any] = {
        "summary": clip(" ".join(message.title.split()) or notification.rule, MAX_SUMMARY),
        "source": clip(_source(notification.company), MAX_FIELD),
        "severity": SEVERITIES.get(notification.severity, "warning"),
        "timestamp": rfc3339(notification.created_at),
        "component": clip(str(name or ""), MAX_FIELD),
        "group": clip(str(kind or ""), MAX_FIELD),
        "class": notification.event_kind,
        "custom_details": custom_details(notification),
    }
    return {key: value for key, value in payload.items() if value != ""}


def custom_details(notification: Notification) -> dict[str, Any]:
    """What a responder reads first: the message's fields under their labels in the job's locale, then the job
    log lines and the identifiers automation can match on (rule, event, company, job and schedule handles)."""
    details: dict[str, Any] = {label: clip(value, MAX_FIELD) for label, value in notification.message.fields}
    lines = [clip(line, MAX_FIELD) for line in notification.details if line.strip()]
    if lines:
        details["log_lines"] = lines
    details["rule"] = notification.rule
    details["event"] = notification.event_kind
    details["company"] = notification.company_handle
    if notification.job_handle:
        details["job"] = notification.job_handle
    schedule = (notification.schedule or {}).get("job_handle")
    if schedule:
        details["schedule"] = str(schedule)
    return details


def _source(company: CompanyJson) -> str:
    """The affected system as PagerDuty shows it: the DMC company, by name and handle."""
    name, handle = company.get("name"), company.get("handle")
    if name and handle and name != handle:
        return f"{name} ({handle})"
    return str(name or handle or CLIENT)


def pagerduty_body(notification: Notification, routing_key: str) -> bytes:
    return json.dumps(pagerduty_event(notification, routing_key), ensure_ascii=False, separators=(",", ":")).encode()


def rejection(text: str, secrets: list[str]) -> str:
    """PagerDuty's `{"status", "message", "errors": [...]}` as one line, else the reply's text; redacted, short."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        errors = data.get("errors")
        errors = errors if isinstance(errors, list) else []
        parts = [str(data[k]) for k in ("status", "message") if data.get(k)] + [str(e) for e in errors]
        text = ": ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if parts[2:] else "")
    return redact(" ".join(text.split()), secrets)


class PagerDutySender:
    """Sends events for one routing key over the shared session; never follows redirects."""

    def __init__(self, name: str, config: PagerDutyChannel, session: aiohttp.ClientSession) -> None:
        self.name = name
        self._routing_key = config.routing_key.get_secret_value()
        self.url = config.api_url
        self.timeout = aiohttp.ClientTimeout(total=config.timeout)
        self.session = session

    async def send(self, delivery: Delivery) -> None:
        body = pagerduty_body(delivery.notification, self._routing_key)
        reply = await post_json(self.session, self.url, body, {"user-agent": USER_AGENT}, self.timeout)
        if not 200 <= reply.status < 300:
            detail = rejection(reply.text, [self._routing_key]) or None
            raise HttpStatusError(reply.status, reply.retry_after, detail, final=reply.status == 400)

    async def close(self) -> None:
        """Nothing to release: the session belongs to the application."""
