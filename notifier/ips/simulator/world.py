"""The simulated IPS world: companies, jobs moving through simulated time, and the logs they leave.

Simulated time is `start + elapsed wall time × speed + explicit advances`; with speed 0 it moves only when
`advance()` is called, which is how tests stay deterministic and never sleep. Every random choice comes from
generators seeded by `seed`, and a job's whole life is fixed when it is created (see `jobs`), so the same
seed and the same advances give the same answers however often the API is asked.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.ips.simulator.chaos import Chaos
from notifier.ips.simulator.jobs import JobPlan, LiveJob, detail_lines, log_view
from notifier.ips.simulator.scenarios import JobSpec, Scenario, SimCompany, SpawnSpec
from notifier.ips.simulator.schedules import LiveSchedule
from notifier.models import ActiveJob, Company, JobLog, ScheduledJob

LOG_RETENTION = timedelta(days=7)
MAX_LOGS_PER_COMPANY = 10_000  # with retention, bounds memory however long and fast a scale run goes

# getJobLogs sortBy → key on a JobLog (CompanyName is resolved by the world, which knows the names).
_LOG_SORT_KEYS: dict[str, Callable[[JobLog], Any]] = {
    "JobName": lambda log: log.job_name or "",
    "LogType": lambda log: log.log_type or "",
    "StartDate": lambda log: log.start_date or datetime.min.replace(tzinfo=UTC),
    "UserId": lambda log: log.submit_user_email or "",
    "Email": lambda log: log.submit_user_email or "",
    "FileErrorCount": lambda log: log.file_error_count or 0,
    "FileWarningCount": lambda log: log.file_warning_count or 0,
    "FileSuccessCount": lambda log: log.file_success_count or 0,
}
LOG_SORT_FIELDS = (*_LOG_SORT_KEYS, "CompanyName")


class SimClock:
    """Simulated time: wall time scaled by `speed`, plus explicit advances."""

    def __init__(self, start: datetime, speed: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._monotonic = monotonic
        self._anchor = start
        self._anchored_at = monotonic()
        self._speed = speed

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=(self._monotonic() - self._anchored_at) * self._speed)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("simulated time only moves forward")
        self._anchor += timedelta(seconds=seconds)
        return self.now()

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ValueError("speed must not be negative")
        self._anchor, self._anchored_at, self._speed = self.now(), self._monotonic(), value


class World:
    """Companies and their jobs; every query first brings the world up to the current simulated time."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int = 0,
        start: datetime | None = None,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.start = start or datetime.now(UTC).replace(microsecond=0)
        self.clock = SimClock(self.start, speed, monotonic)
        self.chaos = Chaos(flaky=scenario.flaky, auth_failure=scenario.auth_failure, seed=seed)
        self.companies: dict[str, SimCompany] = {c.handle: c for c in scenario.companies}
        self.calls = 0
        # Answer as a server on an older WSDL would: getJobLogDetailsParam's paging members are unknown elements.
        self.older_detail_schema = False
        self.taints: dict[bytes, bytes] = {}  # text in every answer → the raw bytes a broken server sends instead
        self._rng = random.Random(f"jobs:{seed}")
        self._spawn_rng = random.Random(f"spawn:{seed}")
        self._seq = itertools.count()
        self._names: set[str] = set()
        self._pending: list[tuple[datetime, int, JobPlan]] = []
        self._ends: list[tuple[datetime, int, JobPlan]] = []
        self._running: dict[str, dict[str, JobPlan]] = {h: {} for h in self.companies}
        self._finished: dict[str, dict[str, JobPlan]] = {h: {} for h in self.companies}
        self._live: dict[str, LiveJob] = {}  # by job handle, for running jobs that have been asked about
        self._prune_due: datetime | None = None  # no company's oldest log ended earlier (None: no logs)
        spawn = scenario.spawn
        self._next_spawn = self.start + timedelta(seconds=spawn.after) if spawn else None
        self.schedules = [LiveSchedule(spec, self.start) for spec in scenario.schedules]
        for spec in scenario.jobs:
            self.add_job(spec, self.start + timedelta(seconds=spec.start_after))

    # ------------------------------------------------------------------------------------------ time

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward; what happened meanwhile is visible to the next query."""
        return self.clock.advance(seconds)

    # ------------------------------------------------------------------------------------------- jobs

    def add_job(
        self, spec: JobSpec, at: datetime | None = None, *, seed: int | None = None, name: str | None = None
    ) -> JobPlan:
        """Schedule a job to start at `at` (default now); unknown companies are refused. A scheduled job's run
        is named after its schedule (`name`) and has a seed of its own, so fires stay deterministic."""
        company = self.companies.get(spec.company)
        if company is None:
            raise ValueError(f"unknown company {spec.company!r}")
        start = at or self.now()
        plan = JobPlan(
            company_handle=spec.company,
            name=self._unique_name(name or spec.original_name, start),
            original_name=spec.original_name,
            type=spec.type,
            submit_user_email=spec.user or company.users[0],
            locale=spec.locale or company.locale,
            start=start,
            files=max(1, spec.files),
            outcome=spec.outcome,
            seed=self._rng.getrandbits(32) if seed is None else seed,
            queued=spec.queued,
            run=spec.run,
            description=spec.description,
            publish_type=spec.publish_type,
            email_setting=spec.email_setting,
            http_completion_url=spec.http_completion_url,
            stall_files=spec.stall_files,
        )
        heapq.heappush(self._pending, (plan.start, next(self._seq), plan))
        return plan

    def _unique_name(self, original: str, start: datetime) -> str:
        # IPS names a job after its original name and submit time: "Add_2007-09-14-15:04:34".
        base = f"{original.replace(' ', '_')}_{start:%Y-%m-%d-%H:%M:%S}"
        name = base
        for n in itertools.count(2):
            if name not in self._names:
                break
            name = f"{base}-{n}"
        self._names.add(name)
        return name

    def sync(self) -> datetime:
        """Start, spawn and finish every job whose time has come; returns the current simulated time."""
        now = self.now()
        self._spawn_until(now)
        self._fire_schedules(now)
        while self._pending and self._pending[0][0] <= now:
            _, seq, plan = heapq.heappop(self._pending)
            self._running[plan.company_handle][plan.job_handle] = plan
            if plan.end is not None:
                heapq.heappush(self._ends, (plan.end, seq, plan))
        ended: set[str] = set()
        while self._ends and self._ends[0][0] <= now:
            plan = heapq.heappop(self._ends)[2]
            del self._running[plan.company_handle][plan.job_handle]
            self._live.pop(plan.job_handle, None)
            self._finished[plan.company_handle][plan.job_handle] = plan
            ended.add(plan.company_handle)
        self._prune(now - LOG_RETENTION, ended)
        return now

    def _spawn_until(self, now: datetime) -> None:
        spawn = self.scenario.spawn
        while spawn is not None and self._next_spawn is not None and self._next_spawn <= now:
            self.add_job(self._random_spec(spawn), self._next_spawn)
            self._next_spawn += timedelta(seconds=self._spawn_rng.expovariate(1 / spawn.every))

    def _fire_schedules(self, now: datetime) -> None:
        for live in self.schedules:
            spec = live.spec
            for fire in live.fires_until(now):
                run = JobSpec(spec.company, spec.type, "success", spec.original_name, run=spec.run, files=spec.files,
                              locale=spec.locale, user=spec.user, description=spec.description)  # fmt: skip
                seed = random.Random(f"schedule:{self.seed}:{spec.job_handle}:{fire.isoformat()}").getrandbits(32)
                self.add_job(run, fire.astimezone(UTC), seed=seed, name=spec.unique_name)  # server time, as every job

    def _random_spec(self, spawn: SpawnSpec) -> JobSpec:
        rng = self._spawn_rng
        company = rng.choice(self.scenario.companies)
        kind = rng.choice(spawn.types)
        outcome = rng.choices(spawn.outcomes, [w for _, w in spawn.outcomes])[0][0]
        name = f"{kind} {rng.randint(1000, 9999)}"
        publish_type = rng.choice(("Full", "Incremental")) if kind == "ImageServingPublish" else None
        files = rng.randint(*spawn.files)
        return JobSpec(company.handle, kind, outcome, name, run=rng.uniform(*spawn.run), files=files,
                       user=rng.choice(company.users), publish_type=publish_type, stall_files=files // 2)  # fmt: skip

    def _prune(self, before: datetime, ended: set[str]) -> None:
        """Drop logs that ended before `before`, and the oldest beyond the cap, where there can be any.

        No company's oldest log ended before `_prune_due`: until `before` passes it, only the companies whose
        jobs just ended can need pruning, so a call on every request does not walk every company.
        """
        due = self._prune_due
        every = due is not None and before > due
        handles = list(self._finished) if every else ended
        for handle in handles:
            logs = self._finished[handle]
            # Insertion order is end order, so the oldest logs come first.
            while logs:
                key, plan = next(iter(logs.items()))
                end = plan.end
                if end is not None and end >= before and len(logs) <= MAX_LOGS_PER_COMPANY:
                    break
                del logs[key]
                self._names.discard(plan.name)
        oldest = [next(iter(logs.values())).end for logs in map(self._finished.__getitem__, handles) if logs]
        if due is not None and not every:
            oldest.append(due)
        self._prune_due = min((end for end in oldest if end is not None), default=None)

    # ---------------------------------------------------------------------------------------- queries

    def live_jobs(self, company: str | None) -> tuple[datetime, list[LiveJob]]:
        """The running jobs of `company` (None: of every company), and the simulated time they are seen at."""
        now = self.sync()
        return now, [self._live_job(plan) for plan in self._plans(self._running, company)]

    def active_jobs(self, company: str | None, locale: str) -> list[ActiveJob]:
        now, jobs = self.live_jobs(company)
        return [job.view(now, locale) for job in jobs]

    def _live_job(self, plan: JobPlan) -> LiveJob:
        live = self._live.get(plan.job_handle)
        if live is None or live.plan is not plan:
            live = self._live[plan.job_handle] = LiveJob(plan)
        return live

    def job_logs(
        self,
        company: str | None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        sort_by: str = "StartDate",
        descending: bool = False,
        num_rows: int | None = None,
    ) -> list[JobLog]:
        """Finished jobs whose startDate lies in [start, end], sorted, at most `num_rows`."""
        self.sync()
        logs = [
            log_view(plan)
            for plan in self._plans(self._finished, company)
            if (start is None or plan.start >= start) and (end is None or plan.start <= end)
        ]
        logs.sort(key=self._log_sort_key(sort_by), reverse=descending)
        return logs if num_rows is None else logs[:num_rows]

    def _log_sort_key(self, sort_by: str) -> Callable[[JobLog], Any]:
        if sort_by == "CompanyName":
            return lambda log: self.companies[log.company_handle or ""].name
        return _LOG_SORT_KEYS[sort_by]

    def job_log_details(
        self,
        company: str,
        *,
        locale: str,
        job_handle: str | None = None,
        original_name: str | None = None,
        log_types: Iterable[str] | None = None,
        per_page: int = 1000,
        page: int = 1,
        descending: bool = False,
        by_log_type: bool = False,
    ) -> list[JobLog]:
        """Finished jobs with one page of their (filtered) log lines, messages in `locale`."""
        self.sync()
        wanted = set(log_types) if log_types else None
        result = []
        for plan in self._finished.get(company, {}).values():
            if job_handle is not None and plan.job_handle != job_handle:
                continue
            if original_name is not None and plan.original_name != original_name:
                continue
            lines = [d for d in detail_lines(plan, locale) if wanted is None or d.log_type in wanted]
            if by_log_type:
                lines.sort(key=lambda d: d.log_type or "")
            if descending:
                lines.reverse()
            first = (page - 1) * per_page
            result.append(log_view(plan, tuple(lines[first : first + per_page]), total_rows=len(lines)))
        return result

    def company_info(self, handle: str | None = None, name: str | None = None) -> Company | None:
        for company in self.companies.values():
            if company.handle == handle or (handle is None and company.name == name):
                return company.info()
        return None

    def scheduled_jobs(self, company: str, job_handle: str | None, original_name: str | None) -> list[ScheduledJob]:
        self.sync()
        views = [live.view() for live in self.schedules if live.spec.company == company]
        return [v for v in views if job_handle in (None, v.job_handle) and original_name in (None, v.original_name)]

    def set_trigger(self, job_handle: str, state: str) -> ScheduledJob:
        """Pause, resume or break a schedule's trigger now (as an operator or a fault would)."""
        now = self.sync()
        live = next((s for s in self.schedules if s.spec.job_handle == job_handle), None)
        if live is None:
            raise ValueError(f"no scheduled job {job_handle!r}")
        live.set_trigger(state, now)
        return live.view()

    def _plans(self, table: dict[str, dict[str, JobPlan]], company: str | None) -> list[JobPlan]:
        if company is not None:
            return list(table[company].values())
        return [plan for plans in table.values() for plan in plans.values()]

    def finish(self, job_handle: str, outcome: str = "success") -> JobPlan:
        """End a running job now with `outcome` (a stalled job never ends by itself): it leaves the active
        list and its log appears, as when an operator unblocks a stuck job."""
        now = self.sync()
        for plans in self._running.values():
            plan = plans.get(job_handle)
            if plan is not None:
                break
        else:
            raise ValueError(f"no running job {job_handle!r}")
        elapsed = max((now - plan.start).total_seconds() - plan.queued, 0.0)
        done = dataclasses.replace(plan, outcome=outcome, run=elapsed)
        plans[job_handle] = done
        self._ends = [entry for entry in self._ends if entry[2].job_handle != job_handle]
        heapq.heapify(self._ends)
        heapq.heappush(self._ends, (now, next(self._seq), done))
        self.sync()
        return done

    def taint(self, text: str, raw: bytes) -> None:
        """From now on every answer carries `raw` where it would carry `text` (say, a job's name): bytes a
        careless server lets through, which XML cannot carry (control characters, invalid UTF-8) or which
        are absurdly long."""
        if not text:
            raise ValueError("the text to replace must not be empty")
        self.taints[text.encode("utf-8")] = raw

    def tainted(self, payload: bytes) -> bytes:
        for text, raw in self.taints.items():
            payload = payload.replace(text, raw)
        return payload

    # ------------------------------------------------------------------------------------ inspection

    def plan(self, job_handle: str) -> JobPlan | None:
        """A job by handle, wherever it is in its life (for tests and the control API)."""
        self.sync()
        for table in (self._running, self._finished):
            for plans in table.values():
                if job_handle in plans:
                    return plans[job_handle]
        return next((p for _, _, p in self._pending if p.job_handle == job_handle), None)

    def state(self) -> dict[str, object]:
        now = self.sync()
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "now": now.isoformat(),
            "speed": self.clock.speed,
            "calls": self.calls,
            "down": self.chaos.down,
            "pending_faults": self.chaos.pending,
            "companies": {
                handle: {"name": c.name, "active": len(self._running[handle]), "logs": len(self._finished[handle])}
                for handle, c in self.companies.items()
            },
            "schedules": [
                {"jobHandle": s.spec.job_handle, "triggerState": s.trigger, "nextFireTime": s.next_fire.isoformat()}
                for s in self.schedules
            ],
        }
