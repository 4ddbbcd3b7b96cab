"""CLDR formatting (Babel) for one locale and time zone: what templates call to show dates and numbers.

Every method takes what the models hold (None included) and returns display text, never raising for a
value it cannot show: a message with a gap beats a message that is never sent.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

Instant = datetime  # the type, for methods below that are themselves called `datetime`
NBSP = "\u00a0"
# A number and its unit ("15 minutes") must not be split over two lines, in any script.
_NUMBER_SPACE = re.compile(r"(?<=\d) (?=\D)")
Unit = Literal["day", "hour", "minute", "second"]
ListStyle = Literal["standard", "unit", "unit-narrow"]
# (unit, seconds, count below which the next smaller unit is shown too): `3 minutes 20 seconds` then
# `42 minutes`; `1 hour 30 minutes` up to `23 hours 59 minutes`; `1 day 5 hours` then `3 days`.
_UNITS: tuple[tuple[Unit, int, int], ...] = (
    ("day", 86_400, 2), ("hour", 3_600, 24), ("minute", 60, 10), ("second", 1, 0),
)  # fmt: skip
_UNIT_SECONDS = {unit: size for unit, size, _ in _UNITS}
# CLDR's `unit` list style joins an amount in two units ("1 時間 30 分", "1 heure et 30 minutes"); where it
# writes a comma ("1 hour, 30 minutes"), which reads as an enumeration mid-sentence, these styles read as
# speakers say it: "1 hour 30 minutes", "1 timme 30 minuter", "1 Stunde und 30 Minuten", "1 hora y 30 minutos".
_JOIN_STYLE: dict[str, ListStyle] = {
    "en": "unit-narrow", "sv": "unit-narrow", "de": "standard", "es": "standard",
}  # fmt: skip


@cache
def _locale(tag: str) -> Locale:
    return Locale.parse(tag, sep="-")


@cache
def _zone(name: str) -> ZoneInfo:
    """The company's zone; an unknown name (a hand-written test-rule event) shows UTC rather than failing."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@cache
def is_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone we can show times in."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _time_pattern(tag: str) -> str:
    """The locale's short time pattern, with the wide day period where the abbreviated one is Latin AM/PM.

    CLDR gives Korean `AM`/`PM` as abbreviations, while Korean readers expect 오전/오후 as every Korean
    system clock writes them.
    """
    locale = _locale(tag)
    pattern = str(locale.time_formats["short"].pattern)
    periods = locale.day_periods["format"]
    abbreviated, wide = periods.get("abbreviated", {}), periods.get("wide", {})
    if abbreviated.get("pm") == "PM" and wide.get("pm") not in (None, "PM") and "a" in pattern:
        pattern = re.sub(r"a+", "aaaa", pattern)
    return pattern


def _is_offset(zone: str) -> bool:
    """`+0900`, `GMT+09:00`, `UTC-5`: a number, not a name."""
    return not zone or zone[:1] in "+-" or bool(re.match(r"^(GMT|UTC)[+-−]", zone))


def _lenient(method: Callable[[Formatter, Any], str]) -> Callable[[Formatter, Any], str]:
    """A value of the wrong type (a hand-edited recording, a user template) is shown as it is, not fatal."""

    @functools.wraps(method)
    def format_or_show(self: Formatter, value: Any) -> str:
        try:
            return method(self, value)
        except (TypeError, ValueError, ArithmeticError, AttributeError):
            return str(value)

    return format_or_show


def duration_parts(seconds: float) -> list[tuple[Unit, int]]:
    """The largest whole unit, plus the next smaller one while the larger count is small; always rounded down.

    A message must never overstate how long a job stalled or ran: 1 h 59 min is `1 hour 59 minutes`,
    not `2 hours`. Precision follows size: seconds only under ten minutes, hours beside a single day.
    """
    total = max(0, math.floor(seconds))  # skewed clocks can make an interval negative: it reads as 0 seconds
    index = next((i for i, (_, size, _) in enumerate(_UNITS) if total >= size), len(_UNITS) - 1)
    unit, size, paired_below = _UNITS[index]
    count = total // size
    parts = [(unit, count)]
    if count < paired_below:
        smaller, smaller_size, _ = _UNITS[index + 1]
        if rest := total % size // smaller_size:
            parts.append((smaller, rest))
    return parts


