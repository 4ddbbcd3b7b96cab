"""Slack: Block Kit messages through the Web API (`chat.postMessage`) or an incoming webhook.

Through the Web API a conversation stays in one place: the first message's channel and `ts` are kept with
its delivery, and its repeats and resolution (a group's later digests) are posted as replies in its thread,
the first message edited (`chat.update`) to show it resolved or how many still fire. A first message that is
gone (deleted, or its channel archived) is not waited for: the reply is posted as a message of its own. An
incoming webhook can do neither (it has no `ts`): each notification is a message of its own there.

Every piece of text is escaped (`&`, `<`, `>`), because it carries job data that could otherwise mention
`<!channel>` or forge links, and cut to Block Kit's limits so a huge log never turns into `invalid_blocks`.
The SDK's own retry handlers are off: a 429 comes back to the dispatcher, which reschedules durably.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from notifier.channels.base import ConfigurationError, SlackApiError, TransportFailure, transport_failure
from notifier.models import Delivery, Message, Notification

if TYPE_CHECKING:
    from notifier.config import SlackChannel

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELD = 2000
MAX_FIELDS = 10  # per section block
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK = 4000  # the notification text shown where blocks are not (push notifications, old clients)
ELLIPSIS = "…"
MARKERS = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
RESOLVED_MARKER = ":white_check_mark:"
ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")  # anything else (an HTML error page) is not a code
# What Slack answers when the message a reply or an edit is for no longer exists where it was.
GONE = frozenset({"message_not_found", "channel_not_found", "thread_not_found", "is_archived"})
# An edit Slack will not make (too old, not ours): the reply still goes into the thread.
UNEDITABLE = frozenset({"cant_update_message", "edit_window_closed", "msg_too_long"})

# The SDK logs request URLs (a webhook URL is a credential) when its logger is at DEBUG; a logger of our
# own, pinned to WARNING, keeps that out of the logs whatever the root level is.
_sdk_log = logging.getLogger("notifier.channels.slack.sdk")
_sdk_log.setLevel(logging.WARNING)


def escape(text: str) -> str:
    """Slack's three control characters as entities: nothing from a job can mention, link or format."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut, never in the middle of an `&…;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def slack_text(text: str, limit: int) -> str:
    return truncate(escape(text), limit)


def header_text(notification: Notification) -> str:
    marker = RESOLVED_MARKER if notification.status == "resolved" else MARKERS.get(notification.severity, "")
    return slack_text(f"{marker} {notification.message.title}".strip(), MAX_HEADER)


def fallback_text(message: Message) -> str:
    return slack_text(f"{message.title}\n{message.text}".strip(), MAX_FALLBACK)


def blocks(notification: Notification) -> list[dict[str, Any]]:
    """Header, text, field sections, details and a context line, within Block Kit's limits."""
    message = notification.message
    out: list[dict[str, Any]] = [{"type": "header", "text": _plain(header_text(notification))}]
    # The full text repeats the title, fields and log lines laid out below; the summary is the rest of it.
    body = message.text if message.summary is None else message.summary
    if body.strip():
        out.append(_section(slack_text(body, MAX_SECTION)))
    out.extend(_field_sections(message.fields))
    if notification.details:
        lines = "\n".join(f"• {detail}" for detail in notification.details)
        out.append(_section(slack_text(lines, MAX_SECTION)))
    # Severity and status are already told in the reader's language (header marker, title, fields); the rule
    # name is an identifier, the same in every locale, for finding the rule that spoke.
    elements = [_mrkdwn(slack_text(notification.rule, MAX_SECTION))]
    elements.extend(_mrkdwn(_link(label, url)) for label, url in message.links)
    context_block = {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}
    return [*out[: MAX_BLOCKS - 1], context_block]


def _link(label: str, url: str) -> str:
    """`<url|label>`: a `|` or `>` in either would end the link early, so the URL may not carry them."""
    target = escape(url.replace("|", "%7C"))
    return f"<{target}|{slack_text(label, MAX_HEADER)}>"


def _field_sections(fields: tuple[tuple[str, str], ...]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(fields), MAX_FIELDS):
        chunk = fields[start : start + MAX_FIELDS]
        yield {
            "type": "section",
            "fields": [_mrkdwn(truncate(f"*{escape(label)}*\n{escape(value)}", MAX_FIELD)) for label, value in chunk],
        }


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text or ELLIPSIS, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text or ELLIPSIS}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


