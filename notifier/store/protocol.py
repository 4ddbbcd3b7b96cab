"""`Store`: every operation the pipeline, the operator commands and the status page ask of the state store.

Backends implement it whole (`sqlite.SqliteStore` is the embedded one, `postgres.PostgresStore` the shared
one); nothing outside `notifier/store/` names a backend. The operations are written for several replicas sharing
one store, so a backend where one process owns everything (SQLite) implements the sharing trivially:

- deliveries are *claimed* by an owner for a lease before they are sent, and a recorded outcome (or a release)
  ends the claim: a replica that dies mid-send loses its claims when their lease ends;
- companies are *leased* to one replica at a time, and the trackers' state a new owner needs (poll marks,
  schedule states, the handle a company configured by name resolved to) is read from the store when it takes
  a company over;
- alert state, silences, channel disable state, retention and statistics are shared by every replica;
- groups (digests of many notifications) are flushed with a check of the digest count they were read at, so
  two replicas flushing the same group at once send one digest.

Every failure of the store itself is raised as `StoreError` and remembered in `health` until that operation
next succeeds; anything else an operation raises is a bug and surfaces as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from notifier.engine.book import Alert, AlertId
from notifier.engine.silences import Silence
from notifier.ingest.leases import Lease, Member
from notifier.ingest.marks import PollDone, PollMark, TrackerSeed
from notifier.ingest.schedules.state import ScheduleState
from notifier.store.errors import StoreHealth
from notifier.store.records import (
    DeliveryOutcome,
    DeliveryRow,
    DeliveryState,
    DueGroup,
    GroupFlush,
    OutboxStats,
    Outgoing,
    Requeued,
    WaitingGroup,
    WaitingMember,
)


class AlertStore(Protocol):
    """The alert book and what each decision adds to the outbox, committed together."""

    async def load_alerts(self, companies: Collection[str] | None = None) -> list[Alert]:
        """The alert book as stored (only the alerts of `companies`, by key, when given: a company taken over)."""
        ...

    async def commit(
        self,
        outgoing: Sequence[Outgoing],
        upserts: Iterable[Alert],
        deletes: Iterable[AlertId],
        now: datetime,
        polls: Sequence[PollDone] = (),
    ) -> list[str]:
        """Alert state, new notifications with their deliveries, and what `polls` leave for whoever polls next,
        in one transaction; returns the keys of notifications that were new (a known key is never stored twice).

        A grouped destination (`Destination.group`) gets no delivery: the new notification joins its group
        (created when new, due `wait` seconds later; an idle group whose last digest is less than `interval`
        old is due `interval` after that digest, an older one `wait` from now). A silenced one is not grouped.
        """
        ...


class GroupStore(Protocol):
    """Groups collecting notifications into digests: which are due, and their digests committed."""

    async def due_groups(self, now: float, members: int) -> list[DueGroup]:
        """Groups due at `now` (their earliest first), each with at most `members` of what it collected."""
        ...

    async def flush_group(self, flush: GroupFlush, now: float) -> bool:
        """Commit a digest (see `GroupFlush`); False, and nothing changed, when the group's digest count is no
        longer `flush.sent`. Members still in the group afterwards make it due again: at `now` when `flush.more`
        (the digest could not take them all), else `interval` after `now`, as members that join later."""
        ...

    async def next_group_at(self) -> float | None:
        """When the next group is due (None: no group is waiting)."""
        ...

    async def waiting_groups(self) -> list[WaitingGroup]:
        """Every group holding members for its next digest, the earliest due first (for operators)."""
        ...

    async def waiting_members(self, limit: int = 100) -> list[WaitingMember]:
        """Notifications waiting in groups, those of the earliest due group first, each group's oldest first."""
        ...


