"""Events ↔ JSON-ready dicts: what `notifier watch` prints and what `--replay` reads back.

Field names stay snake_case as in the models, because rules address them that way (`job.submit_user_email`).
"""

from __future__ import annotations

import dataclasses
import json
import operator
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from notifier.models import Event, Message, Notification

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """Dataclasses become dicts, tuples lists, datetimes RFC 3339 strings; pair tuples stay lists of pairs."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(event)
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """The inverse of event_to_dict; unknown keys are ignored so recordings survive model growth."""
    return decode_as(Event, data)


def decode_as(cls: type[T], data: dict[str, Any]) -> T:
    """The inverse of `to_jsonable` for a dataclass type: nested dataclasses, tuples and datetimes rebuilt.

    Anything that is not the shape of `cls` raises `ValueError` (or `TypeError` for a value of the wrong type
    where an object's field is built), never an `AssertionError`: this is validation, and it must hold under
    `python -O` too."""
    value = _decode(cls, data)
    if not isinstance(value, cls):
        raise ValueError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(options[0], value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=False))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ValueError(f"expected an object for {tp.__name__}, got {type(value).__name__}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _decode(hints[k], v) for k, v in value.items() if k in names})
    if tp is datetime:
        when = datetime.fromisoformat(value)
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)  # hand-written events may omit it
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(notification)
    return data


def notification_from_dict(data: dict[str, Any]) -> Notification:
    return decode_as(Notification, data)


# ------------------------------------------------------------------------------------- stored bodies
# The outbox stores every notification as JSON and reads it back for every delivery. The generic walk above
# (`notification_to_dict`, `notification_from_dict`) is the reference; these two know the shape of a
# Notification and give the same text and the same object in a fraction of the time (tests hold them to it).


def encode_notification(notification: Notification) -> str:
    """`json.dumps(notification_to_dict(n), ensure_ascii=False)`, without walking the already JSON-ready
    snapshots twice: whatever in them is not JSON yet (a datetime, a dataclass) is converted on the way."""
    n, m = notification, notification.message
    message = {"locale": m.locale, "title": m.title, "text": m.text, "html": m.html,
               "fields": [list(pair) for pair in m.fields], "summary": m.summary,
               "links": [list(pair) for pair in m.links]}  # fmt: skip
    body = {
        "key": n.key, "rule": n.rule, "severity": n.severity, "status": n.status, "event_kind": n.event_kind,
        "created_at": n.created_at.isoformat(), "company": n.company, "job": n.job, "log": n.log,
        "message": message, "details": list(n.details), "alert_key": n.alert_key, "schedule": n.schedule,
        "thread": n.thread, "group": to_jsonable(n.group) if n.group is not None else None,
    }  # fmt: skip
    return json.dumps(body, ensure_ascii=False, default=_late_jsonable)


def _late_jsonable(value: Any) -> Any:
    converted = to_jsonable(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return converted


def decode_notification(text: str) -> Notification:
    """`notification_from_dict(json.loads(text))` for bodies `encode_notification` (or the reference) wrote."""
    data = json.loads(text)
    if not isinstance(data, dict) or not _KNOWN_BODY.issuperset(data) or not isinstance(data.get("message"), dict):
        return notification_from_dict(data)  # an older or hand-made body: the general decoder knows what to do
    if data.get("group") is not None:
        return notification_from_dict(data)  # a digest holds notifications of its own: rare, and nested
    m = data["message"]
    if not _KNOWN_MESSAGE.issuperset(m):
        return notification_from_dict(data)
    fields, links = m.get("fields"), m.get("links")
    message = Message(
        m["locale"], m["title"], m["text"], m.get("html"),
        tuple(tuple(pair) for pair in fields) if fields else (), m.get("summary"),
        tuple(tuple(pair) for pair in links) if links else (),
    )  # fmt: skip
    created = datetime.fromisoformat(data["created_at"])
    details = data.get("details")
    return Notification(
        data["key"], data["rule"], data["severity"], data["status"], data["event_kind"],
        created if created.tzinfo is not None else created.replace(tzinfo=UTC),
        data["company"], data.get("job"), data.get("log"), message, tuple(details) if details else (),
        data.get("alert_key") or "", data.get("schedule"), data.get("thread") or "",
    )  # fmt: skip


_KNOWN_BODY = frozenset(f.name for f in dataclasses.fields(Notification))
_KNOWN_MESSAGE = frozenset(f.name for f in dataclasses.fields(Message))


class Snapshots:
    """`to_jsonable` (the reference the tests hold it to), faster for the values notifications are made of:
    each dataclass's fields are read at once by a plan made once per class and kept here."""

    def __init__(self) -> None:
        self._plans: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:  # exact types only: a subclass (a Markup string, say) takes the reference path
            return value
        if kind is datetime:
            return value.isoformat()
        if kind is dict:
            return {str(k): self(v) for k, v in value.items()}
        if kind is tuple or kind is list:
            return [self(v) for v in value]
        plan = self._plans.get(kind)
        if plan is None:
            if not dataclasses.is_dataclass(value) or isinstance(value, type):
                return to_jsonable(value)
            names = tuple(f.name for f in dataclasses.fields(value))
            getter = operator.attrgetter(*names) if len(names) > 1 else lambda v: tuple(getattr(v, n) for n in names)
            plan = self._plans[kind] = (names, getter)
        names, values = plan
        return {name: self(item) for name, item in zip(names, values(value), strict=True)}


_PLAIN = frozenset({str, int, float, bool, type(None)})
