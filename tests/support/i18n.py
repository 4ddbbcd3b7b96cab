"""Builders shared by the locale tests: one fixed job, its events and decisions, and the catalogs on disk."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.catalog import Message as Entry
from babel.messages.pofile import read_po

from notifier.compose.render import Renderer
from notifier.engine.evaluate import Decision, Engine
from notifier.engine.rules import Rule, RuleChannel, load_rules
from notifier.i18n import DEFAULT, LOCALES_DIR, SUPPORTED
from notifier.i18n.catalogs import catalog_dir
from notifier.models import ActiveJob, CompanyRef, Event, JobLog, JobLogDetail, Message, ScheduledJob

TRANSLATED = tuple(locale for locale in SUPPORTED if locale != DEFAULT)
POT = LOCALES_DIR / "messages.pot"
PROJECT = Path(__file__).resolve().parents[2]
SHIPPED_RULES = PROJECT / "rules"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

T0 = datetime(2026, 3, 14, 9, 5, tzinfo=UTC)
# Where a company using each locale would typically be: dates must come out in that zone.
TIMEZONES = {
    "en-US": "America/New_York", "de-DE": "Europe/Berlin", "fr-FR": "Europe/Paris", "es-ES": "Europe/Madrid",
    "it-IT": "Europe/Rome", "pt-BR": "America/Sao_Paulo", "nl-NL": "Europe/Amsterdam", "sv-SE": "Europe/Stockholm",
    "ja-JP": "Asia/Tokyo", "ko-KR": "Asia/Seoul", "zh-CN": "Asia/Shanghai", "zh-TW": "Asia/Taipei",
}  # fmt: skip


def company(locale: str | None = None, timezone: str = "UTC") -> CompanyRef:
    return CompanyRef(handle="47", name="Planetary", locale=locale, timezone=timezone)


def job(locale: str | None, **changes: Any) -> ActiveJob:
    base = ActiveJob(
        company_handle="47",
        job_handle="47|ImageServingPublish|Spring_catalog",
        name="Spring_catalog",
        original_name="Spring catalog",
        type="ImageServingPublish",
        state="Running",
        locale=locale,
        submit_user_email="ana@example.com",
        progress=80,
        progress_message="Publishing 412 of 515 assets",
        start_date=T0,
    )
    return replace(base, **changes)


def scheduled(locale: str | None, **changes: Any) -> ScheduledJob:
    """The nightly publish of the spring catalog, scheduled in Berlin time."""
    base = ScheduledJob(
        company_handle="47",
        job_handle="47||Spring_catalog",
        name="Spring_catalog",
        original_name="Spring catalog",
        type="ImageServingPublish",
        submit_user_email="ana@example.com",
        locale=locale,
        exec_schedule="0 0 2 * * ?",
        next_fire_time=T0 + timedelta(hours=15, minutes=55),
        time_zone="Europe/Berlin",
        trigger_state="Normal",
    )
    return replace(base, **changes)


def schedule_event(kind: str, locale: str | None, **changes: Any) -> Event:
    """A `schedule.*` event about the nightly publish; a missed one by default (due at 01:00 UTC, 8 h late)."""
    base = Event(
        kind,
        T0,
        company(),
        schedule=scheduled(locale),
        fire_time=T0 - timedelta(hours=8, minutes=5),
        late_seconds=8 * 3600 + 300,
        last_run=T0 - timedelta(days=1, hours=8, minutes=5),
        reason="no_run",
    )
    return replace(base, **changes)


def failed_log(**changes: Any) -> JobLog:
    base = JobLog(
        company_handle="47",
        job_handle="47|ImageServingPublish|Spring_catalog",
        job_name="Spring_catalog",
        log_type="Error",
        start_date=T0,
        end_date=T0 + timedelta(hours=1, minutes=42, seconds=30),  # shown as 1 hour 42 minutes: never rounded up
        file_success_count=510,
        file_error_count=3,
        file_warning_count=2,
        fatal_error=True,
        details=(
            JobLogDetail(log_message="hero-banner.tif: unsupported color profile", log_type="Error"),
            JobLogDetail(log_message="spring/lookbook-07.psd: file is damaged", log_type="Error"),
        ),
    )
    return replace(base, **changes)


def rule(name: str = "failed-publish", kind: str = "job.failed", severity: str = "critical") -> Rule:
    return Rule(
        name=name,
        on=frozenset({kind}),
        where_source=None,
        where=None,
        for_seconds=0.0,
        severity=severity,
        send_resolved=False,
        repeat=None,
        notify=(RuleChannel("console"),),
        source="tests/i18n/support.py:1",
        description=None,
    )


def decision(event: Event, *, name: str = "failed-publish") -> Decision:
    return Decision(rule(name, event.kind), "firing", event, "msg_i18n_test")


def failed_publish(locale: str) -> Decision:
    """The representative notification: a publish job that failed with errors and warnings."""
    log = failed_log()
    event = Event(
        "job.failed",
        log.end_date or T0,
        company(timezone=TIMEZONES.get(locale, "UTC")),
        job(locale),
        log=log,
        details=log.details,
    )
    return decision(event)


def warning_decision(locale: str, count: int) -> Decision:
    log = failed_log(fatal_error=False, file_error_count=0, file_warning_count=count, log_type="Warning")
    return decision(Event("job.warning", T0, company(), job(locale), log=log))


RENDERER = Renderer()


def render(decision: Decision, locale: str | None = None) -> Message:
    return RENDERER.render(decision, locale=locale).notification.message


def load_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def po_path(locale: str) -> Path:
    return catalog_dir(locale) / "messages.po"


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _strings(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def forms(entry: Entry) -> tuple[str, ...]:
    """A catalog entry's translations: one string, or one per plural form."""
    return _strings(entry.string)


