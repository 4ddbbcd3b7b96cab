"""The console channel: one JSON line per delivery on a text stream, for demos, `notifier demo` and pipes.

Each line is the webhook body plus the channel name, so what a demo prints is what a webhook receiver gets.
"""

from __future__ import annotations

import sys
from typing import TextIO

from notifier.channels.base import TransportFailure
from notifier.channels.webhook import dumps, webhook_payload
from notifier.models import Delivery


class ConsoleSender:
    """Writes to `stream`, or to whatever `sys.stdout` is at send time, flushing every line."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.stream = stream

    async def send(self, delivery: Delivery) -> None:
        line = dumps({"channel": self.name, **webhook_payload(delivery.notification)}).decode()
        stream = self.stream or sys.stdout
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe or stream: report, the dispatcher decides
            raise TransportFailure("connection", type(exc).__name__) from None

    async def close(self) -> None:
        """The stream belongs to whoever passed it in."""
