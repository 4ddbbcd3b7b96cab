"""What every config section is built from: frozen strict models, and the value checks several sections share."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, ValidationInfo

from notifier.i18n import tag_problem
from notifier.sources.paths import expand

__all__ = [
    "LocaleTag",
    "Strict",
    "base_dir",
    "expand",
    "http_url",
    "not_empty",
    "off_or_at_least_a_second",
    "time_zone",
]


class Strict(BaseModel):
    """Frozen, and unknown keys are errors: a typo must never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def _locale_tag(value: str | None) -> str | None:
    problem = tag_problem(value) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


LocaleTag = Annotated[str | None, AfterValidator(_locale_tag)]


def time_zone(value: str) -> str:
    """An IANA zone; a wrong case or a near miss comes with the name meant (`europe/berlin` → Europe/Berlin)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        zones = available_timezones()
        by_case = {zone.casefold(): zone for zone in zones}
        meant = by_case.get(value.casefold()) or next(iter(difflib.get_close_matches(value, sorted(zones), n=1)), None)
        hint = f" (did you mean {meant!r}?)" if meant else " (use an IANA name such as Europe/Berlin)"
        raise ValueError(f"unknown time zone {value!r}{hint}") from None
    return value


def http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def not_empty(value: SecretStr | None) -> SecretStr | None:
    # An environment variable set to "" or an empty secret file is a mistake, never a real credential.
    if value is not None and not value.get_secret_value():
        raise ValueError("is empty")
    return value


def off_or_at_least_a_second(value: float) -> float:
    if 0 < value < 1:
        raise ValueError("give 0 (off) or at least 1s")
    return value