def sources(entry: Entry) -> tuple[str, ...]:
    """A catalog entry's source text: the msgid, and the msgid_plural when it has one."""
    return _strings(entry.id)


def entries(catalog: Catalog) -> dict[tuple[str, ...], Entry]:
    """Translatable entries keyed by their source text, without the header entry."""
    return {sources(entry): entry for entry in catalog if entry.id}


def headline_cases(locale: str) -> dict[str, Decision]:
    """One decision per headline the default templates can write, for a job in `locale`."""
    the_job = job(locale)
    where = company(locale)
    done = failed_log(fatal_error=False, file_error_count=0, file_warning_count=0, log_type="Success")

    def resolved(rule_name: str, event: Event, cause: str) -> Decision:
        return Decision(rule(rule_name, "job.active"), "resolved", event, "msg_i18n_test", cause)

    return {
        "started": decision(Event("job.started", T0, where, the_job)),
        "progressed": decision(Event("job.progressed", T0, where, the_job)),
        "state_changed": decision(Event("job.state_changed", T0, where, replace(the_job, state="WaitingClient"))),
        "departed": decision(Event("job.departed", T0, where, the_job)),
        "completed": decision(Event("job.completed", T0, where, the_job, log=done)),
        "warning": warning_decision(locale, 3),
        "failed": failed_publish(locale),
        "stalled": decision(Event("job.active", T0, where, the_job, stalled_seconds=900)),
        "active": decision(Event("job.active", T0, where, the_job)),
        "running_for": decision(Event("job.active", T0 + timedelta(hours=2), where, the_job), name="long-running-job"),
        "still_running": decision(
            Event("job.active", T0, where, replace(the_job, start_date=None)), name="long-running-job"
        ),
        "progressing_again": resolved("stalled-progress", Event("job.active", T0, where, the_job), "job.active"),
        "no_longer_matches": resolved("busy-jobs", Event("job.active", T0, where, the_job), "job.active"),
        "no_longer_active": resolved("busy-jobs", Event("job.departed", T0, where, the_job), "job.departed"),
        "unreachable": decision(Event("company.unreachable", T0, where, error="Connection refused")),
        "recovered": decision(Event("company.recovered", T0, where)),
        **schedule_cases(locale),
    }


