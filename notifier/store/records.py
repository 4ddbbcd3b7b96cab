"""What goes in and out of the state store, whatever the backend: typed records, no SQL.

An `Outgoing` notification is committed with its `Destination`s (one delivery per channel); the dispatcher
claims due `DeliveryRow`s and records a `DeliveryOutcome` for each; operators see `OutboxStats` and get a
`Requeued` back when they retry. A grouped `Destination` joins its group instead of getting a delivery; a
`DueGroup` is read when the group's digest is due and a `GroupFlush` commits that digest; operators see each
`WaitingGroup` and `WaitingMember` until then. (Who polls which
company, `Member` and `Lease`, is the ingest stage's.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from notifier.models import Notification

DeliveryState = Literal["pending", "delivered", "dead", "silenced"]
PENDING: DeliveryState = "pending"
DELIVERED: DeliveryState = "delivered"
DEAD: DeliveryState = "dead"
SILENCED: DeliveryState = "silenced"
STATES: tuple[DeliveryState, ...] = (PENDING, DELIVERED, DEAD, SILENCED)
# The digest loop looks at least every second, so a digest due longer ago than this was not made: the store
# failed, the group's rule broke, or no daemon runs. Operators see such a group as overdue.
OVERDUE_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class Grouping:
    """The group a grouped destination joins, and its timing (Alertmanager's `group_wait`, `group_interval`).

    `key` is stable for (rule, channel, the values of `group_by`), which `labels` name: the same alerts always
    land in the same group, and its digests get the same ids after a restart.
    """

    key: str
    rule: str
    labels: tuple[tuple[str, str], ...]
    wait: float
    interval: float


@dataclass(frozen=True, slots=True)
class Destination:
    """One channel a notification goes to, its recipients resolved; a silenced one is stored (visible, counted)
    but never sent; a grouped one (`group`) is collected into its group's next digest instead of being sent."""

    channel: str
    recipients: tuple[str, ...] = ()
    silenced_by: str | None = None
    group: Grouping | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A notification and where it goes, ready to be committed."""

    notification: Notification
    destinations: tuple[Destination, ...]

    @property
    def silenced_by(self) -> str | None:
        """The silence holding back every destination, if all of them are silenced."""
        ids = {d.silenced_by for d in self.destinations}
        return ids.pop() if len(ids) == 1 and None not in ids else None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One (notification, channel) delivery as stored: its state, attempts so far and when it is due next."""

    id: int
    notification: Notification
    channel: str
    recipients: tuple[str, ...]
    state: str
    attempts: int
    next_at: float
    last_error: str | None
    requeued_at: float | None = None  # when an operator last re-queued it: its retry budget starts again there
    conversation: str | None = None  # what the channel kept of the message `notification.thread` names


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one attempt (or the decision not to make one) did to a row; `disable` also disables the channel,
    in the same write. Recording it ends the claim on the row."""

    row_id: int
    channel: str
    state: DeliveryState
    attempts: int
    next_at: float
    error: str | None
    disable: str | None = None
    conversation: str | None = None  # what the channel keeps of the message it sent (Slack: channel and `ts`)


@dataclass(frozen=True, slots=True)
class DueGroup:
    """A group whose next digest is due: what it collected since its last digest (oldest first, with each
    member's recipients merged), how many digests it has had, and the conversation it is in.

    `thread` is the key of the digest that opened the group's current conversation (None: the next digest opens
    one); `open` the alert keys still firing as of the last digest.
    """

    key: str
    rule: str
    channel: str
    labels: tuple[tuple[str, str], ...]
    recipients: tuple[str, ...]
    members: tuple[Notification, ...]
    sent: int
    thread: str | None
    open: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupFlush:
    """A group's next digest, committed in one transaction with what it takes from the group: the digest and its
    delivery are stored, `members` leave the group, `open` and `thread` are kept for the next digest, and the
    group is next due `interval` seconds later if members are left (or join meanwhile).

    `sent` is the group's digest count the flush was built from: a flush built from an out-of-date read (another
    replica flushed first) changes nothing. `more` says the read held only part of what the group had (a digest
    holds a bounded number): the rest is due at once, while members that joined since the read wait `interval`.

    `silenced` (member key, silence id) are members a silence holds back: they leave the group too, each as a
    silenced delivery on the group's channel. With no `digest` (every member held back) no digest is stored and
    the time of the last digest stays, but the digest count still moves on (a flush is applied once).
    """

    key: str
    sent: int
    digest: Outgoing | None
    members: tuple[str, ...]
    open: tuple[str, ...]
    thread: str | None
    more: bool = False
    silenced: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class WaitingGroup:
    """A group holding members for its next digest, as operators see it: `due_at` is when the digest is due
    (one in the past is overdue: no digest could be made), `since` when its oldest member joined."""

    key: str
    rule: str
    channel: str
    labels: tuple[tuple[str, str], ...]
    members: int
    since: float
    due_at: float | None
    sent: int

    def overdue(self, now: float) -> bool:
        return self.due_at is None or now - self.due_at > OVERDUE_AFTER


@dataclass(frozen=True, slots=True)
class WaitingMember:
    """A notification waiting in `group` for the digest due at `due_at` on `channel`, instead of a delivery."""

    group: str
    channel: str
    recipients: tuple[str, ...]
    added_at: float
    due_at: float | None
    notification: Notification


@dataclass(frozen=True, slots=True)
class Requeued:
    """What `retry` did: the row's channel, and whether that channel had been disabled until now."""

    channel: str
    reenabled: bool


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    dead: int
    silenced: int
    delivered: int
    oldest_pending_at: float | None
