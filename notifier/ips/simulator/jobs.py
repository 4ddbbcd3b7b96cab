"""One simulated job: its plan, and what the IPS API shows of it at any simulated instant.

Pure and deterministic: a plan is frozen, and everything the API reports about it (progress at time t,
how it ended, which files failed and why) is computed from the plan and its own seed, so the answer does
not depend on when or how often anyone asked.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from notifier.ips.simulator.answers import ActiveJobTemplate, format_lexical
from notifier.ips.simulator.messages import message
from notifier.models import ActiveJob, AuxLogEntry, JobDetail, JobLog, JobLogDetail, TaskItemProgress, TaskProgress

OUTCOMES = ("success", "warnings", "errors", "failure", "stall")

# Job type → (job-type detail element, log-type family).
_TYPES: dict[str, tuple[str | None, str]] = {
    "ImageServingPublish": ("imageServingPublishJob", "ImageServingPublish"),
    "ImageRenderingPublish": ("imageRenderingPublishJob", "ImageRenderingPublish"),
    "ServerDirectoryPublish": ("serverDirectoryPublishJob", "ServerDirectoryPublish"),
    "ServerDirectoryPublishWithTemplate": ("serverDirectoryPublishJob", "ServerDirectoryPublish"),
    "VideoPublish": ("videoPublishJob", "VideoPublish"),
    "UploadFromServerDirectory": ("uploadDirectoryJob", "Upload"),
    "UrlUpload": ("uploadUrlsJob", "Upload"),
    "MetadataUpload": ("uploadPostJob", "Upload"),
    "ImageOptimization": ("optimizeImagesJob", "ImageOptimization"),
    "Cleanup": (None, "Cleanup"),
}
_PUBLISH_FAMILIES = frozenset(
    {"ImageServingPublish", "ImageRenderingPublish", "VideoPublish", "ServerDirectoryPublish"}
)
_STEMS = ("spring-look", "sneaker-red", "lamp-oak", "jacket-navy", "sale-banner", "hero-home", "chair-walnut")
_IMAGE_ERRORS = ("error.corrupt", "error.missing", "error.too_large")
_IMAGE_WARNINGS = ("warn.low_res", "warn.color_profile", "warn.overwritten")
_ATTEMPTS = 3  # how often IPS retries a file before logging it as failed
_RENDITIONS = ("mp4-1080p", "mp4-720p", "mp4-360p")  # what a video publish transcodes each file into


@dataclass(frozen=True, slots=True)
class JobPlan:
    """Everything that will ever be true of one job; `run` is the time to finish (or, stalling, to stall)."""

    company_handle: str
    name: str
    original_name: str
    type: str
    submit_user_email: str
    locale: str
    start: datetime
    files: int
    outcome: str
    seed: int
    queued: float = 2.0
    run: float = 30.0
    description: str | None = None
    server_name: str = "sim-ips-01"
    publish_type: str | None = None
    email_setting: str | None = None
    http_completion_url: str | None = None
    stall_files: int = 0

    @property
    def job_handle(self) -> str:
        return f"{self.company_handle}||{self.name}"

    @property
    def family(self) -> str:
        return _TYPES.get(self.type, (None, self.type))[1]

    @property
    def end(self) -> datetime | None:
        """When the job leaves the active list; a stalled job never does."""
        if self.outcome == "stall":
            return None
        return self.start + timedelta(seconds=self.queued + self.run)


@dataclass(frozen=True, slots=True)
class Tally:
    """How a job went, file by file: drawn once from the plan's seed."""

    processed: int
    errors: tuple[tuple[int, str], ...]
    warnings: tuple[tuple[int, str], ...]
    fatal: str | None
    total_size: int


