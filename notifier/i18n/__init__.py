"""Locales: which of our catalogs a job's locale maps to, and the gettext translations for it.

Catalogs are the `.po` files under `locales/`, maintained with Babel's extract/update workflow (see README)
and compiled in memory when first used, so the package ships text files only and a catalog edit needs no
build step.
"""

from __future__ import annotations

import gettext
import io
import re
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED = (
    "en-US", "de-DE", "fr-FR", "es-ES", "it-IT", "pt-BR", "nl-NL", "sv-SE", "ja-JP", "ko-KR", "zh-CN", "zh-TW",
)  # fmt: skip
DEFAULT = "en-US"
# Where a language, script or region has no catalog of its own, the closest one that readers accept. Chinese is
# chosen by script before region: a Traditional (Hant) reader gets zh-TW wherever they are, a Simplified one zh-CN.
FALLBACKS = {
    "pt": "pt-BR", "zh": "zh-CN", "zh-Hans": "zh-CN", "zh-SG": "zh-CN",
    "zh-Hant": "zh-TW", "zh-HK": "zh-TW", "zh-MO": "zh-TW", "nb": "sv-SE",
}  # fmt: skip
LOCALES_DIR = Path(__file__).parent / "locales"
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_EXTLANG = re.compile(r"[a-z]{3}")
_SCRIPT = re.compile(r"[a-z]{4}")
_REGION = re.compile(r"[a-z]{2}|[0-9]{3}")


def normalize(tag: str) -> str:
    """`ja_jp`, `JA-jp`, `ja_JP.UTF-8` and `ja-JP` are the same locale; scripts keep their title case (`zh-Hant`)."""
    parts = re.split(r"[.@]", tag.strip(), maxsplit=1)[0].replace("_", "-").split("-")
    if not parts[0]:
        return ""
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(out)


def lookups(tag: str) -> tuple[str, ...]:
    """The keys to try for a tag, most specific first: full tag, language-Script, language-REGION, language.

    Variants, extensions and extended language subtags (`de-DE-u-co-phonebk`, `zh-yue-HK`) do not choose a
    catalog and are left out; a tag that does not start with a language gives nothing.
    """
    subtags = normalize(tag).split("-")
    if not _LANGUAGE.fullmatch(subtags[0]):
        return ()
    rest = [part.lower() for part in subtags[1:]]
    while rest and _EXTLANG.fullmatch(rest[0]):
        rest.pop(0)
    script = rest.pop(0).title() if rest and _SCRIPT.fullmatch(rest[0]) else None
    region = rest.pop(0).upper() if rest and _REGION.fullmatch(rest[0]) else None
    language = subtags[0]
    keys = (
        "-".join(filter(None, (language, script, region))),
        f"{language}-{script}" if script else None,
        f"{language}-{region}" if region else None,
        language,
    )
    return tuple(dict.fromkeys(key for key in keys if key))


def resolve(tag: str | None) -> str | None:
    """The supported locale for one tag, or None if we have nothing close to it."""
    keys = lookups(tag) if tag else ()
    for key in keys:
        if key in SUPPORTED:
            return key
        if key in FALLBACKS:
            return FALLBACKS[key]
    # Another region of a language we have (`de-AT`, `en-GB`, `fr-CA`) reads that language's catalog.
    language = keys[-1] if keys else None
    return next((locale for locale in SUPPORTED if locale.split("-")[0] == language), None)


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
