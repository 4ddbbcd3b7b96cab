"""Grouping, a step between silencing and committing: which destinations of a notification collect into a
group's digest instead of being sent on their own, and which group. Pure.

A group is one rule, one channel and one set of values of the target's `group_by` fields (Alertmanager's
model); its key is a digest of those, so the same alerts always land in the same group and a restarted daemon
finds it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

from notifier.engine.evaluate import Decision
from notifier.engine.grouping import GroupSpec
from notifier.models import Event
from notifier.store.records import Grouping, Outgoing


def group_key(rule: str, channel: str, labels: Sequence[tuple[str, str]]) -> str:
    """Stable and opaque: the same rule, channel and values always give the same key."""
    text = json.dumps([rule, channel, [list(pair) for pair in labels]], ensure_ascii=False)
    return "grp_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def field_value(event: Event, path: str) -> str:
    """The value `path` (`company.handle`, `job.type`, `event.kind`) has for `event`, as text ("" when absent)."""
    root, _, name = path.partition(".")
    holder = event if root == "event" else getattr(event, root, None)
    value = getattr(holder, name, None) if holder is not None else None
    return "" if value is None else str(value)


def grouping(decision: Decision, channel: str, spec: GroupSpec) -> Grouping:
    labels = tuple((path, field_value(decision.event, path)) for path in spec.by)
    return Grouping(
        group_key(decision.rule.name, channel, labels), decision.rule.name, labels, spec.wait, spec.interval
    )


def grouped(outgoing: Outgoing, decision: Decision) -> Outgoing:
    """`outgoing` with each destination whose rule target groups joined to its group; unchanged otherwise."""
    specs = {target.channel: target.group for target in decision.rule.notify if target.group is not None}
    if not specs:
        return outgoing
    destinations = tuple(
        dataclasses.replace(d, group=grouping(decision, d.channel, specs[d.channel])) if d.channel in specs else d
        for d in outgoing.destinations
    )
    return dataclasses.replace(outgoing, destinations=destinations)


def due_after_joining(now: float, group: Grouping, next_at: float | None, last_at: float | None) -> float:
    """When a group is due once a member joins at `now` (what the store computes, for previews without one):
    unchanged if it is already waiting; `interval` after its last digest if that was recent; else `wait` on."""
    if next_at is not None:
        return next_at
    if last_at is not None and last_at + group.interval > now:
        return last_at + group.interval
    return now + group.wait
