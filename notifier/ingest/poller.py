"""One asyncio task per company: poll IPS on a jittered schedule, back off on failure, queue the events.

The poller owns the I/O around the pure trackers: it asks for active jobs, for the logs of jobs that left
the active list, for failure details in each job's own locale and, on their own interval, for the company's
scheduled jobs. Company-level health (unreachable after N consecutive failures, recovered on the next
success) is decided here: only the poller sees calls fail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from datetime import datetime, timedelta

import structlog

from notifier.ingest.health import PollStatus
from notifier.ingest.hooks import Checkpoint, EventSink, PollObserver, SeedSource, Sleep, Takeover
from notifier.ingest.job_logs import job_logs, log_details
from notifier.ingest.job_tracker import Ending, JobTracker, Resume, resume_from
from notifier.ingest.marks import PollDone, TrackerSeed
from notifier.ingest.schedules.polling import ScheduleWatch, settle_watch
from notifier.ingest.settings import PollSettings, next_delay
from notifier.ingest.views import CompanyView, SchedulesView
from notifier.ips.client import IpsClient
from notifier.ips.errors import IpsError
from notifier.models import CompanyId, CompanyRef, Event, JobLog, JobLogDetail
from notifier.runtime.clock import Clock

log = structlog.get_logger(__name__)

NAME_RETRY = timedelta(minutes=10)  # a company's display name that could not be looked up is asked for again
DIFF_IN_THREAD_ABOVE = 2000  # jobs; a bigger snapshot is diffed in a worker thread (the tracker is this task's)
EMIT_SLICE = 1000  # events queued without giving the event loop to other tasks


class CompanyPoller:
    """Polls one company until cancelled."""

    def __init__(
        self,
        client: IpsClient,
        company: CompanyRef,
        queue: EventSink,
        clock: Clock,
        settings: PollSettings,
        *,
        company_name: str | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        observer: PollObserver | None = None,
        seed: TrackerSeed | None = None,
        seeds: SeedSource | None = None,
        takeover: Takeover | None = None,
        checkpoint: Checkpoint | None = None,
        resolved_before: str | None = None,
    ) -> None:
        """`seed` is what the trackers start from (read when the company was taken); a company known only by name
        asks `seeds` once its handle is resolved. `takeover` is asked after the first good poll.
        `resolved_before` is the handle the name was resolved to before (by another replica): until the name is
        resolved again, the company's own events (unreachable) are kept under it, as that replica's were."""
        self.client = client
        if company_name and not company.name:  # until it is resolved, events name the company as configured
            company = dataclasses.replace(company, name=company_name)
        self.company = company
        self.company_name = company_name
        self.queue = queue
        self.clock = clock
        self.settings = settings
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.observer = observer
        self.seed = seed
        self.seeds = seeds
        self.takeover = takeover
        self.checkpoint = checkpoint  # takes what a restart needs, after this poll's events
        self.resolved_before = resolved_before
        self.tracker: JobTracker | None = None
        self.schedules: ScheduleWatch | None = None
        self.status = PollStatus()
        self.log = log.bind(company=self.id.label)
        self._name_due: datetime | None = None  # when to look up a handle-only company's name (None: now)
        self._waited = 0.0  # seconds this poll has waited for room in the queue so far
        self._skips = 0  # polls still to skip
        self._taken_over = False  # what a previous owner left open was looked at

    @property
    def id(self) -> CompanyId:
        """Its handle once known, the name it is configured by until then."""
        return CompanyId(self.company.handle, self.company.name or self.company_name)

    @property
    def label(self) -> str:
        """What logs and metrics call the company (see `CompanyId.label`)."""
        return self.id.label

    def view(self, now: datetime) -> CompanyView:
        """What the status page, readiness and metrics may know of this company now."""
        interval = self.settings.interval
        jobs = tuple(self.tracker.active_jobs()) if self.tracker is not None else ()
        return CompanyView(
            self.id, self.company.name or self.company_name, interval, self.status.copy(),
            self.status.health(now, interval), self.status.ready(now, interval), jobs, self._schedules_view(now),
        )  # fmt: skip

    def _schedules_view(self, now: datetime) -> SchedulesView | None:
        watch = self.schedules
        if watch is None:
            return None
        tracker = watch.tracker
        listed = tuple(state for state in tracker.states.values() if state.listed)
        return SchedulesView(listed, tracker.server_now(now), tracker.grace, watch.polling.refused)

    async def run(self) -> None:
        """Poll forever; every failure is logged and backed off, none ends the loop."""
        while True:
            error = await self.poll_once()
            await self.sleep(next_delay(self.settings, self.status.consecutive_failures, error, self.rng))

    async def poll_once(self) -> IpsError | None:
        """One complete cycle; returns the error that made it fail, if any.

        An unexpected exception (a bug, not an IPS failure) still counts as a failed poll, so a company that
        can never be polled becomes unreachable and says so; it is then raised for the supervisor to log
        and restart the loop.
        """
        now = self.clock.now()
        if self._skips:
            self._skip()
            return None
        self.status.last_attempt = now
        started = time.perf_counter()
        try:
            await self._cycle(now)
        except IpsError as exc:
            await self._failed(exc, now)
            self._observe(type(exc).__name__, started)
            return exc
        except Exception as exc:
            await self._failed(exc, now, expected=False)
            self._observe(type(exc).__name__, started)
            raise
        finally:
            self._pace(now)
        await self._succeeded(now)
        self._observe("ok", started)
        await self._take_over(now)
        return None

    async def _take_over(self, now: datetime) -> None:
        """Once, after the first good poll: close what whoever polled the company before left open."""
        if self._taken_over or self.takeover is None or self.tracker is None:
            return
        self._taken_over = True
        active = {job.job_handle or "" for job, _since in self.tracker.active_jobs()}
        for event in self.takeover.left_open(self.company, active, self.schedules, now):
            self.log.info("closing an alert left open by the previous run", kind=event.kind)
            await self.queue.put(event)

    def _pace(self, now: datetime) -> None:
        """When this poll's events waited longer than an interval for room in the queue, the rules are falling
        behind: the next polls are skipped (one per interval waited) rather than adding to what waits. Memory
        stays bounded and the company is simply polled less often until the rules catch up."""
        waited, self._waited = self._waited, 0.0
        status = self.status
        status.queue_wait = waited
        self._skips = int(waited // self.settings.interval) if self.settings.interval > 0 else 0
        if self._skips and status.behind_since is None:
            status.behind_since = now
            self.log.warning("the rules are falling behind: skipping polls until they catch up",
                             queue_wait=round(waited, 1), skipping=self._skips)  # fmt: skip
        elif not self._skips and status.behind_since is not None:
            self.log.info("the rules caught up: polling as usual", skipped=status.skipped,
                          since=status.behind_since.isoformat())  # fmt: skip
            status.behind_since = None

    def _skip(self) -> None:
        self._skips -= 1
        self.status.skipped += 1
        if self.observer is not None:
            self.observer.polled(self.id, "skipped", 0.0)

    def _observe(self, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer.polled(self.id, outcome, time.perf_counter() - started)

    async def _cycle(self, now: datetime) -> None:
        """Events are queued as soon as they are known, so a later failing call cannot lose them."""
        tracker = self.tracker or await self._start_tracking()
        await self._learn_name(tracker, now)
        schedules = self._schedule_watch()
        if schedules is not None:
            await self._emit(await schedules.poll(self.client, self.company.handle, now, self.log))
        jobs = await self.client.get_active_jobs(self.company.handle)
        if len(jobs) <= DIFF_IN_THREAD_ABOVE:
            await self._emit(tracker.observe_active(jobs, now))
        else:  # a second of work at 100,000 jobs: other companies' polls go on meanwhile
            await self._emit(await asyncio.to_thread(tracker.observe_active, jobs, now))
        scan_start = tracker.log_scan_start(now)
        logs = await self._job_logs(scan_start)
        for outcome in tracker.observe_logs(logs, scan_start, now):
            details = await self._details(tracker, outcome) if outcome.needs_details else ()
            if details is not None:
                await self._emit(tracker.resolve(outcome, details, now))
        for expired in tracker.end_poll():
            self.log.warning(
                "job left the active list but no job log appeared",
                job=expired.job.job_handle,
                polls=expired.polls_waited,
            )
        if schedules is not None:
            await self._emit(schedules.runs(jobs, logs, scan_start, now))
        await self._checkpoint(tracker, schedules, now)

    def _schedule_watch(self) -> ScheduleWatch | None:
        marks, settings = self.seed.schedules if self.seed is not None else None, self.settings
        self.schedules = settle_watch(self.schedules, self.company, marks, interval=settings.schedules_interval,
                                      grace=settings.schedule_grace, refused_backoff=settings.auth_backoff)  # fmt: skip
        return self.schedules

    async def _checkpoint(self, tracker: JobTracker, schedules: ScheduleWatch | None, now: datetime) -> None:
        """What a restart needs (job endings' horizon and locales, schedule states), queued after this poll's
        events: the intake commits it with them, so it never says more is known than is committed."""
        mark = tracker.mark(now)
        if self.checkpoint is None or mark is None or not self.company.handle:
            return
        listed = schedules is not None and schedules.tracker.listed
        states = schedules.tracker.marks() if schedules is not None and listed else None
        await self.checkpoint(PollDone(self.company.handle, mark, states))

    async def _start_tracking(self) -> JobTracker:
        """Names are resolved once, with getCompanyInfo; the handle is what every later call uses. The store keeps
        which handle the name resolved to before anything is kept under the handle: whoever polls the company
        next (another replica) finds its alerts."""
        company, resolved = self.company, None
        if not company.handle and self.company_name:
            info = await self.client.get_company_info(company_name=self.company_name)
            if not info.company_handle:
                raise IpsError(f"getCompanyInfo returned no handle for company {self.company_name!r}")
            company = CompanyRef(info.company_handle, info.name or self.company_name, company.locale, company.timezone)
            resolved = self.company_name
        if self.seed is None and self.seeds is not None:  # a store that fails here: resolved again next poll
            now = self.clock.now()
            self.seed = await self.seeds.seed(company.handle, now, first_look=False, name=resolved)
        if resolved is not None:
            self.company = company
            self.log = log.bind(company=company.handle, company_name=company.name)
            self.log.info("company resolved")
        self.tracker = JobTracker(
            self.company, log_retry_polls=self.settings.log_retry_polls, resume=self._resume(self.clock.now())
        )
        return self.tracker

    def _resume(self, now: datetime) -> Resume | None:
        """Where a restarted daemon picks up: from the previous run's last good poll, at most `catch_up` ago."""
        mark = self.seed.mark if self.seed is not None else None
        if mark is None or self.settings.catch_up <= 0:
            return None
        resume = resume_from(mark, now, timedelta(seconds=self.settings.catch_up))
        if resume.news_from > max(mark.floor, mark.polled_at):
            self.log.warning("down longer than catch_up: older job endings are not announced",
                             since=resume.news_from.isoformat())  # fmt: skip
        return resume

    async def _learn_name(self, tracker: JobTracker, now: datetime) -> None:
        """A company configured by handle gets its name from getCompanyInfo, so people read "Sakura Interiors"
        rather than "203". Never fatal: on failure the handle is shown and the name is asked for again later.
        """
        if self.company.name or (self._name_due is not None and now < self._name_due):
            return
        try:
            info = await self.client.get_company_info(company_handle=self.company.handle)
        except IpsError as exc:
            self._name_due = now + NAME_RETRY
            self.log.info("company name unavailable, showing the handle", error=str(exc))
            return
        if not info.name:
            self._name_due = now + NAME_RETRY
            return
        self.company = tracker.company = dataclasses.replace(self.company, name=info.name)
        if self.schedules is not None:
            self.schedules.tracker.company = self.company
        self.log = log.bind(company=self.company.handle, company_name=self.company.name)
        self.log.info("company name looked up")

    async def _job_logs(self, start: datetime) -> list[JobLog]:
        return await job_logs(self.client, self.company.handle, start, self.settings.log_page_size, self.log)

    async def _emit(self, events: list[Event]) -> None:
        if self.schedules is not None:
            events = self.schedules.attribute(events)
        for start in range(0, len(events), EMIT_SLICE):
            if start:  # a huge poll's events are queued a slice at a time: other companies' polls go on meanwhile
                await asyncio.sleep(0)
            for event in events[start : start + EMIT_SLICE]:
                if self.queue.full():  # a full queue pushes back on polling instead of growing; how long is measured
                    waiting = self.clock.now()
                    await self.queue.put(event)
                    self._waited += (self.clock.now() - waiting).total_seconds()
                else:
                    self.queue.put_nowait(event)

    async def _details(self, tracker: JobTracker, ending: Ending) -> tuple[JobLogDetail, ...] | None:
        locale = ending.job.locale or self.company.locale
        limit = self.settings.details_limit
        return await log_details(self.client, self.company.handle, tracker, ending, locale, limit, self.log)

    async def _failed(self, exc: Exception, now: datetime, *, expected: bool = True) -> None:
        status = self.status
        status.consecutive_failures += 1
        status.last_error = str(exc) if expected else f"internal error: {type(exc).__name__}: {exc}"
        if expected:  # an unexpected one is logged with its traceback by the supervisor
            self.log.warning(
                "poll failed", error=str(exc), error_type=type(exc).__name__, failures=status.consecutive_failures
            )
        if not status.unreachable and status.consecutive_failures >= self.settings.unreachable_after:
            status.unreachable = True
            await self.queue.put(self._company_event("company.unreachable", now, status.last_error))

    async def _succeeded(self, now: datetime) -> None:
        status = self.status
        if status.unreachable:
            status.unreachable = False
            await self.queue.put(self._company_event("company.recovered", now, None))
        status.consecutive_failures = 0
        status.last_error = None
        status.last_success = now

    def _company_event(self, kind: str, now: datetime, error: str | None) -> Event:
        company = self.company
        if not company.handle and self.resolved_before:
            company = dataclasses.replace(company, handle=self.resolved_before)
        return Event(
            kind=kind,
            at=now,
            company=company,
            error=error,
            consecutive_failures=self.status.consecutive_failures,
        )
