"""CLDR formatting (Babel) for one locale and time zone: what templates call to show dates and numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent


@dataclass(frozen=True, slots=True)
class Formatter:
    locale: str
    timezone: str = "UTC"

    @property
    def _babel(self) -> Locale:
        return Locale.parse(self.locale, sep="-")

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, format="medium", tzinfo=ZoneInfo(self.timezone), locale=self._babel)

    def duration(self, seconds: float | None) -> str:
        """`15 minutes`, `15分`: one unit, rounded, as people say it."""
        if seconds is None:
            return ""
        return format_timedelta(timedelta(seconds=seconds), threshold=1.5, format="long", locale=self._babel)

    def number(self, value: float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self._babel)

    def percent(self, value: float | None) -> str:
        """`value` is a percentage 0–100 as IPS reports progress."""
        return "" if value is None else format_percent(value / 100, locale=self._babel)
