"""Decisions → notifications: every message rendered once, in the job's locale, when it is decided.

Templates are sandboxed Jinja with gettext (`{% trans %}`), looked up most specific first so users can
override any part per rule and per locale from the `templates:` directory:
`<rule>/<locale>/<part>.j2`, `<rule>/<part>.j2`, `<locale>/<part>.j2`, `<part>.j2` — then the same chain in
the package's defaults. Parts: `title`, `text`, `html` (email alternative).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, TemplateError, TemplateSyntaxError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from notifier.codec import to_jsonable
from notifier.engine.context import event_context
from notifier.engine.evaluate import Decision
from notifier.i18n import negotiate, translations
from notifier.i18n.formatting import Formatter
from notifier.models import Event, Message, Notification

# Rendered in this order; each part sees the ones before it (`title` builds on `headline`).
PARTS = ("headline", "title", "text", "html")
MAX_DETAILS = 10


@dataclass(frozen=True, slots=True)
class Rendered:
    notification: Notification
    targets: tuple[tuple[str, tuple[str, ...]], ...]


def locale_for(event: Event) -> str:
    """The job's locale, else the company's, else en-US (through the fallback chain)."""
    return negotiate(event.job.locale if event.job else None, event.company.locale)


class Renderer:
    """Holds one Jinja environment per locale; templates compile once and are cached by Jinja."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.templates_dir = templates_dir
        self._envs: dict[str, SandboxedEnvironment] = {}

    def environment(self, locale: str) -> SandboxedEnvironment:
        env = self._envs.get(locale)
        if env is None:
            env = self._envs[locale] = _environment(self.templates_dir, locale)
        return env

    def render(self, decision: Decision, *, locale: str | None = None) -> Rendered:
        event = decision.event
        locale = locale or locale_for(event)
        env = self.environment(locale)
        context = self.context(decision, locale)
        context["fields"] = _fields(context)
        parts: dict[str, str] = {}
        for part in PARTS:
            parts[part] = context[part] = self._part(env, decision.rule.name, locale, part, context)
        message = Message(
            locale=locale,
            title=_one_line(parts["title"]),
            text=parts["text"].strip(),
            html=parts["html"].strip() or None,
            fields=context["fields"],
        )
        notification = Notification(
            key=decision.key,
            rule=decision.rule.name,
            severity=decision.rule.severity,
            status=decision.status,
            event_kind=event.kind,
            created_at=event.at,
            company=to_jsonable(event.company),
            job=_job_json(context),
            log=to_jsonable(event.log) if event.log else None,
            message=message,
            details=tuple(d.log_message or "" for d in event.details[:MAX_DETAILS]),
        )
        targets = tuple((t.channel, _recipients(t.to, context)) for t in decision.rule.notify)
        return Rendered(notification, targets)

    def context(self, decision: Decision, locale: str) -> dict[str, Any]:
        event = decision.event
        base = dict(event_context(event))
        rule = decision.rule
        base.update(
            rule={"name": rule.name, "severity": rule.severity, "description": rule.description},
            status=decision.status,
            cause=decision.cause,
            locale=locale,
            fmt=Formatter(locale, event.company.timezone or "UTC"),
            job_name=_job_name(event),
            company_name=event.company.name or event.company.handle,
            details=[d.log_message for d in event.details[:MAX_DETAILS] if d.log_message],
        )
        return base

    def _part(self, env: SandboxedEnvironment, rule: str, locale: str, part: str, context: Mapping[str, Any]) -> str:
        template = env.select_template(candidates(rule, locale, part))
        return template.render(context)

    def check(self) -> list[str]:
        """`file:line: message` for every user template that does not compile, for `notifier check`."""
        if self.templates_dir is None:
            return []
        if not self.templates_dir.is_dir():
            return [f"{self.templates_dir}:0: templates directory does not exist"]
        env = self.environment("en-US")
        problems = []
        for path in sorted(self.templates_dir.rglob("*.j2")):
            name = path.relative_to(self.templates_dir).as_posix()
            try:
                env.get_template(name)
            except TemplateSyntaxError as exc:
                problems.append(f"{path}:{exc.lineno}: {exc.message}")
            if path.stem not in PARTS:
                problems.append(f"{path}:1: unknown template part {path.stem!r} (parts: {', '.join(PARTS)})")
        return problems


def _one_line(text: str) -> str:
    """Collapse line breaks and runs of ASCII spaces; no-break spaces are typography (French) and stay."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def candidates(rule: str, locale: str, part: str) -> list[str]:
    file = f"{part}.j2"
    return [f"{rule}/{locale}/{file}", f"{rule}/{file}", f"{locale}/{file}", file]


@cache
def _package_loader() -> PackageLoader:
    return PackageLoader("notifier", "templates")


def _environment(templates_dir: Path | None, locale: str) -> SandboxedEnvironment:
    loaders: list[Any] = [FileSystemLoader(str(templates_dir))] if templates_dir else []
    loaders.append(_package_loader())
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=lambda name: bool(name and name.endswith("html.j2")),
        undefined=_Lenient,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True  # extraction is trimmed: look messages up the same way
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


class _Lenient(Undefined):
    """Missing job data renders as nothing: a message with a gap beats a message never sent."""


def _fields(context: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Label/value pairs that channels lay out themselves; labels translated, values CLDR-formatted."""
    _ = translations(context["locale"]).gettext
    fmt: Formatter = context["fmt"]
    job = context["job"] or {}
    log = context["log"] or {}
    pairs = [
        (_("Company"), str(context["company_name"] or "")),
        (_("Job"), str(context["job_name"] or "")),
        (_("Type"), str(job.get("type") or "")),
        (_("State"), str(job.get("state") or "")),
        (_("Progress"), fmt.percent(job.get("progress")) if job.get("progress") is not None else ""),
        (_("No progress for"), fmt.duration(job.get("stalled_seconds")) if job.get("stalled_seconds") else ""),
        (_("Started"), fmt.datetime(job.get("start_date"))),
        (_("Ended"), fmt.datetime(log.get("end_date"))),
        (_("Files with errors"), fmt.number(log.get("file_error_count")) if log.get("file_error_count") else ""),
        (_("Files with warnings"), fmt.number(log.get("file_warning_count")) if log.get("file_warning_count") else ""),
        (_("Submitted by"), str(job.get("submit_user_email") or "")),
    ]
    return tuple((label, value) for label, value in pairs if value)


def _recipients(templates: tuple[Callable[..., Any], ...], context: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for render in templates:
        try:
            value = str(render(**context)).strip()
        except TemplateError:
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


def _job_json(context: Mapping[str, Any]) -> dict[str, Any] | None:
    job = context["job"]
    return to_jsonable(job) if job is not None else None
