"""Builders shared by the engine tests: rules from YAML text, events at given minutes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notifier.engine.rules import RuleSet, load_rules
from notifier.models import ActiveJob, CompanyRef, Event, JobLog

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COMPANY = CompanyRef(handle="47", name="Planetary", locale="en-US", timezone="Europe/Berlin")
CHANNELS = ("ops-slack", "ops-email", "downstream", "console")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def job(handle: str = "47||Publish_1", **changes: Any) -> ActiveJob:
    base: dict[str, Any] = {
        "company_handle": "47",
        "job_handle": handle,
        "name": handle.split("||")[-1],
        "original_name": "Spring catalog",
        "type": "ImageServingPublish",
        "state": "Running",
        "locale": "en-US",
        "submit_user_email": "ana@example.com",
        "progress": 40,
        "start_date": T0,
    }
    base.update(changes)
    return ActiveJob(**base)


def active(minutes: float, stalled: float, **changes: Any) -> Event:
    return Event("job.active", at(minutes), COMPANY, job(**changes), stalled_seconds=stalled)


def ended(kind: str, minutes: float, **log_fields: Any) -> Event:
    the_job = job()
    log = JobLog(company_handle="47", job_handle=the_job.job_handle, end_date=at(minutes), **log_fields)
    return Event(kind, at(minutes), COMPANY, the_job, log=log)


RulesFactory = Callable[[str], RuleSet]


def rules_factory(directory: Path) -> RulesFactory:
    """Rule sets from YAML text, each written to `directory/rules.yaml` and loaded as the daemon loads rules."""

    def make(text: str) -> RuleSet:
        path = directory / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        return load_rules(path, CHANNELS)

    return make
