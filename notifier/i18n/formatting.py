"""CLDR formatting (Babel) for one locale and time zone: what templates call to show dates and numbers.

Every method takes what the models hold (None included) and returns display text, never raising for a
value it cannot show: a message with a gap beats a message that is never sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format
from babel.numbers import format_decimal, format_percent

Instant = datetime  # the type, for methods below that are themselves called `datetime`
NBSP = "\u00a0"
# A number and its unit ("15 minutes") must not be split over two lines, in any script.
_NUMBER_SPACE = re.compile(r"(?<=\d) (?=\D)")


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


def _lenient(method: Callable[[Formatter, Any], str]) -> Callable[[Formatter, Any], str]:
    """A value of the wrong type (a hand-edited recording, a user template) is shown as it is, not fatal."""

    @functools.wraps(method)
    def format_or_show(self: Formatter, value: Any) -> str:
        try:
            return method(self, value)
        except (TypeError, ValueError, ArithmeticError, AttributeError):
            return str(value)

    return format_or_show


@dataclass(frozen=True, slots=True)
class Formatter:
    locale: str
    timezone: str = "UTC"

    @property
    def _babel(self) -> Locale:
        return _locale(self.locale)

    @_lenient
    def datetime(self, value: datetime | None) -> str:
        """Date and time to the minute in the company's zone, with the zone named: readers may be elsewhere."""
        if value is None:
            return ""
        zone = _zone(self.timezone)
        local = value.astimezone(zone)
        date = format_date(local, "medium", locale=self._babel)
        time = format_time(local, _time_pattern(self.locale), tzinfo=zone, locale=self._babel)
        pattern = str(get_datetime_format("medium", locale=self._babel))
        return pattern.replace("{1}", date).replace("{0}", f"{time} {self.zone_name(local)}")

    def zone_name(self, local: Instant) -> str:
        """`EDT`, `MEZ`, `JST` where the locale has an abbreviation, else the localized offset `GMT+09:00`."""
        zone = format_time(local, "z", tzinfo=local.tzinfo, locale=self._babel)
        if zone[:1] in "+-" or not zone:
            zone = format_time(local, "OOOO", tzinfo=local.tzinfo, locale=self._babel)
        return zone

    @_lenient
    def duration(self, seconds: float | None) -> str:
        """`15 minutes`, `15 分`: one unit, rounded, as people say it, never broken across lines."""
        if seconds is None:
            return ""
        text = format_timedelta(timedelta(seconds=seconds), threshold=1.5, format="long", locale=self._babel)
        return _NUMBER_SPACE.sub(NBSP, text)

    @_lenient
    def number(self, value: float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self._babel)

    @_lenient
    def percent(self, value: float | None) -> str:
        """`value` is a percentage 0–100 as IPS reports progress."""
        return "" if value is None else format_percent(value / 100, locale=self._babel)
