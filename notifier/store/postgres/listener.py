"""LISTEN for commits of any replica on a connection of its own, and wake the dispatcher when one comes.

The connection is kept for as long as the store is open: a server that restarts drops it, and it is made again
with backoff; every (re)connection wakes everyone, since what was committed meanwhile was never announced. A
quiet connection is pinged now and then, so a half-open socket is noticed too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog

from notifier.runtime.backoff import STORE_BACKOFF
from notifier.store.errors import describe
from notifier.store.location import StateLocation

log = structlog.get_logger(__name__)
CONNECT_TIMEOUT = 5.0  # seconds to reach the server before a connection attempt counts as failed
QUIET = 10.0  # seconds without a notification after which the connection is pinged
LOST: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
CHANNEL = "notifier_outbox"  # NOTIFY'd when rows become due now


class Listener:
    """Wakes `wakers` on every NOTIFY of `CHANNEL`, for as long as it runs."""

    def __init__(self, location: StateLocation, scrub: Callable[[str], str]) -> None:
        self.location = location
        self.scrub = scrub
        self.wakers: list[Callable[[], None]] = []
        self.listening = asyncio.Event()  # set while a connection is LISTENing
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="state-store-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self, *_: object) -> None:
        for wake in self.wakers:
            wake()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                db = await asyncpg.connect(self.location.url, password=self.location.password, timeout=CONNECT_TIMEOUT)
            except Exception as exc:
                failures += 1
                log.debug("state store listener cannot connect", error=self.scrub(describe(exc)))
                await asyncio.sleep(STORE_BACKOFF.delay(failures))
                continue
            failures = 0
            try:
                await self._listen(db)
            except LOST:
                pass
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(db.close(), CONNECT_TIMEOUT)

    async def _listen(self, db: asyncpg.Connection) -> None:
        """Until the connection is lost."""
        lost = asyncio.Event()
        db.add_termination_listener(lambda _db: lost.set())
        await db.add_listener(CHANNEL, self.wake)
        self.listening.set()
        self.wake()
        while not lost.is_set() and not db.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUIET):
                    await lost.wait()
            if not lost.is_set():
                await db.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT)
