"""Microsoft Teams: one Adaptive Card per delivery, POSTed to a Teams Workflows (Power Automate) webhook.

The card uses nothing newer than Adaptive Cards 1.4, which every Teams client renders. Job data goes into
RichTextBlock text runs, which are never read as Markdown; FactSet values are, so they are escaped there:
a job named `[reset your password](https://…)` stays text. Teams refuses messages over 28 KB, so the card is
trimmed (log lines first, then the longest texts) until it fits: a long log never costs the alert.
Older Office 365 connectors answer 200 even when they failed, with the failure in the body; those replies
are read for what they report, so a throttled or refused message is retried or dead-lettered, not lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from notifier import __version__
from notifier.channels.base import HttpStatusError, SendError, clip, post_json, redact, url_secrets
from notifier.models import Delivery, Notification

if TYPE_CHECKING:
    from notifier.config import TeamsChannel

CARD_VERSION = "1.4"
MAX_MESSAGE_BYTES = 28 * 1024  # Teams' limit for a whole message, card and envelope together
# What we allow ourselves: Teams re-wraps the card when it posts it, so leave room for that envelope.
CARD_BUDGET = MAX_MESSAGE_BYTES - 1024
USER_AGENT = f"dmc-notifier/{__version__}"
# Container style and title colour per severity; a resolution is good news whatever the rule's severity.
STYLES = {"critical": "attention", "warning": "warning", "info": "accent", "resolved": "good"}
# What older connectors put in a 200 reply when they did not post the message (Microsoft documents the first
# for throttling; the status inside says what really happened).
EMBEDDED_STATUS = re.compile(r"returned HTTP error (\d{3})")
FAILED_IN_BODY = re.compile(r"(?i)message delivery failed|returned HTTP error \d{3}")
MARKDOWN = re.compile(r"([\\`*_~\[\]<>#|])")
LINE_START_MARKUP = re.compile(r"^(\s*)([-+]|\d+\.)(?=\s)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each part a card may carry; `LEVELS` go from generous to bare."""

    lines: int  # job-log lines
    line: int  # characters per job-log line
    summary: int  # characters of the summary
    fact: int  # characters per fact value
    facts: int


LEVELS = (
    Limits(lines=10, line=1000, summary=4000, fact=1000, facts=20),
    Limits(lines=5, line=400, summary=2000, fact=400, facts=20),
    Limits(lines=2, line=200, summary=800, fact=200, facts=15),
    Limits(lines=0, line=0, summary=300, fact=100, facts=10),
)
MAX_TITLE = 400


def escape_markdown(text: str) -> str:
    """Backslash-escape what Teams' Markdown would turn into formatting, links or lists (CommonMark escapes)."""
    return LINE_START_MARKUP.sub(r"\1\\\2", MARKDOWN.sub(r"\\\1", text))


def teams_body(notification: Notification, limit: int = CARD_BUDGET) -> bytes:
    """The exact bytes POSTed: the richest card of `LEVELS` that fits `limit`, else title, facts and links only."""
    for limits in LEVELS:
        body = _encode(message_envelope(card(notification, limits)))
        if len(body) <= limit:
            return body
    bare = Limits(lines=0, line=0, summary=0, fact=60, facts=5)
    return _encode(message_envelope(card(notification, bare)))


def message_envelope(content: dict[str, Any]) -> dict[str, Any]:
    """The message a Workflows webhook (and an older connector) takes: one Adaptive Card attachment."""
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
    return {"type": "message", "attachments": [attachment]}


