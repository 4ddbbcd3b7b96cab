"""What goes in and out of the state store, whatever the backend: typed records, no SQL.

An `Outgoing` notification is committed with its `Destination`s (one delivery per channel); the dispatcher
claims due `DeliveryRow`s and records a `DeliveryOutcome` for each; operators see `OutboxStats` and get a
`Requeued` back when they retry. (Who polls which company, `Member` and `Lease`, is the ingest stage's.)
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


@dataclass(frozen=True, slots=True)
class Destination:
    """One channel a notification goes to, its recipients resolved; a silenced one is stored (visible, counted)
    but never sent."""

    channel: str
    recipients: tuple[str, ...] = ()
    silenced_by: str | None = None


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
