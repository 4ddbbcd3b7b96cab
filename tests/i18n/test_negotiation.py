"""Locale negotiation: the job's locale, else the company's, else en-US, through the fallback chain."""

from __future__ import annotations

import gettext

import pytest

from notifier.i18n import negotiate, translations
from notifier.models import Event
from notifier.render import locale_for
from tests.i18n.support import T0, company, decision, job, render


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("zh-HK", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh", "zh-CN"),
        ("de", "de-DE"),
        ("de-AT", "de-DE"),
        ("fr-CA", "fr-FR"),
        ("ja_jp", "ja-JP"),
        ("KO-kr", "ko-KR"),
        ("xx-YY", "en-US"),
        ("", "en-US"),
        (None, "en-US"),
    ],
)
def test_tag_resolves_to_a_catalog_we_have(tag: str | None, expected: str) -> None:
    """Each tag maps to the closest supported locale, and unknown ones to en-US."""
    assert negotiate(tag) == expected


def test_job_locale_is_preferred_over_company_locale() -> None:
    """A Japanese job of a German company is told in Japanese."""
    event = Event("job.failed", T0, company("de-DE"), job("ja-JP"))
    assert locale_for(event) == "ja-JP"


def test_company_locale_is_used_when_the_job_locale_is_unknown() -> None:
    """A job in a locale we cannot serve falls back to the company's locale, not straight to en-US."""
    event = Event("job.failed", T0, company("de-DE"), job("xx-YY"))
    assert locale_for(event) == "de-DE"


def test_en_us_when_neither_job_nor_company_has_a_locale() -> None:
    """With no locale anywhere the message is in en-US."""
    assert locale_for(Event("job.failed", T0, company(None), job(None))) == "en-US"


def test_company_event_uses_the_company_locale() -> None:
    """Company-level events have no job, so the company's locale decides."""
    assert locale_for(Event("company.unreachable", T0, company("pt"))) == "pt-BR"


def test_rendered_message_is_in_the_negotiated_locale() -> None:
    """The renderer writes the message in the job's locale and records that locale."""
    message = render(decision(Event("job.failed", T0, company("de-DE"), job("zh-HK"))))
    assert (message.locale, message.title) == ("zh-TW", "發佈工作「Spring catalog」執行失敗")


@pytest.mark.parametrize(
    ("asked", "locale", "title"),
    [
        ("ja", "ja-JP", "公開ジョブ「Spring catalog」が失敗しました"),
        ("pt", "pt-BR", "O trabalho de publicação “Spring catalog” falhou"),
        ("xx-YY", "en-US", "Publish job “Spring catalog” failed"),
    ],
)
def test_a_requested_locale_is_negotiated_too(asked: str, locale: str, title: str) -> None:
    """A locale asked for explicitly (test-rule --locale) goes through the same fallbacks as a job's."""
    message = render(decision(Event("job.failed", T0, company("de-DE"), job("de-DE"))), locale=asked)
    assert (message.locale, message.title) == (locale, title)


def test_source_language_needs_no_catalog() -> None:
    """en-US is the source language: its translations are the identity."""
    assert type(translations("en-US")) is gettext.NullTranslations
    assert translations("de-DE").gettext("Company") == "Unternehmen"
