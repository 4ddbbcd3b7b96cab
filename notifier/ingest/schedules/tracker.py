"""getScheduledJobs snapshots and the runs seen → `schedule.missed`, `schedule.failed`, `schedule.recovered`. Pure.

Fire times are what IPS reports, never read out of the cron expression (whose dialect, time zones and DST rules
are IPS's own): when a schedule's `nextFireTime` moves on, the time it showed has come; when it stays behind
while the trigger is Normal, that time came and the trigger did not fire. A fire time that has come is *due*
until a run of the schedule (matched by name, see `matching`) is seen starting around it, in the active list or
the job logs; due longer than `grace`, it is missed (and so is one whose first run came only later). Fire times
from before we first saw a schedule, from while it could not fire (paused, broken) or from before the earliest
run we can see are never judged.

The server's clock need not agree with ours (the simulator at `--speed`): lateness is measured on an estimate of
the server's time, never less than ours, taken from the newest run times it has shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from notifier.ingest.job_tracker import MAX_SERVER_LEAD, job_from_log
from notifier.ingest.schedules.matching import Matcher, Run, run_of_job, run_of_log
from notifier.ingest.schedules.state import FAILING, RESTING, ScheduleState, copy
from notifier.models import ActiveJob, CompanyRef, Event, JobLog, ScheduledJob

EARLY = timedelta(minutes=1)  # a run may start this much before its fire time and still be its run
FIRE_TOLERANCE = timedelta(minutes=5)  # a nextFireTime moved on this close ahead of our clock has come
NO_TIME = timedelta(0)
Known = tuple[str | None, datetime]  # a run's schedule key (None: none), and when we first saw the run
T = TypeVar("T")


class ScheduleTracker:
    """Per-company schedule state between polls; `marks` restores what a previous run left."""

    def __init__(
        self, company: CompanyRef, *, grace: float = 600.0, marks: Mapping[str, ScheduleState] | None = None
    ) -> None:
        self.company = company
        self.grace = timedelta(seconds=grace)
        self.states: dict[str, ScheduleState] = {k: copy(v) for k, v in (marks or {}).items()}
        self.matcher = Matcher(s.job for s in self.states.values() if s.listed)
        self.listed = False  # whether a snapshot arrived in this run (before that, `states` is what was restored)
        self.horizon: datetime | None = None  # runs that started before this may be invisible to us
        self._server: tuple[datetime, datetime] | None = None  # (newest server time seen, our time then)
        self._runs: dict[str, Known] = {}  # run handle → (schedule key, first seen)
        self._running: set[str] = set()  # schedules with a run in the latest active list

    # ----------------------------------------------------------------------------------------- snapshots

    def observe_schedules(self, schedules: Iterable[ScheduledJob], now: datetime) -> list[Event]:
        """One getScheduledJobs snapshot: trigger changes, fire times come, schedules gone."""
        server_now = self.server_now(now)
        events: list[Event] = []
        seen: dict[str, ScheduledJob] = {}
        for schedule in schedules:
            if schedule.key and schedule.key not in seen:
                seen[schedule.key] = schedule
                state = self.states.get(schedule.key)
                if state is None:
                    state = self.states[schedule.key] = ScheduleState(schedule, judged_from=server_now)
                events.extend(self._observe(state, schedule, server_now, now))
        for key, state in list(self.states.items()):
            if key in seen:
                continue
            if state.listed:  # once absent may be a hiccup of the server; twice, it is gone
                state.listed = False
                continue
            del self.states[key]
            if state.missed is not None or state.failed:
                events.append(self._event("schedule.recovered", state, now, reason="removed"))
        self.listed = True
        matcher = Matcher(seen.values())
        if matcher.identity() != self.matcher.identity():
            self._runs.clear()
        self.matcher = matcher
        return events

    def _observe(
        self, state: ScheduleState, schedule: ScheduledJob, server_now: datetime, now: datetime
    ) -> list[Event]:
        changed = {"trigger_state": state.job.trigger_state} if state.job is not schedule else {}
        state.job, state.listed = schedule, True
        trigger = schedule.trigger_state
        if trigger in FAILING and not (trigger == "Blocked" and schedule.key in self._running):
            state.next_fire = schedule.next_fire_time
            _rest(state, server_now)
            if state.failed:
                return []
            state.failed = True
            return [self._event("schedule.failed", state, now, previous=changed)]
        if not state.expecting:  # paused, complete, gone from the scheduler, or held while its run goes on
            state.next_fire = schedule.next_fire_time
            _rest(state, server_now)
            if trigger in RESTING and (state.failed or state.missed is not None):
                state.failed, state.missed = False, None
                return [self._event("schedule.recovered", state, now, reason="inactive")]
            return []
        events = []
        if state.failed:  # the trigger works again: what it could not fire meanwhile is not a miss
            state.failed, state.missed = False, None
            _rest(state, server_now)
            events.append(self._event("schedule.recovered", state, now, reason="normal", previous=changed))
        self._fire_times(state, schedule.next_fire_time, server_now)
        return events

    def _fire_times(self, state: ScheduleState, following: datetime | None, server_now: datetime) -> None:
        came = state.next_fire
        state.next_fire = following
        moved_on = came is not None and following != came and (following is None or following > came)
        if came is not None and moved_on and came <= server_now + FIRE_TOLERANCE:
            self._came(state, came, following, "no_run")
        if following is not None and following <= server_now - self.grace:
            self._came(state, following, None, "not_fired")  # IPS still shows it, long after: it did not fire

    def _came(self, state: ScheduleState, fire: datetime, following: datetime | None, reason: str) -> None:
        state.last_fire = max(state.last_fire or fire, fire)
        if fire < state.judged_from or state.due is not None:
            return
        early = EARLY if following is None else min(EARLY, (following - fire) / 2)
        if state.last_run is not None and state.last_run >= fire - early:
            return  # its run was seen already
        state.due, state.cover_from, state.reason = fire, fire - early, reason
        state.cover_until = None if following is None else following - min(EARLY, (following - fire) / 2)

    # -------------------------------------------------------------------------------------------- runs

    def observe_runs(
        self, jobs: Iterable[ActiveJob], logs: Iterable[JobLog], scan_start: datetime, now: datetime
    ) -> list[Event]:
        """The runs in one active snapshot and one log scan (which reached back to `scan_start`)."""
        if self.horizon is None:
            self.horizon = scan_start
        if not self.matcher:
            return []
        events: list[Event] = []
        running: set[str] = set()
        times: list[datetime | None] = []
        kept: dict[str, Known] = {}
        for job in jobs:
            key, seen = self._run(job.job_handle, run_of_job, job, now, kept)
            times.append(job.last_progress_update or job.start_date)
            if key is not None:
                running.add(key)
                events.extend(self._ran(key, job.start_date or seen, job, now))
        for log in logs:
            key, _ = self._run(log.job_handle, run_of_log, log, now, kept)
            times.append(log.end_date or log.start_date)
            if key is not None and log.start_date is not None:
                events.extend(self._ran(key, log.start_date, job_from_log(log), now))
        self._runs, self._running = kept, running
        self._note_server_time(max((t for t in times if t is not None), default=None), now)
        return events

    def _run(
        self, handle: str | None, make: Callable[[T], Run], item: T, now: datetime, kept: dict[str, Known]
    ) -> Known:
        """A run's schedule (or None) and when it was first seen; worked out once per run, not per poll."""
        if not handle:
            return None, now
        known = kept.get(handle) or self._runs.get(handle) or (self._match(make(item)), self.server_now(now))
        kept[handle] = known
        return known

    def _ran(self, key: str, start: datetime, job: ActiveJob, now: datetime) -> list[Event]:
        state = self.states.get(key)
        if state is None:
            return []
        if state.last_run is None or start > state.last_run:
            state.last_run, state.last_run_job = start, job.job_handle
        events = []
        if state.due is not None and state.cover_from is not None and start >= state.cover_from:
            late = start - state.due
            later = state.cover_until is not None and start >= state.cover_until
            if state.missed is None and (late > self.grace or later) and self._judgeable(state):
                # The run that came is a later fire time's, or came long after this one (seen only now: after a
                # restart, say): no run started around this fire time, so it was missed all the same.
                state.missed = state.due
                events.append(self._missed(state, now, late))
            _clear_due(state)
        if state.missed is None or start < state.missed - EARLY:
            return events
        state.missed = None
        return [*events, self._event("schedule.recovered", state, now, reason="ran", job=job)]

    def _match(self, run: Run) -> str | None:
        candidates = self.matcher.candidates(run)
        if len(candidates) < 2:
            return candidates[0].key if candidates else None
        return min(candidates, key=lambda s: (*self._closeness(s.key, run.start), s.key)).key

    def _closeness(self, key: str, start: datetime | None) -> tuple[int, timedelta]:
        """Of several schedules a run could belong to: the one whose open fire time it fills, else the one
        whose last fire time it followed most closely."""
        state = self.states.get(key)
        if state is None or start is None:
            return (2, NO_TIME)
        if state.due is not None and state.cover_from is not None and state.cover_from <= start:
            return (0, start - state.due)
        if state.last_fire is not None and state.last_fire - EARLY <= start:
            return (1, start - state.last_fire)
        return (2, NO_TIME)

    def attribute(self, events: list[Event]) -> list[Event]:
        """Job events of runs that belong to a schedule, carrying it (`job.schedule`)."""
        if not self.matcher:
            return events
        out = []
        for event in events:
            job = event.job
            if job is not None and event.schedule is None and job.job_handle:
                cached = self._runs.get(job.job_handle)
                key = cached[0] if cached is not None else self._match(run_of_job(job))
                state = self.states.get(key) if key is not None else None
                if state is not None:
                    event = dataclasses.replace(event, schedule=state.job)
            out.append(event)
        return out

    # ------------------------------------------------------------------------------------------ misses

    def check(self, now: datetime, *, polled: bool) -> list[Event]:
        """`schedule.missed` for each fire time due longer than `grace`; repeated, with its lateness, on every
        poll of the schedules while it stays missed (rules wanting more lateness say so in `where`)."""
        server_now = self.server_now(now)
        events = []
        for state in self.states.values():
            if state.due is None or state.cover_from is None or not state.expecting or not state.listed:
                continue
            if not self._judgeable(state):
                _clear_due(state)  # its run could have started unseen by us
                continue
            first = state.missed is None
            if (first and server_now - state.due >= self.grace) or (not first and polled):
                state.missed = state.missed or state.due
                events.append(self._missed(state, now, server_now - state.missed))
        return events

    def _judgeable(self, state: ScheduleState) -> bool:
        """Whether every run that could be the due fire time's falls in what we can see."""
        return self.horizon is not None and state.cover_from is not None and state.cover_from >= self.horizon

    def _missed(self, state: ScheduleState, now: datetime, late: timedelta) -> Event:
        return self._event("schedule.missed", state, now, late_seconds=late.total_seconds(), fire_time=state.missed,
                           reason=state.reason)  # fmt: skip

    def reconcile(self, open_episodes: Mapping[str, tuple[ScheduledJob, frozenset[str]]], now: datetime) -> list[Event]:
        """Take over the episodes a previous run left open (by schedule key, with the kinds that opened them), so
        each closes when its schedule recovers, or at once when the schedule is gone."""
        events = []
        for key, (schedule, kinds) in open_episodes.items():
            state = self.states.get(key)
            if state is None:
                gone = ScheduleState(schedule, judged_from=now)
                events.append(self._event("schedule.recovered", gone, now, reason="removed"))
                continue
            if "schedule.missed" in kinds and state.missed is None:
                state.missed = state.due or self.server_now(now)
            if "schedule.failed" in kinds and not state.failed:
                state.failed = True
                events.extend(self._observe(state, state.job, self.server_now(now), now))
        return events

    # ------------------------------------------------------------------------------------------ helpers

    def server_now(self, now: datetime) -> datetime:
        """Our time, or the server's as far as its run times show it, whichever is later."""
        if self._server is None:
            return now
        seen, at = self._server
        return max(now, seen + (now - at))

    def _note_server_time(self, newest: datetime | None, now: datetime) -> None:
        if newest is not None and newest <= now + MAX_SERVER_LEAD and newest > self.server_now(now):
            self._server = (newest, now)

    def _event(self, kind: str, state: ScheduleState, now: datetime, **fields: Any) -> Event:
        return Event(kind, now, self.company, schedule=state.job, last_run=state.last_run, **fields)

    def marks(self) -> dict[str, ScheduleState]:
        """What the next run needs: a copy of every schedule's state."""
        return {key: copy(state) for key, state in self.states.items()}


def _rest(state: ScheduleState, server_now: datetime) -> None:
    """Nothing is expected of the schedule until now: what came meanwhile is not a miss."""
    _clear_due(state)
    state.judged_from = max(state.judged_from, server_now)


def _clear_due(state: ScheduleState) -> None:
    state.due = state.cover_from = state.cover_until = state.reason = None
