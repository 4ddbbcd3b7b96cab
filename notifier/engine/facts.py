"""One event as compiled rule conditions read it: plain fields from the models, the context only when asked."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from notifier.engine.context import EVENT_FIELDS, ROOTS, Views, running_seconds
from notifier.engine.jinja import Scope
from notifier.models import Event

# Values a view holds exactly as the model does (anything else the view may convert, so it is read from there).
_PLAIN = frozenset({str, int, float, bool, type(None), datetime})


class EventFacts:
    """One event as the rules evaluated for it read it.

    Compiled conditions read plain fields straight from the models; the context of views (`Views.context`)
    is built only when something asks for it (a nested model, a rule left to Jinja), and then once.
    """

    __slots__ = ("_context", "_views", "event", "scope")

    def __init__(self, event: Event, views: Views) -> None:
        self.event = event
        self.scope: Scope = {}  # what the rules left to Jinja share (see `ExpressionRunner`)
        self._views = views
        self._context: Mapping[str, Any] | None = None

    @property
    def context(self) -> Mapping[str, Any]:
        if self._context is None:
            self._context = self._views.context(self.event)
        return self._context


FactReader = Callable[[EventFacts], Any]
_EVENT_PLAIN = EVENT_FIELDS - {"previous", "details"}  # held by the event view as they are on the event

# Per root: the model it views, and the derived fields the view adds (read from the event).
_DERIVED: Mapping[str, Mapping[str, Callable[[Event], Any]]] = {
    "job": {"stalled_seconds": operator.attrgetter("stalled_seconds"), "running_seconds": running_seconds},
    "log": {"failed": operator.attrgetter("log.failed"), "has_warnings": operator.attrgetter("log.has_warnings")},
    "company": {},
    "schedule": {},
}
_MODEL_OF: Mapping[str, Callable[[Event], Any]] = {
    "job": operator.attrgetter("job"),
    "log": operator.attrgetter("log"),
    "company": operator.attrgetter("company"),
    "schedule": operator.attrgetter("schedule"),
}


def field_reader(root: str, name: str, missing: Callable[[Any, str], Any]) -> FactReader | None:
    """What `<root>.<name>` reads in the context, read from the models instead; None for a field whose view
    holds more than a plain value (a nested model, `job.schedule`, `event.details`), or no field at all.

    `missing(None, name)` is what reading a field of an absent model gives (the environment's `getattr`).
    A value the view would convert (not a plain scalar after all) is read from the view.
    """
    if root == "event":
        return operator.attrgetter(f"event.{name}") if name in _EVENT_PLAIN else None
    if root not in _MODEL_OF or name not in ROOTS[root] or name == "schedule":
        return None
    model, derived = _MODEL_OF[root], _DERIVED[root].get(name)
    value_of = operator.attrgetter(name)

    def read(facts: EventFacts) -> Any:
        event = facts.event
        held = model(event)
        if held is None:
            return missing(None, name)
        if derived is not None:
            return derived(event)
        value = value_of(held)
        return value if type(value) in _PLAIN else facts.context[root][name]

    return read
