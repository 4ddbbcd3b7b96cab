"""The per-company poller over real HTTP against the simulator, with simulated time and our clock moved together."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from notifier.ingest import poller as poller_module
from notifier.ingest.poller import NAME_RETRY, CompanyPoller
from notifier.ingest.settings import PollSettings, next_delay
from notifier.ips.client import IpsClient
from notifier.ips.errors import IpsError, IpsFault, IpsParseError, IpsTimeout, IpsTransportError
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.jobs import detail_lines
from notifier.ips.simulator.scenarios import JobSpec
from notifier.ips.simulator.soap import DEFAULT_USERS, SimUser
from notifier.models import Company, CompanyRef, Event, JobLog, JobLogDetail
from notifier.runtime.clock import ManualClock
from notifier.runtime.supervise import supervise
from notifier.web.ready import company_problem
from tests.support.ingest import PollOutcomes
from tests.support.sim import PASSWORD, START, USER, Sim, StartSim

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
SETTINGS = PollSettings(interval=30.0, unreachable_after=3, log_retry_polls=3)


class SpyClient(IpsClient):
    """The real client, recording what the poller asked for; it can also hide logs, as a lagging IPS does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.detail_locales: list[tuple[str, str | None]] = []
        self.log_scans: list[datetime | None] = []
        self.company_lookups: list[tuple[str | None, str | None]] = []
        self.hidden: dict[str, int] = {}  # job handle → how many more scans its log stays invisible
        self.crash_on_active: set[int] = set()  # getActiveJobs call numbers that raise a bug-like error
        self.active_calls = 0

    async def get_active_jobs(self, company_handle: str) -> Any:
        self.active_calls += 1
        if self.active_calls in self.crash_on_active:
            raise RuntimeError("unexpected bug in a cycle")
        return await super().get_active_jobs(company_handle)

    async def get_job_logs(self, company_handle: str, **kwargs: Any) -> list[JobLog]:
        self.log_scans.append(kwargs.get("start_date"))
        logs = await super().get_job_logs(company_handle, **kwargs)
        visible = [entry for entry in logs if self.hidden.get(entry.job_handle or "", 0) <= 0]
        for handle in list(self.hidden):
            self.hidden[handle] -= 1
        return visible

    async def get_notable_details(self, company_handle: str, job_handle: str, **kwargs: Any) -> list[JobLogDetail]:
        self.detail_locales.append((job_handle, kwargs.get("locale")))
        return await super().get_notable_details(company_handle, job_handle, **kwargs)

    async def get_company_info(self, *, company_handle: str | None = None, company_name: str | None = None) -> Company:
        self.company_lookups.append((company_handle, company_name))
        return await super().get_company_info(company_handle=company_handle, company_name=company_name)


@dataclass
class Rig:
    """One poller on one simulator; `poll(after=s)` moves simulated time and our clock by s, then polls."""

    sim: Sim
    poller: CompanyPoller
    client: SpyClient
    clock: ManualClock
    queue: asyncio.Queue[Event]
    errors: list[IpsError | None] = field(default_factory=list)

    async def poll(self, after: float = 0.0) -> list[Event]:
        if after:
            self.sim.world.advance(after)
            self.clock.advance(after)
        self.errors.append(await self.poller.poll_once())
        return drain(self.queue)


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
def make_rig(start_sim: StartSim) -> MakeRig:
    async def make(
        scenario: str = "demo",
        *,
        handle: str = "203",
        name: str | None = None,
        settings: PollSettings = SETTINGS,
        call_timeout: float = 5.0,
        server_ahead: float = 0.0,
        users: dict[str, SimUser] | None = None,
    ) -> Rig:
        sim = await start_sim(scenario, users=users)
        client = SpyClient(sim.session, sim.settings(timeout=call_timeout))
        clock = ManualClock(START - timedelta(seconds=server_ahead))
        queue: asyncio.Queue[Event] = asyncio.Queue()
        ref = CompanyRef(handle="" if name else handle)
        poller = CompanyPoller(client, ref, queue, clock, settings, company_name=name, rng=random.Random(7))
        return Rig(sim, poller, client, clock, queue)

    return make


def drain(queue: asyncio.Queue[Event]) -> list[Event]:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def kinds(events: list[Event], *, active: bool = False) -> list[str]:
    return [e.kind for e in events if active or e.kind != "job.active"]


