"""Successive snapshots of one company's jobs → the events of the product contract. Pure: no I/O, no clock.

The tracker diffs by job handle in O(jobs). A job that leaves the active list has finished, but how it
ended is only known from its JobLog, which may appear a few polls late; such jobs wait in `departed` until
their log is matched. The first snapshot is a baseline: what was already running is not reported as
started, and logs from before the baseline are never replayed as new events.

The server's clock need not agree with ours (a skewed host, or the simulator running at `--speed`): what the
first log scan shows is history whatever its timestamps say, and the next scan starts from the newest log
the server has shown when that is later than our own time, so a server ahead of us does not make every scan
reach further back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from notifier.ingest.job_events import Spec, snapshot_events
from notifier.ingest.marks import PollMark
from notifier.models import ERROR_MARKERS, WARNING_MARKER, ActiveJob, CompanyRef, Event, JobLog, JobLogDetail

# How far back a log scan reaches past the previous scan, to absorb clock skew between us and the server.
LOG_SCAN_OVERLAP = timedelta(minutes=5)
# Server times further ahead of ours than this are not believed (a corrupt date must not stop all scans).
MAX_SERVER_LEAD = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a restarted run picks up: endings from `news_from` on are news; logs are read back to `scan_from`
    (long jobs started well before); `locales` are those of the jobs the previous run saw running."""

    news_from: datetime
    scan_from: datetime
    locales: Mapping[str, str] = field(default_factory=dict)


def resume_from(mark: PollMark, now: datetime, catch_up: timedelta) -> Resume:
    """Endings since the previous run's last poll (with the usual overlap), never older than what that run
    already treated as history, and never more than `catch_up` ago."""
    news_from = max(mark.floor, mark.polled_at - LOG_SCAN_OVERLAP, now - catch_up)
    return Resume(news_from, news_from - catch_up, mark.locales)


@dataclass(slots=True)
class _Tracked:
    job: ActiveJob
    progress_since: datetime


@dataclass(slots=True)
class Departed:
    """A job that left the active list and whose ending is not known yet; it ended after `seen_until`."""

    job: ActiveJob
    stalled_seconds: float | None
    seen_until: datetime
    polls_waited: int = 0


@dataclass(frozen=True, slots=True)
class Ending:
    """How a finished job ended: the events to emit once its log details (if needed) are known."""

    job: ActiveJob
    log: JobLog
    stalled_seconds: float | None

    @property
    def needs_details(self) -> bool:
        return self.log.failed or self.log.has_warnings