def card(notification: Notification, limits: Limits = LEVELS[0]) -> dict[str, Any]:
    """The Adaptive Card: a coloured title band, the summary, the fields as facts, log lines and the rule."""
    message = notification.message
    style = STYLES["resolved"] if notification.status == "resolved" else STYLES.get(notification.severity, "default")
    body: list[dict[str, Any]] = [_title_band(clip(message.title, MAX_TITLE), style)]
    summary = message.text if message.summary is None else message.summary
    body.extend(_paragraphs(clip(summary.strip(), limits.summary)))
    if message.fields and limits.facts:
        facts = [
            {"title": escape_markdown(label), "value": escape_markdown(clip(value, limits.fact))}
            for label, value in message.fields[: limits.facts]
        ]
        body.append({"type": "FactSet", "facts": facts, "spacing": "Medium"})
    body.extend(_log_lines(notification.details, limits))
    # The rule name is an identifier, the same in every locale: it tells the reader which rule spoke.
    body.append(_rich([_run(clip(notification.rule, 200), isSubtle=True, size="Small")], spacing="Medium"))
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "lang": message.locale.split("-")[0],
        "fallbackText": escape_markdown(clip(message.title, MAX_TITLE)),
        "body": body,
    }
    actions = [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in message.links]
    if actions:
        content["actions"] = actions
    return content


def _title_band(title: str, style: str) -> dict[str, Any]:
    run = _run(title or "…", weight="Bolder", size="Large", color=style)
    return {"type": "Container", "style": style, "bleed": True, "items": [_rich([run])]}


def _paragraphs(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.strip():
            yield _rich([_run(line)])


def _log_lines(details: tuple[str, ...], limits: Limits) -> Iterator[dict[str, Any]]:
    shown = [line for line in details if line.strip()][: limits.lines]
    for index, line in enumerate(shown):
        # The first line opens the block with a rule above it, so the log reads as one unit.
        extra = {"separator": True, "spacing": "Medium"} if index == 0 else {"spacing": "None"}
        yield _rich([_run(f"• {clip(line, limits.line)}", fontType="Monospace", size="Small")], **extra)
    if len(shown) < len([line for line in details if line.strip()]):
        yield _rich([_run("…", isSubtle=True)], spacing="None")


def _rich(runs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": runs, **extra}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def check_reply(status: int, text: str, retry_after: str | None, secrets: list[str]) -> None:
    """Raise what the reply says went wrong; return when Teams took the message.

    Workflows answer 202 with an empty body; older connectors 200 with `1` on success, and 200 with a
    failure text (which names the status Teams really meant) when they throttled or refused the message.
    """
    if 200 <= status < 300:
        if not FAILED_IN_BODY.search(text):
            return
        embedded = EMBEDDED_STATUS.search(text)
        detail = redact(f"answered {status}: {text.strip()}", secrets)
        if embedded is None:
            raise SendError(f"Teams reported a failure: {detail}")
        raise HttpStatusError(int(embedded.group(1)), retry_after, detail)
    # A 400 is Teams refusing this card's content: it never will be valid. Anything else (a disabled workflow's
    # 409, a 404 while it is being recreated) may pass and is retried.
    raise HttpStatusError(status, retry_after, _reason(text, secrets) or None, final=status == 400)


def _reason(text: str, secrets: list[str]) -> str:
    """Power Automate's `{"error": {"code", "message"}}`, else the text as it came, redacted and short."""
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        text = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
    return redact(" ".join(text.split()), secrets)


class TeamsSender:
    """POSTs cards to one Teams webhook over the shared session; never follows redirects."""

    def __init__(self, name: str, config: TeamsChannel, session: aiohttp.ClientSession) -> None:
        self.name = name
        self._url = config.webhook_url.get_secret_value()
        self._secrets = url_secrets(self._url)
        self.timeout = aiohttp.ClientTimeout(total=config.timeout)
        self.session = session

    async def send(self, delivery: Delivery) -> None:
        body = teams_body(delivery.notification)
        reply = await post_json(self.session, self._url, body, {"user-agent": USER_AGENT}, self.timeout)
        check_reply(reply.status, reply.text, reply.retry_after, self._secrets)

    async def close(self) -> None:
        """Nothing to release: the session belongs to the application."""
