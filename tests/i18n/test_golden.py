"""Golden files: one failed-publish notification per locale, exactly as the renderer hands it to channels.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/i18n` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from notifier.i18n import SUPPORTED
from notifier.models import Message
from tests.support.i18n import failed_publish, render

GOLDEN = Path(__file__).parent / "golden"


def transcript(message: Message) -> str:
    fields = "\n".join(f"{label} = {value}" for label, value in message.fields)
    parts = [
        f"locale: {message.locale}",
        f"--- title\n{message.title}",
        f"--- summary\n{message.summary}",
        f"--- text\n{message.text}",
        f"--- html\n{message.html}",
        f"--- fields\n{fields}",
    ]
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_failed_publish_matches_golden_file(locale: str) -> None:
    """Title, text, HTML and fields of a failed publish job render exactly as reviewed for the locale."""
    path = GOLDEN / f"{locale}.txt"
    actual = transcript(render(failed_publish(locale)))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.is_file(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest tests/i18n"
    assert actual == path.read_text(encoding="utf-8")
