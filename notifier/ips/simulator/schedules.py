"""Simulated scheduled jobs: when each fires in its own time zone, which fires start a run, and its trigger.

A schedule fires at wall-clock times in its `time_zone`, as IPS's scheduler does: a daily 02:30 fires 23 or 25
hours after the previous one across a DST change, a time that does not exist that day (the spring gap) fires
at the same instant one hour later on the clock, and a time that exists twice fires once, at the first. The
world asks `fires_until` as time passes: each fire either starts a run (a job named after the schedule) or, as
the scenario says, starts none (a missed run) or breaks the trigger (`Error`, and it fires no more). A trigger
that is not Normal does not fire; its nextFireTime stays where it was, in the past, as a real one's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notifier.models import ScheduledJob

TRIGGER_STATES = ("Normal", "Paused", "Error", "Blocked", "Complete", "None")


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A scheduled job: daily at `at` (hour, minute) in `time_zone`, or every `every_minutes`.

    `miss`: fire ordinals (0: the first after the world starts) that start no run. `trigger_at`: at the fire of
    that ordinal the trigger goes to that state instead of firing. `name` is the schedule's unique IPS name
    (default: the original name with underscores); its runs are named after it.
    """

    company: str
    original_name: str
    type: str
    user: str
    locale: str
    exec_schedule: str
    time_zone: str = "UTC"
    at: tuple[int, int] | None = None
    every_minutes: int | None = None
    trigger_state: str = "Normal"
    name: str | None = None
    description: str | None = None
    run: float = 40.0
    files: int = 10
    miss: tuple[int, ...] = ()
    trigger_at: tuple[tuple[int, str], ...] = ()

    @property
    def unique_name(self) -> str:
        return self.name or self.original_name.replace(" ", "_")

    @property
    def job_handle(self) -> str:
        return f"{self.company}||{self.unique_name}"

    def fire_after(self, after: datetime) -> datetime:
        """The first fire time strictly after `after`, in the schedule's zone."""
        zone = ZoneInfo(self.time_zone)
        if self.every_minutes:
            step = self.every_minutes * 60
            return datetime.fromtimestamp((int(after.timestamp()) // step + 1) * step, zone)
        hour, minute = self.at or (0, 0)
        day = after.astimezone(zone).date()
        for offset in range(3):
            wall = datetime.combine(day + timedelta(days=offset), time(hour, minute), tzinfo=zone)
            fire = wall.astimezone(UTC)  # a wall time in the spring gap becomes the instant an hour later on the clock
            if fire > after:
                return fire.astimezone(zone)
        raise AssertionError("a daily time comes within three days")


class LiveSchedule:
    """One schedule in a running world: its trigger state and its next fire time."""

    def __init__(self, spec: ScheduleSpec, start: datetime) -> None:
        self.spec = spec
        self.trigger = spec.trigger_state
        self.next_fire = spec.fire_after(start)
        self.fired = 0
        self._changes = dict(spec.trigger_at)

    def fires_until(self, now: datetime) -> list[datetime]:
        """The fire times up to `now` that start a run; the schedule moves on past them."""
        runs = []
        while self.trigger == "Normal" and self.next_fire <= now:
            ordinal = self.fired
            self.fired += 1
            if ordinal in self._changes:
                self.trigger = self._changes[ordinal]
                break
            if ordinal not in self.spec.miss:
                runs.append(self.next_fire)
            self.next_fire = self.spec.fire_after(self.next_fire)
        return runs

    def set_trigger(self, state: str, now: datetime) -> None:
        """What an operator does in Dynamic Media Classic: pause, resume, repair. A trigger resumed late does not
        fire what it missed meanwhile; it goes on from its next time."""
        if state not in TRIGGER_STATES:
            raise ValueError(f"trigger state must be one of {TRIGGER_STATES}")
        if state == "Normal" and self.trigger != "Normal" and self.next_fire <= now:
            self.next_fire = self.spec.fire_after(now)
        self.trigger = state

    def view(self) -> ScheduledJob:
        spec = self.spec
        return ScheduledJob(
            company_handle=spec.company,
            job_handle=spec.job_handle,
            name=spec.unique_name,
            original_name=spec.original_name,
            type=spec.type,
            submit_user_email=spec.user,
            locale=spec.locale,
            description=spec.description,
            exec_schedule=spec.exec_schedule,
            next_fire_time=self.next_fire,
            time_zone=spec.time_zone,
            trigger_state=self.trigger,
        )