class JobTracker:
    """Per-company job state between polls."""

    def __init__(self, company: CompanyRef, *, log_retry_polls: int = 5, resume: Resume | None = None) -> None:
        """`resume` (after a restart): jobs that ended since the previous run's last poll are news, not history,
        so an ending that happened while the daemon was down is announced (the stable notification keys drop
        what was announced already)."""
        self.company = company
        self.log_retry_polls = log_retry_polls
        self.resume = resume
        self._jobs: dict[str, _Tracked] = {}
        self.departed: dict[str, Departed] = {}
        self._resolved: dict[str, datetime] = {}  # handle → log start, pruned as the scan window moves
        self.baseline: datetime | None = None
        self._last_scan: datetime | None = None
        self._history_scanned = False
        self._last_seen: datetime | None = None  # when the previous active snapshot was taken
        self._since_floor = datetime.min.replace(tzinfo=UTC)  # our previous look, while diffing the next one

    # ------------------------------------------------------------------------------- active snapshots

    def observe_active(self, jobs: Iterable[ActiveJob], now: datetime) -> list[Event]:
        """Diff one getActiveJobs snapshot against the previous one."""
        first = self.baseline is None
        if first:
            self.baseline = now
        self._since_floor = self._last_seen or now
        self._last_seen = now
        specs: list[Spec] = []
        seen: dict[str, _Tracked] = {}
        for job in jobs:
            handle = job.job_handle
            if not handle or handle in seen:
                continue
            tracked = self._observe_job(job, now, first, specs)
            seen[handle] = tracked
            specs.append(("job.active", job, _stalled(tracked, now), None))
        for handle, tracked in self._jobs.items():
            if handle not in seen:
                stalled = _stalled(tracked, now)
                self.departed[handle] = Departed(tracked.job, stalled, self._since_floor)
                # State rules resolve on this; how the job ended follows once its log is known.
                specs.append(("job.departed", tracked.job, stalled, None))
        self._jobs = seen
        return snapshot_events(specs, self.company, now)

    def _observe_job(self, job: ActiveJob, now: datetime, first: bool, specs: list[Spec]) -> _Tracked:
        handle = job.job_handle or ""
        old = self._jobs.get(handle)
        if old is None:
            self.departed.pop(handle, None)  # it came back: the server had only hidden it for a moment
            tracked = _Tracked(job, _seed_since(job, now))
            if not first:
                specs.append(("job.started", job, _stalled(tracked, now), None))
            return tracked
        since = old.progress_since
        if job.progress != old.job.progress:
            since = _changed_since(job, max(old.progress_since, self._since_floor), now)
            specs.append(("job.progressed", job, 0.0, {"progress": old.job.progress}))
        if job.state != old.job.state:
            specs.append(("job.state_changed", job, (now - since).total_seconds(), {"state": old.job.state}))
        # Updated in place rather than rebuilt: 50,000 new long-lived objects per poll would only feed the
        # garbage collector's oldest generation, whose full scans then come round far more often.
        old.job, old.progress_since = job, since
        return old

    # ------------------------------------------------------------------------------------ job logs

    def log_scan_start(self, now: datetime) -> datetime:
        """Earliest log startDate worth asking for: covers pending departures and short-lived jobs."""
        start = (self._last_scan or self.baseline or now) - LOG_SCAN_OVERLAP
        if self._last_scan is None and self.resume is not None:
            start = min(start, self.resume.scan_from)
        for pending in self.departed.values():
            if pending.job.start_date is not None and pending.job.start_date < start:
                start = pending.job.start_date
        return start

    def observe_logs(self, logs: Iterable[JobLog], scan_start: datetime, now: datetime) -> list[Ending]:
        """Match finished logs to departed jobs, and pick up jobs that ran entirely between two polls.

        A scan made in the baseline poll (`now` is the baseline) only records history: whatever had
        finished before we first looked is not news, even when the server's clock puts it after our baseline —
        unless it ended after the previous run's last poll (`resume`): then we were down, not absent.
        """
        logs = list(logs)
        history = now == self.baseline and not self._history_scanned
        self._history_scanned = self._history_scanned or history
        self._last_scan = _scan_time(logs, now)
        outcomes: list[Ending] = []
        for log in logs:
            handle = log.job_handle
            if not handle or log.end_date is None or handle in self._resolved or handle in self._jobs:
                continue
            pending = self.departed.get(handle)
            if pending is None and history and not self._ended_since_resume(log):
                self._resolved[handle] = log.start_date or now
                continue
            if pending is None and (history or self._is_new(log)):
                locale = self.resume.locales.get(handle) if self.resume else None
                seen = min(log.start_date or now, now)
                pending = self.departed[handle] = Departed(job_from_log(log, locale), None, seen)
            if pending is not None:
                outcomes.append(Ending(pending.job, log, pending.stalled_seconds))
        self._prune_resolved(scan_start)
        return outcomes

    def may_wait(self, outcome: Ending) -> bool:
        """Whether a finished job may wait one more poll for its details instead of going out without."""
        pending = self.departed.get(outcome.job.job_handle or "")
        return pending is not None and pending.polls_waited < self.log_retry_polls

    def _ended_since_resume(self, log: JobLog) -> bool:
        if self.resume is None or log.end_date is None:
            return False
        return log.end_date >= self.resume.news_from

    def _is_new(self, log: JobLog) -> bool:
        # Logs of jobs that started before we first looked are history, not news. Once the baseline scan has
        # recorded what had finished by then, a log it did not show is news even if it starts a little before
        # our baseline: the server's clock may be behind ours.
        if self.baseline is None or log.start_date is None:
            return False
        floor = self.baseline - LOG_SCAN_OVERLAP if self._history_scanned else self.baseline
        return log.start_date >= floor

    def resolve(self, outcome: Ending, details: tuple[JobLogDetail, ...], now: datetime) -> list[Event]:
        """Events for a finished job; call once its details are known (or given up on)."""
        handle = outcome.job.job_handle or ""
        self.departed.pop(handle, None)
        self._resolved[handle] = outcome.log.start_date or now
        failed = outcome.log.failed
        kind = "job.failed" if failed else "job.completed"
        errors = tuple(d for d in details if _is_error(d)) if failed else ()
        job = _ended(outcome.job, failed)
        events = [self._event(kind, now, job, log=outcome.log, stalled=outcome.stalled_seconds, details=errors)]
        if outcome.log.has_warnings:
            warnings = tuple(d for d in details if _is_warning(d))
            events.append(self._event("job.warning", now, job, log=outcome.log, details=warnings))
        return events

    def end_poll(self) -> list[Departed]:
        """Count one more poll for departures still without a log; return those that waited long enough."""
        expired: list[Departed] = []
        for handle, pending in list(self.departed.items()):
            pending.polls_waited += 1
            if pending.polls_waited > self.log_retry_polls:
                expired.append(self.departed.pop(handle))
        return expired

    def _prune_resolved(self, scan_start: datetime) -> None:
        stale = [h for h, started in self._resolved.items() if started < scan_start - LOG_SCAN_OVERLAP]
        for handle in stale:
            del self._resolved[handle]

    def _event(
        self,
        kind: str,
        now: datetime,
        job: ActiveJob,
        *,
        stalled: float | None = None,
        log: JobLog | None = None,
        previous: dict[str, object] | None = None,
        details: tuple[JobLogDetail, ...] = (),
    ) -> Event:
        return Event(
            kind=kind,
            at=now,
            company=self.company,
            job=job,
            log=log,
            stalled_seconds=stalled,
            previous=previous or {},
            details=details,
        )

    @property
    def floor(self) -> datetime | None:
        """Before this, everything is history for this run (None before the first poll)."""
        return self.resume.news_from if self.resume is not None else self.baseline

    def mark(self, polled_at: datetime) -> PollMark | None:
        """What the next run needs from this one, or None before the first poll.

        A job that left the active list but whose ending is still to be announced (no log yet, or details
        awaited) ended after it was last seen: the mark reaches back to then, so a restart announces it.
        """
        floor = self.floor
        if floor is None:
            return None
        horizon = min([polled_at, *(d.seen_until for d in self.departed.values())])
        locales = {handle: t.job.locale for handle, t in self._jobs.items() if t.job.locale}
        locales.update((h, d.job.locale) for h, d in self.departed.items() if d.job.locale)
        return PollMark(horizon, floor, locales)

    @property
    def active_count(self) -> int:
        return len(self._jobs)

    def active_jobs(self) -> list[tuple[ActiveJob, datetime]]:
        """Current jobs with the time their progress last changed (for status views)."""
        return [(t.job, t.progress_since) for t in self._jobs.values()]