@lru_cache(maxsize=4096)
def tally(plan: JobPlan) -> Tally:
    rng = random.Random(plan.seed)
    files = max(plan.files, 1)
    processed = {"failure": max(1, round(files * rng.uniform(0.3, 0.7))), "stall": min(plan.stall_files, files)}.get(
        plan.outcome, files
    )
    video = plan.family == "VideoPublish"
    error_keys = ("error.transcode", "error.missing") if video else _IMAGE_ERRORS
    warning_keys = ("warn.overwritten",) if video else _IMAGE_WARNINGS
    errors: list[tuple[int, str]] = []
    warnings: list[tuple[int, str]] = []
    if plan.outcome in ("errors", "failure") and processed > 1:
        count = 1 if plan.outcome == "failure" else rng.randint(1, max(1, files // 8))
        errors = [(i, rng.choice(error_keys)) for i in sorted(rng.sample(range(processed), min(count, processed)))]
    if plan.outcome == "warnings":
        count = rng.randint(1, max(1, files // 5))
        warnings = [(i, rng.choice(warning_keys)) for i in sorted(rng.sample(range(processed), min(count, processed)))]
    fatal = rng.choice(("fatal.server", "fatal.quota")) if plan.outcome == "failure" else None
    size = rng.randint(200_000, 40_000_000 if video else 8_000_000) * files
    return Tally(processed, tuple(errors), tuple(warnings), fatal, size)


def asset_names(plan: JobPlan) -> list[str]:
    """File names of the job's assets; only log details need them, so they are not part of the tally."""
    rng = random.Random(f"assets:{plan.seed}")
    extension = "mp4" if plan.family == "VideoPublish" else rng.choice(("tif", "jpg", "psd", "png"))
    stem = rng.choice(_STEMS)
    return [f"{stem}-{i + 1:03d}.{extension}" for i in range(plan.files)]


# ------------------------------------------------------------------------------------ active view


def active_view(plan: JobPlan, at: datetime, locale: str) -> ActiveJob:
    """The job as getActiveJobs shows it at `at`; progress moves one file at a time."""
    return LiveJob(plan).view(at, locale)


class Progress(NamedTuple):
    """The fields of a job's ActiveJob that move while it runs; the others are fixed by its plan."""

    state: str
    progress: int
    progress_message: str
    last_progress_update: datetime
    task_progress: tuple[TaskProgress, ...]


class LiveJob:
    """A running job as getActiveJobs shows it, with what does not change over its life worked out once.

    The world keeps one per running job, so a poll of tens of thousands of jobs neither redraws every tally
    from its seed nor writes every job's fixed fields again: `xml` fills only the `Progress` into the job's
    `<items>` element, written once per namespace prefix.
    """

    __slots__ = ("detail", "plan", "processed", "templates", "tick", "total_size", "video")

    def __init__(self, plan: JobPlan) -> None:
        counts = tally(plan)
        kind = _TYPES.get(plan.type, (None, ""))[0]
        self.plan = plan
        self.processed, self.total_size = counts.processed, counts.total_size
        self.tick = plan.run / max(counts.processed, 1)
        self.detail = JobDetail(kind, plan.publish_type, plan.email_setting, plan.http_completion_url) if kind else None
        self.video = plan.family == "VideoPublish"
        self.templates: dict[str | None, ActiveJobTemplate] = {}

    def started(self, at: datetime) -> bool:
        """Whether the job has left the queue (state Running rather than New) at `at`."""
        return (at - self.plan.start).total_seconds() >= self.plan.queued

    def progress(self, at: datetime, locale: str) -> Progress:
        plan = self.plan
        elapsed = (at - plan.start).total_seconds()
        if elapsed < plan.queued:
            state, done, last = "New", 0, plan.start
            text = message("progress.queued", locale)
        else:
            done = min(self.processed, int((elapsed - plan.queued) / self.tick))
            state, last = "Running", plan.start + timedelta(seconds=plan.queued + done * self.tick)
            text = message("progress.files", locale, done=done, total=plan.files)
        tasks = _transcoding(plan, done, state, last, locale) if self.video else ()
        return Progress(state, done * 100 // max(plan.files, 1), text, last, tasks)

    def fixed(self) -> ActiveJob:
        """The job's ActiveJob without the fields that move."""
        plan = self.plan
        return ActiveJob(
            company_handle=plan.company_handle,
            job_handle=plan.job_handle,
            name=plan.name,
            original_name=plan.original_name,
            type=plan.type,
            submit_user_email=plan.submit_user_email,
            locale=plan.locale,
            description=plan.description,
            server_name=plan.server_name,
            start_date=plan.start,
            trigger_time=plan.start,  # submitted to run at once: set off when submitted
            total_size=self.total_size,
            detail=self.detail,
        )

    def view(self, at: datetime, locale: str) -> ActiveJob:
        return dataclasses.replace(self.fixed(), **self.progress(at, locale)._asdict())

    def xml(self, at: datetime, locale: str, prefix: str | None) -> str:
        """The job's `<items>` element at `at`, exactly as `render_active_jobs` writes `view(at, locale)`."""
        template = self.templates.get(prefix)
        if template is None:
            template = self.templates[prefix] = ActiveJobTemplate(self.fixed(), Progress._fields, prefix)
        return template.fill(self.progress(at, locale))


def _transcoding(plan: JobPlan, done: int, state: str, last: datetime, locale: str) -> tuple[TaskProgress, ...]:
    """Video jobs report their renditions as an asynchronous task, as IPS does for transcoding."""
    processing = 0 if state == "New" or done >= plan.files else 1
    fraction = round(done / max(plan.files, 1), 4)
    text = message("progress.transcoding", locale)
    renditions = tuple(
        TaskItemProgress(
            (
                ("itemName", rendition),
                ("progress", format_lexical(fraction, "double")),
                ("progressMessage", text),
                ("lastProgressUpdate", format_lexical(last, "dateTime")),
            )
        )
        for rendition in _RENDITIONS
    )
    return (
        TaskProgress(
            task_type="VideoTranscode",
            num_processed=done,
            num_processing=processing,
            num_pending=plan.files - done - processing,
            progress=fraction,
            progress_message=text,
            last_progress_update=last,
            task_item_progress=renditions,
            task_state="New" if state == "New" else "Processing",
        ),
    )


# --------------------------------------------------------------------------------------- job logs


def log_view(plan: JobPlan, details: tuple[JobLogDetail, ...] = (), total_rows: int | None = None) -> JobLog:
    """The JobLog a finished job leaves; `details` only for getJobLogDetails."""
    counts = tally(plan)
    errors, warnings = len(counts.errors), len(counts.warnings)
    publish = plan.family in _PUBLISH_FAMILIES
    return JobLog(
        company_handle=plan.company_handle,
        job_handle=plan.job_handle,
        job_name=plan.name,
        original_job_name=plan.original_name,
        submit_user_email=plan.submit_user_email,
        log_type=plan.family,
        job_sub_type=plan.publish_type or "",  # required by the schema: empty where a job kind has none
        start_date=plan.start,
        end_date=plan.end,
        description=plan.description or "",
        file_success_count=counts.processed - errors,
        file_error_count=errors,
        file_warning_count=warnings,
        file_duplicate_count=0,
        file_update_count=sum(1 for _, key in counts.warnings if key == "warn.overwritten"),
        total_file_count=plan.files,
        transfer_success_count=counts.processed - errors if publish else 0,
        transfer_error_count=0,
        transfer_warning_count=0,
        fatal_error=counts.fatal is not None,
        detail_total_rows=detail_count(plan) if total_rows is None else total_rows,
        details=details,
    )


def detail_count(plan: JobPlan) -> int:
    """Lines in the job's log: Begin, one per processed file, FatalError if any, End."""
    counts = tally(plan)
    return counts.processed + (3 if counts.fatal is not None else 2)


def detail_lines(plan: JobPlan, locale: str) -> tuple[JobLogDetail, ...]:
    """Every line of the job's log in order, with messages in the operation `locale`."""
    counts = tally(plan)
    family = plan.family
    job = message(f"job.{family}", locale)
    began = plan.start + timedelta(seconds=plan.queued)
    lines = [JobLogDetail(message("begin", locale, job=job), f"Begin{family}", date_created=began)]
    errors, warnings = dict(counts.errors), dict(counts.warnings)
    tick = plan.run / max(counts.processed, 1)
    assets = asset_names(plan)
    for index in range(counts.processed):
        asset = assets[index]
        when = plan.start + timedelta(seconds=plan.queued + (index + 1) * tick)
        if index in errors:
            lines.append(
                _file_line(when, index, plan, asset, f"{family}Error", message(errors[index], locale, asset=asset))
            )
            retry = AuxLogEntry(message("aux.gave_up", locale, count=_ATTEMPTS), f"{family}Error", when)
            lines[-1] = _with_aux(lines[-1], retry)
        elif index in warnings:
            text = message(warnings[index], locale, asset=asset)
            lines.append(_file_line(when, index, plan, asset, f"{family}Warning", text))
        else:
            lines.append(_file_line(when, index, plan, asset, f"{family}Success", _success(family, asset, locale)))
    ended = plan.end or began + timedelta(seconds=plan.run)
    if counts.fatal is not None:
        fatal = message(counts.fatal, locale, server=plan.server_name, seconds=300)
        lines.append(JobLogDetail(fatal, "FatalError", date_created=ended))
    tallied = {"success": counts.processed - len(errors), "errors": len(errors), "warnings": len(warnings)}
    lines.append(JobLogDetail(message("end", locale, job=job, **tallied), f"End{family}", date_created=ended))
    return tuple(lines)


def _success(family: str, asset: str, locale: str) -> str:
    key = {"Upload": "success.upload", "VideoPublish": "success.video"}.get(family, "success.publish")
    return message(key, locale, asset=asset)


def _file_line(when: datetime, index: int, plan: JobPlan, asset: str, log_type: str, text: str) -> JobLogDetail:
    asset_type = "Video" if plan.family == "VideoPublish" else "Image"
    handle = f"a|{plan.company_handle}|1|{plan.seed % 900_000 + 100_000 + index}"
    return JobLogDetail(
        log_message=text,
        log_type=log_type,
        asset_name=asset,
        asset_type=asset_type,
        asset_handle=handle,
        date_created=when,
    )


def _with_aux(line: JobLogDetail, aux: AuxLogEntry) -> JobLogDetail:
    return dataclasses.replace(line, aux=(aux,))
