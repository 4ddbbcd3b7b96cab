"""Housekeeping: small state over months. Once a minute expired repeat windows are forgotten, once an hour
delivered and silenced notifications older than `retention` (dead letters stay until an operator acts)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from notifier.engine.evaluate import Engine
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Loop
from notifier.store.protocol import OperatorStore

log = structlog.get_logger(__name__)
MINUTE = 60.0


class Housekeeping(Loop):
    """Runs until stopped; `retention` is read each time (a reload may change it)."""

    name = "housekeeping"

    def __init__(
        self,
        engine: Engine,
        store: OperatorStore,
        clock: Clock,
        retention: Callable[[], float],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.retention = retention
        self.sleep = sleep

    async def run(self) -> None:
        for minute in itertools.count(1):
            await self.sleep(MINUTE)
            now = self.clock.now()
            self.engine.prune(now)
            if minute % 60 == 0:
                await self.forget_old(now)

    async def forget_old(self, now: datetime) -> int:
        """Drop delivered and silenced notifications older than `retention` (dead letters stay)."""
        cutoff = now - timedelta(seconds=self.retention())
        forgotten = await self.store.forget_before(cutoff)
        if forgotten:
            log.info("old deliveries forgotten", deliveries=forgotten, before=cutoff.isoformat())
        return forgotten