def about(events: list[Event], original_name: str) -> list[str]:
    """The kinds of the events about one job (by its original name), job.active left out."""
    return [e.kind for e in events if e.job and e.job.original_name == original_name and e.kind != "job.active"]


def named(events: list[Event], kind: str, original_name: str) -> Event:
    (event,) = [e for e in events if e.kind == kind and e.job is not None and e.job.original_name == original_name]
    return event


# ------------------------------------------------------------------------------------------- job events


async def test_first_poll_replays_no_history(make_rig: MakeRig) -> None:
    """Jobs that finished before the first poll and jobs already running yield only job.active."""
    rig = await make_rig(handle="47")
    rig.sim.world.advance(40)  # Spring catalogue has finished, Holiday assets is running
    rig.clock.advance(40)
    events = await rig.poll()
    assert kinds(events, active=True) == ["job.active"]
    assert events[0].job is not None
    assert events[0].job.original_name == "Holiday assets"
    assert rig.errors == [None]


async def test_server_clock_ahead_of_ours_replays_no_history(make_rig: MakeRig) -> None:
    """Logs the server dates after our baseline (its clock runs ahead, as `simulate --speed`) are still history."""
    rig = await make_rig(handle="203", server_ahead=120)
    rig.sim.world.advance(60)  # the failing catalogue job started at +5 s and failed at +32 s, before we looked
    first = await rig.poll()
    later = await rig.poll(after=30)
    assert kinds(first) == []
    assert about(later, "秋の新作カタログ") == []


async def test_server_clock_behind_ours_still_reports_a_short_job(make_rig: MakeRig) -> None:
    """A job that ran entirely between two polls is reported even when the server's clock is behind ours."""
    rig = await make_rig(handle="203", server_ahead=-120)
    await rig.poll()
    events = await rig.poll(after=40)  # the job started at +5 s and failed at +32 s, both between polls
    assert about(events, "秋の新作カタログ") == ["job.failed"]
    assert named(events, "job.failed", "秋の新作カタログ").details


async def test_new_job_is_started_then_changes_state_and_progresses(make_rig: MakeRig) -> None:
    """A job appearing after the baseline is started; its New → Running and progress changes follow."""
    rig = await make_rig(handle="47")
    await rig.poll()
    started = await rig.poll(after=11)  # Holiday assets was submitted at +10 s and is queued for 2 s
    moved = await rig.poll(after=9)
    assert about(started, "Holiday assets") == ["job.started"]
    assert named(started, "job.started", "Holiday assets").job.state == "New"  # type: ignore[union-attr]
    assert about(moved, "Holiday assets") == ["job.progressed", "job.state_changed"]
    progressed = named(moved, "job.progressed", "Holiday assets")
    changed = named(moved, "job.state_changed", "Holiday assets")
    assert progressed.previous == {"progress": 0}
    assert progressed.job is not None
    assert progressed.job.progress is not None
    assert progressed.job.progress > 0
    assert progressed.stalled_seconds == 0.0
    assert changed.previous == {"state": "New"}
    assert changed.job is not None
    assert changed.job.state == "Running"


async def test_every_active_job_is_reported_every_poll(make_rig: MakeRig) -> None:
    """job.active comes on every poll for every job in the active list, for state rules to evaluate."""
    rig = await make_rig(handle="47")
    first = await rig.poll()
    second = await rig.poll(after=11)
    assert [e.job.original_name for e in first if e.kind == "job.active" and e.job] == ["Spring catalogue"]
    assert sorted(e.job.original_name or "" for e in second if e.kind == "job.active" and e.job) == [
        "Holiday assets",
        "Spring catalogue",
    ]


async def test_stalled_seconds_seeded_from_last_progress_update_and_growing(make_rig: MakeRig) -> None:
    """A job stalled since before we started reports its real stall, which keeps growing while it stays stalled."""
    rig = await make_rig(handle="311")
    stalled = [named(await rig.poll(after=after), "job.active", "Bannières page d’accueil") for after in (0, 60, 600)]
    plan_update = stalled[0].job.last_progress_update  # type: ignore[union-attr]
    assert plan_update is not None
    assert stalled[0].stalled_seconds == (START - plan_update).total_seconds()
    assert stalled[0].stalled_seconds is not None
    assert stalled[0].stalled_seconds > 800
    assert [e.stalled_seconds for e in stalled[1:]] == [
        stalled[0].stalled_seconds + 60,
        stalled[0].stalled_seconds + 660,
    ]


