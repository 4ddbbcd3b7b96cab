"""Which configured companies this daemon polls: those it holds a lease on in the state store.

Each round says the daemon is alive (`heartbeat`), works out its fair share of the companies from who is alive
and who holds what (`balance`), gives up what is beyond it, and takes or renews a lease on the rest; the pollers
then own exactly the companies leased: a company gained starts polling (its trackers seeded from the store, its
alerts read back by the `Handover`), one lost stops. Rounds come well before leases end. A company is given up
only after its poller has stopped and what it queued is committed, so the next owner starts from everything
this one saw. A company configured by name is leased by its name, and handed over with what is kept under the
handle it resolved to (the store says which). When the store cannot be reached, polling stops for each company
shortly before its lease would end: another replica may have it by then.

An embedded store serves one daemon, so it holds every lease and the first round settles everything; a shared
store makes the same rounds decide between replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from notifier.ingest.balance import wanted
from notifier.ingest.leases import Lease, Member
from notifier.ingest.pollers import Pollers
from notifier.runtime.backoff import STORE_BACKOFF
from notifier.runtime.clock import Clock
from notifier.runtime.tasks import Loop, Tasks

log = structlog.get_logger(__name__)
LEASE = 15.0  # seconds a company stays this daemon's without a renewal
ROUNDS_PER_LEASE = 3  # renewed this many times within a lease, so one slow round never loses it
MARGIN = 0.2  # of a lease: polling stops this long before a lease that could not be renewed ends (clock skew)


class LeaseStore(Protocol):
    """The part of the state store that says who is alive and who polls which company."""

    async def heartbeat(self, member: Member) -> None: ...

    async def members(self, now: datetime) -> list[Member]: ...

    async def leases(self, now: datetime) -> list[Lease]: ...

    async def acquire(self, owner: str, companies: Collection[str], now: datetime, lease: float) -> list[Lease]: ...

    async def surrender(self, owner: str, companies: Collection[str]) -> None: ...

    async def company_handles(self) -> dict[str, str]: ...


class Handover(Protocol):
    """Told which companies this daemon starts and stops polling, to take over or let go of what it keeps of
    them (their alerts); `committed` waits until everything queued so far is in the store."""

    async def gained(self, companies: Collection[str]) -> None: ...

    def lost(self, companies: Collection[str]) -> None: ...

    async def committed(self) -> None: ...


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
        handover: Handover | None = None,
        unavailable: type[Exception] = ConnectionError,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.pollers = pollers
        self.clock = clock
        self.replica = replica or replica_id()
        self.lease = lease
        self.polling = polling  # False: pollers are made and owned, but polled by whoever embeds the daemon
        self.handover = handover
        self.unavailable = unavailable  # what the store raises when it cannot answer (the daemon's: `StoreError`)
        self.sleep = sleep
        self.held: list[Lease] = []
        self._rounds = 0  # rounds that set the pollers' companies

    async def start(self, tasks: Tasks) -> None:
        """The first round (every company this daemon is to poll has its poller, seeded from the store), then
        polling (unless an embedding polls by hand), and rounds from then on."""
        await self.settle()
        if self.polling:
            self.pollers.start(tasks)
        await super().start(tasks)

    async def stop(self) -> None:
        """Stop polling, and give the leases back once what the pollers queued is committed (within a lease:
        a store that cannot take it keeps it queued for the composer, and the leases simply run out)."""
        await super().stop()
        await self.pollers.stop()
        with contextlib.suppress(TimeoutError, self.unavailable):
            async with asyncio.timeout(self.lease):
                if self.handover is not None:
                    await self.handover.committed()
                await self.release()

    async def settle(self) -> None:
        """One round: heartbeat, the fair share worked out, the excess given up, leases taken or renewed,
        pollers started and stopped to match."""
        now = self.clock.now()
        await self.store.heartbeat(Member(self.replica, socket.gethostname(), os.getpid(), now))
        members = [member.id for member in await self.store.members(now)]
        owners = {lease.company: lease.owner for lease in await self.store.leases(now)}
        want = wanted(self.replica, list(self.pollers.plans), members, owners)
        excess = [lease.company for lease in self.held if lease.company not in want]
        if excess:
            await self._hand_over(excess, want, len(members))
        self.held = await self.store.acquire(self.replica, want, now, self.lease)
        if self.pollers.by_name:  # read once the leases are settled: a handle resolved before is stored before
            self.pollers.learn(await self.store.company_handles())
        await self._own({lease.company for lease in self.held})

    async def _hand_over(self, excess: list[str], want: list[str], replicas: int) -> None:
        """Stop polling `excess`, and once what its pollers queued is committed (the next owner starts from all
        this daemon saw), give it up; if that takes too long, its leases simply run out."""
        await self._own({lease.company for lease in self.held if lease.company in want})
        try:
            if self.handover is not None:
                async with asyncio.timeout(self.lease * MARGIN):
                    await self.handover.committed()
        except TimeoutError:
            log.warning("companies left to their leases: what was queued is not committed", companies=len(excess))
            return
        await self.store.surrender(self.replica, excess)
        log.info("companies handed over", companies=len(excess), replicas=replicas)

    async def run(self) -> None:
        """Rounds until cancelled, well before each lease would end; while the store fails, more often, and
        polling stops for each company before its lease ends."""
        failures = 0
        while True:
            pause = self.lease / ROUNDS_PER_LEASE
            await self.sleep(pause if not failures else min(pause / 2, STORE_BACKOFF.delay(failures)))
            try:
                await self.settle()
                failures = 0
            except self.unavailable as exc:
                failures += 1
                log.error("state store failed; leases not renewed", error=str(exc), failures=failures)
                await self.expire()

    async def expire(self) -> None:
        """Stop polling the companies whose lease ends soon (it could not be renewed)."""
        cutoff = self.clock.now() + timedelta(seconds=self.lease * MARGIN)
        keep = [lease for lease in self.held if lease.until > cutoff]
        if len(keep) < len(self.held):
            log.warning("company leases ending unrenewed; polling them stops", companies=len(self.held) - len(keep))
            self.held = keep
            await self._own({lease.company for lease in keep})

    async def release(self) -> None:
        """Give every lease back (stopping), so another daemon may take the companies at once."""
        held = [lease.company for lease in self.held]
        self.held = []
        await self.store.surrender(self.replica, held)

    async def _own(self, companies: set[str]) -> None:
        before = self.pollers.owned
        gained = [key for key in self.pollers.plans if key in companies and key not in before]
        # Configured companies another replica polls (all of them at first: the book was read whole at start).
        # One no longer configured keeps its alerts here: the reload that removed it forgets them for good.
        lost = [key for key in self.pollers.plans if key not in companies and (key in before or not self._rounds)]
        self._rounds += 1
        # A company configured by name keeps its lease on the name and its alerts under the handle it resolved to.
        if self.handover is not None and lost:
            self.handover.lost(self.pollers.aliases(lost))
        if self.handover is not None and gained:
            await self.handover.gained(self.pollers.aliases(gained))
        await self.pollers.own(companies)
