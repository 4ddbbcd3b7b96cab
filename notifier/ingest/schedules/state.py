"""What is known of one schedule between polls, and kept in the state store so a restart picks it up."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from notifier.models import ScheduledJob
from notifier.models.codec import decode_as, to_jsonable

# Trigger states (IPS `triggerState`): Normal fires; Error and Blocked cannot; the others are not meant to.
FAILING = frozenset({"Error", "Blocked"})
RESTING = frozenset({"Paused", "Complete", "None"})
Status = Literal["ok", "late", "missed", "failed", "paused", "inactive"]


@dataclass(slots=True)
class ScheduleState:
    """One schedule as the tracker knows it.

    `judged_from`: fire times before this are history (before we first saw it, or while it could not fire).
    `due`: the earliest fire time that has come without a run of it seen starting (from `cover_from` on, and
    before `cover_until`, where the next fire time's runs begin, when IPS showed that one right after it);
    `reason` says how we know it came: IPS moved on to the next one (`no_run`), or still shows it (`not_fired`).
    `missed`: the fire time reported missed, while that episode is open; `failed`: its trigger broke.
    """

    job: ScheduledJob
    judged_from: datetime
    next_fire: datetime | None = None
    last_fire: datetime | None = None
    due: datetime | None = None
    cover_from: datetime | None = None
    cover_until: datetime | None = None
    reason: str | None = None
    last_run: datetime | None = None
    last_run_job: str | None = None
    missed: datetime | None = None
    failed: bool = False
    listed: bool = True

    @property
    def expecting(self) -> bool:
        """Whether IPS should fire it: an absent trigger state is taken as Normal."""
        return self.job.trigger_state not in FAILING | RESTING

    def status(self, now: datetime, grace: timedelta) -> Status:
        """One word for the status page: failed, missed, late (due, within grace), paused, inactive or ok."""
        if self.failed:
            return "failed"
        if self.missed is not None:
            return "missed"
        if self.due is not None and self.expecting:
            return "late" if now - self.due < grace else "missed"
        if self.job.trigger_state == "Paused":
            return "paused"
        return "inactive" if self.job.trigger_state in RESTING else "ok"


def mark_to_dict(state: ScheduleState) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(state)
    return data


def mark_from_dict(data: dict[str, Any]) -> ScheduleState:
    return decode_as(ScheduleState, data)


def copy(state: ScheduleState) -> ScheduleState:
    return dataclasses.replace(state)
