"""CLDR formatting: durations, dates in the company's time zone, percentages and numbers per locale."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.i18n import SUPPORTED
from notifier.i18n.formatting import Formatter, duration_parts
from notifier.models import Event
from tests.support.i18n import T0, company, decision, failed_publish, job, render

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
    ("locale", "expected"),
    [
        ("en-US", f"1{NBSP}hour 30{NBSP}minutes"),
        ("de-DE", f"1{NBSP}Stunde und 30{NBSP}Minuten"),
        ("fr-FR", f"1{NBSP}heure et 30{NBSP}minutes"),
        ("es-ES", f"1{NBSP}hora y 30{NBSP}minutos"),
        ("it-IT", f"1{NBSP}ora e 30{NBSP}minuti"),
        ("pt-BR", f"1{NBSP}hora e 30{NBSP}minutos"),
        ("nl-NL", f"1{NBSP}uur en 30{NBSP}minuten"),
        ("sv-SE", f"1{NBSP}timme 30{NBSP}minuter"),
        ("ja-JP", f"1{NBSP}時間 30{NBSP}分"),
        ("ko-KR", "1시간 30분"),
        ("zh-CN", "1小时30分钟"),
        ("zh-TW", f"1{NBSP}小時 30{NBSP}分鐘"),
    ],
)
def test_an_hour_and_a_half_is_said_in_two_units(locale: str, expected: str) -> None:
    """5,400 s reads as one hour and thirty minutes joined the locale's way, never as a rounded-up 2 hours."""
    assert Formatter(locale).duration(5400) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 seconds"),
        (59.9, "59 seconds"),
        (90, "1 minute 30 seconds"),
        (9 * 60 + 59, "9 minutes 59 seconds"),
        (10 * 60 + 59, "10 minutes"),
        (59 * 60 + 59, "59 minutes"),
        (3600, "1 hour"),
        (3600 + 60, "1 hour 1 minute"),
        (2 * 3600 + 10 * 60 + 59, "2 hours 10 minutes"),
        (23 * 3600 + 59 * 60 + 59, "23 hours 59 minutes"),
        (86400 + 5 * 3600 + 3599, "1 day 5 hours"),
        (2 * 86400 + 23 * 3600, "2 days"),
        (45 * 86400, "45 days"),
        (-5, "0 seconds"),
    ],
)
def test_duration_is_rounded_down_with_precision_that_follows_its_size(seconds: float, expected: str) -> None:
    """Seconds only under ten minutes, minutes beside hours, hours beside a single day; never rounded up."""
    assert Formatter("en-US").duration(seconds).replace(NBSP, " ") == expected


@settings()  # examples per the profile in tests/conftest.py
@given(st.floats(min_value=0, max_value=400 * 86400, allow_nan=False))
def test_a_duration_never_overstates_and_drops_less_than_its_smallest_unit(seconds: float) -> None:
    """What the parts add up to is at most the real duration, and short of it by less than its last unit."""
    sizes = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
    parts = duration_parts(seconds)
    shown = sum(count * sizes[unit] for unit, count in parts)
    assert shown <= seconds < shown + sizes[parts[-1][0]]


@pytest.mark.parametrize(
    ("locale", "timezone", "expected"),
    [
        ("en-US", "America/New_York", f"Mar 14, 2026, 5:05{NNBSP}AM EDT"),
        ("de-DE", "Europe/Berlin", "14.03.2026, 10:05 MEZ"),
        ("fr-FR", "Europe/Paris", "14 mars 2026, 10:05 heure normale d’Europe centrale"),
        ("es-ES", "Europe/Madrid", "14 mar 2026, 10:05 CET"),
        ("pt-BR", "America/Sao_Paulo", "14 de mar. de 2026 06:05 BRT"),
        ("sv-SE", "Europe/Stockholm", "14 mars 2026 10:05 CET"),
        ("ja-JP", "Asia/Tokyo", "2026/03/14 18:05 JST"),
        ("ko-KR", "Asia/Seoul", "2026. 3. 14. 오후 6:05 한국 표준시"),
        ("zh-CN", "Asia/Shanghai", "2026年3月14日 17:05 中国标准时间"),
        ("zh-TW", "Asia/Taipei", "2026年3月14日 下午5:05 台北標準時間"),
        ("en-GB", "Europe/London", "14 Mar 2026, 09:05 GMT"),
        ("de-CH", "Europe/Zurich", "14.03.2026, 10:05 MEZ"),
        ("fr-CA", "America/Toronto", "14 mars 2026, 05 h 05 HAE"),
    ],
)
def test_datetime_is_shown_in_the_company_time_zone(locale: str, timezone: str, expected: str) -> None:
    """09:05 UTC is shown as the company's wall-clock time, in the locale's pattern, with the zone named."""
    assert Formatter(locale, timezone).datetime(T0) == expected


def test_same_instant_differs_by_time_zone_not_by_locale() -> None:
    """The zone moves the clock; the locale only changes how it is written."""
    assert Formatter("de-DE", "UTC").datetime(T0) == "14.03.2026, 09:05 UTC"
    assert Formatter("de-DE", "Asia/Tokyo").datetime(T0) == "14.03.2026, 18:05 Japanische Normalzeit"


def test_korean_times_use_the_korean_day_period() -> None:
    """CLDR abbreviates Korean AM/PM in Latin letters; messages write 오전/오후 as Korean clocks do."""
    assert Formatter("ko-KR", "Asia/Seoul").datetime(T0.replace(hour=0)) == "2026. 3. 14. 오전 9:05 한국 표준시"


