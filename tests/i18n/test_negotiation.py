"""Locale negotiation: the job's locale, else the company's, else en-US, through the fallback chain."""

from __future__ import annotations

import gettext

import pytest

from notifier.compose.render import locale_for
from notifier.i18n import Choice, choose, lookups, negotiate
from notifier.i18n.catalogs import translations
from notifier.models import Event
from tests.support.i18n import T0, company, decision, job, render


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ja-JP", "ja-JP"),
        ("ja_jp", "ja-JP"),
        ("JA-jp", "ja-JP"),
        ("ja_JP.UTF-8", "ja-JP"),
        ("ZH-tw", "zh-TW"),
        ("zh_TW", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
        ("zh-Hant-HK", "zh-TW"),
        ("zh-Hant-MO", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh_hant_tw", "zh-TW"),
        ("ZH-HANT-hk", "zh-TW"),
        ("zh-HK", "zh-TW"),
        ("zh-yue-HK", "zh-TW"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-SG", "zh-CN"),
        ("zh-Hans-TW", "zh-CN"),
        ("zh-Hant-CN", "zh-TW"),
        ("zh-CN", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh", "zh-CN"),
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("pt_br", "pt-BR"),
        ("en-GB", "en-US"),
        ("en", "en-US"),
        ("de", "de-DE"),
        ("de-AT", "de-DE"),
        ("de-CH-1996", "de-DE"),
        ("de-DE-u-co-phonebk", "de-DE"),
        ("fr-CA", "fr-FR"),
        ("es-419", "es-ES"),
        ("KO-kr", "ko-KR"),
        ("nb-NO", "sv-SE"),
        ("nb", "sv-SE"),
        ("no", "sv-SE"),
        ("no-NO", "sv-SE"),
        ("nn-NO", "sv-SE"),
        ("da-DK", "sv-SE"),
        ("fy-NL", "nl-NL"),
        ("gsw-CH", "de-DE"),
        ("lb-LU", "de-DE"),
        ("yue-HK", "zh-TW"),
        ("yue-Hans-CN", "zh-CN"),
        ("fo-FO", "en-US"),
        ("is-IS", "en-US"),
        ("sr-Latn-RS", "en-US"),
        ("xx-YY", "en-US"),
        ("x-private", "en-US"),
        ("C", "en-US"),
        (" ", "en-US"),
        ("", "en-US"),
        (None, "en-US"),
    ],
)
def test_tag_resolves_to_a_catalog_we_have(tag: str | None, expected: str) -> None:
    """Each tag maps to the closest supported locale by script before region, and unknown ones to en-US."""
    assert negotiate(tag) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-Hant-TW", ("zh-Hant-TW", "zh-Hant", "zh-TW", "zh")),
        ("sr_latn_rs", ("sr-Latn-RS", "sr-Latn", "sr-RS", "sr")),
        ("pt-PT", ("pt-PT", "pt")),
        ("ja", ("ja",)),
        ("de-DE-u-co-phonebk", ("de-DE", "de")),
        ("42", ()),
    ],
)
def test_a_tag_is_looked_up_from_most_to_least_specific(tag: str, expected: tuple[str, ...]) -> None:
    """Full tag, then language-Script, then language-REGION, then the language, case and `_` normalized."""
    assert lookups(tag) == expected


@pytest.mark.parametrize(
    ("tag", "catalog", "formats"),
    [
        ("en-GB", "en-US", "en-GB"),
        ("es-MX", "es-ES", "es-MX"),
        ("pt-PT", "pt-BR", "pt-PT"),
        ("fr-CA", "fr-FR", "fr-CA"),
        ("de-CH", "de-DE", "de-CH"),
        ("de-CH-1996", "de-DE", "de-CH"),
        ("zh-HK", "zh-TW", "zh-HK"),
        ("es-419", "es-ES", "es-419"),
        ("ja_JP.UTF-8", "ja-JP", "ja-JP"),
        ("de", "de-DE", "de-DE"),
        ("nb-NO", "sv-SE", "sv-SE"),
        ("yue-HK", "zh-TW", "zh-TW"),
    ],
)
def test_a_job_is_worded_by_the_nearest_catalog_and_formatted_in_its_own_locale(
    tag: str, catalog: str, formats: str
) -> None:
    """en-GB reads the en-US catalog with British formats; a related language (nb → sv) is formatted as the catalog,
    so the words and the dates of one message are one language."""
    assert choose(tag) == Choice(catalog, formats)


def test_an_en_gb_job_gets_british_dates_in_the_american_wording() -> None:
    """The fields of an en-GB job's message carry CLDR's en-GB date pattern and 24-hour clock."""
    event = Event("job.failed", T0, company(timezone="Europe/London"), job("en-GB"))
    message = render(decision(event))
    assert message.locale == "en-US"
    assert dict(message.fields)["Started"] == "14 Mar 2026, 09:05 GMT"


def test_traditional_chinese_job_is_told_in_traditional_chinese() -> None:
    """A job tagged zh-Hant-TW renders the zh-TW catalog, not Simplified Chinese."""
    message = render(decision(Event("job.failed", T0, company("zh-CN"), job("zh-Hant-TW"))))
    assert (message.locale, message.title) == ("zh-TW", "發佈工作「Spring catalog」執行失敗")


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
        ("xx-YY", "de-DE", "Veröffentlichungsauftrag „Spring catalog“ ist fehlgeschlagen"),
    ],
)
def test_a_requested_locale_is_negotiated_too(asked: str, locale: str, title: str) -> None:
    """A locale asked for explicitly (test-rule --locale) is rendered as a job in it would be: through the same
    fallbacks, and to the company's locale when we have nothing close to it."""
    message = render(decision(Event("job.failed", T0, company("de-DE"), job("de-DE"))), locale=asked)
    assert (message.locale, message.title) == (locale, title)


def test_source_language_needs_no_catalog() -> None:
    """en-US is the source language: its translations are the identity."""
    assert type(translations("en-US")) is gettext.NullTranslations
    assert translations("de-DE").gettext("Company") == "Unternehmen"
