"""What the IPS API returns, as frozen models: active jobs, job logs and their lines, companies, schedules.

Everything here is frozen and slotted: tens of thousands of jobs are held per poll cycle, so the objects
must be cheap, and no stage may mutate what an earlier stage produced. This module imports nothing internal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ACTIVE_JOB_STATES = ("Unknown", "New", "WaitingClient", "WaitingCoordinator", "Running", "Stopping", "Done")
JOB_TYPES = (
    "ImageServingPublish",
    "ImageRenderingPublish",
    "ServerDirectoryPublish",
    "ServerDirectoryPublishWithTemplate",
    "VideoPublish",
    "UploadFromServerDirectory",
    "UrlUpload",
    "MetadataUpload",
    "ImageOptimization",
    "Cleanup",
)
# Element names of the job-type detail inside an ActiveJob, in schema order.
JOB_DETAIL_KINDS = (
    "imageServingPublishJob",
    "imageRenderingPublishJob",
    "videoPublishJob",
    "serverDirectoryPublishJob",
    "uploadDirectoryJob",
    "uploadUrlsJob",
    "ripPdfsJob",
    "optimizeImagesJob",
    "reprocessAssetsJob",
    "uploadPostJob",
    "exportJob",
    "metadataPublishJob",
    "createVideoSitemapJob",
    "automatedSetGenerationJob",
)


@dataclass(frozen=True, slots=True)
class TaskItemProgress:
    """One item of an asynchronous task (e.g. one rendition being transcoded); children kept as given."""

    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """Progress of one asynchronous task of a job, such as video transcoding."""

    task_type: str | None = None
    num_processed: int | None = None
    num_processing: int | None = None
    num_pending: int | None = None
    progress: float | None = None
    progress_message: str | None = None
    last_progress_update: datetime | None = None
    task_item_progress: tuple[TaskItemProgress, ...] = ()
    task_state: str | None = None


@dataclass(frozen=True, slots=True)
class JobDetail:
    """The job-type detail of an ActiveJob (`imageServingPublishJob`, `uploadUrlsJob`, …).

    Publish jobs carry publishType, emailSetting and httpCompletionUrl; other simple children vary by type
    and version, so they are kept as ordered name/text pairs rather than guessed at.
    """

    kind: str
    publish_type: str | None = None
    email_setting: str | None = None
    http_completion_url: str | None = None
    other: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ActiveJob:
    """A job the server is running or about to run (IPS `ActiveJob`)."""

    company_handle: str | None = None
    job_handle: str | None = None
    name: str | None = None
    original_name: str | None = None
    type: str | None = None
    state: str | None = None
    submit_user_email: str | None = None
    locale: str | None = None
    description: str | None = None
    server_name: str | None = None
    start_date: datetime | None = None
    trigger_time: datetime | None = None  # when the job was set off (its schedule's fire time, or its submission)
    total_size: int | None = None
    progress: int | None = None
    progress_message: str | None = None
    last_progress_update: datetime | None = None
    task_progress: tuple[TaskProgress, ...] = ()
    detail: JobDetail | None = None


@dataclass(frozen=True, slots=True)
class AuxLogEntry:
    """A secondary message attached to a log detail."""

    log_message: str | None = None
    log_type: str | None = None
    date_created: datetime | None = None


# Log types come in families per job kind: ImageServingPublishError, UploadFailure, FatalError, UploadWarning …
# A line is an error when its type holds one of these, a warning when it holds WARNING_MARKER.
ERROR_MARKERS = ("Error", "Failure", "Fatal")
WARNING_MARKER = "Warning"


@dataclass(frozen=True, slots=True)
class JobLogDetail:
    """One line of a job's log; `log_message` is localized in the locale the request was made in."""

    log_message: str | None = None
    log_type: str | None = None
    asset_name: str | None = None
    asset_type: str | None = None
    asset_handle: str | None = None
    aux: tuple[AuxLogEntry, ...] = ()
    date_created: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobLog:
    """The record a job leaves behind; it says how a job that left the active list ended."""

    company_handle: str | None = None
    job_handle: str | None = None
    job_name: str | None = None
    original_job_name: str | None = None
    submit_user_email: str | None = None
    log_type: str | None = None
    job_sub_type: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    description: str | None = None
    file_success_count: int | None = None
    file_error_count: int | None = None
    file_warning_count: int | None = None
    file_duplicate_count: int | None = None
    file_update_count: int | None = None
    total_file_count: int | None = None
    transfer_success_count: int | None = None
    transfer_error_count: int | None = None
    transfer_warning_count: int | None = None
    fatal_error: bool | None = None
    detail_total_rows: int | None = None
    details: tuple[JobLogDetail, ...] = ()

    @property
    def failed(self) -> bool:
        """A fatal error or any file/transfer error means the job did not do all it was asked."""
        return bool(self.fatal_error) or bool(self.file_error_count) or bool(self.transfer_error_count)

    @property
    def has_warnings(self) -> bool:
        return bool(self.file_warning_count) or bool(self.transfer_warning_count)


@dataclass(frozen=True, slots=True)
class Company:
    """`getCompanyInfo`'s answer: how a company name maps to its handle."""

    company_handle: str | None = None
    name: str | None = None
    root_path: str | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A job scheduled to run later or repeatedly (IPS `ScheduledJob`)."""

    company_handle: str | None = None
    job_handle: str | None = None
    name: str | None = None
    original_name: str | None = None
    type: str | None = None
    submit_user_email: str | None = None
    locale: str | None = None
    description: str | None = None
    exec_schedule: str | None = None
    next_fire_time: datetime | None = None
    time_zone: str | None = None
    trigger_state: str | None = None

    @property
    def key(self) -> str:
        """What the schedule is known by across polls: its handle, else its name."""
        return self.job_handle or self.name or self.original_name or ""

    @property
    def label(self) -> str:
        """What people call it: the name it was submitted with."""
        return self.original_name or self.name or self.job_handle or ""