class DeliveryStore(Protocol):
    """The dispatcher's side of the outbox: claim what is due, record what happened, know disabled channels."""

    async def claim_due(
        self,
        owner: str,
        now: float,
        limit: int,
        *,
        lease: float,
        channel: str | None = None,
        exclude_channels: Collection[str] = (),
        exclude_ids: Collection[int] = (),
    ) -> list[DeliveryRow]:
        """Pending rows due at `now`, oldest first, claimed by `owner` for `lease` seconds: of one `channel`, or
        of every channel not excluded. Rows claimed by anyone (and not released) are not due; nor is a
        resolution whose firing is still pending on the same channel, nor a notification whose `thread` is still
        pending there (a reply waits for the message it answers)."""
        ...

    async def release(self, owner: str, row_ids: Collection[int]) -> None:
        """Give up claims without an outcome (the send never started): the rows are due again for anyone."""
        ...

    async def record(self, outcomes: Sequence[DeliveryOutcome], now: datetime) -> None:
        """Many outcomes in one write; each ends its row's claim, and a `disable` disables its channel with it.
        An outcome's `conversation` is kept with its row: a claimed row whose notification's `thread` names a
        notification delivered on the same channel carries that delivery's `conversation`."""
        ...

    async def next_due_at(self, after: float | None = None) -> float | None:
        """The earliest `next_at` of a pending row (only those later than `after`, when given)."""
        ...

    async def disabled_channels(self) -> dict[str, str]:
        """Channels disabled by their endpoint (410, a revoked token …), with the reason."""
        ...

    async def enable_channel(self, channel: str) -> bool: ...

    def subscribe(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever someone else makes deliveries due now (another replica's commit, an operator's
        re-queue); a store only this process writes to may never call it."""
        ...


class OperatorStore(Protocol):
    """What operators (and the status page) read and repair: deliveries, counts, re-queues and purges."""

    async def list_deliveries(self, states: Sequence[DeliveryState], limit: int = 100) -> list[DeliveryRow]: ...

    async def stats(self) -> OutboxStats: ...

    async def retry(self, row_id: int, now: datetime) -> Requeued | None: ...

    async def retry_channel(self, channel: str, now: datetime) -> int: ...

    async def purge(self, states: Sequence[DeliveryState]) -> int: ...

    async def forget_before(self, cutoff: datetime) -> int:
        """Retention: delivered and silenced deliveries (and ended silences) older than `cutoff` are dropped, and
        groups idle since before it with no alert still firing; notifications a group still holds stay."""
        ...


class SilenceStore(Protocol):
    async def add_silence(
        self, matchers: Sequence[tuple[str, str]], starts_at: datetime, ends_at: datetime, comment: str, created_by: str
    ) -> Silence: ...

    async def silences(self) -> list[Silence]: ...

    async def expire_silence(self, silence_id: str, now: datetime) -> bool: ...

    async def silenced_counts(self) -> dict[str, int]:
        """Deliveries each silence held back."""
        ...


class TrackingStore(Protocol):
    """What a company's trackers leave behind, and what whoever polls it next starts from."""

    async def seed(self, company: str, now: datetime, *, first_look: bool, name: str | None = None) -> TrackerSeed:
        """What polling `company` (a handle) starts from. With `first_look`, a company never polled before gets
        a mark at `now` in the same step: a run killed before its first poll has still begun watching it. With
        `name` (the company is configured by that name and was just resolved to `company`), the name is kept as
        this handle's in the same step, before anything is stored under the handle (see `company_handles`)."""
        ...

    async def poll_marks(self) -> dict[str, PollMark]: ...

    async def save_poll_marks(self, marks: Mapping[str, PollMark]) -> None: ...

    async def schedule_marks(self) -> dict[str, dict[str, ScheduleState]]: ...

    async def save_schedule_marks(self, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None: ...


class ClusterStore(Protocol):
    """Replicas sharing the store: who is there, and which of them polls which company."""

    async def heartbeat(self, member: Member) -> None:
        """Say `member` is alive (joining the cluster the first time)."""
        ...

    async def members(self, now: datetime) -> list[Member]:
        """The replicas alive at `now`."""
        ...

    async def acquire(self, owner: str, companies: Collection[str], now: datetime, lease: float) -> list[Lease]:
        """Take or renew leases on `companies` for `lease` seconds where no one else holds them; returns the
        leases `owner` holds afterwards (of those companies)."""
        ...

    async def surrender(self, owner: str, companies: Collection[str]) -> None:
        """Give up leases (stopping, or a company no longer configured), so another replica may take them."""
        ...

    async def leases(self, now: datetime) -> list[Lease]:
        """Every lease held at `now`."""
        ...

    async def leave(self, member: str) -> None:
        """`member` stops: it is no longer counted (the others rebalance at once) and its claims lapse."""
        ...

    async def company_handles(self) -> dict[str, str]:
        """The handle each company configured by name was last resolved to, by name: its lease is held on the name
        while its alerts and marks are kept under the handle, and a replica taking it over needs both."""
        ...


class Store(AlertStore, GroupStore, DeliveryStore, OperatorStore, SilenceStore, TrackingStore, ClusterStore, Protocol):
    """The whole state store."""

    health: StoreHealth

    async def ping(self) -> None:
        """A real round trip to the store; `StoreError` when it cannot answer."""
        ...

    async def close(self) -> None: ...
