"""Offline rule tooling: `test-rule` (which rules fire for recorded events) and `schema rules`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from notifier.commands.preview import GroupPreview
from notifier.compose.render import Rendered, Renderer
from notifier.engine.evaluate import Engine
from notifier.engine.rules import RuleSpec, load_rules
from notifier.i18n import DEFAULT, SUPPORTED, choose, normalize, resolve
from notifier.models import Event, Message, Notification
from notifier.models.codec import event_from_dict
from notifier.sources.sourcemap import SourceError, SourceErrors


def read_events(event_file: Path | None, replay: Path | None) -> list[Event]:
    """`--event` holds one event (or a list); `--replay` holds JSON lines as `notifier watch` prints them.

    Raises SourceErrors (`file:line: message`) for unreadable files, bad JSON and objects that are not events.
    """
    path = event_file or replay
    if path is None:
        raise ValueError("give --event or --replay")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceErrors(
            [SourceError(str(path), 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}")]
        ) from None
    if event_file is not None:
        return _events(path, [(1, text)], whole=True)
    return _events(path, [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()], whole=False)


def _events(path: Path, chunks: list[tuple[int, str]], *, whole: bool) -> list[Event]:
    events: list[Event] = []
    errors: list[SourceError] = []
    for number, chunk in chunks:
        try:
            data = json.loads(chunk)
        except json.JSONDecodeError as exc:
            errors.append(SourceError(str(path), exc.lineno if whole else number, f"not JSON: {exc.msg}"))
            continue
        for item in data if whole and isinstance(data, list) else [data]:
            try:
                events.append(_event(item))
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                errors.append(SourceError(str(path), number, f"not an event ({type(exc).__name__}: {exc})"))
    if errors:
        raise SourceErrors(errors)
    return events


def _event(item: Any) -> Event:
    if not isinstance(item, dict) or not isinstance(item.get("kind"), str) or not item.get("at"):
        raise ValueError("expected an object with at least 'kind', 'at' and 'company', as `notifier watch` prints")
    return event_from_dict(item)


def run_test_rule(
    rules_path: Path,
    events: Iterable[Event],
    *,
    locales: list[str] | None,
    templates: Path | None,
    out: TextIO | None = None,
) -> int:
    """Print, in order, each firing and resolution with its rendered message(s); send nothing."""
    out = out or sys.stdout  # looked up per call: the default must follow a redirected sys.stdout
    try:
        rules = load_rules(rules_path, channels=None)
        renderer = Renderer(templates)  # reads the catalogs too: an edited one that is broken is said here
    except SourceErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    engine = Engine(rules)
    problems = renderer.check(rules=rules.names)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    count = 0
    preview = GroupPreview(rules, renderer.catalogs, locales[0] if locales else None, lambda n: _print_digest(n, out))
    for event in events:
        preview.until(event.at)
        result = engine.evaluate(event)
        for failure in result.errors:
            about = failure.job if failure.job.startswith("schedule:") else f"job {failure.job}"
            print(f"rule {failure.rule} failed on {event.kind} ({about}): {failure.message}", file=out)
        for decision in result.decisions:
            count += 1
            grouped = preview.grouped_channels(decision)
            channels = ", ".join(
                t.channel + (" (grouped)" if t.channel in grouped else "") for t in decision.rule.notify
            )
            print(
                f"{decision.status.upper():9} {decision.rule.name}  company={decision.event.company.handle} "
                f"{_about(decision.event)}  at={event.at.isoformat()}  key={decision.key}  → {channels}",
                file=out,
            )
            for locale in locales or [None]:  # type: ignore[list-item]
                _print_message(renderer.render(decision, locale=locale), out)
            if grouped:
                preview.join(decision, renderer.render(decision).notification)
    preview.until(None)
    print(f"{count} notification(s)", file=out)
    return 0


def _print_digest(digest: Notification, out: TextIO) -> None:
    """A digest as a grouped target would send it, at the time it would be due."""
    group = digest.group
    labels = " ".join(f"{name}={value}" for name, value in group.labels) if group else ""
    size = len(group.alerts) if group else 0
    print(f"DIGEST    {digest.rule}  {labels or '(one group)'}  at={digest.created_at.isoformat()}  "
          f"alerts={size}  key={digest.key}", file=out)  # fmt: skip
    _print_text(digest.message, (), out)


def _about(event: Event) -> str:
    """`job=HANDLE`, or `schedule=HANDLE` for a schedule's own events (also naming the run that ended one)."""
    job = f"job={event.job.job_handle if event.job else '-'}"
    if event.schedule is not None and event.kind.startswith("schedule."):
        return f"schedule={event.schedule.key}" + (f" {job}" if event.job else "")
    return job


def _print_message(rendered: Rendered, out: TextIO) -> None:
    _print_text(rendered.notification.message, rendered.problems, out)


def _print_text(message: Message, problems: Sequence[str], out: TextIO) -> None:
    """The title after its locale, then the text (which repeats the title) indented for review."""
    print(f"  [{message.locale}] {message.title}", file=out)
    for line in message.text.splitlines()[1:]:
        print(f"    {line}" if line else "", file=out)
    for problem in problems:
        print(f"    ! template failed, fallback used: {problem}", file=out)


def resolve_locales(locale: str | None, all_locales: bool) -> list[str] | None:
    """The locales to render as: every catalog, the one `--locale` asks for, or (None) each job's own.

    A locale without a catalog of its own is rendered as a job in it would be, and a note on stderr says how.
    """
    if all_locales:
        return list(SUPPORTED)
    if not locale:
        return None
    note = locale_note(locale)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return [locale]


def locale_note(asked: str) -> str | None:
    """How a job in `asked` is written, when that is not simply the catalog of that name."""
    catalog = resolve(asked)
    if catalog is None:
        return (
            f"there is no catalog for {asked!r}: a job in that locale is written in its company's locale, "
            f"else {DEFAULT} (each message below shows which)"
        )
    choice = choose(asked)
    if normalize(asked) == catalog:
        return None
    if choice.formatted_apart:
        return f"{asked!r} is worded with the {catalog} catalog and formatted as {choice.formats}, as a job would be"
    return f"{asked!r} has no catalog of its own: it is worded and formatted as {catalog}, as a job would be"


def rules_schema() -> dict[str, Any]:
    """JSON Schema of a rule file (a list of rules, or `rules:` holding one), for editor completion."""
    rule = RuleSpec.model_json_schema(by_alias=True)
    defs = rule.pop("$defs", {})
    defs["Rule"] = rule
    ref = {"$ref": "#/$defs/Rule"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dmc-notifier rules",
        "oneOf": [
            {"type": "array", "items": ref},
            {
                "type": "object",
                "properties": {"rules": {"type": "array", "items": ref}},
                "required": ["rules"],
                "additionalProperties": False,
            },
        ],
        "$defs": defs,
    }
