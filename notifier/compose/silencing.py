"""Silencing, a step of its own between rendering and committing: where a notification goes, and which of its
destinations a silence holds back (stored, visible and counted, but never sent). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from notifier.engine.silences import Silence, silenced_by
from notifier.models import Notification
from notifier.store.records import Destination, Outgoing


def silence(
    notification: Notification,
    targets: Sequence[tuple[str, tuple[str, ...]]],
    silences: Sequence[Silence],
    now: datetime,
) -> Outgoing:
    """Where a notification goes: each rule channel with its recipients, held back where a silence matches."""
    labels = {
        "rule": notification.rule,
        "company": notification.company_handle,
        "job": notification.job_handle,
        "schedule": notification.schedule_name,
        "severity": notification.severity,
        "status": notification.status,
    }
    destinations = []
    for channel, recipients in targets:
        held = silenced_by(silences, {**labels, "channel": channel}, now)
        destinations.append(Destination(channel, recipients, held.id if held else None))
    return Outgoing(notification, tuple(destinations))
