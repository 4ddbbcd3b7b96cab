"""What a company's trackers leave for whoever polls it next (this daemon after a restart, or another replica):
the poll mark, and the state of each of its schedules. Committed with each poll's events; read back as a
`TrackerSeed` when polling the company starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from notifier.ingest.schedules.state import ScheduleState


@dataclass(frozen=True, slots=True)
class PollMark:
    """What a run leaves for the next one, per company: its last good poll (moved back to the last sighting of
    any job whose ending it has not announced yet), the time before which everything was already history for
    it, and the locales of the jobs it saw running (their logs carry none)."""

    polled_at: datetime
    floor: datetime
    locales: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollDone:
    """Queued after a good poll's events: once they are committed, `mark` is where a restart picks up, and
    `schedules` (when the company's schedules were listed) what its schedule watch knew."""

    company: str
    mark: PollMark
    schedules: Mapping[str, ScheduleState] | None = None


@dataclass(frozen=True, slots=True)
class TrackerSeed:
    """What the trackers of a company start from: the last poll mark and schedule states stored for it (None:
    nothing stored, a first look)."""

    mark: PollMark | None = None
    schedules: Mapping[str, ScheduleState] | None = None