async def test_departed_job_completes_with_its_log(make_rig: MakeRig) -> None:
    """A job leaving the active list is departed, then completed with the counts of its JobLog."""
    rig = await make_rig(handle="47")
    await rig.poll()
    events = await rig.poll(after=31)  # Spring catalogue ends at +30 s
    assert kinds(events) == ["job.started", "job.departed", "job.completed"]
    completed = named(events, "job.completed", "Spring catalogue")
    assert completed.log is not None
    assert (completed.log.file_success_count, completed.log.file_error_count) == (24, 0)
    assert rig.client.detail_locales == []  # a clean success needs no log details


async def test_failed_job_details_come_in_the_jobs_locale(make_rig: MakeRig) -> None:
    """A ja-JP job's failure details are asked for in ja-JP and arrive in Japanese, exactly as IPS logged them."""
    rig = await make_rig(handle="203")
    await rig.poll()
    await rig.poll(after=10)
    events = await rig.poll(after=30)
    assert kinds(events) == ["job.departed", "job.failed"]
    failed = events[-1]
    assert failed.job is not None
    assert failed.job.locale == "ja-JP"
    assert rig.client.detail_locales == [(failed.job.job_handle, "ja-JP")]
    assert failed.log is not None
    assert failed.log.fatal_error is True
    assert failed.details
    assert all(JAPANESE.search(d.log_message or "") for d in failed.details)
    plan = rig.sim.world.plan(failed.job.job_handle or "")
    assert plan is not None
    expected = [d for d in detail_lines(plan, "ja-JP") if "Error" in (d.log_type or "")]
    assert [d.log_message for d in failed.details] == [d.log_message for d in expected]


@pytest.mark.parametrize("mode", ["5xx", "garbage"])
async def test_a_job_whose_details_always_fail_is_announced_without_them_and_asked_no_more(
    make_rig: MakeRig, mode: str
) -> None:
    """getJobLogDetails failing for good (an outage of that call, an answer nothing can read) is retried for
    log_retry_polls polls only; then the failure is announced without details and never looked up again."""
    rig = await make_rig(handle="203")
    await rig.poll()
    rig.sim.world.chaos.inject(FaultSpec(mode, operation="getJobLogDetails"), count=100)
    await rig.poll(after=10)
    events = [e for _ in range(SETTINGS.log_retry_polls + 3) for e in await rig.poll(after=30)]
    failed = named(events, "job.failed", "秋の新作カタログ")
    assert failed.details == ()
    assert failed.job is not None
    asked = [handle for handle, _ in rig.client.detail_locales if handle == failed.job.job_handle]
    assert len(asked) == SETTINGS.log_retry_polls + 1
    assert rig.errors.count(None) == len(rig.errors)  # the company's polls themselves never failed


async def test_warnings_come_with_the_warning_lines(make_rig: MakeRig) -> None:
    """A job that finished with warnings is completed, then warned about with its warning lines (zh-CN)."""
    rig = await make_rig(handle="512")
    await rig.poll()
    events = await rig.poll(after=40)  # 夏季户外系列 ends at +37 s with warnings
    assert kinds(events) == ["job.departed", "job.completed", "job.warning"]
    warning = events[-1]
    assert warning.log is not None
    assert warning.log.file_warning_count == len(warning.details) > 0
    assert all("Warning" in (d.log_type or "") for d in warning.details)
    assert all(JAPANESE.search(d.log_message or "") for d in warning.details)  # CJK ideographs: Chinese
    assert rig.client.detail_locales[0][1] == "zh-CN"


async def test_late_job_log_is_waited_for(make_rig: MakeRig) -> None:
    """A departed job whose log appears a couple of polls late is still completed, once."""
    rig = await make_rig(handle="47")
    await rig.poll()
    spring = rig.sim.world.active_jobs("47", "en-US")[0].job_handle or ""
    rig.client.hidden[spring] = 2
    first = await rig.poll(after=31)
    second = await rig.poll(after=30)
    third = await rig.poll(after=30)
    assert kinds(first) == ["job.started", "job.departed"]
    assert [e for e in second if e.job and e.job.job_handle == spring] == []
    assert [(e.kind, e.job.job_handle) for e in third if e.job and e.kind != "job.active"] == [
        ("job.completed", spring)
    ]


