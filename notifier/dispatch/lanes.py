"""A lane is everything that throttles one channel; plus the two pure steps around one attempt on it:
calling the channel (any failure becomes a `SendError`) and turning a verdict into the row's new state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from notifier.channels.base import Channel, SendError
from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.dispatch.policy import Verdict
from notifier.models import Delivery
from notifier.store.records import DEAD, DELIVERED, PENDING, DeliveryOutcome, DeliveryRow

log = structlog.get_logger(__name__)
BACKLOG = 64  # rows one lane holds in memory (on the wire or waiting for a slot); the rest wait in the outbox


@dataclass(slots=True)
class Lane:
    """One channel and its throttles: concurrency (`slots`), rate, circuit breaker and in-memory backlog."""

    channel: Channel
    concurrency: int
    limiter: RateLimiter | None
    breaker: CircuitBreaker
    backlog: int = BACKLOG
    slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)


async def attempt(channel: Channel, delivery: Delivery) -> tuple[SendError | None, str | None]:
    """One send: (None, what the channel kept of the message) when accepted, else (the error, None). A channel
    bug is reported as an unclassified failure, not raised: raising would leave the row due at once and the
    dispatcher re-sending it in a tight loop."""
    try:
        kept = await channel.send(delivery)
    except SendError as exc:
        return exc, None
    except Exception as exc:
        log.exception("channel raised an unexpected error", channel=delivery.channel)
        return SendError(f"unexpected {type(exc).__name__} in channel"), None
    return None, kept


def outcome(
    row: DeliveryRow,
    verdict: Verdict,
    now: float,
    *,
    attempted: bool,
    channel_disabled: bool,
    conversation: str | None = None,
) -> DeliveryOutcome:
    """The row's state after `verdict`: delivered (with what its channel kept), pending again at `next_at`, or
    dead (maybe disabling)."""
    attempts = row.attempts + 1 if attempted else row.attempts
    if verdict.action == "delivered":
        return DeliveryOutcome(row.id, row.channel, DELIVERED, attempts, now, None, conversation=conversation)
    if verdict.action == "retry":
        return DeliveryOutcome(row.id, row.channel, PENDING, attempts, now + (verdict.delay or 0.0), verdict.reason)
    if verdict.action == "disable":
        if channel_disabled:
            # Another send already disabled the channel: this row waits with the others instead of dying.
            return DeliveryOutcome(row.id, row.channel, PENDING, attempts, now, verdict.reason)
        # The endpoint said it is gone for good: stop using it; this row is the one `outbox retry` takes.
        return DeliveryOutcome(row.id, row.channel, DEAD, attempts, now, verdict.reason, disable=verdict.reason)
    return DeliveryOutcome(row.id, row.channel, DEAD, attempts, now, verdict.reason)
