"""Decisions → notifications: every message rendered once, in the job's locale, when it is decided.

Templates are sandboxed Jinja with gettext (`{% trans %}`), looked up most specific first so users can
override any part per rule and per locale from the `templates:` directory:
`<rule>/<locale>/<part>.j2`, `<rule>/<part>.j2`, `<locale>/<part>.j2`, `<part>.j2` — then the same chain in
the package's defaults. Parts: `headline`, `title`, `summary`, `text`, `html` (email alternative).

A template that fails while rendering never costs the notification: that part is rendered again from the
built-in templates (and, should those fail too, from a minimal text), and the failure is logged and returned.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial
from gettext import NullTranslations
from pathlib import Path
from typing import Any

import structlog
from jinja2 import BaseLoader, ChoiceLoader, PackageLoader, Template, TemplateSyntaxError, Undefined, meta
from jinja2.sandbox import SandboxedEnvironment

from notifier.compose.parts import Parts
from notifier.engine.context import Views
from notifier.engine.evaluate import Decision
from notifier.i18n import Choice, choose
from notifier.i18n.catalogs import Catalogs, shipped
from notifier.i18n.formatting import Formatter, is_zone
from notifier.i18n.labels import state_name, type_name
from notifier.i18n.message_fields import STALLED, fields, job_ended, links
from notifier.i18n.overrides import Overrides, SnapshotLoader, load_overrides, unknown_folders
from notifier.models import Event, Message, Notification
from notifier.models.codec import Snapshots, to_jsonable
from notifier.models.notifications import JobJson

log = structlog.get_logger(__name__)
# Rendered in this order; each part sees the ones before it (`title` builds on `headline`, `text` on both).
PARTS = ("headline", "title", "summary", "text", "html")
MAX_DETAILS = 10


@dataclass(frozen=True, slots=True)
class Rendered:
    notification: Notification
    targets: tuple[tuple[str, tuple[str, ...]], ...]
    problems: tuple[str, ...] = ()  # `file:line: …` for each template that failed and was replaced


def choice_for(event: Event, asked: str | None = None) -> Choice:
    """The job's locale (or `asked`, as if the job were in it), else its schedule's, else the company's, else
    en-US; a schedule's own events speak the schedule's locale (or `asked`)."""
    schedule = event.schedule.locale if event.schedule else None
    if event.kind.startswith("schedule."):
        return choose(asked or schedule, event.company.locale)
    return choose(asked or (event.job.locale if event.job else None), schedule, event.company.locale)


def locale_for(event: Event) -> str:
    """The catalog a notification about `event` is worded in."""
    return choice_for(event).catalog


class Renderer:
    """Holds one Jinja environment per locale (and one of built-ins only, to fall back on); templates compile
    once and are cached by Jinja."""

    def __init__(
        self,
        templates_dir: Path | None = None,
        catalogs: Catalogs | None = None,
        *,
        status_url: str | None = None,
        html_channels: Collection[str] | None = None,
    ) -> None:
        """`status_url` is the status page as people reach it (`http.public_url`); messages then link to it.
        `catalogs` are the translations to speak (the package's as first read, unless a reload read them anew).
        `html_channels` are the channels that send the `html` part (email): a notification going to none of
        them is rendered without it (the costliest part, and the largest stored); None renders it always."""
        self.templates_dir = templates_dir
        self.catalogs = catalogs or shipped()
        self.status_url = status_url
        self.html_channels = None if html_channels is None else frozenset(html_channels)
        self.overrides: Overrides = load_overrides(templates_dir, PARTS)
        self._envs: dict[tuple[str, bool], SandboxedEnvironment] = {}
        self._available: dict[bool, frozenset[str]] = {}
        self._parts = Parts()
        self._views = Views()
        self._snapshot = Snapshots()
        self._formatters: dict[tuple[str, str], Formatter] = {}  # each remembers what it formatted

    def environment(self, locale: str, *, builtin: bool = False) -> SandboxedEnvironment:
        key = (locale, builtin or not self.overrides)
        env = self._envs.get(key)
        if env is None:
            overrides = None if key[1] else self.overrides
            env = self._envs[key] = _environment(overrides, self.catalogs.get(locale))
        return env

    def render(self, decision: Decision, *, locale: str | None = None) -> Rendered:
        """The notification as a job in `locale` would get it (else in the job's own locale); never raises for a
        template's fault."""
        choice = choice_for(decision.event, locale)
        locale = choice.catalog
        context = self.context(decision, choice)
        problems: list[str] = []
        for part in PARTS if self._wants_html(decision) else PARTS[:-1]:
            text = self._part(decision, locale, part, context, problems).strip()
            context[part] = _one_line(text) if part in ("headline", "title") else text
        message = Message(
            locale=locale,
            title=context["title"],
            text=context["text"],
            html=context.get("html") or None,
            fields=context["fields"],
            summary=context["summary"],
            links=context["links"],
        )
        notification = _notification(decision, message, _job_json(context, self._snapshot), self._snapshot)
        targets = tuple((t.channel, _recipients(t.to, context, decision)) for t in decision.rule.notify)
        return Rendered(notification, targets, tuple(problems))

    def _wants_html(self, decision: Decision) -> bool:
        wanted = self.html_channels
        return wanted is None or any(target.channel in wanted for target in decision.rule.notify)

    def render_bare(self, decision: Decision) -> Rendered:
        """Without templates, formatting or field views: what goes out when `render` itself failed (a bug, or
        data no formatter foresaw). A plain message beats none; rule `to:` recipients need the context and
        are dropped, the channels' own recipients still apply."""
        event = decision.event
        name = _subject_name(event)
        title = " ".join(filter(None, (decision.rule.description or decision.rule.name, name)))
        lines = [title, "", f"{event.kind} · {event.company.handle} · {event.at.isoformat()}"]
        message = Message(locale="en-US", title=title, text="\n".join(lines))
        notification = _notification(decision, message, to_jsonable(event.job) if event.job else None)
        return Rendered(notification, tuple((t.channel, ()) for t in decision.rule.notify), ())

    def context(self, decision: Decision, choice: Choice | str) -> dict[str, Any]:
        """What templates see: the event's data, the rule, formatting in `choice.formats` and names in its catalog."""
        choice = choice if isinstance(choice, Choice) else Choice(choice, choice)
        locale = choice.catalog
        event = decision.event
        base = dict(self._views.context(event))
        rule = decision.rule
        lines = [d.log_message for d in event.details if d.log_message]
        total = max(len(lines), (event.log.detail_total_rows or 0) if event.log else 0)
        base.update(
            rule={"name": rule.name, "severity": rule.severity, "description": rule.description},
            status=decision.status,
            cause=decision.cause,
            locale=locale,
            format_locale=choice.formats,
            fmt=self._formatter(choice.formats, event.company.timezone or "UTC"),
            schedule_fmt=self._formatter(choice.formats, _schedule_zone(event)),
            translations=self.catalogs.get(locale),  # not `gettext`: that name is Jinja’s own {% trans %}
            type_name=partial(type_name, locale=locale, catalogs=self.catalogs),
            state_name=partial(state_name, locale=locale, catalogs=self.catalogs),
            stall_threshold=STALLED,
            job_name=_job_name(event),
            schedule_name=event.schedule.label if event.schedule else "",
            company_name=event.company.name or event.company.handle,
            details=lines[:MAX_DETAILS],
            more_details=total - min(len(lines), MAX_DETAILS),
            stalled_since=event.at - timedelta(seconds=event.stalled_seconds) if event.stalled_seconds else None,
        )
        base["ended"] = job_ended(base)
        base["fields"] = fields(base)
        base["links"] = links(base, self.status_url)
        return base

    def _formatter(self, locale: str, timezone: str) -> Formatter:
        found = self._formatters.get((locale, timezone))
        if found is None:
            found = self._formatters[(locale, timezone)] = Formatter(locale, timezone)
        return found

    def _part(self, decision: Decision, locale: str, part: str, context: Mapping[str, Any], problems: list[str]) -> str:
        names = candidates(decision.rule.name, locale, part)
        for builtin in (False, True) if self.overrides else (True,):
            try:
                key = (decision.rule.name, locale, part, builtin)
                template = self._parts.choose(key, functools.partial(self._select, locale, builtin, names))
                return self._parts.render(template, context)
            except Exception as exc:  # whatever a template does wrong, the notification goes out
                problems.append(_report(exc, decision, locale, part, builtin=builtin))
        return _minimal(part, context)

    def _select(self, locale: str, builtin: bool, names: list[str]) -> Template:
        """The first candidate that exists, from names listed once: no file system probe per render."""
        env = self.environment(locale, builtin=builtin)
        key = builtin or not self.overrides
        available = self._available.get(key)
        if available is None:
            available = self._available[key] = frozenset(env.list_templates())
        return env.get_template(next((name for name in names if name in available), names[-1]))

    def check(self, rules: Collection[str] | None = None) -> list[str]:
        """`file:line: message` for every user template that cannot be used, for `notifier check`.

        Given the configured rule names, a top-level folder that names neither a locale nor a rule is one too;
        without them (rules not loaded) such a folder cannot be told from a rule's and passes.
        """
        problems = list(self.overrides.problems)
        if rules is not None:
            problems.extend(unknown_folders(self.overrides, rules))
        if not self.overrides:
            return problems
        env = self.environment("en-US")
        for name in sorted(self.overrides.sources):
            path = self.overrides.path(name)
            try:
                env.get_template(name)
            except TemplateSyntaxError as exc:
                problems.append(f"{path}:{exc.lineno}: {exc.message}")
                continue
            problems.extend(_missing_includes(env, name, path))
        return problems


def _missing_includes(env: SandboxedEnvironment, name: str, path: Path | None) -> list[str]:
    """`{% include "x.j2" %}` of a template that exists nowhere would only fail when a notification renders."""
    if env.loader is None:  # every environment here has one; without, there is nothing to check
        return []
    source = env.loader.get_source(env, name)[0]
    problems = []
    for ref in meta.find_referenced_templates(env.parse(source)):
        if ref is None:
            continue
        try:
            env.get_template(ref)
        except TemplateSyntaxError:
            continue  # reported for that template itself
        except Exception:  # not found, in any of its forms
            line = next((i for i, text in enumerate(source.splitlines(), 1) if ref in text), 1)
            problems.append(f"{path}:{line}: template {ref!r} not found")
    return problems


def _report(exc: Exception, decision: Decision, locale: str, part: str, *, builtin: bool) -> str:
    where = _location(exc)
    fallback = "a minimal message" if builtin else "the built-in template"
    problem = f"{where}: {type(exc).__name__}: {exc} (rendered {part} from {fallback})"
    event = decision.event
    log.error(
        "template failed while rendering",
        template=where,
        part=part,
        rule=decision.rule.name,
        company=event.company.handle,
        job=event.job.job_handle if event.job else None,
        locale=locale,
        error=f"{type(exc).__name__}: {exc}",
        fallback=fallback,
    )
    return problem


def _location(exc: BaseException) -> str:
    """`file:line` of the template frame that raised (Jinja maps its frames onto template lines)."""
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.filename or exc.name}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "<template>:0"


def _minimal(part: str, context: Mapping[str, Any]) -> str:
    """Last resort when even a built-in template fails: plain facts, untranslated labels avoided."""
    if part == "headline":
        return " ".join(filter(None, (context["rule"]["description"] or context["rule"]["name"], context["job_name"])))
    if part == "title":
        return str(context["headline"])
    if part == "text":
        lines = [f"{label}: {value}" for label, value in context["fields"]]
        return "\n".join([context["title"], "", *lines, *context["details"]])
    return ""


def _notification(
    decision: Decision, message: Message, job: JobJson | None, snapshot: Callable[[Any], Any] = to_jsonable
) -> Notification:
    event = decision.event
    return Notification(
        key=decision.key,
        rule=decision.rule.name,
        severity=decision.rule.severity,
        status=decision.status,
        event_kind=event.kind,
        created_at=event.at,
        company=snapshot(event.company),
        job=job,
        log=snapshot(event.log) if event.log else None,
        message=message,
        details=tuple(d.log_message or "" for d in event.details[:MAX_DETAILS]),
        alert_key=decision.alert_key,
        schedule=snapshot(event.schedule) if event.schedule else None,
        thread=decision.thread,
    )


def _one_line(text: str) -> str:
    """Collapse line breaks and runs of ASCII spaces; no-break spaces are typography (French) and stay."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def candidates(rule: str, locale: str, part: str) -> list[str]:
    file = f"{part}.j2"
    return [f"{rule}/{locale}/{file}", f"{rule}/{file}", f"{locale}/{file}", file]


@cache
def _package_loader() -> PackageLoader:
    return PackageLoader("notifier.compose", "templates")


def _environment(overrides: Overrides | None, translations: NullTranslations) -> SandboxedEnvironment:
    loader: BaseLoader = _package_loader()
    if overrides:
        loader = ChoiceLoader([SnapshotLoader(overrides), loader])
    env = SandboxedEnvironment(
        loader=loader,
        autoescape=lambda name: bool(name and name.endswith("html.j2")),
        undefined=_Lenient,
        finalize=_blank_none,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # package files do not change under a running daemon; user ones are a snapshot
    )
    env.policies["ext.i18n.trimmed"] = True  # extraction is trimmed: look messages up the same way
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


class _Lenient(Undefined):
    """Missing job data renders as nothing: a message with a gap beats a message never sent."""


def _blank_none(value: Any) -> Any:
    """`{{ log.file_error_count }}` of a job without a log prints nothing rather than `None`."""
    return "" if value is None else value


def _recipients(
    templates: tuple[Callable[..., Any], ...], context: Mapping[str, Any], decision: Decision
) -> tuple[str, ...]:
    out: list[str] = []
    for render in templates:
        try:
            value = str(render(**context)).strip()
        except Exception as exc:  # one bad `to:` loses that recipient, not the notification
            log.error("recipient template failed", rule=decision.rule.name, error=f"{type(exc).__name__}: {exc}")
            continue
        for address in value.split(","):
            if address.strip() and address.strip() not in out:
                out.append(address.strip())
    return tuple(out)


def _job_name(event: Event) -> str:
    job = event.job
    if job is None:
        return ""
    return job.original_name or job.name or job.job_handle or ""


def _subject_name(event: Event) -> str:
    if event.schedule is not None and event.kind.startswith("schedule."):
        return event.schedule.label
    return _job_name(event)


def _schedule_zone(event: Event) -> str:
    """A schedule's times read best in the zone its cron runs in; an unknown zone name, in the company's."""
    zone = event.schedule.time_zone if event.schedule else None
    return zone if zone and is_zone(zone) else event.company.timezone or "UTC"


def _job_json(context: Mapping[str, Any], snapshot: Callable[[Any], Any]) -> JobJson | None:
    job = context["job"]
    return snapshot(job) if job is not None else None
