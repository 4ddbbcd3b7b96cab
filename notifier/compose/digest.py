"""A group's digest: one localized message standing for everything the group collected since its last one.

It says how many alerts came and over how long, how many of them fire and resolve (for rules that send
resolutions), how many of the group's alerts are still firing, how many jobs of each type, and the first jobs
with their first job-log line; the rest is "and N more". Words, plurals and numbers come from the catalog of
the channel's `locale:` (else the company's); the jobs' own names and log lines stay as IPS gave them. Pure.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from gettext import NullTranslations

from notifier.engine.evaluate import notification_key
from notifier.engine.rules import Rule
from notifier.i18n import Choice, choose
from notifier.i18n.catalogs import Catalogs
from notifier.i18n.formatting import Formatter
from notifier.i18n.labels import type_name
from notifier.models import GroupDigest, Message, Notification
from notifier.models.notifications import CompanyJson
from notifier.store.records import Destination, DueGroup, GroupFlush, Outgoing

MEMBERS_PER_DIGEST = 500  # a bigger group sends several digests at once: no single body grows without bound
LISTED = 10  # jobs named one by one; the others are counted
SEVERITIES = ("info", "warning", "critical")
GROUP_EVENT = "alert.group"


@dataclass(frozen=True, slots=True)
class Tally:
    """What a digest counts: its members by status, and the group's alerts still firing after it."""

    firing: int
    resolved: int
    open: tuple[str, ...]
    continues: bool  # alerts of earlier digests were still firing: this digest answers in their conversation


def flush(group: DueGroup, rule: Rule | None, *, locale: str | None, catalogs: Catalogs, now: datetime) -> GroupFlush:
    """The digest of what `group` collected, and what the group keeps for its next one."""
    tally = _tally(group, rule)
    key = notification_key(group.key, "digest", str(group.sent + 1))
    thread = group.thread or "" if tally.continues else ""
    following = (thread or key) if tally.open else None  # the conversation the next digest continues, if any
    members = group.members
    company = _company(members)
    choice = choose(locale, company.get("locale"))
    what = (rule.description or rule.name) if rule is not None else group.rule
    message, details = digest_message(members, tally, choice, catalogs, what=what, company=company, now=now)
    notification = Notification(
        key=key,
        rule=group.rule,
        severity=max((m.severity for m in members), key=_rank, default="warning"),
        status="firing" if tally.firing or tally.open else "resolved",
        event_kind=GROUP_EVENT,
        created_at=now,
        company=company,
        job=None,
        log=None,
        message=message,
        details=details,
        alert_key=group.key,
        thread=thread,
        group=GroupDigest(group.key, group.labels, members, tally.firing, tally.resolved, len(tally.open)),
    )
    digest = Outgoing(notification, (Destination(group.channel, group.recipients),))
    more = len(members) >= MEMBERS_PER_DIGEST  # read up to the bound: the group may hold more
    return GroupFlush(group.key, group.sent, digest, tuple(m.key for m in members), tally.open, following, more)


def _tally(group: DueGroup, rule: Rule | None) -> Tally:
    """Alerts that will resolve (rules that send resolutions and are not one-off events) stay open until they do."""
    resolves = rule is not None and rule.send_resolved and rule.kind != "event"
    still = dict.fromkeys(group.open)
    for member in group.members:
        if member.status == "resolved":
            still.pop(member.alert_key, None)
        elif resolves and member.alert_key:
            still[member.alert_key] = None
    firing = sum(1 for m in group.members if m.status != "resolved")
    return Tally(firing, len(group.members) - firing, tuple(still), bool(group.open and group.thread))


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _company(members: Sequence[Notification]) -> CompanyJson:
    """The members' company when they share one; else a company without a handle (the group spans several)."""
    handles = {m.company_handle for m in members}
    if len(handles) == 1 and members:
        return members[0].company
    return {"handle": ""}


def digest_message(
    members: Sequence[Notification],
    tally: Tally,
    choice: Choice,
    catalogs: Catalogs,
    *,
    what: str,
    company: CompanyJson,
    now: datetime,
) -> tuple[Message, tuple[str, ...]]:
    """The digest's message, and its job lines (the first jobs with their first log line, then "and N more")."""
    t = catalogs.get(choice.catalog)
    fmt = Formatter(choice.formats, company.get("timezone") or "UTC")
    title = _title(t, fmt, len(members), what, company.get("name") or company.get("handle") or "")
    summary = _summary(t, fmt, members, tally, now)
    fields = _types(members, choice.catalog, catalogs, fmt)
    details = _jobs(t, fmt, members)
    text = _text(t, title, summary, fields, details, members)
    page = _html(title, summary, fields, details)
    return Message(choice.catalog, title, text, page, fields, "\n".join(summary), ()), details


