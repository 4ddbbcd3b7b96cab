"""What a rule expression sees: plain, read-only views of an event's job, log, company, schedule and the event.

Built once per event and shared by every rule, so evaluating many rules costs one conversion. Field names
are the models' snake_case names; derived fields are added because rules keep asking for them:
`job.stalled_seconds` (time since progress last changed), `job.running_seconds` (time since start, or
from start to end once the job's log says it ended) and `job.schedule` (the schedule a run belongs to).
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

from jinja2 import Template
from jinja2.environment import TemplateExpression
from jinja2.runtime import Undefined

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


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to read one dataclass type: every value at once, and which fields may hold dataclasses."""

    names: tuple[str, ...]
    get: Callable[[Any], tuple[Any, ...]]
    nested: tuple[int, ...]  # fields declared as something other than plain scalars (tuples, models, dicts)
    plain: Callable[[tuple[Any, ...]], Iterable[Any]]  # the values of the other fields
    recurring: bool  # one object reaches many events (a company, a shared job-type detail)


_LAYOUTS: dict[type, _Layout] = {}  # one entry per dataclass type that appears in events: a handful
# A view of a recurring frozen object holding no nested view is kept and copied for each event. Kept by value,
# not by id(): these models are frozen and hashable, and equal objects have equal views.
_RECURRING = frozenset({CompanyRef, JobDetail, ScheduledJob})
_VIEWS: dict[Any, dict[str, Any]] = {}
_MAX_VIEWS = 4096


def _layout(cls: type) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = dataclasses.fields(cls)
        names = tuple(f.name for f in fields)
        nested = tuple(i for i, f in enumerate(fields) if not _declared_plain(f.type))
        rest = [i for i in range(len(names)) if i not in nested]
        get, plain = _getter(operator.attrgetter, names), _getter(operator.itemgetter, rest)
        layout = _LAYOUTS[cls] = _Layout(names, get, nested, plain, cls in _RECURRING)
    return layout


def _getter(kind: Callable[..., Any], keys: Sequence[Any]) -> Any:
    """`kind(*keys)` that always returns a tuple, whatever the number of keys."""
    if len(keys) == 1:
        one = kind(keys[0])
        return lambda value: (one(value),)
    return kind(*keys) if keys else lambda _value: ()


def _declared_plain(annotation: object) -> bool:
    words = re.findall(r"[A-Za-z_]+", annotation if isinstance(annotation, str) else repr(annotation))
    return bool(words) and _PLAIN_NAMES.issuperset(words)


def _shallow(value: Any) -> dict[str, Any]:
    """A dataclass as a dict of its fields; nested dataclasses are converted on the way.

    Built for every event that meets a rule, so all values are read in one call, the fields declared plain
    are confirmed plain in one pass, and only the others (or all, should that fail) are looked at one by one.
    """
    kept = _VIEWS.get(value) if type(value) in _RECURRING else None
    if kept is not None:
        return kept.copy()
    layout = _layout(type(value))
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
            out[layout.names[i]], flat = _shallow(item), False
        elif isinstance(item, tuple) and item and dataclasses.is_dataclass(item[0]):
            out[layout.names[i]], flat = tuple([_shallow(i) for i in item]), False
    if flat and layout.recurring:
        if len(_VIEWS) >= _MAX_VIEWS:
            _VIEWS.clear()
        _VIEWS[value] = out
        return out.copy()
    return out


def _is_instance(value: Any) -> bool:
    """`dataclasses.is_dataclass(value) and not isinstance(value, type)`, without the call overhead."""
    return not isinstance(value, type) and hasattr(type(value), "__dataclass_fields__")


def job_view(event: Event) -> dict[str, Any] | None:
    if event.job is None:
        return None
    view = _shallow(event.job)
    view["stalled_seconds"] = event.stalled_seconds
    start = event.job.start_date
    # An ended job ran until its log's end, not until we happened to notice (a poll later, or after a restart).
    end = event.log.end_date if event.log is not None and event.log.end_date is not None else event.at
    view["running_seconds"] = (end - start).total_seconds() if start is not None else None
    view["schedule"] = _shallow(event.schedule) if event.schedule is not None else None
    return view


def log_view(log: JobLog | None) -> dict[str, Any] | None:
    if log is None:
        return None
    view = _shallow(log)
    view["failed"] = log.failed
    view["has_warnings"] = log.has_warnings
    return view


_NO_PREVIOUS: Mapping[str, Any] = MappingProxyType({})  # read-only and empty: one serves every event


def event_context(event: Event) -> Mapping[str, Any]:
    """The variables a `where` expression and a template are evaluated with."""
    ev = {
        "kind": event.kind,
        "at": event.at,
        "stalled_seconds": event.stalled_seconds,
        "previous": MappingProxyType(dict(event.previous)) if event.previous else _NO_PREVIOUS,
        "details": tuple([_shallow(d) for d in event.details]),
        "error": event.error,
        "consecutive_failures": event.consecutive_failures,
        "fire_time": event.fire_time,
        "late_seconds": event.late_seconds,
        "last_run": event.last_run,
        "reason": event.reason,
    }
    return MappingProxyType(
        {
            "job": job_view(event),
            "log": log_view(event.log),
            "company": _shallow(event.company),
            "schedule": _shallow(event.schedule) if event.schedule is not None else None,
            "event": ev,
        }
    )


Scope = dict[Any, Any]  # per event: the Jinja context its rules share
Runner = Callable[[Mapping[str, Any], Scope], Any]


def expression_runner(expression: Callable[..., Any]) -> Runner:
    """Calls a compiled `where` expression with an event context; same result as `expression(**context)`.

    Jinja's `TemplateExpression` copies the environment's globals (a ChainMap, read key by key) into a new
    dict and builds a new Jinja context on every call, which together cost more than the expression. The
    globals cannot change once rules are loaded, so they are copied once here; and the rules evaluated for
    one event share one Jinja context through `scope` (an expression only sets its `result` there, read
    straight after). Anything that is not a plain Jinja expression is simply called.
    """
    template = getattr(expression, "_template", None)
    if type(expression) is not TemplateExpression or not isinstance(template, Template):
        return lambda context, _scope: expression(**context)
    env, render, name, blocks = template.environment, template.root_render_func, template.name, template.blocks
    globals_ = dict(template.globals)
    globals_keys = set(globals_)
    to_none = bool(getattr(expression, "_undefined_to_none", False))
    # Expressions share a context only when everything they could resolve through it is the same.
    key = (env, name, tuple(blocks), tuple((k, id(v)) for k, v in globals_.items()))

    def run(context: Mapping[str, Any], scope: Scope) -> Any:
        ctx = scope.get(key)
        if ctx is None:
            ctx = scope[key] = env.context_class(env, {**globals_, **context}, name, blocks)
            ctx.globals_keys = globals_keys  # what Jinja derives from the globals on each call, derived once
        for _ in render(ctx):
            pass
        value = ctx.vars["result"]
        return None if to_none and isinstance(value, Undefined) else value

    return run