async def test_late_job_log_is_given_up_after_log_retry_polls(make_rig: MakeRig) -> None:
    """A departed job whose log never shows is given up after log_retry_polls polls, with a warning."""
    rig = await make_rig(handle="47")
    await rig.poll()
    spring = rig.sim.world.active_jobs("47", "en-US")[0].job_handle or ""
    rig.client.hidden[spring] = 100
    with capture_logs() as logs:
        events = [e for _ in range(SETTINGS.log_retry_polls + 1) for e in await rig.poll(after=30)]
    assert "job.completed" not in kinds([e for e in events if e.job and e.job.job_handle == spring])
    gave_up = [entry for entry in logs if entry["event"] == "job left the active list but no job log appeared"]
    assert [(g["job"], g["polls"]) for g in gave_up] == [(spring, SETTINGS.log_retry_polls + 1)]
    assert rig.poller.tracker is not None
    assert rig.poller.tracker.departed == {}


async def test_logs_are_read_page_by_page(make_rig: MakeRig) -> None:
    """More finished jobs than fit one page are all reported, each once."""
    rig = await make_rig(handle="47", settings=PollSettings(log_page_size=2))
    await rig.poll()
    for n in range(5):
        rig.sim.world.add_job(
            JobSpec("47", "UrlUpload", "success", f"Batch {n}", run=5, queued=0), START + timedelta(seconds=n)
        )
    events = await rig.poll(after=20)
    batches = sorted(e.job.original_name or "" for e in events if e.kind == "job.completed" and e.job)
    assert batches == [f"Batch {n}" for n in range(5)]
    assert len(rig.client.log_scans) >= 1 + 3


async def test_log_scan_follows_a_server_clock_far_ahead(make_rig: MakeRig) -> None:
    """With the server's clock an hour ahead, scans start from its newest log instead of an hour back."""
    rig = await make_rig(handle="47", server_ahead=3600)
    await rig.poll()
    await rig.poll(after=31)  # Spring catalogue ends at server +30 s
    await rig.poll(after=30)
    newest_end = START + timedelta(seconds=30)
    assert rig.client.log_scans[-1] is not None
    assert rig.client.log_scans[-1] >= newest_end - timedelta(minutes=5)


# ------------------------------------------------------------------------------------- company health


@pytest.mark.parametrize(
    ("spec", "error_type"),
    [
        (FaultSpec("5xx", status=502), IpsTransportError),
        (FaultSpec("slow", delay=2.0), IpsTimeout),
        (FaultSpec("garbage"), IpsParseError),
        (FaultSpec("doctype"), IpsParseError),
        (FaultSpec("truncated"), IpsParseError),
        (FaultSpec("reset"), IpsTransportError),
    ],
)
async def test_transport_failures_are_typed_and_the_next_poll_proceeds(
    make_rig: MakeRig, spec: FaultSpec, error_type: type[IpsError]
) -> None:
    """Gateway errors, timeouts, hostile bodies and dropped connections fail one poll with a typed error."""
    rig = await make_rig(handle="47", call_timeout=0.3)
    await rig.poll()
    rig.sim.world.chaos.inject(spec)
    assert await rig.poll(after=20) == []
    recovered = await rig.poll(after=20)  # Spring catalogue finished meanwhile: its ending is not lost
    assert isinstance(rig.errors[1], error_type)
    assert rig.errors[1].retryable
    assert rig.errors[2] is None
    assert about(recovered, "Spring catalogue") == ["job.departed", "job.completed"]


async def test_unreachable_after_consecutive_failures_then_recovered(make_rig: MakeRig) -> None:
    """company.unreachable comes once after unreachable_after failed polls in a row; the next success recovers."""
    rig = await make_rig(handle="47", call_timeout=0.3)
    await rig.poll()
    for spec in (FaultSpec("5xx", status=503), FaultSpec("slow", delay=2.0), FaultSpec("garbage"), FaultSpec("reset")):
        rig.sim.world.chaos.inject(spec)
    failing = [await rig.poll(after=30) for _ in range(4)]
    recovered = await rig.poll(after=30)
    assert [kinds(e) for e in failing] == [[], [], ["company.unreachable"], []]
    unreachable = failing[2][0]
    assert unreachable.consecutive_failures == 3
    assert unreachable.company.handle == "47"
    assert unreachable.error == str(rig.errors[3])
    assert kinds(recovered)[-1] == "company.recovered"
    assert rig.poller.status.consecutive_failures == 0
    assert not rig.poller.status.unreachable


