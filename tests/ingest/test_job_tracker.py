"""The pure tracker: snapshots in, contract events out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notifier.ingest.job_tracker import JobTracker, Resume, job_type_from_log, resume_from
from notifier.ingest.marks import PollMark
from notifier.models import ActiveJob, CompanyRef, Event, JobLog, JobLogDetail

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
COMPANY = CompanyRef(handle="c100", locale="en-US")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def job(handle: str = "c100||A", **kw: object) -> ActiveJob:
    base = ActiveJob(
        company_handle="c100",
        job_handle=handle,
        name=handle.split("||")[-1],
        type="ImageServingPublish",
        state="Running",
        progress=10,
        locale="ja-JP",
        start_date=at(-60),
        last_progress_update=at(-30),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def log(handle: str = "c100||A", **kw: object) -> JobLog:
    base = JobLog(
        company_handle="c100",
        job_handle=handle,
        job_name=handle.split("||")[-1],
        log_type="EndImageServingPublish",
        start_date=at(-60),
        end_date=at(100),
        file_success_count=10,
        file_error_count=0,
        file_warning_count=0,
        fatal_error=False,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_first_snapshot_is_a_baseline_not_news() -> None:
    """Jobs already running at first sight yield job.active only, never job.started."""
    tracker = JobTracker(COMPANY)
    assert kinds(tracker.observe_active([job()], at(0))) == ["job.active"]


def test_new_job_after_baseline_is_started() -> None:
    """A job first seen on a later poll is reported as started, then active."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([], at(0))
    assert kinds(tracker.observe_active([job()], at(30))) == ["job.started", "job.active"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, ["job.active"]),
        ({"progress": 20}, ["job.progressed", "job.active"]),
        ({"state": "Stopping"}, ["job.state_changed", "job.active"]),
        ({"progress": 20, "state": "Stopping"}, ["job.progressed", "job.state_changed", "job.active"]),
        ({"progress_message": "still going"}, ["job.active"]),
    ],
)
def test_changes_between_polls(change: dict[str, Any], expected: list[str]) -> None:
    """Progress and state changes are reported as their own events before job.active."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    assert kinds(tracker.observe_active([job(**change)], at(30))) == expected


def test_previous_values_are_carried() -> None:
    """job.progressed and job.state_changed say what the value was before."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    events = tracker.observe_active([job(progress=50, state="Stopping")], at(30))
    assert events[0].previous == {"progress": 10}
    assert events[1].previous == {"state": "Running"}


def test_stalled_seconds_seeded_from_last_progress_update_and_growing() -> None:
    """A restart does not reset a stall: stalled_seconds starts from lastProgressUpdate and keeps growing."""
    tracker = JobTracker(COMPANY)
    first = tracker.observe_active([job()], at(0))[0]
    later = tracker.observe_active([job()], at(600))[0]
    assert first.stalled_seconds == 30
    assert later.stalled_seconds == 630


def test_progress_resets_stall() -> None:
    """A progress change sets the stall back to the reported update time (or now)."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    events = tracker.observe_active([job(progress=40, last_progress_update=at(590))], at(600))
    assert events[-1].stalled_seconds == 10
    assert tracker.observe_active([job(progress=40, last_progress_update=at(590))], at(900))[0].stalled_seconds == 310


def test_future_last_progress_update_is_clamped() -> None:
    """A server clock ahead of ours never makes stalled_seconds negative."""
    tracker = JobTracker(COMPANY)
    event = tracker.observe_active([job(last_progress_update=at(300), start_date=at(200))], at(0))[0]
    assert event.stalled_seconds == 0


def test_departed_job_resolves_through_its_log() -> None:
    """A job that leaves the active list becomes completed once its JobLog is seen."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    assert kinds(tracker.observe_active([], at(30))) == ["job.departed"]
    outcomes = tracker.observe_logs([log()], tracker.log_scan_start(at(30)), at(30))
    assert len(outcomes) == 1
    events = tracker.resolve(outcomes[0], (), at(30))
    assert kinds(events) == ["job.completed"]
    assert events[0].job is not None
    assert events[0].job.locale == "ja-JP"
    assert events[0].log == log()


