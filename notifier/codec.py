"""Events ↔ JSON-ready dicts: what `notifier watch` prints and what `--replay` reads back.

Field names stay snake_case as in the models, because rules address them that way (`job.submit_user_email`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from notifier.models import Event, Notification

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
    return _decode_as(Event, data)


def _decode_as(cls: type[T], data: dict[str, Any]) -> T:
    value = _decode(cls, data)
    assert isinstance(value, cls)
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
    return _decode_as(Notification, data)
