"""What a rule decided to tell people: the rendered message, the notification stored in the outbox, and one
delivery of it to one channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """A notification's text, rendered once in one locale; every channel sends from this.

    `fields` are localized label/value pairs (company, job, progress …) that channels lay out their own way
    (Slack section fields, an email table). `html` is the email's HTML alternative. `summary` is what the
    text says besides the title, the fields and the job-log lines, for channels that lay those out themselves
    (Slack); None for messages rendered before it existed. `links` are localized label/URL pairs (the status
    page, when its public address is configured) for channels that can show a link or a button.
    """

    locale: str
    title: str
    text: str
    html: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    summary: str | None = None
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Notification:
    """What a rule decided to tell people, stored in the outbox before anything is sent.

    `key` is stable for (rule, company, job, status, episode): it is the webhook-id and the email Message-ID,
    so a receiver can recognise a retry or a replay as the same notification. `alert_key` is stable for
    (rule, company, job, episode) alone: the firing and the resolved notification of one alert share it, so
    an incident tool can open and close one incident with it ("" for notifications stored before it existed).
    `company`, `job`, `log` and `schedule` are JSON-ready snapshots, so what is stored is exactly what is sent.
    """

    key: str
    rule: str
    severity: str
    status: str
    event_kind: str
    created_at: datetime
    company: dict[str, Any]
    job: dict[str, Any] | None
    log: dict[str, Any] | None
    message: Message
    details: tuple[str, ...] = ()
    alert_key: str = ""
    schedule: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel target of a notification; each target succeeds or retries on its own."""

    notification: Notification
    channel: str
    recipients: tuple[str, ...] = ()
    attempt: int = 1
