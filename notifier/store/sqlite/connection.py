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
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from notifier.store.errors import StoreHealth
from notifier.store.operations import DamagedRow, tracking

# What SQLite and the file system raise when the file, the disk or the connection fails. Nothing else is a
# store failure: a TypeError or a ValueError raised by our own code is a bug and must surface, never be waited
# out for ever as if the disk were full.
FAILURES = (sqlite3.Error, OSError)
SYNCHRONOUS = "FULL"  # every commit waits for the disk: a committed notification survives power loss
CLOSED = frozenset({"Connection closed", "no active connection"})  # what aiosqlite raises (as ValueError) then


def failed(exc: BaseException) -> bool:
    """Whether `exc` says the state store failed (and may heal), rather than that our own code is wrong."""
    if isinstance(exc, (*FAILURES, DamagedRow)):
        return True
    return type(exc) is ValueError and str(exc) in CLOSED


operation = tracking(failed)


class Connection:
    """The connection, its lock, and the two ways to use it: `reading()` and `transaction()`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self.health = StoreHealth()
        self._lock = asyncio.Lock()

    def scrub(self, text: str) -> str:
        """What a failure says, as it is: SQLite's messages carry no credentials."""
        return text

    async def close(self) -> None:
        async with self._lock:
            await self.db.close()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for queries, while no transaction is half-written."""
        async with self._lock:
            yield self.db

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> Iterable[sqlite3.Row]:
        """Every row `sql` selects, in one trip to the connection's thread (a cursor takes three)."""
        async with self.reading() as db:
            return await db.execute_fetchall(sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self, *, synced: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for writes: committed when the block ends, rolled back when it raises.

        A commit waits until the write-ahead log is on disk (`synchronous=FULL`), unless `synced` is False:
        then it is safe from a crash of the process but not from power loss, until the next synced commit
        (or checkpoint) writes everything before it to disk too. Only what may be done again after a power
        loss is written that way (delivery outcomes: a lost one means the delivery is sent again, same id).
        """
        async with self._lock:
            if not synced:
                await self.db.execute("PRAGMA synchronous=NORMAL")
            try:
                yield self.db
                if synced:
                    await self.db.commit()
                else:  # one trip: a script commits what is pending first (not waiting for the disk), then resets
                    await self.db.executescript(f"PRAGMA synchronous={SYNCHRONOUS}")
            except BaseException:
                with contextlib.suppress(*FAILURES, ValueError):  # a rollback that fails too must not hide why
                    await self.db.rollback()
                if not synced:  # whatever failed, the next commit must wait for the disk again
                    with contextlib.suppress(*FAILURES, ValueError):
                        await self.db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
                raise
