"""The events of one active snapshot, built all at once: a poll of 50,000 jobs makes some 100,000 of them.

A frozen dataclass's `__init__` sets each of an event's fifteen fields through `object.__setattr__`; here every
field is set for all the snapshot's events in one C-level pass (`column_builder`). `reference_events` is the
plain construction the fast one is tested equal to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

from notifier.ips.columns import column_builder
from notifier.models import ActiveJob, CompanyRef, Event

# One event to be: its kind, the job, its stalled seconds, and what changed (None: nothing).
Spec = tuple[str, ActiveJob, float | None, dict[str, Any] | None]

_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
_build = column_builder(Event)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Event) if f.default is not dataclasses.MISSING}
_OWN = ("kind", "at", "company", "job", "stalled_seconds", "previous")  # set per snapshot or per event


def snapshot_events(specs: Sequence[Spec], company: CompanyRef, now: datetime) -> list[Event]:
    """`reference_events(specs, company, now)`, column by column."""
    n = len(specs)
    kinds, jobs, stalled, previous = zip(*specs, strict=True) if specs else ((), (), (), ())
    own: dict[str, Any] = {
        "kind": kinds,
        "at": repeat(now, n),
        "company": repeat(company, n),
        "job": jobs,
        "stalled_seconds": stalled,
        "previous": [p or {} for p in previous],  # each its own dict, as each event's default is
    }
    return _build([own[name] if name in own else repeat(_DEFAULTS[name], n) for name in _FIELDS], n)


def reference_events(specs: Sequence[Spec], company: CompanyRef, now: datetime) -> list[Event]:
    """Each event constructed on its own: the reference."""
    return [
        Event(kind=kind, at=now, company=company, job=job, stalled_seconds=stalled, previous=previous or {})
        for kind, job, stalled, previous in specs
    ]


if not set(_FIELDS) - set(_OWN) <= set(_DEFAULTS):  # a new Event field without a plain default: build it here
    raise TypeError("snapshot_events sets every Event field without a plain default")
