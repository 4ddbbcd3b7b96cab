"""Catalogs: every message translated in every locale with its placeholders intact, and the template current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from jinja2.ext import extract_from_ast

from notifier.i18n import DEFAULT, SUPPORTED
from tests.i18n.support import (
    POT,
    PROJECT,
    RENDERER,
    TRANSLATED,
    entries,
    forms,
    load_catalog,
    placeholders,
    po_path,
    sources,
)

TEMPLATES = PROJECT / "notifier" / "templates"
# The gettext plural rule each language needs (CLDR, as GNU gettext writes it).
PLURAL_FORMS = {
    "de-DE": "nplurals=2; plural=(n != 1);",
    "fr-FR": "nplurals=2; plural=(n > 1);",
    "es-ES": "nplurals=2; plural=(n != 1);",
    "it-IT": "nplurals=2; plural=(n != 1);",
    "pt-BR": "nplurals=2; plural=(n > 1);",
    "nl-NL": "nplurals=2; plural=(n != 1);",
    "sv-SE": "nplurals=2; plural=(n != 1);",
    "ja-JP": "nplurals=1; plural=0;",
    "ko-KR": "nplurals=1; plural=0;",
    "zh-CN": "nplurals=1; plural=0;",
    "zh-TW": "nplurals=1; plural=0;",
}
# The extraction the `catalogs` make target runs, written to a scratch file instead of the real template.
EXTRACT = ["extract", "-F", "babel.cfg", "-c", "Translators:", "-s", "--no-wrap", "notifier"]


@pytest.fixture(scope="module")
def template() -> Catalog:
    return load_catalog(POT)


def catalog(locale: str) -> Catalog:
    return load_catalog(po_path(locale), locale.replace("-", "_"))


def test_every_supported_locale_but_the_source_has_a_catalog() -> None:
    """Each supported locale except en-US (the source language) ships a catalog file."""
    assert sorted(TRANSLATED) == sorted(set(SUPPORTED) - {DEFAULT}) == sorted(PLURAL_FORMS)
    assert [locale for locale in TRANSLATED if not po_path(locale).is_file()] == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_holds_exactly_the_template_messages(locale: str, template: Catalog) -> None:
    """A locale's catalog has every message of the template and none the template no longer has."""
    assert sorted(map(str, entries(catalog(locale)))) == sorted(map(str, entries(template)))


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_and_reviewed(locale: str) -> None:
    """No message is empty, fuzzy or short of a plural form, so no reader gets English by accident."""
    po = catalog(locale)
    problems = []
    for key, entry in entries(po).items():
        expected = po.num_plurals if entry.pluralizable else 1
        if entry.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        if len(forms(entry)) != expected or not all(form.strip() for form in forms(entry)):
            problems.append(f"untranslated or missing plural forms: {key!r}")
    assert problems == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_every_placeholder(locale: str) -> None:
    """Each translation uses exactly its source's %(name)s placeholders, in any order, and formats cleanly."""
    problems = []
    for key, entry in entries(catalog(locale)).items():
        names = set[str]().union(*(placeholders(text) for text in sources(entry)))
        for form in forms(entry):
            if placeholders(form) != names:
                problems.append(f"{key!r}: {sorted(placeholders(form))} != {sorted(names)}")
            try:
                form % dict.fromkeys(names, "x")  # Jinja's newstyle gettext formats every message like this
            except (KeyError, ValueError, TypeError) as exc:
                problems.append(f"{key!r}: {form!r} does not format: {exc}")
    assert problems == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_forms_header_fits_the_language(locale: str) -> None:
    """The Plural-Forms header is the language's rule: one form for ja/ko/zh, 0 and 1 singular for fr/pt-BR."""
    assert catalog(locale).plural_forms == PLURAL_FORMS[locale]


def test_template_is_up_to_date_with_the_sources(tmp_path: Path, template: Catalog) -> None:
    """Extracting the sources again yields the committed template: a new string without a catalog update fails."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *EXTRACT, "-o", str(fresh)],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    )
    extracted = entries(load_catalog(fresh))
    committed = entries(template)
    missing = sorted(map(str, extracted.keys() - committed.keys()))
    stale = sorted(map(str, committed.keys() - extracted.keys()))
    assert (missing, stale) == ([], []), "run the `catalogs` make target and translate the new messages"
    assert {k: e.python_format for k, e in extracted.items()} == {k: e.python_format for k, e in committed.items()}


def test_renderer_looks_up_the_extracted_msgids(template: Catalog) -> None:
    """The renderer's Jinja environment asks gettext for exactly the msgids extraction wrote for the templates."""
    env = RENDERER.environment("en-US")
    looked_up: set[tuple[str, ...]] = set()
    for path in TEMPLATES.rglob("*.j2"):
        for _, _, message in extract_from_ast(env.parse(path.read_text(encoding="utf-8"))):
            looked_up.add(tuple(s for s in (message if isinstance(message, tuple) else (message,)) if s))
    from_templates = {
        key for key, entry in entries(template).items() if any("templates/" in file for file, _ in entry.locations)
    }
    assert sorted(looked_up) == sorted(from_templates)
