"""Headlines: every sentence the default templates write comes out translated in every locale."""

from __future__ import annotations

import pytest

from notifier.i18n import DEFAULT, SUPPORTED
from tests.support.i18n import HEADLINES, TRANSLATED, headline_cases, render

ENGLISH = {case: render(decision).title for case, decision in headline_cases(DEFAULT).items()}


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("case", HEADLINES)
def test_headline_is_translated(locale: str, case: str) -> None:
    """No headline falls back to English, and the job or company it is about is still named."""
    title = render(headline_cases(locale)[case]).title
    assert title != ENGLISH[case]
    assert "Spring catalog" in title or "Planetary" in title


@pytest.mark.parametrize("locale", SUPPORTED)
def test_unreachable_company_keeps_api_name_and_error(locale: str) -> None:
    """The IPS API keeps its name in every language, and the last error is shown after a localized label."""
    message = render(headline_cases(locale)["unreachable"])
    assert "IPS" in message.title
    assert "API" in message.title
    assert "Planetary" in message.title
    assert message.summary is not None
    assert message.summary.splitlines()[-1].endswith("Connection refused")
    assert message.html is not None
    assert "Connection refused</p>" in message.html


def test_english_headlines_read_as_written_in_the_templates() -> None:
    """The source language renders the msgids themselves, placeholders filled in."""
    assert ENGLISH["stalled"] == "Job “Spring catalog” has made no progress for 15\u00a0minutes"
    assert ENGLISH["progressing_again"] == "Resolved: Job “Spring catalog” is progressing again"
    assert ENGLISH["unreachable"] == "The IPS API is unreachable for company Planetary"