def _title(t: NullTranslations, fmt: Formatter, count: int, what: str, company: str) -> str:
    values = {"count": fmt.number(count), "what": what, "company": company}
    if company:
        # Translators: a digest's title, e.g. "Publish job failed: 47 alerts in company Planetary"; "what" is the
        # rule's description as its author wrote it.
        title = t.ngettext(
            "%(what)s: %(count)s alert in company %(company)s",
            "%(what)s: %(count)s alerts in company %(company)s",
            count,
        )
        return title % values
    # Translators: a digest's title when its alerts come from several companies, e.g. "Publish job failed: 47 alerts".
    return t.ngettext("%(what)s: %(count)s alert", "%(what)s: %(count)s alerts", count) % values


def _summary(
    t: NullTranslations, fmt: Formatter, members: Sequence[Notification], tally: Tally, now: datetime
) -> list[str]:
    oldest = min((m.created_at for m in members), default=now)
    span = max((now - oldest).total_seconds(), 1.0)
    # Translators: how long a digest collected its alerts, e.g. "Collected over the last 30 seconds."
    lines = [t.gettext("Collected over the last %(duration)s.") % {"duration": fmt.duration(span)}]
    if tally.resolved or tally.open or tally.continues:
        # Translators: a digest's counts of firing and resolved alerts.
        counts = t.gettext("Firing: %(firing)s · Resolved: %(resolved)s")
        lines.append(counts % {"firing": fmt.number(tally.firing), "resolved": fmt.number(tally.resolved)})
    if tally.open:
        open_count = len(tally.open)
        lines.append(
            t.ngettext(
                "%(count)s alert of this group is still firing.",
                "%(count)s alerts of this group are still firing.",
                open_count,
            )
            % {"count": fmt.number(open_count)}
        )
    elif tally.continues:
        lines.append(t.gettext("Every alert of this group has resolved."))
    return lines


def _types(
    members: Sequence[Notification], locale: str, catalogs: Catalogs, fmt: Formatter
) -> tuple[tuple[str, str], ...]:
    """(job type's name, how many) for the members about jobs, most frequent first."""
    counts = Counter(type_name((m.job or {}).get("type"), locale, catalogs) for m in members if m.job)
    return tuple((name, fmt.number(count)) for name, count in counts.most_common() if name)


def _jobs(t: NullTranslations, fmt: Formatter, members: Sequence[Notification]) -> tuple[str, ...]:
    lines = []
    for member in members[:LISTED]:
        name = member.job_name or member.schedule_name or member.message.title
        if member.status == "resolved":
            # Translators: a job named in a digest whose alert has resolved.
            name = t.gettext("%(name)s (resolved)") % {"name": name}
        first = next((d for d in member.details if d), "")
        lines.append(f"{name}: {first}" if first else name)
    if len(members) > LISTED:
        more = len(members) - LISTED
        # Translators: after the jobs a digest names, how many it does not, e.g. "… and 212 more".
        lines.append(t.ngettext("… and %(count)s more", "… and %(count)s more", more) % {"count": fmt.number(more)})
    return tuple(lines)


def _text(
    t: NullTranslations,
    title: str,
    summary: list[str],
    fields: tuple[tuple[str, str], ...],
    details: tuple[str, ...],
    members: Sequence[Notification],
) -> str:
    parts = [title, "", *summary]
    if fields:
        parts += ["", *(t.gettext("%(label)s: %(value)s") % {"label": k, "value": v} for k, v in fields)]
    parts += ["", *(f"- {line}" for line in details)]
    rule = members[0].rule if members else ""
    parts += ["", t.gettext("Sent by dmc-notifier for rule “%(rule)s”.") % {"rule": rule}]
    return "\n".join(parts)


def _html(title: str, summary: list[str], fields: tuple[tuple[str, str], ...], details: tuple[str, ...]) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in fields)
    items = "".join(f"<li>{e(line)}</li>" for line in details)
    paragraphs = "".join(f"<p>{e(line)}</p>" for line in summary)
    table = f"<table>{rows}</table>" if rows else ""
    return f"<!DOCTYPE html><html><body><h2>{e(title)}</h2>{paragraphs}{table}<ul>{items}</ul></body></html>"
