"""One SQLite connection shared by the intake, the dispatcher and the status page, used one step at a time.

Every read and every transaction holds one lock: on a shared connection a transaction left open across an
`await` would otherwise be committed by someone else's `commit` (half an intake batch), rolled back by
someone else's error, or read before it is committed (a delivery sent that the outbox never kept).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite


class Connection:
    """The connection, its lock, and the two ways to use it: `reading()` and `transaction()`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
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
                await self.db.rollback()
                raise
