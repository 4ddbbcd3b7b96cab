"""What every backend's operations share: failures of the store become `StoreError`s remembered in its health,
damaged rows become failures of the store, and stored schedule states are read back the same way."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from notifier.ingest.schedules.state import ScheduleState, mark_from_dict
from notifier.store.bodies import Bodies
from notifier.store.errors import StoreError, StoreHealth, describe
from notifier.store.records import Destination, DueGroup, WaitingGroup, WaitingMember

P = ParamSpec("P")
R = TypeVar("R")


class DamagedRow(Exception):
    """A stored value that no longer decodes: damage the database did not notice, or a hand-edited row."""


class Tracked(Protocol):
    """A backend whose operations are tracked: where failures are remembered, and how their text is cleaned."""

    health: StoreHealth

    def scrub(self, text: str) -> str: ...


S = TypeVar("S", bound=Tracked)
Method = Callable[Concatenate[S, P], Coroutine[Any, Any, R]]


def decoded(decode: Callable[[], R]) -> R:
    """`decode()` of values read from a row; what a damaged row makes it raise becomes `DamagedRow`."""
    try:
        return decode()
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise DamagedRow(f"a stored row does not decode ({describe(exc)})") from exc


def tracking(failed: Callable[[BaseException], bool]) -> Callable[[Method[S, P, R]], Method[S, P, R]]:
    """The decorator of a backend's operations: what `failed` says is the store failing becomes a `StoreError`
    recorded in the store's health under the method's name, which its next success clears; anything else (a
    bug of ours) is raised as it is."""

    def operation(method: Method[S, P, R]) -> Method[S, P, R]:
        name = method.__name__

        @functools.wraps(method)
        async def tracked(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = await method(self, *args, **kwargs)
            except Exception as exc:
                if not failed(exc):
                    raise
                error = self.scrub(describe(exc))
                self.health.failed(name, error)
                raise StoreError(f"state store: {name}: {error}") from exc
            self.health.succeeded(name)
            return result

        return tracked

    return operation


def joins_group(destination: Destination) -> bool:
    """Whether a new notification's `destination` waits in its group for a digest instead of being delivered."""
    return destination.group is not None and destination.silenced_by is None


def schedule_states(rows: Iterable[Sequence[Any]]) -> dict[str, dict[str, ScheduleState]]:
    """(company, schedule, stored body) rows → each company's schedules' states."""
    marks: dict[str, dict[str, ScheduleState]] = {}
    for company, key, body in rows:
        marks.setdefault(company, {})[key] = mark_from_dict(json.loads(body))
    return marks


def waiting_group(row: Sequence[Any]) -> WaitingGroup:
    """(key, rule, channel, labels, members, oldest member's time, next_at, sent) → the group as operators see it."""
    labels = tuple((str(k), str(v)) for k, v in json.loads(row[3]))
    due = float(row[6]) if row[6] is not None else None
    return WaitingGroup(row[0], row[1], row[2], labels, int(row[4]), float(row[5]), due, int(row[7]))


def waiting_member(row: Sequence[Any], bodies: Bodies) -> WaitingMember:
    """(group, channel, recipients, added_at, next_at, key, body) → a member waiting for its group's digest."""
    due = float(row[4]) if row[4] is not None else None
    recipients = tuple(str(r) for r in json.loads(row[2]))
    return WaitingMember(row[0], row[1], recipients, float(row[3]), due, bodies.read(row[5], row[6]))


def due_group(group: Sequence[Any], rows: Sequence[Sequence[Any]], bodies: Bodies) -> DueGroup:
    """(key, rule, channel, labels, sent, thread, open) and its members' (key, body, recipients) → a due group."""
    recipients = dict.fromkeys(address for row in rows for address in json.loads(row[2]))
    return DueGroup(
        key=group[0],
        rule=group[1],
        channel=group[2],
        labels=tuple((str(k), str(v)) for k, v in json.loads(group[3])),
        recipients=tuple(recipients),
        members=tuple(bodies.read(row[0], row[1]) for row in rows),
        sent=group[4],
        thread=group[5],
        open=tuple(json.loads(group[6])),
    )
