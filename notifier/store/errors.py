"""How the state store fails, whatever the backend: `StoreError` for an operation that may succeed later,
`StateFileError` for state an operator must repair, and `StoreHealth`, which remembers what is failing now.

Every operation's failure is raised as a `StoreError` and remembered in `StoreHealth` until that operation
succeeds again, so readiness and metrics say the store is failing while callers wait it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class StoreError(Exception):
    """The state store could not do what was asked; the operation may succeed when tried again later."""


class StateInUse(StoreError):
    """Another daemon holds the state: a second one would send every notification twice."""


class StateFileError(StoreError):
    """The state file cannot be used at all (not a database, truncated, unreadable): an operator must act."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"state file {path} is not a valid database: {problem}; move it aside to start fresh")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Failure:
    """An operation failing since `since` (monotonic seconds), `count` times in a row, last with `error`."""

    error: str
    since: float
    count: int


class StoreObserver(Protocol):
    """Told each failure of a store operation (metrics count them)."""

    def store_failed(self, operation: str) -> None: ...


class StoreHealth:
    """Which operations are failing now: set by a failure, cleared when the same operation next succeeds."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.failing: dict[str, Failure] = {}
        self.errors = 0  # failures since the store was opened
        self.observer: StoreObserver | None = None
        self._monotonic = monotonic

    def failed(self, operation: str, error: str) -> None:
        self.errors += 1
        earlier = self.failing.get(operation)
        since = earlier.since if earlier else self._monotonic()
        self.failing[operation] = Failure(error, since, (earlier.count if earlier else 0) + 1)
        if self.observer is not None:
            self.observer.store_failed(operation)

    def succeeded(self, operation: str) -> None:
        self.failing.pop(operation, None)

    @property
    def problem(self) -> str | None:
        """What an operator reads: each failing operation, its error and for how long, or None when healthy."""
        if not self.failing:
            return None
        now = self._monotonic()
        parts = [
            f"{operation} failing for {now - f.since:.0f}s ({f.count}×): {f.error}"
            for operation, f in sorted(self.failing.items())
        ]
        return "; ".join(parts)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