async def _deny_jobs(rig: Rig, users: dict[str, SimUser]) -> None:
    users[USER] = SimUser(PASSWORD, frozenset({"getCompanyInfo"}))


async def _allow_jobs(rig: Rig, users: dict[str, SimUser]) -> None:
    users[USER] = SimUser(PASSWORD)


@pytest.mark.parametrize(
    ("code", "kind", "breaks", "mends"),
    [
        (10001, "authentication", "auth", None),
        (20003, "authorization", "deny", "allow"),
        (30001, "ipsApi", "forget", "remember"),
    ],
)
async def test_faults_are_typed_and_the_next_poll_proceeds(
    make_rig: MakeRig, code: int, kind: str, breaks: str, mends: str | None
) -> None:
    """Bad credentials (10001), a missing permission (20003) and an invalid company (30001) are typed faults."""
    users = dict(DEFAULT_USERS)
    rig = await make_rig(handle="47", users=users)
    await rig.poll()
    company = rig.sim.world.companies["47"]
    if breaks == "auth":
        rig.sim.world.chaos.inject(FaultSpec("auth"))
    elif breaks == "deny":
        users[USER] = SimUser(PASSWORD, frozenset({"getCompanyInfo"}))
    else:
        del rig.sim.world.companies["47"]  # the handle is refused as an invalid parameter
    await rig.poll(after=20)
    if mends == "allow":
        users[USER] = SimUser(PASSWORD)
    elif mends == "remember":
        rig.sim.world.companies["47"] = company
    after = await rig.poll(after=20)
    fault = rig.errors[1]
    assert isinstance(fault, IpsFault)
    assert (fault.code, fault.kind) == (code, kind)
    assert fault.is_auth == (kind != "ipsApi")
    assert not fault.retryable
    assert rig.errors[2] is None
    assert about(after, "Spring catalogue") == ["job.departed", "job.completed"]


# --------------------------------------------------------------------------------------- company names


async def test_company_configured_by_name_is_resolved_to_its_handle(make_rig: MakeRig) -> None:
    """A company given by name is looked up once with getCompanyInfo; events carry its handle and name."""
    rig = await make_rig(name="Sakura Interiors")
    await rig.poll()
    events = await rig.poll(after=10)
    assert rig.client.company_lookups == [(None, "Sakura Interiors")]
    assert {(e.company.handle, e.company.name) for e in events} == {("203", "Sakura Interiors")}


async def test_unknown_company_name_fails_the_poll_with_a_typed_fault(make_rig: MakeRig) -> None:
    """A name IPS does not know is an invalid-parameter fault; the company cannot be polled until it is fixed."""
    rig = await make_rig(name="Sakura Interiours")
    assert await rig.poll() == []
    assert isinstance(rig.errors[0], IpsFault)
    assert rig.errors[0].code == 30001
    assert rig.poller.company.handle == ""
    assert rig.poller.company.name == "Sakura Interiours"


async def test_company_configured_by_handle_gets_its_name(make_rig: MakeRig) -> None:
    """A company given by handle is named in events and on the status page by getCompanyInfo's answer."""
    rig = await make_rig(handle="203")
    first = await rig.poll()
    later = await rig.poll(after=10)
    assert rig.client.company_lookups == [("203", None)]
    assert {(e.company.handle, e.company.name) for e in first + later} == {("203", "Sakura Interiors")}
    assert rig.poller.company.name == "Sakura Interiors"


async def test_failed_name_lookup_is_not_fatal_and_is_tried_again_later(make_rig: MakeRig) -> None:
    """If getCompanyInfo fails the poll goes on with the bare handle, and the name is asked for again later."""
    rig = await make_rig(handle="203")
    rig.sim.world.chaos.inject(FaultSpec("5xx", status=503))  # the first call of all is the name lookup
    first = await rig.poll()
    soon = await rig.poll(after=30)
    later = await rig.poll(after=NAME_RETRY.total_seconds())
    assert rig.errors == [None, None, None]
    assert {e.company.name for e in first + soon} == {None}
    assert rig.client.company_lookups == [("203", None), ("203", None)]
    assert {e.company.name for e in later} == {"Sakura Interiors"}


