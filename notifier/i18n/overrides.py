"""User template overrides: the `templates:` directory, read once and checked for its layout.

Sources are read when the renderer is built (start-up, SIGHUP), so rendering never touches the disk and what
`notifier check` validated is exactly what renders until the next reload, however the files change meanwhile.
Layout: `<part>.j2`, `<locale>/<part>.j2`, `<rule>/<part>.j2`, `<rule>/<locale>/<part>.j2`. Which top-level
folders are rules is only known beside the rules (`notifier check`): `unknown_folders` reports the others.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import BaseLoader, Environment, TemplateNotFound

from notifier.i18n import SUPPORTED, normalize, resolve

# `pt`, `en-GB`, `zh_Hant`, `xx-XX`: a folder written as a locale tag (language, script, region).
MAX_LISTED = 10  # rule names listed when no suggestion fits: enough to see the naming, not a wall of text
_LOCALE_SHAPED = re.compile(r"[a-z]{2,3}([-_][a-z]{4})?([-_]([a-z]{2}|[0-9]{3}))?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Overrides:
    """Template sources by loader name (`stalled-progress/ja-JP/title.j2`), with their files for messages."""

    directory: Path | None = None
    sources: Mapping[str, tuple[str, Path]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources)

    def path(self, name: str) -> Path | None:
        entry = self.sources.get(name)
        return entry[1] if entry else None


class SnapshotLoader(BaseLoader):
    """Serves the sources read at load time; the filename is the real path, so errors point at the file."""

    def __init__(self, overrides: Overrides) -> None:
        self.overrides = overrides

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        entry = self.overrides.sources.get(template)
        if entry is None:
            raise TemplateNotFound(template)
        source, path = entry
        return source, str(path), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.overrides.sources)


def load_overrides(directory: Path | None, parts: tuple[str, ...]) -> Overrides:
    """Every `*.j2` under `directory`; files that cannot be used are problems (`file:line: message`)."""
    if directory is None:
        return Overrides()
    if not directory.is_dir():
        return Overrides(directory, problems=(f"{directory}: templates directory does not exist",))
    sources: dict[str, tuple[str, Path]] = {}
    problems: list[str] = []
    for path in sorted(directory.rglob("*.j2")):
        name = path.relative_to(directory).as_posix()
        problem = layout_problem(name, parts)
        if problem:
            problems.append(f"{path}:1: {problem}")
            continue
        try:
            sources[name] = (path.read_text(encoding="utf-8"), path)
        except UnicodeDecodeError as exc:
            problems.append(f"{path}:1: not UTF-8 text ({exc.reason} at byte {exc.start})")
        except OSError as exc:
            problems.append(f"{path}: cannot be read: {exc.strerror or exc}")
    return Overrides(directory, sources, tuple(problems))


def layout_problem(name: str, parts: tuple[str, ...]) -> str | None:
    """Why a file would never be used, or None: the part name, the locale folder and the depth are checked."""
    *folders, file = name.split("/")
    part = file.removesuffix(".j2")
    if part not in parts:
        return f"unknown template part {part!r} (parts: {', '.join(parts)})"
    if len(folders) > 2:
        return "too deep: templates are <part>.j2, <locale>/<part>.j2, <rule>/<part>.j2 or <rule>/<locale>/<part>.j2"
    if len(folders) == 2 and folders[1] not in SUPPORTED:
        return _locale_problem(folders[1])
    if len(folders) == 1 and folders[0] not in SUPPORTED and normalize(folders[0]) in SUPPORTED:
        return _locale_problem(folders[0])  # `ja_JP/`, `ja-jp/`: meant as a locale, spelled so it never matches
    return None


def unknown_folders(overrides: Overrides, rules: Collection[str]) -> list[str]:
    """`folder: message` for each top-level folder that names neither a locale nor one of `rules`.

    Such a folder (`pt/`, `xx-XX/`, a misspelt `failed-publsh/`) is never looked up, so its templates would
    be silently unused. Reported once per folder, for `notifier check`, where the rule names are known.
    """
    if overrides.directory is None:
        return []
    folders = sorted({name.split("/")[0] for name in overrides.sources if "/" in name})
    return [
        f"{overrides.directory / folder}: {_folder_problem(folder, rules)}"
        for folder in folders
        if folder not in SUPPORTED and folder not in rules
    ]


def _folder_problem(folder: str, rules: Collection[str]) -> str:
    problem = f"folder {folder!r} names neither a locale nor a rule, so its templates are never used"
    suggestion = suggest_locale(folder) or _closest(folder, [*sorted(rules), *SUPPORTED])
    if suggestion:
        return f"{problem} (did you mean {suggestion!r}?)"
    names = sorted(rules)
    known = ", ".join(names[:MAX_LISTED]) + (f" … ({len(names)} rules)" if len(names) > MAX_LISTED else "")
    return f"{problem}; locales: {', '.join(SUPPORTED)}; rules: {known or 'none are loaded'}"


def suggest_locale(folder: str) -> str | None:
    """The locale a folder most likely meant: `pt` → pt-BR, `en-GB` → en-US, `jp` → ja-JP (a region alone)."""
    if not _LOCALE_SHAPED.fullmatch(folder):
        return None
    by_region = [locale for locale in SUPPORTED if locale.split("-")[1] == folder.upper()]
    return resolve(folder) or (by_region[0] if len(by_region) == 1 else None)


def _closest(name: str, choices: list[str]) -> str | None:
    """The choice nearest to a misspelling, case aside (`failed-publsh`, `Failed-Publish` → failed-publish)."""
    lowered = {choice.lower(): choice for choice in choices}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[found[0]] if found else None


def _locale_problem(folder: str) -> str:
    suggestion = normalize(folder) if normalize(folder) in SUPPORTED else suggest_locale(folder)
    hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
    return f"unknown locale folder {folder!r}{hint}; locales: {', '.join(SUPPORTED)}"
