"""The gettext catalogs: every `.po` file under `locales/`, read and checked at once, compiled in memory.

The package ships text files only, so a catalog edit needs no build step. Catalogs are read when the renderer
is built (start-up, SIGHUP), all or nothing: a catalog that does not parse, or whose translation lost or
invented a placeholder, is a `file:line` problem and the running catalogs stay. Maintained with Babel's
extract/update workflow (`make catalogs`, see README).
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

from notifier import i18n
from notifier.i18n import DEFAULT, SUPPORTED
from notifier.sources.sourcemap import SourceError, SourceErrors

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: one object per reading
class Catalogs:
    """Compiled translations by supported locale; en-US, the source language, needs none."""

    by_locale: Mapping[str, gettext.NullTranslations] = field(default_factory=dict)

    def get(self, locale: str) -> gettext.NullTranslations:
        return self.by_locale.get(locale) or gettext.NullTranslations()


def catalog_dir(locale: str, root: Path | None = None) -> Path:
    return (root or i18n.LOCALES_DIR) / locale.replace("-", "_") / "LC_MESSAGES"


def load_catalogs(root: Path | None = None) -> Catalogs:
    """Every supported locale's catalog under `root` (the package's `locales/`), or SourceErrors naming each
    problem at its line."""
    compiled: dict[str, gettext.NullTranslations] = {}
    errors: list[SourceError] = []
    for locale in SUPPORTED:
        po = catalog_dir(locale, root) / "messages.po"
        if locale == DEFAULT or not po.exists():
            continue
        try:
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=locale.replace("-", "_"), abort_invalid=True)
        except PoFileError as exc:
            errors.append(SourceError(str(po), exc.lineno, f"not a valid catalog: {exc}"))
            continue
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            errors.append(SourceError(str(po), 0, f"cannot be read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        errors.extend(_placeholder_problems(catalog, po))
        compiled[locale] = _compile(catalog)
    if errors:
        raise SourceErrors(errors)
    return Catalogs(compiled)


def _placeholder_problems(catalog: Catalog, path: Path) -> list[SourceError]:
    """A translation must use exactly its source's `%(name)s` placeholders, or rendering it would fail."""
    problems = []
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        sources = message.id if isinstance(message.id, tuple | list) else (message.id,)
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        wanted = set().union(*(_PLACEHOLDER.findall(text) for text in sources))
        for form in filter(None, forms):
            if set(_PLACEHOLDER.findall(form)) != wanted:
                shown = ", ".join(f"%({name})s" for name in sorted(wanted)) or "none"
                problems.append(SourceError(str(path), message.lineno or 0, f"placeholders must be: {shown}"))
                break
    return problems


def _compile(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def shipped() -> Catalogs:
    """The package's catalogs as first read in this process (start-up, `check`, `test-rule`)."""
    return load_catalogs()


def translations(locale: str) -> gettext.NullTranslations:
    """The shipped translations of one supported locale."""
    return shipped().get(locale)