def test_resolution_happens_once() -> None:
    """Seeing the same log on later polls never reports the job again."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    outcome = tracker.observe_logs([log()], at(0), at(30))[0]
    tracker.resolve(outcome, (), at(30))
    assert tracker.observe_logs([log()], at(0), at(60)) == []


ERROR = JobLogDetail(log_message="could not publish", log_type="ImageServingPublishError", asset_name="a.tif")
WARNING = JobLogDetail(log_message="low resolution", log_type="ImageServingPublishWarning", asset_name="b.tif")
SUCCESS = JobLogDetail(log_message="ok", log_type="ImageServingPublishSuccess")


@pytest.mark.parametrize(
    ("log_fields", "expected", "details_of_first"),
    [
        ({}, ["job.completed"], ()),
        ({"fatal_error": True}, ["job.failed"], (ERROR,)),
        ({"file_error_count": 2}, ["job.failed"], (ERROR,)),
        ({"transfer_error_count": 1}, ["job.failed"], (ERROR,)),
        ({"file_warning_count": 3}, ["job.completed", "job.warning"], ()),
        ({"fatal_error": True, "file_warning_count": 1}, ["job.failed", "job.warning"], (ERROR,)),
    ],
)
def test_outcome_from_log(log_fields: dict[str, Any], expected: list[str], details_of_first: tuple[object]) -> None:
    """fatalError and error counts mean failed; warning counts add job.warning with the warning lines."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    outcome = tracker.observe_logs([log(**log_fields)], at(0), at(30))[0]
    events = tracker.resolve(outcome, (SUCCESS, ERROR, WARNING), at(30))
    assert kinds(events) == expected
    assert events[0].details == details_of_first
    if "job.warning" in expected:
        assert events[-1].details == (WARNING,)


def test_late_log_waits_then_expires() -> None:
    """A departed job waits log_retry_polls polls for its log, then is given up on."""
    tracker = JobTracker(COMPANY, log_retry_polls=2)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    assert tracker.observe_logs([], at(0), at(30)) == []
    assert tracker.end_poll() == []
    assert tracker.end_poll() == []
    expired = tracker.end_poll()
    assert [d.job.job_handle for d in expired] == ["c100||A"]
    assert tracker.departed == {}


def test_late_log_within_retries_still_resolves() -> None:
    """A log that appears a couple of polls late still resolves the job."""
    tracker = JobTracker(COMPANY, log_retry_polls=3)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    tracker.end_poll()
    tracker.end_poll()
    outcomes = tracker.observe_logs([log()], tracker.log_scan_start(at(90)), at(90))
    assert [o.job.job_handle for o in outcomes] == ["c100||A"]


def test_short_job_seen_only_in_logs_is_reported() -> None:
    """A job that started and finished between two polls is reported from its log alone."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([], at(0))
    outcomes = tracker.observe_logs([log("c100||Quick", start_date=at(10), end_date=at(20))], at(0), at(30))
    assert len(outcomes) == 1
    assert outcomes[0].job.type == "ImageServingPublish"
    assert kinds(tracker.resolve(outcomes[0], (), at(30))) == ["job.completed"]


def test_history_is_not_replayed() -> None:
    """Logs of jobs that started before the first poll are not new events."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([], at(0))
    assert tracker.observe_logs([log(start_date=at(-3600), end_date=at(-60))], at(-7200), at(30)) == []


def test_unfinished_log_is_ignored() -> None:
    """A log without an endDate belongs to a job still running."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    assert tracker.observe_logs([log(end_date=None)], at(0), at(30)) == []


def test_job_that_reappears_is_not_departed() -> None:
    """A job missing from one snapshot and back in the next is still the same running job."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    assert kinds(tracker.observe_active([job()], at(60))) == ["job.started", "job.active"]
    assert tracker.departed == {}


def test_log_scan_reaches_back_to_pending_job_start() -> None:
    """The log scan window covers the start of every job still waiting for its log."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job(start_date=at(-7200))], at(0))
    tracker.observe_active([], at(30))
    assert tracker.log_scan_start(at(30)) == at(-7200)


def test_duplicate_handles_in_one_snapshot_count_once() -> None:
    """A server repeating a job in one answer does not double its events."""
    tracker = JobTracker(COMPANY)
    assert kinds(tracker.observe_active([job(), job()], at(0))) == ["job.active"]


@pytest.mark.parametrize(
    ("log_type", "expected"),
    [("EndImageServingPublish", "ImageServingPublish"), ("BeginVideoPublish", "VideoPublish"), ("", None)],
)
def test_job_type_from_log(log_type: str, expected: str | None) -> None:
    """Begin/End markers name the job family."""
    assert job_type_from_log(JobLog(log_type=log_type)) == expected


def test_after_a_restart_endings_since_the_last_poll_are_news() -> None:
    """Resumed from the previous run's last poll, the first scan announces what ended since then (and reaches
    back for long jobs), while older logs stay history."""
    tracker = JobTracker(COMPANY, resume=Resume(at(-300), at(-6 * 3600)))
    tracker.observe_active([], at(600))
    assert tracker.log_scan_start(at(600)) == at(-6 * 3600)
    logs = [
        log("c100||Before", start_date=at(-900), end_date=at(-400)),  # announced by the previous run
        log("c100||During", start_date=at(-3 * 3600), end_date=at(300), fatal_error=True),  # ended while down
    ]
    [outcome] = tracker.observe_logs(logs, at(-6 * 3600), at(600))
    assert outcome.job.job_handle == "c100||During"
    assert kinds(tracker.resolve(outcome, (ERROR,), at(600))) == ["job.failed"]


def test_without_a_resume_mark_the_first_scan_is_history() -> None:
    """A first start ever (no mark) replays nothing, however recent the logs."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([], at(600))
    assert tracker.observe_logs([log(end_date=at(590))], at(0), at(600)) == []


