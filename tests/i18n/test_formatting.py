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
        ("en-US", f"15{NBSP}minutes"),
        ("de-DE", f"15{NBSP}Minuten"),
        ("fr-FR", f"15{NBSP}minutes"),
        ("es-ES", f"15{NBSP}minutos"),
        ("it-IT", f"15{NBSP}minuti"),
        ("pt-BR", f"15{NBSP}minutos"),
        ("nl-NL", f"15{NBSP}minuten"),
        ("sv-SE", f"15{NBSP}minuter"),
        ("ja-JP", f"15{NBSP}分"),
        ("ko-KR", "15분"),
        ("zh-CN", "15分钟"),
        ("zh-TW", f"15{NBSP}分鐘"),
    ],
)
def test_duration_is_said_in_the_locale(locale: str, expected: str) -> None:
    """Fifteen minutes reads as the locale's own words for it, number and unit held together."""
    assert Formatter(locale).duration(15 * 60) == expected


@pytest.mark.parametrize(
    ("locale", "seconds", "expected"),
    [
        ("en-US", 2 * 3600 + 10 * 60, f"2{NBSP}hours"),
        ("de-DE", 2 * 86400, f"2{NBSP}Tage"),
        ("sv-SE", 2 * 86400, f"2{NBSP}dygn"),
        ("ja-JP", 45, f"45{NBSP}秒"),
    ],
)
def test_duration_uses_one_rounded_unit(locale: str, seconds: float, expected: str) -> None:
    """A duration is one unit, rounded, as people say it (2 hours, not 2 hours 10 minutes)."""
    assert Formatter(locale).duration(seconds) == expected


@pytest.mark.parametrize(
    ("locale", "timezone", "expected"),
    [
        ("en-US", "America/New_York", f"Mar 14, 2026, 5:05{NNBSP}AM EDT"),
        ("de-DE", "Europe/Berlin", "14.03.2026, 10:05 MEZ"),
        ("fr-FR", "Europe/Paris", "14 mars 2026, 10:05 UTC+01:00"),
        ("es-ES", "Europe/Madrid", "14 mar 2026, 10:05 CET"),
        ("pt-BR", "America/Sao_Paulo", "14 de mar. de 2026 06:05 BRT"),
        ("sv-SE", "Europe/Stockholm", "14 mars 2026 10:05 CET"),
        ("ja-JP", "Asia/Tokyo", "2026/03/14 18:05 JST"),
        ("ko-KR", "Asia/Seoul", "2026. 3. 14. 오후 6:05 GMT+09:00"),
        ("zh-CN", "Asia/Shanghai", "2026年3月14日 17:05 GMT+08:00"),
        ("zh-TW", "Asia/Taipei", "2026年3月14日 下午5:05 GMT+08:00"),
    ],
)
def test_datetime_is_shown_in_the_company_time_zone(locale: str, timezone: str, expected: str) -> None:
    """09:05 UTC is shown as the company's wall-clock time, in the locale's pattern, with the zone named."""
    assert Formatter(locale, timezone).datetime(T0) == expected


def test_same_instant_differs_by_time_zone_not_by_locale() -> None:
    """The zone moves the clock; the locale only changes how it is written."""
    assert Formatter("de-DE", "UTC").datetime(T0) == "14.03.2026, 09:05 UTC"
    assert Formatter("de-DE", "Asia/Tokyo").datetime(T0) == "14.03.2026, 18:05 GMT+09:00"


def test_korean_times_use_the_korean_day_period() -> None:
    """CLDR abbreviates Korean AM/PM in Latin letters; messages write 오전/오후 as Korean clocks do."""
    assert Formatter("ko-KR", "Asia/Seoul").datetime(T0.replace(hour=0)) == "2026. 3. 14. 오전 9:05 GMT+09:00"


def test_unknown_time_zone_shows_utc_instead_of_failing() -> None:
    """A zone name no one knows (a hand-written recording) still gives a date, in UTC and saying so."""
    assert Formatter("en-US", "Mars/Olympus_Mons").datetime(T0) == f"Mar 14, 2026, 9:05{NNBSP}AM UTC"


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


def test_values_of_the_wrong_type_are_shown_as_they_are() -> None:
    """A progress that is not a number (a hand-edited recording) is shown as given instead of failing."""
    fmt = Formatter("de-DE")
    assert (fmt.percent("viel"), fmt.number("3a"), fmt.duration("lang")) == ("viel", "3a", "lang")


def test_notification_fields_use_the_company_time_zone() -> None:
    """A Japanese job of a company in Tokyo shows its start and end in Tokyo time."""
    fields = dict(render(failed_publish("ja-JP")).fields)
    assert (fields["開始日時"], fields["終了日時"]) == ("2026/03/14 18:05 JST", "2026/03/14 18:47 JST")


def test_stall_headline_embeds_the_localized_duration() -> None:
    """The stalled-job headline carries the CLDR duration inside the translated sentence."""
    event = Event("job.active", T0, company(), job("de-DE"), stalled_seconds=2 * 3600)
    expected = f"Auftrag „Spring catalog“ hat 2{NBSP}Stunden lang keinen Fortschritt gemacht"
    assert render(decision(event)).title == expected


def test_stall_headline_in_japanese_says_how_long_it_stopped() -> None:
    """「15 分止まっています」: the Japanese stall headline reads naturally around the CLDR duration."""
    event = Event("job.active", T0, company(), job("ja-JP"), stalled_seconds=15 * 60)
    assert render(decision(event)).title == f"ジョブ「Spring catalog」の進捗が 15{NBSP}分止まっています"


def test_progress_headline_embeds_the_localized_percent() -> None:
    """The progress headline carries the CLDR percentage inside the translated sentence."""
    event = Event("job.progressed", T0, company(), replace(job("ja-JP"), progress=45))
    assert render(decision(event)).title == "ジョブ「Spring catalog」の進捗は 45% です"


def test_ended_job_shows_how_long_it_ran() -> None:
    """A finished job's fields give its duration from the log's start and end, as a CLDR duration."""
    fields = dict(render(failed_publish("fr-FR")).fields)
    assert fields["Durée"] == f"42{NBSP}minutes"
