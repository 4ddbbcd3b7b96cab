"""Operator commands against the state store: silences and the outbox (dead letters, retries, purge).

They work on the state store directly (through `open_store`, whatever the backend), so they also work while
the daemon runs: it re-reads silences with every batch and disabled channels every second. Output goes to
`out`, or to whatever stdout is at call time, through the scrubber (stored text may predate it, and receivers'
errors are untrusted).
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from notifier.config import Config
from notifier.engine.silences import parse_matcher
from notifier.safety import SCRUBBER
from notifier.sources.durations import format_duration, parse_duration
from notifier.store.backends import open_store
from notifier.store.records import (
    DEAD,
    DELIVERED,
    OVERDUE_AFTER,
    PENDING,
    SILENCED,
    DeliveryRow,
    DeliveryState,
    WaitingGroup,
    WaitingMember,
)

LINE = 3000  # characters per printed line: a title and an error fit, a megabyte of either does not
STATES: dict[str, list[DeliveryState]] = {
    "pending": [PENDING], "dead": [DEAD], "silenced": [SILENCED], "delivered": [DELIVERED],
    "all": [PENDING, DEAD, SILENCED, DELIVERED], "waiting": [],
}  # fmt: skip
WITH_WAITING = ("waiting", "pending", "all")  # states whose listing includes members waiting for their digest


async def silence_add(
    config: Config, matchers: list[str], duration: str, comment: str, now: datetime, out: TextIO | None = None
) -> int:
    try:
        parsed = [parse_matcher(m) for m in matchers]
        seconds = parse_duration(duration)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not parsed:
        print("error: give at least one --match label=value", file=sys.stderr)
        return 2
    if seconds <= 0:
        print("error: --for must be longer than 0s", file=sys.stderr)
        return 2
    async with open_store(config.state_location) as store:
        silence = await store.add_silence(parsed, now, now + timedelta(seconds=seconds), comment, _user())
    print(f"{silence.id}  until {silence.ends_at.isoformat()}  {_matchers(silence.matchers)}", file=out)
    return 0


async def silence_list(config: Config, now: datetime, *, include_expired: bool, out: TextIO | None = None) -> int:
    async with open_store(config.state_location) as store:
        silences = await store.silences()
        counts = await store.silenced_counts()
    shown = [s for s in silences if include_expired or s.ends_at > now]
    for s in shown:
        state = "active" if s.active(now) else ("pending" if s.starts_at > now else "expired")
        left = format_duration(max(0.0, (s.ends_at - now).total_seconds())) if state == "active" else "-"
        print(
            SCRUBBER(
                f"{s.id}  {state:8} left={left:8} suppressed={counts.get(s.id, 0):<5} {_matchers(s.matchers)}"
                f"  by {s.created_by}: {s.comment}",
                LINE,
            ),
            file=out,
        )
    if not shown:
        print("no silences", file=out)
    return 0


async def silence_expire(config: Config, silence_id: str, now: datetime, out: TextIO | None = None) -> int:
    async with open_store(config.state_location) as store:
        done = await store.expire_silence(silence_id, now)
    print(f"{silence_id} expired" if done else f"no active silence {silence_id}", file=out if done else sys.stderr)
    return 0 if done else 1


async def outbox_list(
    config: Config, state: str, limit: int, out: TextIO | None = None, now: datetime | None = None
) -> int:
    """Deliveries in `state`; with pending (and all, and waiting alone) the notifications waiting in a group for
    its digest too, which have no delivery yet, and a line per group saying when its digest is due (an overdue
    group is named whatever the state listed)."""
    moment = (now or datetime.now(UTC)).timestamp()
    async with open_store(config.state_location) as store:
        rows = await store.list_deliveries(STATES[state], limit) if STATES[state] else []
        waiting = await store.waiting_members(limit) if state in WITH_WAITING else []
        groups = await store.waiting_groups()
        stats = await store.stats()
        disabled = await store.disabled_channels()
    for row in rows:
        print(SCRUBBER(_delivery_line(row), LINE), file=out)
    for member in waiting:
        print(SCRUBBER(_waiting_line(member), LINE), file=out)
    for group in groups:  # every listing names a group whose digest was not made: it is stuck, not empty
        if state in WITH_WAITING or group.overdue(moment):
            print(SCRUBBER(_group_line(group, moment), LINE), file=out)
    held = sum(group.members for group in groups)
    print(
        f"pending={stats.pending} waiting={held} dead={stats.dead} silenced={stats.silenced} "
        f"delivered={stats.delivered}",
        file=out,
    )
    for channel, reason in sorted(disabled.items()):
        print(
            SCRUBBER(
                f"channel {channel} is disabled ({reason}); `notifier outbox retry ID` of its dead row re-enables it"
            ),
            file=out,
        )
    return 0


def _delivery_line(row: DeliveryRow) -> str:
    n = row.notification
    due = f" next={_when(row.next_at)}" if row.state == PENDING else ""
    return (
        f"{row.id:>6}  {row.state:9} {row.channel:14} attempts={row.attempts:<3} {n.status:8} {n.rule:20} "
        f"{n.message.title}{due}" + (f"  ({row.last_error})" if row.last_error else "")
    )


def _waiting_line(member: WaitingMember) -> str:
    """No id: the member has no delivery of its own; it goes out in its group's digest."""
    n = member.notification
    due = _when(member.due_at) if member.due_at is not None else "-"
    return (
        f"{'-':>6}  {'waiting':9} {member.channel:14} group={member.group} {n.status:8} {n.rule:20} "
        f"{n.message.title} digest={due}"
    )


def _group_line(group: WaitingGroup, now: float) -> str:
    due = _when(group.due_at) if group.due_at is not None else "-"
    late = f"  (overdue: not made for over {format_duration(OVERDUE_AFTER)})" if group.overdue(now) else ""
    labels = " ".join(f"{k}={v}" for k, v in group.labels)
    return (
        f"group {group.key} {group.channel} rule={group.rule} {labels + ' ' if labels else ''}"
        f"members={group.members} since={_when(group.since)} digest={due}{late}"
    )


async def outbox_retry(config: Config, row_id: int, now: datetime, out: TextIO | None = None) -> int:
    """Re-queue a dead or silenced delivery; retrying by hand also says the operator fixed its channel."""
    async with open_store(config.state_location) as store:
        requeued = await store.retry(row_id, now)
    if requeued is None:
        print(f"error: no undelivered delivery {row_id} (see `notifier outbox list --state all`)", file=sys.stderr)
        return 1
    print(f"{row_id} queued for delivery on {requeued.channel}", file=out)
    if requeued.reenabled:
        print(f"channel {requeued.channel} re-enabled; its waiting deliveries resume", file=out)
    return 0


async def outbox_retry_channel(config: Config, channel: str, now: datetime, out: TextIO | None = None) -> int:
    """Re-queue every dead delivery of one channel and re-enable it: its endpoint has been fixed."""
    async with open_store(config.state_location) as store:
        count = await store.retry_channel(channel, now)
    print(f"{count} dead deliveries of {channel} queued again; the channel is enabled", file=out)
    return 0


async def outbox_purge(config: Config, state: str, out: TextIO | None = None) -> int:
    async with open_store(config.state_location) as store:
        count = await store.purge(STATES[state])
    print(f"purged {count} {state} deliveries", file=out)
    return 0


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _matchers(matchers: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{k}={v}" for k, v in matchers)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