ZONES = ["America/Los_Angeles", "Europe/Paris", "Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai"]


@pytest.mark.parametrize("locale", [*SUPPORTED, "en-GB", "es-MX", "pt-PT", "fr-CA", "de-CH", "zh-HK"])
@pytest.mark.parametrize("timezone", ZONES)
def test_time_zones_are_named_not_given_as_an_offset(locale: str, timezone: str) -> None:
    """Every locale names the zone (`PST`, `MEZ`, `한국 표준시`, `heure normale du Japon`), in winter and summer,
    rather than leaving the reader an offset such as `GMT+09:00` to work out."""
    for instant in (T0, T0.replace(month=7)):
        shown = Formatter(locale, timezone).datetime(instant)
        assert not re.search(r"(GMT|UTC)[+−-]|[+−-]\d{2}:?\d{2}$", shown), shown


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
    assert (fields["開始日時"], fields["終了日時"]) == ("2026/03/14 18:05 JST", "2026/03/14 19:47 JST")


def test_stall_headline_embeds_the_localized_duration() -> None:
    """The stalled-job headline carries the CLDR duration inside the translated sentence."""
    event = Event("job.active", T0, company(), job("de-DE"), stalled_seconds=2 * 3600)
    expected = f"Auftrag „Spring catalog“ hat 2{NBSP}Stunden lang keinen Fortschritt gemacht"
    assert render(decision(event)).title == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "Job “Spring catalog” has made no progress for 1 hour 30 minutes"),
        ("de-DE", "Auftrag „Spring catalog“ hat 1 Stunde und 30 Minuten lang keinen Fortschritt gemacht"),
        ("fr-FR", "La tâche « Spring catalog » ne progresse plus depuis 1 heure et 30 minutes"),
        ("es-ES", "El trabajo «Spring catalog» lleva 1 hora y 30 minutos sin avanzar"),
        ("it-IT", "Il processo “Spring catalog” non avanza da 1 ora e 30 minuti"),
        ("pt-BR", "O trabalho “Spring catalog” está sem progresso há 1 hora e 30 minutos"),
        ("nl-NL", "Job ‘Spring catalog’ maakt al 1 uur en 30 minuten geen voortgang"),
        ("sv-SE", "Jobbet ”Spring catalog” har inte gjort några framsteg på 1 timme 30 minuter"),
        ("ja-JP", "ジョブ「Spring catalog」の進捗が 1 時間 30 分間止まっています"),
        ("ko-KR", "‘Spring catalog’ 작업이 1시간 30분 동안 진행되지 않고 있습니다"),
        ("zh-CN", "作业“Spring catalog”已连续1小时30分钟无进展"),
        ("zh-TW", "工作「Spring catalog」已連續 1 小時 30 分鐘沒有進度"),
    ],
)
def test_stall_headline_says_an_hour_and_a_half_in_every_locale(locale: str, expected: str) -> None:
    """A stall of 1 h 30 min 42 s is told as 1 hour 30 minutes inside each locale's own sentence."""
    event = Event("job.active", T0, company(), job(locale), stalled_seconds=5400 + 42)
    title = render(decision(event, name="stalled-progress")).title
    assert title.replace(NBSP, " ") == expected  # where the no-break spaces go is proven above


def test_stall_headline_in_japanese_says_how_long_it_stopped() -> None:
    """「15 分間止まっています」: the Japanese stall headline reads naturally around the CLDR duration."""
    event = Event("job.active", T0, company(), job("ja-JP"), stalled_seconds=15 * 60)
    assert render(decision(event)).title == f"ジョブ「Spring catalog」の進捗が 15{NBSP}分間止まっています"


def test_progress_headline_embeds_the_localized_percent() -> None:
    """The progress headline carries the CLDR percentage inside the translated sentence."""
    event = Event("job.progressed", T0, company(), replace(job("ja-JP"), progress=45))
    assert render(decision(event)).title == "ジョブ「Spring catalog」の進捗は 45% です"


def test_ended_job_shows_how_long_it_ran() -> None:
    """A finished job's fields give its duration from the log's start and end (1 h 42 min 30 s), rounded down."""
    fields = dict(render(failed_publish("fr-FR")).fields)
    assert fields["Durée"] == f"1{NBSP}heure et 42{NBSP}minutes"


LOCALE_ZONES = st.sampled_from(
    [("en-US", "America/New_York"), ("de-DE", "Europe/Berlin"), ("ja-JP", "Asia/Tokyo"), ("ko-KR", "Asia/Seoul"),
     ("pt-BR", "America/Sao_Paulo"), ("fr-FR", "Australia/Lord_Howe"), ("sv-SE", "UTC")]
)  # fmt: skip
INSTANTS = st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
VALUES = st.lists(st.one_of(INSTANTS, st.floats(0, 400_000), st.integers(0, 10**7)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(LOCALE_ZONES, VALUES)
def test_a_formatter_that_remembers_says_what_a_fresh_one_says(place: tuple[str, str], values: list[object]) -> None:
    """One formatter used for many values (DST changes, old zone offsets with seconds, repeats) gives for each
    exactly what a fresh formatter gives."""
    used = Formatter(*place)
    for value in [*values, *values]:
        if isinstance(value, datetime):
            assert used.datetime(value) == Formatter(*place).datetime(value)
            assert used.datetime(value + timedelta(seconds=59)) == Formatter(*place).datetime(
                value + timedelta(seconds=59)
            )
        else:
            assert used.duration(value) == Formatter(*place).duration(value)
            assert used.number(value) == Formatter(*place).number(value)
            assert used.percent(value) == Formatter(*place).percent(value)