class SlackSender:
    """Posts with a bot token to `channel` (Web API) or to an incoming webhook URL; the config decides which.

    Slack targets are fixed by the config, so a delivery's `recipients` (meant for email) are not used here.
    """

    def __init__(self, name: str, config: SlackChannel, session: aiohttp.ClientSession | None = None) -> None:
        self.name = name
        self.timeout = config.timeout
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._web: AsyncWebClient | None = None
        self._hook: AsyncWebhookClient | None = None
        self._channel = config.channel or ""
        self.threads, self.update_on_resolve = config.threads, config.update_on_resolve
        if config.webhook_url is not None:
            url = config.webhook_url.get_secret_value()
            self._hook = AsyncWebhookClient(url, session=session, logger=_sdk_log, retry_handlers=[])
        elif config.token is not None and config.channel:
            # The SDK joins method names onto the base URL: without a trailing slash `…/api` would lose `api`.
            token, base_url = config.token.get_secret_value(), (config.api_url or AsyncWebClient.BASE_URL)
            base_url = base_url.rstrip("/") + "/"
            self._web = AsyncWebClient(token, base_url, session=session, logger=_sdk_log, retry_handlers=[])
        else:
            raise ConfigurationError(f"slack channel {name!r} needs webhook_url, or token and channel")

    async def send(self, delivery: Delivery) -> str | None:
        """Post the delivery; returns where a message that opens a conversation went (channel and `ts`, as
        JSON), for its replies to find it."""
        notification = delivery.notification
        text, message_blocks = fallback_text(notification.message), blocks(notification)
        try:
            async with asyncio.timeout(self.timeout):
                if self._hook is not None:
                    await self._send_webhook(self._hook, text, message_blocks)
                elif self._web is not None:
                    return await self._converse(self._web, delivery, text, message_blocks)
        except SlackApiError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_failure(exc) from None
        except SlackClientError as exc:  # the SDK refused or could not read the exchange
            raise TransportFailure("protocol", type(exc).__name__) from None
        return None

    async def _converse(
        self, client: AsyncWebClient, delivery: Delivery, text: str, message_blocks: list[dict[str, Any]]
    ) -> str | None:
        """A reply in the thread of the message it answers (edited first, when it resolves), else a message."""
        notification = delivery.notification
        root = _place(delivery.conversation) if self.threads and notification.thread else None
        edit = self.update_on_resolve and (notification.status == "resolved" or notification.group is not None)
        # The edit first: repeated after a failed reply it changes nothing, while a reply would appear twice.
        if root is not None and edit and not await self._update(client, root, text, message_blocks):
            root = None
        if root is not None:
            try:
                await self._post_message(client, text, message_blocks, thread=root)
                return None
            except SlackApiError as exc:
                if exc.error not in GONE:
                    raise
        data = await self._post_message(client, text, message_blocks)
        if notification.thread:
            return None  # its own message, but not the one the conversation began with
        channel, ts = data.get("channel"), data.get("ts")
        return json.dumps({"channel": channel, "ts": ts}) if isinstance(channel, str) and isinstance(ts, str) else None

    async def _update(
        self, client: AsyncWebClient, root: tuple[str, str], text: str, message_blocks: list[dict[str, Any]]
    ) -> bool:
        """Edit the first message to show this one; False when it is gone."""
        client.session = self._http()
        try:
            await client.chat_update(channel=root[0], ts=root[1], text=text, blocks=message_blocks)
        except SdkApiError as exc:
            error = self._api_error(exc)
            if error.error in GONE:
                return False
            if error.error not in UNEDITABLE:
                raise error from None
        return True

    async def close(self) -> None:
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None

    def _http(self) -> aiohttp.ClientSession:
        # Without a shared session the SDK would open and close one per request; keep one of our own instead.
        if self._session is not None and not self._session.closed:
            return self._session
        if self._own_session is None:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    async def _post_message(
        self,
        client: AsyncWebClient,
        text: str,
        message_blocks: list[dict[str, Any]],
        *,
        thread: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        client.session = self._http()
        channel, thread_ts = thread if thread else (self._channel, None)
        try:
            response = await client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text, blocks=message_blocks
            )
        except SdkApiError as exc:
            raise self._api_error(exc) from None
        return response.data if isinstance(response.data, dict) else {}

    async def _send_webhook(self, client: AsyncWebhookClient, text: str, message_blocks: list[dict[str, Any]]) -> None:
        client.session = self._http()
        response = await client.send(text=text, blocks=message_blocks)
        if response.status_code != 200:
            code = (response.body or "").strip()
            error = code if ERROR_CODE.fullmatch(code) else f"http_{response.status_code}"
            raise SlackApiError(error, response.status_code, _header(response.headers, "Retry-After"))

    def _api_error(self, exc: SdkApiError) -> SlackApiError:
        response = exc.response
        status: int | None = getattr(response, "status_code", None)
        retry_after = _header(getattr(response, "headers", None), "Retry-After")
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if status == 429:
            code = "ratelimited"
        error = code if isinstance(code, str) and ERROR_CODE.fullmatch(code) else f"http_{status}"
        return SlackApiError(error, status, retry_after)


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:  # the SDK sometimes hands back a plain dict with the server's spelling
        value = next((v for k, v in dict(headers).items() if str(k).lower() == name.lower()), None)
    return None if value is None else str(value)


def _place(conversation: str | None) -> tuple[str, str] | None:
    """(channel id, ts) of a kept conversation; None when there is none or it does not read as one."""
    try:
        kept = json.loads(conversation) if conversation else None
    except ValueError:
        return None
    if isinstance(kept, dict) and isinstance(kept.get("channel"), str) and isinstance(kept.get("ts"), str):
        return kept["channel"], kept["ts"]
    return None
