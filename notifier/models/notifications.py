"""What a rule decided to tell people: the rendered message, the notification stored in the outbox, and one
delivery of it to one channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

# What a notification says about its company, job, log and schedule: JSON-ready snapshots taken when it was
# decided, so what is stored is exactly what every channel sends. Their keys are the models' field names;
# bodies stored by older versions may lack fields added since, hence every key but the company's handle is
# optional to readers (`.get`).


class CompanyJson(TypedDict):
    """`CompanyRef` as JSON."""

    handle: str
    name: NotRequired[str | None]
    locale: NotRequired[str | None]
    timezone: NotRequired[str]


class ScheduleJson(TypedDict, total=False):
    """`ScheduledJob` as JSON."""

    company_handle: str | None
    job_handle: str | None
    name: str | None
    original_name: str | None
    type: str | None
    submit_user_email: str | None
    locale: str | None
    description: str | None
    exec_schedule: str | None
    next_fire_time: str | None
    time_zone: str | None
    trigger_state: str | None


class JobJson(TypedDict, total=False):
    """`ActiveJob` as JSON, with what rules see besides: stalled and running time, and its schedule."""

    company_handle: str | None
    job_handle: str | None
    name: str | None
    original_name: str | None
    type: str | None
    state: str | None
    submit_user_email: str | None
    locale: str | None
    description: str | None
    server_name: str | None
    start_date: str | None
    trigger_time: str | None
    total_size: int | None
    progress: int | None
    progress_message: str | None
    last_progress_update: str | None
    task_progress: list[dict[str, Any]]
    detail: dict[str, Any] | None
    stalled_seconds: float | None
    running_seconds: float | None
    schedule: ScheduleJson | None


class LogJson(TypedDict, total=False):
    """`JobLog` as JSON."""

    company_handle: str | None
    job_handle: str | None
    job_name: str | None
    original_job_name: str | None
    submit_user_email: str | None
    log_type: str | None
    job_sub_type: str | None
    start_date: str | None
    end_date: str | None
    description: str | None
    file_success_count: int | None
    file_error_count: int | None
    file_warning_count: int | None
    file_duplicate_count: int | None
    file_update_count: int | None
    total_file_count: int | None
    transfer_success_count: int | None
    transfer_error_count: int | None
    transfer_warning_count: int | None
    fatal_error: bool | None
    detail_total_rows: int | None
    details: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Message:
    """A notification's text, rendered once in one locale; every channel sends from this.

    `fields` are localized label/value pairs (company, job, progress …) that channels lay out their own way
    (Slack section fields, an email table). `html` is the email's HTML alternative. `summary` is what the
    text says besides the title, the fields and the job-log lines, for channels that lay those out themselves
    (Slack); None for messages rendered before it existed. `links` are localized label/URL pairs (the status
    page, when its public address is configured) for channels that can show a link or a button.
    """

    locale: str
    title: str
    text: str
    html: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    summary: str | None = None
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Notification:
    """What a rule decided to tell people, stored in the outbox before anything is sent.

    `key` is stable for (rule, company, job, status, episode): it is the webhook-id and the email Message-ID,
    so a receiver can recognise a retry or a replay as the same notification. `alert_key` is stable for
    (rule, company, job, episode) alone: the firing and the resolved notification of one alert share it, so
    an incident tool can open and close one incident with it ("" for notifications stored before it existed).
    `company`, `job`, `log` and `schedule` are JSON-ready snapshots, so what is stored is exactly what is sent.
    `thread` is the key of the notification that opened the conversation this one continues (an alert's first
    firing, for its repeats and its resolution; a group's first digest, for the digests after it), "" when it
    opens one itself: channels that can thread (Slack replies, email `In-Reply-To`) answer there. `group` is set
    on a digest only: the notifications it stands for.
    """

    key: str
    rule: str
    severity: str
    status: str
    event_kind: str
    created_at: datetime
    company: CompanyJson
    job: JobJson | None
    log: LogJson | None
    message: Message
    details: tuple[str, ...] = ()
    alert_key: str = ""
    schedule: ScheduleJson | None = None
    thread: str = ""
    group: GroupDigest | None = None

    @property
    def company_handle(self) -> str:
        return self.company.get("handle") or ""

    @property
    def job_handle(self) -> str:
        return (self.job or {}).get("job_handle") or ""

    @property
    def job_name(self) -> str | None:
        """What people call the job: the name it was submitted with."""
        job = self.job or {}
        return job.get("original_name") or job.get("name")

    @property
    def schedule_name(self) -> str:
        """The scheduled job it is about (or whose run it is about), by the name people gave it."""
        schedule = self.schedule or {}
        return schedule.get("original_name") or schedule.get("name") or ""


@dataclass(frozen=True, slots=True)
class GroupDigest:
    """What a digest stands for: the notifications one group collected since its previous digest.

    `key` is the group's stable key (rule, channel and the values of its `group_by` fields, which `labels`
    name); `alerts` are the collected notifications as they were stored, oldest first; `firing` and `resolved`
    count them by status; `open` is how many of the group's alerts are still firing after this digest.
    """

    key: str
    labels: tuple[tuple[str, str], ...]
    alerts: tuple[Notification, ...]
    firing: int
    resolved: int
    open: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel target of a notification; each target succeeds or retries on its own."""

    notification: Notification
    channel: str
    recipients: tuple[str, ...] = ()
    attempt: int = 1
    conversation: str | None = None  # what the channel kept of the message `notification.thread` names, if sent
