"""What a rule expression (and a template) sees: plain, read-only views of an event's job, log, company,
schedule and the event itself.

Built once per event and shared by every rule, so evaluating many rules costs one conversion. Field names
are the models' snake_case names; derived fields are added because rules keep asking for them:
`job.stalled_seconds` (time since progress last changed), `job.running_seconds` (time since start, or
from start to end once the job's log says it ended) and `job.schedule` (the schedule a run belongs to).

`Views` builds them fast, keeping what it worked out (each type's layout, the views of recurring objects) on
itself; `reference_context` is the plain conversion it is tested against.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from notifier.models import ActiveJob, CompanyRef, Event, JobDetail, JobLog, ScheduledJob

JOB_FIELDS = frozenset(f.name for f in dataclasses.fields(ActiveJob)) | {
    "stalled_seconds",
    "running_seconds",
    "schedule",
}
LOG_FIELDS = frozenset(f.name for f in dataclasses.fields(JobLog)) | {"failed", "has_warnings"}
COMPANY_FIELDS = frozenset(f.name for f in dataclasses.fields(CompanyRef))
SCHEDULE_FIELDS = frozenset(f.name for f in dataclasses.fields(ScheduledJob))
EVENT_FIELDS = frozenset(f.name for f in dataclasses.fields(Event)) - {"job", "log", "company", "schedule"}
ROOTS: Mapping[str, frozenset[str]] = {
    "job": JOB_FIELDS,
    "log": LOG_FIELDS,
    "company": COMPANY_FIELDS,
    "schedule": SCHEDULE_FIELDS,
    "event": EVENT_FIELDS,
}


# Values that are never dataclasses; fields declared to hold only these are checked in one C-level pass.
_PLAIN = frozenset({str, int, float, bool, type(None), datetime})
_PLAIN_NAMES = frozenset({"str", "int", "float", "bool", "datetime", "None"})
# A view of a recurring frozen object holding no nested view is kept and copied for each event. Kept by value:
# these models are frozen and hashable, and equal objects have equal views.
_RECURRING = frozenset({CompanyRef, JobDetail, ScheduledJob})
MAX_KEPT = 4096
View = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to read one dataclass type: every value at once, and which fields may hold dataclasses."""

    names: tuple[str, ...]
    get: Callable[[Any], tuple[Any, ...]]
    nested: tuple[int, ...]  # fields declared as something other than plain scalars (tuples, models, dicts)
    plain: Callable[[tuple[Any, ...]], Iterable[Any]]  # the values of the other fields
    recurring: bool  # one object reaches many events (a company, a shared job-type detail)


class Views:
    """Event contexts, built fast; what equals `reference_context` and `reference_view`, in a fraction of the
    time. Each engine and renderer has its own (the layouts of a handful of types, and up to MAX_KEPT views)."""

    def __init__(self) -> None:
        self._layouts: dict[type, _Layout] = {}
        self._kept: dict[Any, dict[str, Any]] = {}

    def context(self, event: Event) -> Mapping[str, Any]:
        """The variables a `where` expression and a template are evaluated with."""
        return build_context(event, self.view)

    def view(self, value: Any) -> dict[str, Any]:
        """A dataclass as a dict of its fields; nested dataclasses are converted on the way.

        Built for every event that meets a rule, so all values are read in one call, the fields declared plain
        are confirmed plain in one pass, and only the others (or all, should that fail) are looked at one by one.
        """
        kept = self._kept.get(value) if type(value) in _RECURRING else None
        if kept is not None:
            return kept.copy()
        layout = self._layout(type(value))
        values = layout.get(value)
        out = dict(zip(layout.names, values, strict=False))
        flat = True
        check = layout.nested if _PLAIN.issuperset(map(type, layout.plain(values))) else range(len(values))
        for i in check:
            item = values[i]
            kind = type(item)
            if kind in _PLAIN or (kind is tuple and not item):
                continue
            if kind is not tuple and _is_instance(item):
                out[layout.names[i]], flat = self.view(item), False
            elif isinstance(item, tuple) and item and dataclasses.is_dataclass(item[0]):
                out[layout.names[i]], flat = tuple([self.view(i) for i in item]), False
        if flat and layout.recurring:
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[value] = out
            return out.copy()
        return out

    def _layout(self, cls: type) -> _Layout:
        layout = self._layouts.get(cls)
        if layout is None:
            fields = dataclasses.fields(cls)
            names = tuple(f.name for f in fields)
            nested = tuple(i for i, f in enumerate(fields) if not _declared_plain(f.type))
            rest = [i for i in range(len(names)) if i not in nested]
            get, plain = _getter(operator.attrgetter, names), _getter(operator.itemgetter, rest)
            layout = self._layouts[cls] = _Layout(names, get, nested, plain, cls in _RECURRING)
        return layout