# ------------------------------------------------------------------------------------ schedule and loop


def _auth_fault() -> IpsFault:
    return IpsFault(faultcode="soapenv:Server", faultstring="AuthenticationException", kind="authentication",
                    code=10001, reason="Invalid credentials")  # fmt: skip


def _param_fault() -> IpsFault:
    return IpsFault(faultcode="soapenv:Server", faultstring="IpsApiException", kind="ipsApi", code=30001,
                    reason="Invalid value")  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "failures", "error", "low", "high"),
    [
        (PollSettings(interval=30, jitter=0.1), 0, None, 27.0, 33.0),
        (PollSettings(interval=30, jitter=0.0), 0, None, 30.0, 30.0),
        (PollSettings(interval=1, jitter=0.5), 0, None, 1.0, 1.5),  # never below min_delay
        (PollSettings(interval=30), 1, IpsTimeout("x"), 1.0, 60.0),
        (PollSettings(interval=30), 3, IpsTimeout("x"), 1.0, 240.0),
        (PollSettings(interval=30, max_backoff=300), 5, IpsTimeout("x"), 1.0, 300.0),
        (PollSettings(interval=30, max_backoff=300), 10_000, IpsTimeout("x"), 1.0, 300.0),
        (PollSettings(interval=30), 2, _param_fault(), 1.0, 120.0),
        (PollSettings(auth_backoff=900), 1, _auth_fault(), 810.0, 990.0),
        (PollSettings(auth_backoff=900, max_backoff=60), 50, _auth_fault(), 810.0, 990.0),
    ],
)
def test_next_delay_table(
    settings: PollSettings, failures: int, error: IpsError | None, low: float, high: float
) -> None:
    """Healthy: interval ± jitter; failing: full jitter to min(max_backoff, interval·2^n); auth: auth_backoff ± 10%."""
    rng = random.Random(1)
    delays = [next_delay(settings, failures, error, rng) for _ in range(2000)]
    assert low <= min(delays)
    assert max(delays) <= high
    if high - low > 10:  # full jitter really spreads over the whole window
        assert min(delays) < low + (high - low) * 0.05
        assert max(delays) > high - (high - low) * 0.05


async def test_auth_fault_waits_auth_backoff_in_the_loop(make_rig: MakeRig) -> None:
    """The running loop sleeps auth_backoff after an authentication fault, the interval after a good poll."""
    rig = await make_rig("auth-failure", handle="47", settings=PollSettings(interval=30, auth_backoff=900))
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 2:
            raise asyncio.CancelledError

    rig.poller.sleep = sleep
    with pytest.raises(asyncio.CancelledError):
        await rig.poller.run()
    assert all(810 <= d <= 990 for d in delays)
    assert rig.poller.status.consecutive_failures == 2


async def test_a_full_queue_holds_polling_back_without_losing_events(make_rig: MakeRig) -> None:
    """With a one-slot queue the poll waits for the consumer; every event still arrives, in order."""
    unbounded = await make_rig(handle="47")
    bounded = await make_rig(handle="47")
    bounded.queue = bounded.poller.queue = asyncio.Queue(maxsize=1)
    received: list[Event] = []

    async def consume() -> None:
        while True:
            received.append(await bounded.queue.get())
            await asyncio.sleep(0)  # a slow consumer: the poller has to wait for every slot
            bounded.queue.task_done()

    consumer = asyncio.create_task(consume())
    try:
        for after in (0, 11, 20):
            expected = await unbounded.poll(after=after)
            bounded.sim.world.advance(after)
            bounded.clock.advance(after)
            await bounded.poller.poll_once()
            await bounded.queue.join()
            assert [(e.kind, e.job and e.job.job_handle) for e in received] == [
                (e.kind, e.job and e.job.job_handle) for e in expected
            ]
            received.clear()
    finally:
        consumer.cancel()


