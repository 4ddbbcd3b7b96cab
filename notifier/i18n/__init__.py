"""Locales: which of our catalogs words a job's message, and which CLDR locale formats it.

A message is worded by the nearest catalog we ship and formatted (dates, numbers, time zones) in the job's own
locale whenever CLDR knows it and it is the same language: an en-GB job reads the en-US catalog with British
dates, an es-MX job the es-ES catalog with Mexican numbers. Catalogs are the `.po` files under `locales/`
(see `catalogs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError

SUPPORTED = (
    "en-US", "de-DE", "fr-FR", "es-ES", "it-IT", "pt-BR", "nl-NL", "sv-SE", "ja-JP", "ko-KR", "zh-CN", "zh-TW",
)  # fmt: skip
DEFAULT = "en-US"
# Where a language, script or region has no catalog of its own, the closest one its readers read without effort
# (the README has this table). Chinese is chosen by script before region: a Traditional (Hant) reader gets zh-TW
# wherever they are, a Simplified one zh-CN. Norwegian (nb, nn, no) and Danish readers read Swedish; Frisian
# readers Dutch; Swiss German and Luxembourgish readers standard German; Cantonese is written in Traditional
# characters. Any other region of a language we have (de-AT, en-GB, fr-CA) reads that language's catalog.
FALLBACKS = {
    "pt": "pt-BR", "zh": "zh-CN", "zh-Hans": "zh-CN", "zh-SG": "zh-CN",
    "zh-Hant": "zh-TW", "zh-HK": "zh-TW", "zh-MO": "zh-TW", "yue": "zh-TW", "yue-Hans": "zh-CN",
    "nb": "sv-SE", "nn": "sv-SE", "no": "sv-SE", "da": "sv-SE",
    "fy": "nl-NL", "gsw": "de-DE", "lb": "de-DE",
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


@dataclass(frozen=True, slots=True)
class Choice:
    """How one message is written: `catalog` (a supported locale) words it, `formats` (a CLDR locale) formats it."""

    catalog: str
    formats: str

    @property
    def formatted_apart(self) -> bool:
        """Formatted in a locale other than the catalog's own (an en-GB job worded by en-US)."""
        return self.formats != self.catalog


@lru_cache(maxsize=4096)  # every notification asks, with one of the few locales a fleet uses
def choose(*candidates: str | None) -> Choice:
    """The first candidate we can serve (job locale, then company locale), else en-US; formatted in its own locale."""
    for candidate in candidates:
        found = resolve(candidate)
        if found:
            return Choice(found, formatting_locale(candidate or "", found))
    return Choice(DEFAULT, DEFAULT)


def negotiate(*candidates: str | None) -> str:
    """The catalog of the first candidate we can serve (job locale, then company locale), else en-US."""
    return choose(*candidates).catalog


def formatting_locale(tag: str, catalog: str) -> str:
    """`tag` itself (normalized) when CLDR knows it with its region or script and it is the catalog's language;
    else the catalog's locale, so the words and the formatted values of one message speak one language."""
    language = catalog.split("-")[0]
    for key in lookups(tag)[:-1]:  # the bare language (`de`, `en`) is the catalog's own locale anyway
        if key.split("-")[0] == language and known_to_cldr(key):
            return key
    return catalog


@cache
def known_to_cldr(tag: str) -> bool:
    try:
        Locale.parse(tag, sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return False
    return True


def tag_problem(tag: str) -> str | None:
    """Why `tag` is not a locale tag (`en-US`, `ja-JP`, `zh-Hant-TW`), with the tag probably meant; None if it is."""
    keys = lookups(tag)
    if keys and known_to_cldr(keys[-1]) and not re.search(r"[^A-Za-z0-9_.@-]", tag):
        return None
    meant = _meant(tag)
    hint = f" (did you mean {meant!r}?)" if meant else ""
    return f"{tag!r} is not a locale tag such as en-US, de-DE or ja-JP{hint}"


def _meant(word: str) -> str | None:
    """The tag for a language written as its name, in English or in itself: `english` → en-US, `Deutsch` → de-DE."""
    wanted = word.strip().casefold()
    for code, name in _language_names():
        if name.casefold() == wanted:
            catalog = resolve(code)
            return catalog if catalog and catalog.split("-")[0] == code else code
    return None


@cache
def _language_names() -> tuple[tuple[str, str], ...]:
    """(language code, name): every language's English name, and each supported language's name for itself."""
    english = [(code, name) for code, name in Locale("en").languages.items() if "_" not in code]
    own = [(locale.split("-")[0], Locale.parse(locale, sep="-").get_language_name() or "") for locale in SUPPORTED]
    return tuple((code, name) for code, name in english + own if name)