def _join(words: list[str], locale: str) -> str:
    """`1 hour` and `30 minutes` joined as the locale writes an amount in two units."""
    style: ListStyle = _JOIN_STYLE.get(locale.split("-")[0], "unit")
    try:
        return format_list(words, style=style, locale=_locale(locale))
    except (KeyError, ValueError):  # Babel keeps only part of some locales' list data
        return format_list(words, style="standard", locale=_locale(locale))


MEMO_SIZE = 1024  # formatted values one formatter keeps; cleared when full


@dataclass(frozen=True, slots=True)
class Formatter:
    """Display text for one locale and time zone.

    A renderer keeps one formatter per locale and zone and remembers what it formatted: the notifications of one
    poll show the same few minutes, percentages and counts again and again, and CLDR formatting is slow. A fresh
    formatter (nothing remembered) is the reference the tests hold a used one to.
    """

    locale: str
    timezone: str = "UTC"
    _memo: dict[tuple[object, ...], str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def _babel(self) -> Locale:
        return _locale(self.locale)

    def _remembered(self, key: tuple[object, ...], compute: Callable[[], str]) -> str:
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            found = self._memo[key] = compute()
        return found

    @_lenient
    def datetime(self, value: datetime | None) -> str:
        """Date and time to the minute in the company's zone, with the zone named: readers may be elsewhere."""
        if value is None:
            return ""
        local = value.astimezone(_zone(self.timezone))
        if not _to_the_minute(self.locale):
            return self._datetime(local)
        # What is shown depends only on the local minute and the zone's offset and name at that instant.
        key = ("datetime", local.replace(second=0, microsecond=0, tzinfo=None), local.utcoffset(), local.tzname())
        return self._remembered(key, lambda: self._datetime(local))

    def _datetime(self, local: Instant) -> str:
        date = format_date(local, "medium", locale=self._babel)
        time = format_time(local, _time_pattern(self.locale), tzinfo=local.tzinfo, locale=self._babel)
        pattern = str(get_datetime_format("medium", locale=self._babel))
        return pattern.replace("{1}", date).replace("{0}", f"{time} {self.zone_name(local)}")

    def zone_name(self, local: Instant) -> str:
        """The zone as the locale's readers name it: `EDT`, `MEZ`, `JST` where they use an abbreviation, else
        its long name (`한국 표준시`, `中国标准时间`, `heure normale d’Europe centrale`), else the offset.

        A bare offset (`GMT+09:00`) is what a reader must work out; CLDR's location form ("Japan Time") is
        left out because Babel gets its daylight-saving variant wrong in several locales.
        """
        zone = format_time(local, "z", tzinfo=local.tzinfo, locale=self._babel)
        if _is_offset(zone):
            zone = format_time(local, "zzzz", tzinfo=local.tzinfo, locale=self._babel)
        if _is_offset(zone):
            zone = format_time(local, "OOOO", tzinfo=local.tzinfo, locale=self._babel)
        return zone

    @_lenient
    def duration(self, seconds: float | None) -> str:
        """`1 hour 30 minutes`, `1 時間 30 分`, `3 days`: never more than it was, never broken across lines."""
        if seconds is None:
            return ""
        parts = duration_parts(seconds)
        return self._remembered(("duration", *parts), lambda: self._duration(parts))

    def _duration(self, parts: list[tuple[Unit, int]]) -> str:
        words = [self._unit(unit, count) for unit, count in parts]
        return _NUMBER_SPACE.sub(NBSP, _join(words, self.locale))

    def _unit(self, unit: Unit, count: int) -> str:
        """`count` whole units in CLDR's long form: exact, so Babel's rounding has nothing to round."""
        exact = timedelta(seconds=count * _UNIT_SECONDS[unit])
        return format_timedelta(exact, granularity=unit, threshold=math.inf, format="long", locale=self._babel)

    @_lenient
    def number(self, value: float | None) -> str:
        if value is None:
            return ""
        return self._remembered(("number", type(value), value), lambda: format_decimal(value, locale=self._babel))

    @_lenient
    def percent(self, value: float | None) -> str:
        """`value` is a percentage 0–100 as IPS reports progress."""
        if value is None:
            return ""
        return self._remembered(
            ("percent", type(value), value), lambda: format_percent(value / 100, locale=self._babel)
        )


@cache
def _to_the_minute(tag: str) -> bool:
    """Whether the locale's date and time patterns show nothing finer than minutes."""
    locale = _locale(tag)
    patterns = (_time_pattern(tag), str(locale.date_formats["medium"].pattern))
    return not any(letter in pattern for pattern in patterns for letter in "sSA")
