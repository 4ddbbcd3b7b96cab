"""A pool of connections to the PostgreSQL state, and what every operation on it shares.

Every operation's failure (the server down or restarting, a dropped connection, a timeout, a deadlock) is raised
as a `StoreError` and remembered in `StoreHealth` until that operation succeeds again, exactly as the embedded
store does: callers wait it out with backoff, readiness says why. A pool reconnects on its own once the
server answers again, so nothing here has to be reopened after an outage.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
from asyncpg.exceptions._base import InternalClientError

from notifier.store.errors import StoreHealth
from notifier.store.operations import DamagedRow, tracking

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Db: TypeAlias = PoolConnectionProxy[asyncpg.Record]  # a pooled connection
else:
    Db = asyncpg.Connection
Row = asyncpg.Record
# What the server, the network and the driver raise when the database cannot answer. A `DataError` (a value of
# the wrong type bound to a query) is our own bug and must surface, never be waited out as if the server were down.
FAILURES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    InternalClientError,
    OSError,
    TimeoutError,
)
BUGS: tuple[type[BaseException], ...] = (asyncpg.DataError,)


def failed(exc: BaseException) -> bool:
    """Whether `exc` says the database failed (and may heal), rather than that our own code is wrong."""
    return isinstance(exc, (*FAILURES, DamagedRow)) and not isinstance(exc, BUGS)


operation = tracking(failed)


class Pool:
    """The connection pool and the two ways to use it: `connection()` for reads, `transaction()` for writes."""

    def __init__(self, pool: asyncpg.Pool, scrub: Callable[[str], str]) -> None:
        self.pool = pool
        self._scrub = scrub  # driver messages may quote the DSN; nothing of it leaves unscrubbed
        self.health = StoreHealth()

    def scrub(self, text: str) -> str:
        return self._scrub(text)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Db]:
        async with self.pool.acquire() as db:
            try:
                yield db
            except InternalClientError:
                # The driver lost track of this connection (an operation cut off by the server going away):
                # it must not go back to the pool for the next operation to fail on it too.
                db.terminate()
                raise

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Db]:
        """A connection inside a transaction: committed when the block ends, rolled back when it raises."""
        async with self.connection() as db, db.transaction():
            yield db
