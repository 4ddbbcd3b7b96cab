"""Catalogs: every message translated in every locale with its placeholders intact, and the template current."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from jinja2.ext import extract_from_ast

from notifier.i18n import DEFAULT, LOCALES_DIR, SUPPORTED
from tests.support.i18n import (
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

TEMPLATES = PROJECT / "notifier" / "compose" / "templates"
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
# Translations that are rightly the English word itself, reviewed one by one.
LABEL_LINE = "%(label)s: %(value)s"  # the plain-text "Company: Planetary" line, where the colon is the same
SAME_AS_ENGLISH = {
    "de-DE": {"Information", LABEL_LINE},
    "fr-FR": {"Type", "Information"},
    "es-ES": {LABEL_LINE},
    "it-IT": {LABEL_LINE},
    "pt-BR": {LABEL_LINE},
    "nl-NL": {"Job", "Type", LABEL_LINE},
    "sv-SE": {"Information", LABEL_LINE},
    "ko-KR": {LABEL_LINE},
}


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
def test_catalog_header_is_not_fuzzy(locale: str) -> None:
    """A fuzzy header marks the whole catalog unreviewed; tools then skip it."""
    assert not catalog(locale).fuzzy


@pytest.mark.parametrize("locale", TRANSLATED)
def test_english_left_in_place_only_where_reviewed(locale: str) -> None:
    """A translation equal to its English source is a forgotten one, unless the language really says it so."""
    same = {
        key[0]
        for key, entry in entries(catalog(locale)).items()
        if any(form in sources(entry) for form in forms(entry))
    }
    assert same == SAME_AS_ENGLISH.get(locale, set())


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


def catalogs_recipe(pot: Path, locales: Path) -> list[list[str]]:
    """The `catalogs` make target's commands, run with this interpreter and writing to scratch paths."""
    text = (PROJECT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    recipe = text.split("\ncatalogs:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    commands = []
    for line in recipe:
        words = shlex.split(line.replace("notifier/i18n/locales/messages.pot", str(pot)))
        words = [str(locales) if w == "notifier/i18n/locales" else w for w in words]
        assert words[0] == "$(BIN)/pybabel", line
        commands.append([sys.executable, "-m", "babel.messages.frontend", *words[1:]])
    return commands


def run_catalogs_target(tmp_path: Path) -> tuple[Path, Path]:
    """Run extract → update as `make catalogs` does, on a copy of the catalogs; returns (template, catalogs)."""
    pot, locales = tmp_path / "messages.pot", tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    for command in catalogs_recipe(pot, locales):
        subprocess.run(command, cwd=PROJECT, check=True, capture_output=True)
    return pot, locales


@pytest.fixture(scope="module")
def catalogs_target(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return run_catalogs_target(tmp_path_factory.mktemp("catalogs"))


def test_catalogs_target_leaves_every_translation_as_reviewed(catalogs_target: tuple[Path, Path]) -> None:
    """`make catalogs` on the committed sources changes no translation and leaves nothing fuzzy or empty."""
    _, locales = catalogs_target
    changed = []
    for locale in TRANSLATED:
        fresh = load_catalog(locales / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po")
        before = {k: forms(e) for k, e in entries(catalog(locale)).items()}
        after = {k: forms(e) for k, e in entries(fresh).items()}
        fuzzy = [k for k, e in entries(fresh).items() if e.fuzzy]
        if before != after or fuzzy:
            changed.append((locale, sorted(set(after.items()) ^ set(before.items())), fuzzy))
    assert changed == []


def test_template_is_up_to_date_with_the_sources(catalogs_target: tuple[Path, Path], template: Catalog) -> None:
    """Extracting the sources again yields the committed template: a new string without a catalog update fails."""
    extracted = entries(load_catalog(catalogs_target[0]))
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
