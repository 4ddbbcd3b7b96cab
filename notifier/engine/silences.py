"""Silences: time-boxed matchers that hold notifications back without losing them from view.

A silence matches a notification when every matcher equals the notification's label of that name
(`rule`, `company`, `job`, `schedule`, `severity`, `status`, `channel`), with `*` as a glob; `schedule` is the
name of the scheduled job a notification is about (or whose run it is about). Pure: the store keeps them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

LABELS = ("rule", "company", "job", "schedule", "severity", "status", "channel")


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[tuple[str, str], ...]
    starts_at: datetime
    ends_at: datetime
    comment: str = ""
    created_by: str = ""

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str], now: datetime) -> bool:
        if not self.active(now):
            return False
        return all(fnmatch.fnmatchcase(labels.get(name, ""), pattern) for name, pattern in self.matchers)


def parse_matcher(text: str) -> tuple[str, str]:
    """`company=47` → ("company", "47"); unknown label names are refused so a typo cannot silence nothing."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not value:
        raise ValueError(f"matcher {text!r} must look like label=value")
    if name not in LABELS:
        raise ValueError(f"unknown label {name!r} in matcher (labels: {', '.join(LABELS)})")
    return name, value.strip()


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> Silence | None:
    for silence in silences:
        if silence.matches(labels, now):
            return silence
    return None
