"""Which configured companies this daemon polls: those it holds a lease on in the state store.

Each round says the daemon is alive (`heartbeat`), takes or renews a lease on every configured company no one
else holds, and has the pollers own exactly the companies leased: a company gained starts polling (its trackers
seeded from the store), one lost stops. Rounds come well before leases end. An embedded store serves one daemon,
so it holds every lease and the first round settles everything; a shared store makes the same rounds decide
between replicas.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Protocol

import structlog

from notifier.ingest.leases import Lease, Member
from notifier.ingest.pollers import Pollers
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Loop, Tasks

log = structlog.get_logger(__name__)
LEASE = 15.0  # seconds a company stays this daemon's without a renewal
ROUNDS_PER_LEASE = 3  # renewed this many times within a lease, so one slow round never loses it


class LeaseStore(Protocol):
    """The part of the state store that says who is alive and who polls which company."""

    async def heartbeat(self, member: Member) -> None: ...

    async def acquire(self, owner: str, companies: Collection[str], now: datetime, lease: float) -> list[Lease]: ...

    async def surrender(self, owner: str, companies: Collection[str]) -> None: ...


def replica_id() -> str:
    """A new identity for this daemon process: host, pid and a random part (a restarted daemon is a new one)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Ownership(Loop):
    """Keeps `pollers` owning the configured companies this daemon holds leases on."""

    name = "ownership"

    def __init__(
        self,
        store: LeaseStore,
        pollers: Pollers,
        clock: Clock,
        *,
        replica: str | None = None,
        lease: float = LEASE,
        polling: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.pollers = pollers
        self.clock = clock
        self.replica = replica or replica_id()
        self.lease = lease
        self.polling = polling  # False: pollers are made and owned, but polled by whoever embeds the daemon
        self.sleep = sleep
        self.held: list[Lease] = []

    async def start(self, tasks: Tasks) -> None:
        """The first round (every company this daemon is to poll has its poller, seeded from the store), then
        polling (unless an embedding polls by hand), and rounds from then on."""
        await self.settle()
        if self.polling:
            self.pollers.start(tasks)
        await super().start(tasks)

    async def stop(self) -> None:
        """Stop polling (what the pollers queued stays queued) and give the leases back."""
        await super().stop()
        await self.pollers.stop()
        await self.release()

    async def settle(self) -> None:
        """One round: heartbeat, leases taken or renewed, pollers started and stopped to match."""
        now = self.clock.now()
        await self.store.heartbeat(Member(self.replica, socket.gethostname(), os.getpid(), now))
        self.held = await self.store.acquire(self.replica, list(self.pollers.plans), now, self.lease)
        await self.pollers.own({lease.company for lease in self.held})

    async def run(self) -> None:
        """Rounds until cancelled, well before each lease would end."""
        while True:
            await self.sleep(self.lease / ROUNDS_PER_LEASE)
            await self.settle()

    async def release(self) -> None:
        """Give every lease back (stopping), so another daemon may take the companies at once."""
        held = [lease.company for lease in self.held]
        self.held = []
        await self.store.surrender(self.replica, held)