async def test_unexpected_crash_is_counted_logged_and_restarted(make_rig: MakeRig) -> None:
    """A bug raised inside a cycle counts as a failed poll, is logged by the supervisor, and polling resumes."""
    rig = await make_rig(handle="47", settings=PollSettings(unreachable_after=1))
    rig.client.crash_on_active = {2}
    seen = PollOutcomes()
    rig.poller.observer = seen
    polls = 0

    async def poller_sleep(seconds: float) -> None:
        nonlocal polls
        polls += 1
        rig.sim.world.advance(30)
        rig.clock.advance(30)
        if polls == 3:
            raise asyncio.CancelledError

    async def supervisor_sleep(seconds: float) -> None:
        pass

    rig.poller.sleep = poller_sleep
    with capture_logs() as logs, pytest.raises(asyncio.CancelledError):
        await supervise("poller:47", rig.poller.run, sleep=supervisor_sleep, rng=random.Random(1))
    assert seen.outcomes == ["ok", "RuntimeError", "ok", "ok"]
    crashes = [entry for entry in logs if entry["event"] == "task crashed; restarting"]
    assert [(c["task"], c["crashes"]) for c in crashes] == [("poller:47", 1)]
    assert [e.kind for e in drain(rig.queue) if e.kind.startswith("company.")] == [
        "company.unreachable",
        "company.recovered",
    ]
    assert rig.poller.status.consecutive_failures == 0


async def test_when_the_rules_fall_behind_polls_are_skipped_said_and_resumed(make_rig: MakeRig) -> None:
    """A poll whose events waited N intervals for room in the queue skips the next N polls (no IPS call), says
    so in the log, in the metric's outcome and in readiness; polling resumes once the queue keeps up again."""
    rig = await make_rig("scale", handle="1000")
    await rig.poll()  # the baseline
    seen = PollOutcomes()
    rig.poller.observer = seen
    small: asyncio.Queue[Event] = asyncio.Queue(maxsize=10)
    rig.poller.queue = small
    slow = asyncio.Event()
    slow.set()

    async def rules() -> None:  # takes one event a second of our clock while `slow` is set
        while True:
            await small.get()
            if slow.is_set():
                rig.clock.advance(1.0)

    consumer = asyncio.create_task(rules())
    try:
        with capture_logs() as logs:
            await rig.poll(after=30)
            status = rig.poller.status
            skips = int(status.queue_wait // SETTINGS.interval)
            assert skips >= 2
            assert status.behind_since is not None
            assert "falling behind" in (company_problem(rig.poller.view(rig.clock.now()), rig.clock.now()) or "")
            calls = rig.client.active_calls
            for _ in range(skips):
                assert await rig.poller.poll_once() is None
            assert rig.client.active_calls == calls  # skipped: IPS was not asked
            assert status.skipped == skips
            slow.clear()
            await rig.poller.poll_once()
            assert rig.client.active_calls == calls + 1
            assert status.behind_since is None
            assert company_problem(rig.poller.view(rig.clock.now()), rig.clock.now()) is None
        events = [entry["event"] for entry in logs]
        assert any("falling behind" in e for e in events)
        assert any("caught up" in e for e in events)
        assert seen.outcomes == ["ok", *["skipped"] * skips, "ok"]
    finally:
        consumer.cancel()


async def test_a_big_snapshot_is_queued_a_slice_at_a_time(make_rig: MakeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between two slices of one snapshot's events, other tasks (other companies' polls) get their turn."""
    monkeypatch.setattr(poller_module, "EMIT_SLICE", 2)
    rig = await make_rig(handle="203")
    for n in range(6):
        rig.sim.world.add_job(JobSpec("203", "UrlUpload", "stall", f"bulk {n}", run=3600, files=10, stall_files=5))
    turns = 0
    queued_at: list[int] = []  # the turn in which each job.active event was queued

    class Turns(asyncio.Queue[Event]):
        def put_nowait(self, item: Event) -> None:
            if item.kind == "job.active":
                queued_at.append(turns)
            super().put_nowait(item)

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    rig.poller.queue = rig.queue = Turns()
    counting = asyncio.create_task(count_turns())
    try:
        await rig.poll()
    finally:
        counting.cancel()
    assert len(queued_at) == 6
    slices = [queued_at[i : i + 2] for i in range(0, len(queued_at), 2)]
    assert all(len(set(part)) == 1 for part in slices)  # a slice goes in at once
    assert all(a[0] < b[0] for a, b in itertools.pairwise(slices))  # and other tasks run before the next
