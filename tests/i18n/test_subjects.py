"""Email subjects survive the wire: every subject the default templates write, in every locale, read back by a
real parser (the standard library's, with its modern policy) is exactly the text that was rendered."""

from __future__ import annotations

from dataclasses import replace
from email.parser import BytesParser
from email.policy import default

import pytest

from notifier.channels.email import build_message
from notifier.engine.evaluate import Decision
from notifier.i18n import SUPPORTED
from tests.support.i18n import RENDERER, headline_cases, shipped_decisions

# Long names force the subject to fold across lines, where Python 3.11 used to drop the space between two
# encoded words („Name“läuft); French no-break spaces and CJK text must come through as they are.
LONG = "Full catalog republish for the summer season 2026, every regional variant included"
NAMES = [LONG, pytest.param("Spring catalog", marks=pytest.mark.slow)]
LOCALES = (*SUPPORTED, "en-GB", "fr-CA", "de-CH", "pt-PT", "zh-HK")


def subjects(locale: str, name: str) -> list[tuple[str, str]]:
    """(what, rendered title) for every headline case and every shipped rule's decision, for a job `name`."""
    cases: list[tuple[str, Decision]] = [*headline_cases(locale).items()]
    cases += [(f"{d.rule.name}/{d.status}", d) for d in shipped_decisions(locale)]
    out = []
    for what, decision in cases:
        event = decision.event
        if event.job is not None:
            event = replace(event, job=replace(event.job, original_name=name))
        out.append((what, RENDERER.render(replace(decision, event=event)).notification.message.title))
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_subject_round_trips_through_a_real_mail_parser(locale: str, name: str) -> None:
    """Serialized as the email channel sends it and parsed back, each subject equals the rendered title,
    spaces, no-break spaces and punctuation included."""
    decision = next(iter(headline_cases(locale).values()))
    notification = RENDERER.render(decision).notification
    wrong = []
    for what, title in subjects(locale, name):
        message = replace(notification.message, title=title)
        raw = build_message(replace(notification, message=message), "DMC <notifier@example.com>", ["a@example.com"])
        parsed = BytesParser(policy=default).parsebytes(raw.as_bytes())
        if parsed["Subject"] != title:
            wrong.append((what, title, str(parsed["Subject"])))
    assert wrong == []


def test_french_subjects_keep_their_no_break_spaces() -> None:
    """« Spring catalog » keeps U+00A0 inside the guillemets after the round trip, not a breakable space."""
    titles = [title for _, title in subjects("fr-FR", LONG) if "«" in title]
    assert titles
    assert all("«\u00a0" in title and "\u00a0»" in title for title in titles)
