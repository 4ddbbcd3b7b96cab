"""The console channel: one line per delivery on a text stream, for demos, `notifier demo` and pipes.

By default each line is the webhook body plus the channel name as JSON, so what a pipe reads is what a webhook
receiver gets; `format: summary` writes one readable line per notification for people watching instead.
"""

from __future__ import annotations

import sys
from typing import TextIO

from notifier.channels.base import TransportFailure
from notifier.channels.webhook import dumps, webhook_payload
from notifier.models import Delivery, Notification


class ConsoleSender:
    """Writes to `stream`, or to whatever `sys.stdout` is at send time, flushing every line."""

    def __init__(self, name: str, stream: TextIO | None = None, *, summary: bool = False) -> None:
        self.name = name
        self.stream = stream
        self.summary = summary

    async def send(self, delivery: Delivery) -> None:
        notification = delivery.notification
        if self.summary:
            line = summary_line(notification)
        else:
            line = dumps({"channel": self.name, **webhook_payload(notification)}).decode()
        stream = self.stream or sys.stdout
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe or stream: report, the dispatcher decides
            raise TransportFailure("connection", type(exc).__name__) from None

    async def close(self) -> None:
        """The stream belongs to whoever passed it in."""


def summary_line(notification: Notification) -> str:
    """`09:05:00  FIRING    critical  failed-publish  47 Planetary  [de-DE] Veröffentlichungsauftrag „…“ …`:
    when (UTC), status, severity, rule, company, and the title every channel leads with, in its locale."""
    company = notification.company
    who = " ".join(str(value) for value in (company.get("handle"), company.get("name")) if value)
    return (
        f"{notification.created_at:%H:%M:%S}  {notification.status.upper():8}  {notification.severity:8}  "
        f"{notification.rule}  {who}  [{notification.message.locale}] {notification.message.title}"
    )
