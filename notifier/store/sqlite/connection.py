"""One SQLite connection shared by the intake, the dispatcher and the status page, used one step at a time.

Every read and every transaction holds one lock: on a shared connection a transaction left open across an
`await` would otherwise be committed by someone else's `commit` (half an intake batch), rolled back by
someone else's error, or read before it is committed (a delivery sent that the outbox never kept).

Every operation's failure (a full disk, a damaged page, a closed connection) is raised as a `StoreError` and
remembered in `StoreHealth` until that operation succeeds again, so readiness and metrics say the store is
failing while callers wait it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from notifier.store.errors import StoreError, StoreHealth, describe

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="Connection")
# What SQLite and the file system raise when the file, the disk or the connection fails. Nothing else is a
# store failure: a TypeError or a ValueError raised by our own code is a bug and must surface, never be waited
# out for ever as if the disk were full.
FAILURES = (sqlite3.Error, OSError)
CLOSED = frozenset({"Connection closed", "no active connection"})  # what aiosqlite raises (as ValueError) then


class DamagedRow(Exception):
    """A stored value that no longer decodes: damage SQLite did not notice, or a hand-edited file."""


def failed(exc: BaseException) -> bool:
    """Whether `exc` says the state store failed (and may heal), rather than that our own code is wrong."""
    if isinstance(exc, (*FAILURES, DamagedRow)):
        return True
    return type(exc) is ValueError and str(exc) in CLOSED


def decoded(decode: Callable[[], R]) -> R:
    """`decode()` of values read from a row; what a damaged row makes it raise becomes `DamagedRow`."""
    try:
        return decode()
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise DamagedRow(f"a stored row does not decode ({describe(exc)})") from exc


def operation(
    method: Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[C, P], Coroutine[Any, Any, R]]:
    """A store operation: its failures become `StoreError`s and are recorded in the store's health under the
    method's name, which its next success clears."""
    name = method.__name__

    @functools.wraps(method)
    async def tracked(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = await method(self, *args, **kwargs)
        except Exception as exc:
            if not failed(exc):
                raise
            self.health.failed(name, describe(exc))
            raise StoreError(f"state store: {name}: {describe(exc)}") from exc
        self.health.succeeded(name)
        return result

    return tracked


class Connection:
    """The connection, its lock, and the two ways to use it: `reading()` and `transaction()`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self.health = StoreHealth()
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        async with self._lock:
            await self.db.close()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for queries, while no transaction is half-written."""
        async with self._lock:
            yield self.db

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for writes: committed when the block ends, rolled back when it raises."""
        async with self._lock:
            try:
                yield self.db
                await self.db.commit()
            except BaseException:
                with contextlib.suppress(*FAILURES, ValueError):  # a rollback that fails too must not hide why
                    await self.db.rollback()
                raise
