"""How the status page writes durations and times: short, both relative and absolute, against the daemon's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from notifier.web.present import absolute, duration, iso, relative

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m 00s"),
        (185, "3m 05s"),
        (3600, "1h 00m"),
        (7620, "2h 07m"),
        (86_400 * 3 + 3600 * 4 + 59, "3d 4h"),
        (-90, "1m 30s"),
    ],
)
def test_duration_shows_at_most_two_units(seconds: float | None, text: str) -> None:
    """Durations keep the two largest units, zero-padded where a second unit follows."""
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (None, "never"),
        (NOW, "just now"),
        (NOW - timedelta(seconds=185), "3m 05s ago"),
        (NOW + timedelta(hours=1, minutes=20), "in 1h 20m"),
        ((NOW - timedelta(minutes=2)).isoformat(), "2m 00s ago"),
    ],
)
def test_relative_reads_past_and_future(when: datetime | str | None, text: str) -> None:
    """Relative times say `ago` for the past, `in` for the future and `never` for a missing time."""
    assert relative(when, NOW) == text


def test_absolute_is_utc_with_the_date_only_when_not_today() -> None:
    """Today's times show the clock time; other days add the date, and offsets are converted to UTC."""
    assert absolute(NOW - timedelta(minutes=5), NOW) == "09:25:00 UTC"
    assert absolute(NOW - timedelta(days=1), NOW) == "2026-03-01 09:30:00 UTC"
    paris = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert absolute(paris.isoformat(), NOW) == "09:00:00 UTC"
    assert absolute(None, NOW) == ""


def test_iso_round_trips_for_time_elements() -> None:
    """The machine-readable form is ISO 8601 with its offset, or empty when there is no time."""
    assert iso(NOW) == "2026-03-02T09:30:00+00:00"
    assert iso(None) == ""
