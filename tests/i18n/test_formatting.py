"""CLDR formatting: durations, dates in the company's time zone, percentages and numbers per locale."""

from __future__ import annotations

from dataclasses import replace

import pytest

from notifier.i18n.formatting import Formatter
from notifier.models import Event
from tests.i18n.support import T0, company, decision, failed_publish, job, render

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "15 minutes"),
        ("de-DE", "15 Minuten"),
        ("es-ES", "15 minutos"),
        ("ja-JP", "15 分"),
        ("ko-KR", "15분"),
        ("zh-CN", "15分钟"),
        ("zh-TW", "15 分鐘"),
    ],
)
def test_duration_is_said_in_the_locale(locale: str, expected: str) -> None:
    """Fifteen minutes reads as the locale's own words for it."""
    assert Formatter(locale).duration(15 * 60) == expected


@pytest.mark.parametrize(
    ("locale", "seconds", "expected"),
    [("en-US", 2 * 3600 + 10 * 60, "2 hours"), ("de-DE", 2 * 86400, "2 Tage"), ("ja-JP", 45, "45 秒")],
)
def test_duration_uses_one_rounded_unit(locale: str, seconds: float, expected: str) -> None:
    """A duration is one unit, rounded, as people say it (2 hours, not 2 hours 10 minutes)."""
    assert Formatter(locale).duration(seconds) == expected


@pytest.mark.parametrize(
    ("locale", "timezone", "expected"),
    [
        ("en-US", "America/New_York", f"Mar 14, 2026, 5:05:00{NNBSP}AM"),
        ("de-DE", "Europe/Berlin", "14.03.2026, 10:05:00"),
        ("fr-FR", "Europe/Paris", "14 mars 2026, 10:05:00"),
        ("pt-BR", "America/Sao_Paulo", "14 de mar. de 2026 06:05:00"),
        ("ja-JP", "Asia/Tokyo", "2026/03/14 18:05:00"),
        ("zh-CN", "Asia/Shanghai", "2026年3月14日 17:05:00"),
    ],
)
def test_datetime_is_shown_in_the_company_time_zone(locale: str, timezone: str, expected: str) -> None:
    """09:05 UTC is shown as the company's wall-clock time, in the locale's date pattern."""
    assert Formatter(locale, timezone).datetime(T0) == expected


def test_same_instant_differs_by_time_zone_not_by_locale() -> None:
    """The zone moves the clock; the locale only changes how it is written."""
    assert Formatter("de-DE", "UTC").datetime(T0) == "14.03.2026, 09:05:00"
    assert Formatter("de-DE", "Asia/Tokyo").datetime(T0) == "14.03.2026, 18:05:00"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "45%"),
        ("de-DE", f"45{NBSP}%"),
        ("fr-FR", f"45{NBSP}%"),
        ("sv-SE", f"45{NBSP}%"),
        ("ja-JP", "45%"),
        ("zh-TW", "45%"),
    ],
)
def test_percent_follows_the_locale(locale: str, expected: str) -> None:
    """IPS progress 45 (of 100) is written with the locale's percent pattern and spacing."""
    assert Formatter(locale).percent(45) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en-US", "1,234"), ("de-DE", "1.234"), ("fr-FR", f"1{NNBSP}234"), ("sv-SE", f"1{NBSP}234")],
)
def test_numbers_are_grouped_per_locale(locale: str, expected: str) -> None:
    """Thousands separators are the locale's."""
    assert Formatter(locale).number(1234) == expected


def test_missing_values_format_as_nothing() -> None:
    """Absent data renders as an empty string rather than 'None'."""
    fmt = Formatter("de-DE")
    assert (fmt.datetime(None), fmt.duration(None), fmt.number(None), fmt.percent(None)) == ("", "", "", "")


def test_notification_fields_use_the_company_time_zone() -> None:
    """A Japanese job of a company in Tokyo shows its start and end in Tokyo time."""
    fields = dict(render(failed_publish("ja-JP")).fields)
    assert (fields["開始日時"], fields["終了日時"]) == ("2026/03/14 18:05:00", "2026/03/14 18:47:00")


def test_stall_headline_embeds_the_localized_duration() -> None:
    """The stalled-job headline carries the CLDR duration inside the translated sentence."""
    event = Event("job.active", T0, company(), job("de-DE"), stalled_seconds=2 * 3600)
    assert render(decision(event)).title == "Auftrag „Spring catalog“ hat 2 Stunden lang keinen Fortschritt gemacht"


def test_progress_headline_embeds_the_localized_percent() -> None:
    """The progress headline carries the CLDR percentage inside the translated sentence."""
    event = Event("job.progressed", T0, company(), replace(job("ja-JP"), progress=45))
    assert render(decision(event)).title == "ジョブ「Spring catalog」の進捗は 45% です"
