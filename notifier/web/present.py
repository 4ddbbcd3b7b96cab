"""How the status page writes times and durations: short, unambiguous, relative to the daemon's own clock.

Pure functions over plain values; the Jinja environment exposes them as filters. Relative times are
computed on the server against the daemon's clock (which tests drive), never against the browser's.
"""

from __future__ import annotations

from datetime import UTC, datetime


def duration(seconds: float | None) -> str:
    """`42s`, `3m 05s`, `2h 07m`, `3d 4h`: two units at most, the largest first."""
    if seconds is None:
        return "–"
    total = int(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def parse(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def relative(value: str | datetime | None, now: datetime) -> str:
    """`3m 05s ago`, `in 1h 20m`, `just now`, or `never` when there is no time at all."""
    when = parse(value)
    if when is None:
        return "never"
    delta = (_utc(now) - _utc(when)).total_seconds()
    if abs(delta) < 1:
        return "just now"
    return f"{duration(delta)} ago" if delta > 0 else f"in {duration(delta)}"


def until(value: str | datetime | None, now: datetime) -> str:
    """`in 40s` for a time still ahead, `now` for one that has come (a retry that is due, say)."""
    when = parse(value)
    if when is None:
        return "never"
    ahead = (_utc(when) - _utc(now)).total_seconds()
    return f"in {duration(ahead)}" if ahead >= 1 else "now"


def absolute(value: str | datetime | None, now: datetime) -> str:
    """UTC wall time; the date is added when it is not today's, so old entries are not mistaken for recent."""
    when = parse(value)
    if when is None:
        return ""
    when = _utc(when)
    same_day = when.date() == _utc(now).date()
    return when.strftime("%H:%M:%S UTC" if same_day else "%Y-%m-%d %H:%M:%S UTC")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: str | datetime | None) -> str:
    """The machine-readable form for `<time datetime=…>`."""
    when = parse(value)
    return when.isoformat() if when else ""