def reference_view(value: Any) -> dict[str, Any]:
    """A dataclass as a dict of its fields, nested dataclasses (alone or in tuples) converted: the reference."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if _is_instance(item):
            out[f.name] = reference_view(item)
        elif isinstance(item, tuple) and item and dataclasses.is_dataclass(item[0]):
            out[f.name] = tuple(reference_view(i) for i in item)
        else:
            out[f.name] = item
    return out


def reference_context(event: Event) -> Mapping[str, Any]:
    """What `Views.context` gives, built the plain way."""
    return build_context(event, reference_view)


def _getter(kind: Callable[..., Any], keys: Sequence[Any]) -> Any:
    """`kind(*keys)` that always returns a tuple, whatever the number of keys."""
    if len(keys) == 1:
        one = kind(keys[0])
        return lambda value: (one(value),)
    return kind(*keys) if keys else lambda _value: ()


def _declared_plain(annotation: object) -> bool:
    words = re.findall(r"[A-Za-z_]+", annotation if isinstance(annotation, str) else repr(annotation))
    return bool(words) and _PLAIN_NAMES.issuperset(words)


def _is_instance(value: Any) -> bool:
    """`dataclasses.is_dataclass(value) and not isinstance(value, type)`, without the call overhead."""
    return not isinstance(value, type) and hasattr(type(value), "__dataclass_fields__")


_NO_PREVIOUS: Mapping[str, Any] = MappingProxyType({})  # read-only and empty: one serves every event


def build_context(event: Event, view: View) -> Mapping[str, Any]:
    """The context of `event`, its models turned into dicts by `view`."""
    ev = {
        "kind": event.kind,
        "at": event.at,
        "stalled_seconds": event.stalled_seconds,
        "previous": MappingProxyType(dict(event.previous)) if event.previous else _NO_PREVIOUS,
        "details": tuple([view(d) for d in event.details]),
        "error": event.error,
        "consecutive_failures": event.consecutive_failures,
        "fire_time": event.fire_time,
        "late_seconds": event.late_seconds,
        "last_run": event.last_run,
        "reason": event.reason,
    }
    return MappingProxyType(
        {
            "job": _job_view(event, view),
            "log": _log_view(event.log, view),
            "company": view(event.company),
            "schedule": view(event.schedule) if event.schedule is not None else None,
            "event": ev,
        }
    )


def _job_view(event: Event, view: View) -> dict[str, Any] | None:
    if event.job is None:
        return None
    out = view(event.job)
    out["stalled_seconds"] = event.stalled_seconds
    out["running_seconds"] = running_seconds(event)
    out["schedule"] = view(event.schedule) if event.schedule is not None else None
    return out


def _log_view(log: JobLog | None, view: View) -> dict[str, Any] | None:
    if log is None:
        return None
    out = view(log)
    out["failed"] = log.failed
    out["has_warnings"] = log.has_warnings
    return out


def running_seconds(event: Event) -> float | None:
    """`job.running_seconds`: from the job's start to now, or to its log's end once it ended."""
    start = event.job.start_date if event.job is not None else None
    if start is None:
        return None
    # An ended job ran until its log's end, not until we happened to notice (a poll later, or after a restart).
    end = event.log.end_date if event.log is not None and event.log.end_date is not None else event.at
    return (end - start).total_seconds()
