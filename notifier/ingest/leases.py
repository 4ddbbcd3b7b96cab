"""Who polls which company: the replicas working on one state store, and the leases on companies they hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Member:
    """A replica working on the store: who it is, where it runs, and when it last said it is alive."""

    id: str
    host: str
    pid: int
    heartbeat: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """A company (by its key) polled by one replica (`owner`) until `until`, unless renewed before."""

    company: str
    owner: str
    until: datetime
