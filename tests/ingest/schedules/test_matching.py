"""Matching runs to schedules by the names IPS gives: strongest level first, job types kept apart."""

from __future__ import annotations

from datetime import UTC, datetime

from notifier.ingest.schedules.matching import Matcher, family, normal, run_of_job, run_of_log, stem
from notifier.models import ActiveJob, JobLog, ScheduledJob

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def schedule(name: str, original: str | None = None, kind: str = "ImageServingPublish") -> ScheduledJob:
    return ScheduledJob(
        company_handle="47", job_handle=f"47||{name}", name=name, original_name=original or name, type=kind
    )


def run(name: str, original: str | None = None, kind: str = "ImageServingPublish", handle: str = "") -> ActiveJob:
    return ActiveJob(job_handle=handle or f"47||{name}", name=name, original_name=original, type=kind, start_date=T)


def keys(matcher: Matcher, job: ActiveJob) -> list[str]:
    return [s.key for s in matcher.candidates(run_of_job(job))]


def test_stem_drops_only_ips_uniqueness_suffix() -> None:
    """`Add_2007-09-14-15:04:34` (and a `-2` for a second one in the same second) → `Add`; other names stay."""
    assert stem("Add_2007-09-14-15:04:34") == "Add"
    assert stem("Nightly_publish_2026-03-02-02:00:00-2") == "Nightly_publish"
    assert stem("Nightly_publish_v2") == "Nightly_publish_v2"


def test_names_compare_without_case_and_separators() -> None:
    """Spaces and underscores are alike (IPS writes one where the user typed the other), case does not count."""
    assert normal("Nightly  full_Publish ") == normal("nightly_full publish") == "nightly full publish"


def test_a_run_named_after_its_schedule_with_the_submit_time_matches_it() -> None:
    """The run IPS names `Nightly_publish_<time>` is the schedule `Nightly_publish`'s."""
    matcher = Matcher([schedule("Nightly_publish"), schedule("Hourly_prices")])
    assert keys(matcher, run("Nightly_publish_2026-03-02-02:00:00", "Nightly publish")) == ["47||Nightly_publish"]


def test_a_renamed_copy_keeps_its_runs_apart_from_the_original() -> None:
    """A copy renamed `Price_refresh_EU` that kept the original name `Price refresh`: each schedule gets its own
    runs, by their names, although both share the original name."""
    matcher = Matcher([schedule("Price_refresh", "Price refresh"), schedule("Price_refresh_EU", "Price refresh")])
    assert keys(matcher, run("Price_refresh_2026-03-02-09:30:00", "Price refresh")) == ["47||Price_refresh"]
    assert keys(matcher, run("Price_refresh_EU_2026-03-02-09:30:00", "Price refresh")) == ["47||Price_refresh_EU"]


def test_a_run_known_only_by_its_original_name_may_match_several() -> None:
    """A run renamed beyond recognition matches by original name: both schedules that share it are candidates
    (the tracker then tells them apart by fire times)."""
    matcher = Matcher([schedule("Price_refresh", "Price refresh"), schedule("Price_refresh_EU", "Price refresh")])
    assert sorted(keys(matcher, run("Ad-hoc refresh", "Price refresh"))) == [
        "47||Price_refresh",
        "47||Price_refresh_EU",
    ]


def test_several_schedules_of_one_job_type_are_told_apart_by_name() -> None:
    """Two publish schedules: a run of one is never taken for the other because they share a job type."""
    matcher = Matcher([schedule("Nightly_EU"), schedule("Nightly_US")])
    assert keys(matcher, run("Nightly_US_2026-03-02-02:00:00", "Nightly US")) == ["47||Nightly_US"]
    assert keys(matcher, run("Catalogue_2026-03-02-02:00:00", "Catalogue")) == []


def test_a_run_of_another_job_type_never_matches_by_name() -> None:
    """An upload that happens to share a publish schedule's name is not its run."""
    matcher = Matcher([schedule("Spring")])
    assert keys(matcher, run("Spring_2026-03-02-02:00:00", "Spring", kind="UrlUpload")) == []


def test_the_same_handle_matches_whatever_the_names() -> None:
    """A job that keeps its schedule's handle while it runs is that schedule's, whatever it is called."""
    matcher = Matcher([schedule("Nightly_publish")])
    assert keys(matcher, run("Other", kind="UrlUpload", handle="47||Nightly_publish")) == ["47||Nightly_publish"]


def test_a_job_log_matches_by_its_job_name_and_log_family() -> None:
    """A log says its job's family (`Upload` for every upload type), which is enough to keep types apart."""
    matcher = Matcher([schedule("Feed", kind="UrlUpload"), schedule("Feed_publish")])
    log = JobLog(job_handle="47||Feed_2026-03-02-02:00:00", job_name="Feed_2026-03-02-02:00:00",
                 original_job_name="Feed", log_type="Upload", start_date=T)  # fmt: skip
    assert [s.key for s in matcher.candidates(run_of_log(log))] == ["47||Feed"]
    assert family("UploadFromServerDirectory") == family("UrlUpload") == "Upload"
    assert family("Error") is None
