"""The label/value pairs of a message (company, job, progress, file counts …), labels translated and values
CLDR-formatted; channels lay them out their own way (an email table, Slack section fields, text lines).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from notifier.i18n.formatting import Formatter

# Once a job has ended, its last active snapshot (state Running, 80 %) would mislead: those fields are left out.
ENDED = frozenset({"job.departed", "job.completed", "job.failed", "job.warning"})
STALL_WORTH_SHOWING = 60.0  # seconds; a few seconds without progress is the normal gap between polls
# A job whose progress stood still this long is called stalled in any message (the shipped stalled-progress
# rule's threshold); before that, "progress has stayed at 63 % since …" would alarm about a normal pause.
STALLED = 900.0


def job_ended(context: Mapping[str, Any]) -> bool:
    """The event says the job is over, or a state alert resolved because it left the active list."""
    return context["event"]["kind"] in ENDED or context.get("cause") in ENDED


def fields(context: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The pairs worth showing for this notification, empty values left out."""
    _ = context["translations"].gettext
    fmt: Formatter = context["fmt"]
    job = context["job"] or {}
    log = context["log"] or {}
    ended = job_ended(context)
    schedule = context["schedule"] or {}
    pairs = [
        (_("Severity"), severity(context) if context["status"] == "firing" else ""),
        (_("Company"), str(context["company_name"] or "")),
        (_("Schedule"), str(context["schedule_name"] or "")),
        *schedule_fields(context),
        (_("Job"), str(context["job_name"] or "")),
        (_("Type"), context["type_name"](job.get("type") or schedule.get("type"))),
        (_("State"), "" if ended else context["state_name"](job.get("state"))),
        (_("Progress"), "" if ended or job.get("progress") is None else fmt.percent(job["progress"])),
        (_("No progress for"), "" if ended else _stall(fmt, job.get("stalled_seconds"))),
        (_("Started"), fmt.datetime(job.get("start_date") or log.get("start_date"))),
        (_("Ended"), fmt.datetime(log.get("end_date"))),
        (_("Duration"), _duration(fmt, log.get("start_date"), log.get("end_date"))),
        (_("Files with errors"), _count(fmt, log.get("file_error_count"))),
        (_("Files with warnings"), _count(fmt, log.get("file_warning_count"))),
        (_("Submitted by"), str(job.get("submit_user_email") or log.get("submit_user_email")
                                 or schedule.get("submit_user_email") or "")),
    ]  # fmt: skip
    return tuple((label, value) for label, value in pairs if value)


def links(context: Mapping[str, Any], status_url: str | None) -> tuple[tuple[str, str], ...]:
    """The label/URL pairs a message offers: the status page, when its public address is configured."""
    if not status_url:
        return ()
    _: Callable[[str], str] = context["translations"].gettext
    # Translators: a link or button that opens dmc-notifier's status page; in plain text "Open status page: URL".
    return ((_("Open status page"), status_url),)


def schedule_fields(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a schedule's notification shows of it; times in the schedule's own zone, where its cron runs."""
    schedule = context["schedule"]
    if schedule is None or not str(context["event"]["kind"]).startswith("schedule."):
        return []
    _: Callable[[str], str] = context["translations"].gettext
    fmt: Formatter = context["schedule_fmt"]
    event = context["event"]
    firing = context["status"] == "firing"
    return [
        # Translators: the schedule of a scheduled job as IPS writes it (Quartz cron, e.g. "0 0 2 * * ?").
        (_("Cron expression"), str(schedule["exec_schedule"] or "")),
        (_("Time zone"), str(schedule["time_zone"] or "")),
        # Translators: the IPS trigger state of a scheduled job, shown as IPS names it (Normal, Paused, Error …).
        (_("Trigger state"), str(schedule["trigger_state"] or "")),
        # Translators: the time a scheduled job was due to run (and did not).
        (_("Due at"), fmt.datetime(event["fire_time"])),
        (_("Late by"), fmt.duration(event["late_seconds"]) if firing and event["late_seconds"] else ""),
        (_("Last run"), fmt.datetime(event["last_run"])),
        (_("Next run"), fmt.datetime(schedule["next_fire_time"])),
    ]


def severity(context: Mapping[str, Any]) -> str:
    _: Callable[[str], str] = context["translations"].gettext
    names = {
        # Translators: the severity of an alert, shown as "Severity: Critical".
        "critical": _("Critical"),
        # Translators: the severity of an alert, shown as "Severity: Warning".
        "warning": _("Warning"),
        # Translators: the severity of an alert, shown as "Severity: Information".
        "info": _("Information"),
    }
    value = str(context["rule"]["severity"])
    return names.get(value, value)


def _stall(fmt: Formatter, seconds: float | None) -> str:
    return fmt.duration(seconds) if seconds is not None and seconds >= STALL_WORTH_SHOWING else ""


def _duration(fmt: Formatter, start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None or end < start:
        return ""
    return fmt.duration((end - start).total_seconds())


def _count(fmt: Formatter, value: int | None) -> str:
    return fmt.number(value) if value else ""