@pytest.mark.parametrize(
    ("floor", "polled_at", "now", "news_from"),
    [
        (at(-3600), at(0), at(600), at(-300)),  # a long previous run: its last poll, less the overlap
        (at(-60), at(0), at(600), at(-60)),  # a run of one minute: nothing before it started is news
        (at(-3600), at(0), at(9 * 3600), at(3 * 3600)),  # down for 9 h: only the last catch_up (6 h)
    ],
)
def test_resume_never_reaches_before_what_the_previous_run_called_history(
    floor: datetime, polled_at: datetime, now: datetime, news_from: datetime
) -> None:
    """Where news starts after a restart: the later of the previous run's floor, its last poll less the overlap,
    and now less catch_up; logs are read back one catch_up further for long jobs."""
    resume = resume_from(PollMark(polled_at, floor), now, timedelta(hours=6))
    assert resume.news_from == news_from
    assert resume.scan_from == news_from - timedelta(hours=6)


def test_a_job_known_only_from_its_log_gets_the_locale_the_previous_run_saw() -> None:
    """An ending found by the catch-up scan speaks the locale its job had while the previous run watched it."""
    first = JobTracker(COMPANY)
    first.observe_active([job("c100||Ja", locale="ja-JP"), job("c100||Xx", locale=None)], at(0))
    mark = first.mark(at(0))
    assert mark is not None
    assert dict(mark.locales) == {"c100||Ja": "ja-JP"}
    tracker = JobTracker(COMPANY, resume=resume_from(mark, at(600), timedelta(hours=6)))
    tracker.observe_active([], at(600))
    [outcome] = tracker.observe_logs([log("c100||Ja", end_date=at(300))], at(-6 * 3600), at(600))
    assert outcome.job.locale == "ja-JP"
    assert tracker.floor == at(0)  # the previous run began there: nothing before it is news


@pytest.mark.parametrize(("fatal", "progress"), [(False, 100), (True, 10)])
def test_an_ended_job_is_reported_as_done(fatal: bool, progress: int) -> None:
    """job.completed/job.failed carry the job as it ended (Done; 100 % when completed), not as last seen running."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job()], at(0))
    tracker.observe_active([], at(30))
    [outcome] = tracker.observe_logs([log(fatal_error=fatal)], at(0), at(30))
    [event] = tracker.resolve(outcome, (), at(30))
    assert event.job is not None
    assert (event.job.state, event.job.progress) == ("Done", progress)


def test_a_server_clock_behind_ours_does_not_make_moving_jobs_look_stalled() -> None:
    """Progress that moved since our previous look counts from now when the server dates it earlier than that
    look (its clock is 20 minutes behind), instead of looking stalled for 20 minutes."""
    tracker = JobTracker(COMPANY)
    skew = timedelta(minutes=20)
    tracker.observe_active([job(progress=10, last_progress_update=at(0) - skew)], at(0))
    events = tracker.observe_active([job(progress=20, last_progress_update=at(30) - skew)], at(30))
    active = next(e for e in events if e.kind == "job.active")
    assert active.stalled_seconds == 0.0


def test_a_mark_reaches_back_to_the_last_sighting_of_a_job_whose_ending_is_not_announced() -> None:
    """A job that left the active list without a log yet ended after it was last seen: the mark says so (with its
    locale), so a restart an hour of polls later still announces it; once announced the mark moves on."""
    tracker = JobTracker(COMPANY)
    tracker.observe_active([job("c100||Ja", locale="ja-JP")], at(0))
    tracker.observe_active([], at(600))
    assert tracker.observe_logs([], at(0), at(600)) == []
    mark = tracker.mark(at(600))
    assert mark is not None
    assert (mark.polled_at, dict(mark.locales)) == (at(0), {"c100||Ja": "ja-JP"})
    restarted = JobTracker(COMPANY, resume=resume_from(mark, at(4000), timedelta(hours=6)))
    restarted.observe_active([], at(4000))
    [outcome] = restarted.observe_logs([log("c100||Ja", end_date=at(30))], at(-6 * 3600), at(4000))
    assert outcome.job.locale == "ja-JP"
    [outcome] = tracker.observe_logs([log("c100||Ja", end_date=at(30))], at(0), at(630))
    tracker.resolve(outcome, (), at(630))
    later = tracker.mark(at(630))
    assert later is not None
    assert later.polled_at == at(630)