def schedule_cases(locale: str) -> dict[str, Decision]:
    """One decision per headline a schedule's notification can have, for a schedule in `locale`."""
    broken = scheduled(locale, trigger_state="Error")

    def resolved(rule_name: str, kind: str, **changes: Any) -> Decision:
        event = schedule_event(kind, locale, late_seconds=None, **changes)
        return Decision(rule(rule_name, kind), "resolved", event, "msg_i18n_test", "schedule.recovered")

    return {
        "schedule_missed": decision(schedule_event("schedule.missed", locale), name="missed-schedule"),
        "schedule_not_fired": decision(schedule_event("schedule.missed", locale, reason="not_fired")),
        "schedule_missed_sometime": decision(schedule_event("schedule.missed", locale, fire_time=None)),
        "schedule_failed": decision(schedule_event("schedule.failed", locale, schedule=broken, reason=None)),
        "schedule_ran_again": resolved("missed-schedule", "schedule.missed", reason="ran", job=job(locale)),
        "schedule_repaired": resolved("schedule-failed", "schedule.failed", reason="normal"),
        "schedule_removed": resolved("schedule-failed", "schedule.failed", reason="removed", schedule=broken),
        "schedule_paused": decision(
            schedule_event(
                "schedule.recovered", locale, reason="inactive", schedule=scheduled(locale, trigger_state="Paused")
            )
        ),
    }


HEADLINES = tuple(headline_cases(DEFAULT))


def shipped_decisions(locale: str | None) -> list[Decision]:
    """What the shipped rules decide, through the real engine, for a job (and company) in `locale`.

    One job runs for three hours and stalls, moves again, then fails with warnings; another publish
    completes; the company's IPS API goes down and comes back; a nightly publish misses its run, its trigger
    breaks and is repaired. Every shipped rule fires, and every rule with `send_resolved` resolves.
    """
    engine = Engine(load_rules(SHIPPED_RULES, channels=None))
    where = company(locale, TIMEZONES.get(locale or "", "UTC"))
    running = job(locale, start_date=T0 - timedelta(hours=3))
    log = failed_log(start_date=running.start_date)
    done = replace(job(locale, job_handle="47|ImageServingPublish|Summer", original_name="Summer"), progress=100)
    events = [
        Event("job.active", T0, where, running, stalled_seconds=1200),
        Event("job.active", T0 + timedelta(seconds=30), where, replace(running, progress=85), stalled_seconds=0),
        Event("job.failed", T0 + timedelta(minutes=1), where, running, log=log, details=log.details),
        Event("job.warning", T0 + timedelta(minutes=1), where, running, log=log, details=log.details),
        Event(
            "job.completed",
            T0 + timedelta(minutes=2),
            where,
            done,
            log=failed_log(fatal_error=False, file_error_count=0, file_warning_count=0, log_type="Success"),
        ),
        Event(
            "company.unreachable", T0 + timedelta(minutes=3), where, error="Connection refused", consecutive_failures=3
        ),
        Event("company.recovered", T0 + timedelta(minutes=9), where),
        schedule_event("schedule.missed", locale, at=T0 + timedelta(minutes=10)),
        schedule_event("schedule.missed", locale, at=T0 + timedelta(minutes=15)),  # still missed: not news
        schedule_event(
            "schedule.failed",
            locale,
            at=T0 + timedelta(minutes=20),
            reason=None,
            schedule=scheduled(locale, trigger_state="Error"),
        ),
        schedule_event(
            "schedule.recovered",
            locale,
            at=T0 + timedelta(minutes=30),
            reason="normal",
            fire_time=None,
            late_seconds=None,
        ),
    ]
    return [decision for event in events for decision in engine.evaluate(event).decisions]
