"""What a rule expression sees: plain, read-only views of an event's job, log, company and the event itself.

Built once per event and shared by every rule, so evaluating many rules costs one conversion. Field names
are the models' snake_case names; two derived fields are added because rules keep asking for them:
`job.stalled_seconds` (time since progress last changed) and `job.running_seconds` (time since start).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from notifier.models import ActiveJob, CompanyRef, Event, JobLog

JOB_FIELDS = frozenset(f.name for f in dataclasses.fields(ActiveJob)) | {"stalled_seconds", "running_seconds"}
LOG_FIELDS = frozenset(f.name for f in dataclasses.fields(JobLog)) | {"failed", "has_warnings"}
COMPANY_FIELDS = frozenset(f.name for f in dataclasses.fields(CompanyRef))
EVENT_FIELDS = frozenset(f.name for f in dataclasses.fields(Event)) - {"job", "log", "company"}
ROOTS: Mapping[str, frozenset[str]] = {
    "job": JOB_FIELDS,
    "log": LOG_FIELDS,
    "company": COMPANY_FIELDS,
    "event": EVENT_FIELDS,
}


def _shallow(value: Any) -> dict[str, Any]:
    """A dataclass as a dict of its fields; nested dataclasses are converted on the way."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            item = _shallow(item)
        elif isinstance(item, tuple) and item and dataclasses.is_dataclass(item[0]):
            item = tuple(_shallow(i) for i in item)
        out[f.name] = item
    return out


def job_view(event: Event) -> dict[str, Any] | None:
    if event.job is None:
        return None
    view = _shallow(event.job)
    view["stalled_seconds"] = event.stalled_seconds
    start = event.job.start_date
    view["running_seconds"] = (event.at - start).total_seconds() if start is not None else None
    return view


def log_view(log: JobLog | None) -> dict[str, Any] | None:
    if log is None:
        return None
    view = _shallow(log)
    view["failed"] = log.failed
    view["has_warnings"] = log.has_warnings
    return view


def event_context(event: Event) -> Mapping[str, Any]:
    """The variables a `where` expression and a template are evaluated with."""
    ev = {
        "kind": event.kind,
        "at": event.at,
        "stalled_seconds": event.stalled_seconds,
        "previous": MappingProxyType(dict(event.previous)),
        "details": tuple(_shallow(d) for d in event.details),
        "error": event.error,
        "consecutive_failures": event.consecutive_failures,
    }
    return MappingProxyType(
        {
            "job": job_view(event),
            "log": log_view(event.log),
            "company": _shallow(event.company),
            "event": ev,
        }
    )