def _ended(job: ActiveJob, failed: bool) -> ActiveJob:
    """The job as it ended: Done, at 100 % when it completed (a failure keeps the progress it had reached),
    not as the last poll happened to see it running."""
    if job.state == "Done" and (failed or job.progress == 100):
        return job
    return replace(job, state="Done", progress=job.progress if failed else 100)


def _scan_time(logs: list[JobLog], now: datetime) -> datetime:
    """Our time, or the newest end the server has shown if that is later (its clock is ahead of ours)."""
    ends = [log.end_date for log in logs if log.end_date is not None and log.end_date <= now + MAX_SERVER_LEAD]
    return max([now, *ends])


def _seed_since(job: ActiveJob, now: datetime) -> datetime:
    """Seeded from lastProgressUpdate at first sight, so a restart does not reset a stall."""
    since = job.last_progress_update or job.start_date or now
    return min(since, now)


def _changed_since(job: ActiveJob, previous: datetime, now: datetime) -> datetime:
    """When progress moved: the server's lastProgressUpdate if it falls between our previous look and now, else
    now. A server clock behind ours would otherwise date every change before our previous look, and every
    running job would seem stalled by the skew."""
    reported = job.last_progress_update
    if reported is not None and previous < reported <= now:
        return reported
    return now


def _stalled(tracked: _Tracked, now: datetime) -> float:
    return max(0.0, (now - tracked.progress_since).total_seconds())


def _is_error(detail: JobLogDetail) -> bool:
    log_type = detail.log_type or ""
    return any(marker in log_type for marker in ERROR_MARKERS)


def _is_warning(detail: JobLogDetail) -> bool:
    return WARNING_MARKER in (detail.log_type or "")


def job_from_log(log: JobLog, locale: str | None = None) -> ActiveJob:
    """What we know of a job that ran entirely between two polls (or ended while we were down): only its log
    speaks for it, and a locale remembered from an earlier run when there is one."""
    return ActiveJob(
        locale=locale,
        company_handle=log.company_handle,
        job_handle=log.job_handle,
        name=log.job_name,
        original_name=log.original_job_name,
        type=job_type_from_log(log),
        state="Done",
        submit_user_email=log.submit_user_email,
        description=log.description,
        start_date=log.start_date,
    )


def job_type_from_log(log: JobLog) -> str | None:
    """Job logs name their family in logType (`EndImageServingPublish` → ImageServingPublish)."""
    log_type = log.log_type or ""
    for prefix in ("Begin", "End"):
        if log_type.startswith(prefix):
            return log_type[len(prefix) :] or None
    return log_type or None
