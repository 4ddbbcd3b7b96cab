"""What every channel is: something that sends one delivery or raises a typed `SendError` saying what happened.

Channels never retry and never judge an outcome; they report the raw facts (HTTP status, SMTP reply, Slack
error code, transport failure) and `notifier.dispatch.policy.decide` alone turns them into a verdict.
No error message may carry a secret: tokens, webhook URLs, passwords and signing keys stay out of them.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from notifier.models import Delivery
from notifier.safety import SCRUBBER
from notifier.safety.redact import Redactor

TransportKind = Literal["timeout", "connection", "tls", "protocol"]
DETAIL_LIMIT = 300  # a receiver's error text is evidence, not a payload: keep what we store and log short
MAX_REPLY = 64 * 1024  # read this much of a reply, enough for any error text, never a whole hostile page


class Channel(Protocol):
    """One configured destination; `send` returns only when the receiver accepted the delivery, with what the
    channel keeps of the message it sent for replies to find (a Slack `ts`), or None."""

    name: str

    async def send(self, delivery: Delivery) -> str | None: ...

    async def close(self) -> None: ...


class SendError(Exception):
    """A delivery was not accepted; subclasses carry the raw outcome for the retry policy."""


class HttpStatusError(SendError):
    """The receiver answered with a non-2xx status (redirects included: they are never followed), or with a
    2xx whose body reports the status it really meant (Teams' older connectors). `detail` is the receiver's
    own explanation, already redacted and short: it goes into the dead letter for the operator to read.
    `final` says the receiver's API defines this status as final for this very request (PagerDuty's 400: the
    event is invalid and never will be valid); any other non-2xx may pass, and is retried."""

    def __init__(
        self, status: int, retry_after: str | None = None, detail: str | None = None, *, final: bool = False
    ) -> None:
        super().__init__(f"HTTP {status}" + (f": {detail}" if detail else ""))
        self.status = status
        self.retry_after = retry_after
        self.detail = detail
        self.final = final


class TransportFailure(SendError):
    """No usable answer arrived: the request timed out, the connection or TLS failed, or the reply was garbled."""

    def __init__(self, kind: TransportKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: TransportKind = kind
        self.detail = detail


class SmtpReplyError(SendError):
    """The SMTP server refused with a reply code (4xx transient, 5xx permanent in RFC 5321 terms)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"SMTP {code} {message}".rstrip())
        self.code = code
        self.message = message


class SlackApiError(SendError):
    """Slack said no: `error` is its code (`ratelimited`, `invalid_auth`, `no_service` …)."""

    def __init__(self, error: str, status: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(f"Slack {error}" + (f" (HTTP {status})" if status is not None else ""))
        self.error = error
        self.status = status
        self.retry_after = retry_after


class ConfigurationError(SendError):
    """The delivery cannot be sent as configured (no valid recipients, an unusable secret …)."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` scrubbed, with this channel's own `secrets` redacted too (also in a process that has not learned
    the config), cut to a loggable length: receivers sometimes echo what they got."""
    return SCRUBBER.text(Redactor(s for s in secrets if s).text(text), DETAIL_LIMIT)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut: receivers refuse or cut over-long fields themselves."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def url_secrets(url: str) -> list[str]:
    """A webhook URL and the parts of it that are credentials on their own (path, signature parameters), so an
    error reply that echoes any of them can be redacted."""
    parts = urlsplit(url)
    values = [value for _, value in parse_qsl(parts.query) if len(value) >= 8]
    return [url, *([parts.path] if len(parts.path) > 1 else []), *values]


@dataclass(frozen=True, slots=True)
class Reply:
    """What an HTTP receiver answered: status, the start of its body as text, and its Retry-After."""

    status: int
    text: str
    retry_after: str | None


async def post_json(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], limit: aiohttp.ClientTimeout
) -> Reply:
    """POST `body` without following redirects; a failure to get any answer is a `TransportFailure`."""
    try:
        async with session.post(
            url,
            data=body,
            headers={"content-type": "application/json", **headers},
            timeout=limit,
            allow_redirects=False,
        ) as response:
            text = (await response.content.read(MAX_REPLY)).decode("utf-8", "replace")
            return Reply(response.status, text, response.headers.get("Retry-After"))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise transport_failure(exc) from None


def transport_failure(exc: BaseException) -> TransportFailure:
    """Map an aiohttp/asyncio/OS failure to its kind; the detail names the failure, never the URL."""
    kind: TransportKind
    if isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        kind = "tls"
    elif isinstance(exc, aiohttp.ClientConnectionError | OSError):
        kind = "connection"
    else:
        kind = "protocol"
    return TransportFailure(kind, describe(exc))


def describe(exc: BaseException) -> str:
    """The exception's type and OS reason only: aiohttp's own messages can embed the request URL."""
    name = type(exc).__name__
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    os_error = getattr(exc, "os_error", None) or cause
    reason = getattr(os_error, "strerror", None) or getattr(os_error, "reason", None)
    return f"{name}: {reason}" if isinstance(reason, str) and reason else name
