"""Silencing, a step of its own between rendering and committing: where a notification goes, and which of its
destinations a silence holds back (stored, visible and counted, but never sent). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from notifier.engine.silences import Silence, silenced_by
from notifier.models import Notification
from notifier.store.records import Destination, DueGroup, Outgoing


def labels(notification: Notification) -> dict[str, str]:
    """What a silence's matchers are matched against (with `channel`, the destination's)."""
    return {
        "rule": notification.rule,
        "company": notification.company_handle,
        "job": notification.job_handle,
        "schedule": notification.schedule_name,
        "severity": notification.severity,
        "status": notification.status,
    }


def silence(
    notification: Notification,
    targets: Sequence[tuple[str, tuple[str, ...]]],
    silences: Sequence[Silence],
    now: datetime,
) -> Outgoing:
    """Where a notification goes: each rule channel with its recipients, held back where a silence matches."""
    matched = labels(notification)
    destinations = []
    for channel, recipients in targets:
        held = silenced_by(silences, {**matched, "channel": channel}, now)
        destinations.append(Destination(channel, recipients, held.id if held else None))
    return Outgoing(notification, tuple(destinations))


def held_back(group: DueGroup, silences: Sequence[Silence], now: datetime) -> dict[str, str]:
    """Members of a due group a silence now holds back (by key, with the silence): a silence added while they
    waited keeps them out of the digest as it would have kept them out of the group."""
    held = {}
    for member in group.members:
        found = silenced_by(silences, {**labels(member), "channel": group.channel}, now)
        if found is not None:
            held[member.key] = found.id
    return held
