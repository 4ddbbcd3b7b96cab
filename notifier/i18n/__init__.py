"""Locales: which of our catalogs a job's locale maps to, and the gettext translations for it.

Catalogs are the `.po` files under `locales/`, maintained with Babel's extract/update workflow (see README)
and compiled in memory when first used, so the package ships text files only and a catalog edit needs no
build step.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED = (
    "en-US", "de-DE", "fr-FR", "es-ES", "it-IT", "pt-BR", "nl-NL", "sv-SE", "ja-JP", "ko-KR", "zh-CN", "zh-TW",
)  # fmt: skip
DEFAULT = "en-US"
# Where a language or region has no catalog of its own, the closest one that readers accept.
FALLBACKS = {
    "pt": "pt-BR", "pt-PT": "pt-BR", "zh": "zh-CN", "zh-Hans": "zh-CN", "zh-SG": "zh-CN",
    "zh-Hant": "zh-TW", "zh-HK": "zh-TW", "zh-MO": "zh-TW", "nb": "sv-SE",
}  # fmt: skip
LOCALES_DIR = Path(__file__).parent / "locales"


def normalize(tag: str) -> str:
    """`ja_jp`, `JA-jp` and `ja-JP` are the same locale; scripts keep their title case (`zh-Hant`)."""
    parts = tag.strip().replace("_", "-").split("-")
    if not parts or not parts[0]:
        return ""
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(out)


def resolve(tag: str | None) -> str | None:
    """The supported locale for one tag, or None if we have nothing close to it."""
    if not tag:
        return None
    tag = normalize(tag)
    if tag in SUPPORTED:
        return tag
    if tag in FALLBACKS:
        return FALLBACKS[tag]
    language = tag.split("-")[0]
    if language in FALLBACKS:
        return FALLBACKS[language]
    for supported in SUPPORTED:
        if supported.split("-")[0] == language:
            return supported
    return None


def negotiate(*candidates: str | None) -> str:
    """First candidate we can serve (job locale, then company locale), else en-US."""
    for candidate in candidates:
        found = resolve(candidate)
        if found:
            return found
    return DEFAULT


def catalog_dir(locale: str) -> Path:
    return LOCALES_DIR / locale.replace("-", "_") / "LC_MESSAGES"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """Compiled translations for a supported locale; en-US is the source language and needs none."""
    po = catalog_dir(locale) / "messages.po"
    if locale == DEFAULT or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale.replace("-", "_"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
