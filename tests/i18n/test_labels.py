"""Job types and states in messages: a translated name for every documented value, words for unknown ones,
raw values only where automation reads them (webhook bodies)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from notifier.channels.webhook import webhook_payload
from notifier.i18n import DEFAULT, SUPPORTED
from notifier.i18n.labels import readable, state_name, type_name
from notifier.models import ACTIVE_JOB_STATES, JOB_TYPES, Event
from tests.support.i18n import RENDERER, T0, company, decision, failed_publish, job

# Raw API words written as one CamelCase token: none may reach a message people read.
COMPOUND = [value for value in (*JOB_TYPES, *ACTIVE_JOB_STATES) if len(re.findall(r"[A-Z]", value)) > 1]


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_documented_type_and_state_has_a_name_in_every_catalog(locale: str) -> None:
    """Each of the ten job types and seven states has its own name, which in a translated catalog is not the
    English one."""
    for value, name_of in [*((t, type_name) for t in JOB_TYPES), *((s, state_name) for s in ACTIVE_JOB_STATES)]:
        name = name_of(value, locale)
        assert name, value
        if value in COMPOUND:
            assert name != value, (locale, value)
        if locale != DEFAULT:
            assert name != name_of(value, DEFAULT), (locale, value)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("WaitingForApproval", "Waiting for approval"),
        ("PDFRip", "PDF rip"),
        ("AutomatedSetGeneration", "Automated set generation"),
        ("Suspended", "Suspended"),
        ("Video360Publish", "Video 360 publish"),
    ],
)
def test_a_value_from_a_newer_api_is_shown_as_words(raw: str, shown: str) -> None:
    """A type or state we have no name for reads as words in every locale, never as the raw token."""
    assert readable(raw) == shown
    assert {type_name(raw, locale) for locale in SUPPORTED} == {shown}
    assert {state_name(raw, locale) for locale in SUPPORTED} == {shown}


@pytest.mark.parametrize("locale", SUPPORTED)
def test_no_raw_api_word_reaches_a_message(locale: str) -> None:
    """State changes, active jobs and failures of every type and state speak names, in title, text and HTML."""
    leaks = []
    for job_type in JOB_TYPES:
        for state in ACTIVE_JOB_STATES:
            the_job = job(locale, type=job_type, state=state)
            for kind in ("job.state_changed", "job.active", "job.started"):
                message = RENDERER.render(decision(Event(kind, T0, company(), the_job))).notification.message
                shown = " ".join([message.title, message.text, message.html or ""])
                leaks += [(kind, word) for word in COMPOUND if word in shown]
    assert leaks == []


def test_a_state_change_says_the_state_by_name() -> None:
    """「WaitingClient」 is told to a Japanese reader as クライアント待ち, inside the sentence."""
    event = Event("job.state_changed", T0, company(), job("ja-JP", state="WaitingClient"))
    title = RENDERER.render(decision(event)).notification.message.title
    assert title == "ジョブ「Spring catalog」の状態が「クライアント待ち」になりました"


def test_webhook_bodies_keep_the_raw_values() -> None:
    """Automation matches on what IPS sends: the webhook's job object carries `ImageServingPublish`, while its
    human message carries the name."""
    notification = RENDERER.render(failed_publish("de-DE")).notification
    body = json.loads(json.dumps(webhook_payload(notification)))
    assert body["data"]["job"]["type"] == "ImageServingPublish"
    assert body["data"]["job"]["state"] == "Running"
    assert "Image-Serving-Veröffentlichung" in body["data"]["message"]["text"]
    assert "ImageServingPublish" not in body["data"]["message"]["text"]


def test_the_type_field_of_a_job_with_an_unknown_type_reads_as_words() -> None:
    """A job type a newer API introduced is shown as words in the fields, not dropped."""
    event = failed_publish("fr-FR").event
    assert event.job is not None
    unknown = decision(replace(event, job=replace(event.job, type="AutomatedSetGeneration")))
    fields = dict(RENDERER.render(unknown).notification.message.fields)
    assert fields["Type"] == "Automated set generation"
