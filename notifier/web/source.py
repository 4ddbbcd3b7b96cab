"""What the operator's window may read, and nothing more: the narrow, read-only interface `create_app` is given.

The daemon implements it (`app.status`); the window never sees the daemon itself, its pollers or its engine,
only frozen views of companies and alerts, the read side of the state store, and the metrics text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from notifier.engine.book import Alert
from notifier.engine.silences import Silence
from notifier.ingest.leases import Lease, Member
from notifier.ingest.views import CompanyView
from notifier.store.errors import StoreHealth
from notifier.store.records import DeliveryRow, DeliveryState, OutboxStats, WaitingGroup

Phase = Literal["starting", "running", "stopping"]


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as the book holds it, with its rule's severity (None: the rule is gone)."""

    alert: Alert
    severity: str | None


class StoreReader(Protocol):
    """The state store, read only."""

    health: StoreHealth

    async def ping(self) -> None: ...

    async def list_deliveries(self, states: Sequence[DeliveryState], limit: int = 100) -> list[DeliveryRow]: ...

    async def disabled_channels(self) -> dict[str, str]: ...

    async def silences(self) -> list[Silence]: ...

    async def silenced_counts(self) -> dict[str, int]: ...

    async def stats(self) -> OutboxStats: ...

    async def waiting_groups(self) -> list[WaitingGroup]: ...

    async def members(self, now: datetime) -> list[Member]: ...

    async def leases(self, now: datetime) -> list[Lease]: ...


class StatusSource(Protocol):
    """Everything the window shows, read when a page or an API call asks."""

    @property
    def phase(self) -> Phase:
        """Whether the daemon is starting (rules not loaded yet), running, or stopping."""
        ...

    @property
    def config_file(self) -> Path: ...

    @property
    def replica(self) -> str:
        """This daemon's id among the replicas working on the store."""
        ...

    @property
    def store(self) -> StoreReader: ...

    def now(self) -> datetime: ...

    def companies(self) -> Sequence[CompanyView]:
        """The companies this daemon polls, in configured order."""
        ...

    def alerts(self) -> Sequence[AlertView]: ...

    async def metrics(self) -> bytes:
        """The Prometheus exposition, gauges refreshed first."""
        ...
