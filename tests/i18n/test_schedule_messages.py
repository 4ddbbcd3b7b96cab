"""A schedule's notifications: in the schedule's locale (else the company's), its times in its own zone."""

from __future__ import annotations

from dataclasses import replace

from notifier.models import Event
from tests.support.i18n import T0, company, decision, job, render, schedule_event, scheduled


def test_a_schedule_s_event_speaks_the_schedule_s_locale_else_the_company_s() -> None:
    """A Japanese schedule of an English-speaking company is told in Japanese; one without a locale in English."""
    english_company = replace(schedule_event("schedule.missed", "ja-JP"), company=company("en-US"))
    assert render(decision(english_company)).locale == "ja-JP"
    no_locale = replace(schedule_event("schedule.missed", None), company=company("de-DE"))
    assert render(decision(no_locale)).locale == "de-DE"


def test_a_run_known_only_from_its_log_speaks_its_schedule_s_locale() -> None:
    """A run that came and went between polls has no locale of its own (logs carry none): its schedule's wins
    over the company's."""
    run = job(None)
    failed = Event("job.failed", T0, company("en-US"), run, schedule=scheduled("fr-FR"))
    message = render(decision(failed))
    assert message.locale == "fr-FR"
    assert ("Planification", "Spring catalog") in message.fields


def test_fire_times_are_shown_in_the_schedule_s_zone() -> None:
    """A Tokyo schedule of a company in New York: its missed 02:00 reads 2:00 JST, not New York time."""
    tokyo = scheduled("en-US", time_zone="Asia/Tokyo")
    event = replace(
        schedule_event("schedule.missed", "en-US", schedule=tokyo), company=company("en-US", "America/New_York")
    )
    fields = dict(render(decision(event)).fields)
    assert fields["Due at"] == "Mar 14, 2026, 10:00\u202fAM Japan Standard Time"
    assert fields["Time zone"] == "Asia/Tokyo"
