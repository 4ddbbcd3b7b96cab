"""Email over SMTP (aiosmtplib): a multipart/alternative message per delivery, TLS exactly as configured.

The Message-ID and Date derive from the notification, so a retried send is the same message to mail clients.
Recipients are validated one by one: an address that could smuggle a header or SMTP command is dropped.
"""

from __future__ import annotations

import hashlib
import html
import re
import ssl
from collections.abc import Callable, Iterable
from datetime import UTC
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import Policy
from email.utils import format_datetime
from typing import TYPE_CHECKING, Literal

import aiosmtplib
import structlog

from notifier.channels.base import (
    ConfigurationError,
    SendError,
    SmtpReplyError,
    TransportFailure,
    describe,
    redact,
)
from notifier.config.channels import sender_address, valid_address
from notifier.models import Delivery, Notification

if TYPE_CHECKING:
    from notifier.config import EmailChannel

log = structlog.get_logger(__name__)
TlsMode = Literal["starttls", "implicit", "none"]
MESSAGE_ID_DOMAIN = "dmc-notifier"


def message_id(key: str) -> str:
    """Stable across retries and restarts: mail clients thread or de-duplicate repeats of one notification."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


def recipients(configured: Iterable[str], extra: Iterable[str]) -> tuple[list[str], list[str]]:
    """(valid addresses de-duplicated case-insensitively in order, rejected ones); blanks are skipped silently.

    Blanks are expected (a rule's `to: "{{ job.submit_user_email }}"` on a job without one); anything else
    that is not a plain address, CR/LF above all, is rejected so it can never reach a header or RCPT TO.
    """
    valid: list[str] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for raw in (*configured, *extra):
        address = raw.strip(" \t")
        if not address:
            continue
        if not valid_address(address):
            rejected.append(address)
        elif address.lower() not in seen:
            seen.add(address.lower())
            valid.append(address)
    return valid, rejected


# Line breaks and runs of ordinary spaces; not the no-break spaces French typography puts inside « » and before :.
_BREAKS = re.compile(r"[ \t\r\n\x0b\x0c\x1c-\x1f\x85\u2028\u2029]+")


def one_line(text: str) -> str:
    """Header text on one line: a rendered title with a newline must not end the header early."""
    return _BREAKS.sub(" ", text).strip()


class EncodedSubject(str):
    """A subject folded so that a reader unfolds it to exactly its text, spaces and no-break spaces included.

    Python 3.11's own folding loses text two ways: it can move the space between two encoded words into the
    fold, where a reader must ignore it (RFC 2047 §6.2: „Name“ läuft arrived as „Name“läuft), and it can
    start a long subject on the line after `Subject:`, which readers keep as a leading space. Plain ASCII is
    folded at its spaces; anything else (non-ASCII, a word too long to fold, text that looks like an encoded
    word) becomes encoded words that carry their own spaces. The value reads as the text itself.
    """

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        plain = self.isascii() and "=?" not in self and all(len(word) < 60 for word in self.split(" "))
        header = Header(str(self), "us-ascii" if plain else "utf-8", header_name=self.name)
        return f"{self.name}: {header.encode(linesep=policy.linesep)}{policy.linesep}"


def build_message(notification: Notification, sender: str, to: list[str]) -> EmailMessage:
    """The complete message; non-ASCII subjects and names are RFC 2047-encoded by the SMTP policy."""
    message = notification.message
    email = EmailMessage(policy=SMTP_POLICY)
    email["Subject"] = EncodedSubject(one_line(message.title))
    email["From"] = sender
    email["To"] = ", ".join(to)
    email["Date"] = _date(notification)
    email["Message-ID"] = message_id(notification.key)
    if notification.thread:  # a repeat or resolution: mail clients show it under the mail that opened the alert
        email["In-Reply-To"] = message_id(notification.thread)
        email["References"] = message_id(notification.thread)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies must not answer us
    email["X-DMC-Notifier-Rule"] = one_line(notification.rule)
    email["X-DMC-Notifier-Severity"] = one_line(notification.severity)
    email["X-DMC-Notifier-Status"] = one_line(notification.status)
    email.set_content(message.text)
    email.add_alternative(message.html or _pre(message.text), subtype="html")
    email["Content-Language"] = one_line(message.locale)  # after the body: set_content drops Content-* headers
    return email


def _pre(text: str) -> str:
    return f'<!DOCTYPE html><html><body><pre style="white-space:pre-wrap">{html.escape(text)}</pre></body></html>'


def _date(notification: Notification) -> str:
    # The notification's creation time, not the send time: a retry is the same message, not a newer one.
    created = notification.created_at
    return format_datetime((created.replace(tzinfo=UTC) if created.tzinfo is None else created).astimezone(UTC))


def parse_sender(sender: str) -> Address:
    """`Name <addr>` or a bare address, validated like any recipient (as the config validated it)."""
    try:
        name, addr = sender_address(sender)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    return Address(display_name=one_line(name), addr_spec=addr)


class EmailSender:
    """Connects per delivery (notifications are rare; idle SMTP connections get dropped anyway) and sends."""

    def __init__(self, name: str, config: EmailChannel, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.host = config.host
        self.port = config.port
        self.tls: TlsMode = config.tls
        self.username = config.username
        self._password = config.password.get_secret_value() if config.password is not None else None
        self.sender = parse_sender(config.sender)
        self.to = tuple(config.to)
        self.timeout = config.timeout
        self.tls_context = tls_context

    async def send(self, delivery: Delivery) -> None:
        to, rejected = recipients(self.to, delivery.recipients)
        if rejected:
            log.warning(
                "recipients rejected",
                channel=self.name,
                rejected=[repr(r) for r in rejected],
                reason="not a plain address",
            )
        if not to:
            raise ConfigurationError("no valid recipients")
        message = build_message(delivery.notification, str(self.sender), to)
        try:
            await self._deliver(message, to)
        except SendError:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            raise SmtpReplyError(exc.code, self._clean(exc.message)) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _refused(exc, self._clean) from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise ConfigurationError(f"server cannot take this message: {self._clean(exc.message)}") from None
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise _transport(exc) from None

    async def close(self) -> None:
        """Nothing held open between deliveries."""

    async def _deliver(self, message: EmailMessage, to: list[str]) -> None:
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "implicit",
            start_tls=False,  # upgraded explicitly below, so a server without STARTTLS fails instead of falling back
            tls_context=self.tls_context,
            timeout=self.timeout,
        )
        async with smtp:
            if self.tls == "starttls":
                await smtp.ehlo()
                if not smtp.supports_extension("starttls"):
                    raise TransportFailure("tls", "STARTTLS required but not offered by the server")
                await smtp.starttls()
            if self.username:
                await smtp.login(self.username, self._password or "")
            refused, _reply = await smtp.send_message(message, sender=self.sender.addr_spec, recipients=to)
        if refused:  # others accepted it: retrying would send them a duplicate
            log.warning("some recipients refused", channel=self.name, refused=sorted(refused))

    def _clean(self, text: str) -> str:
        return redact(text, [self._password])


def _refused(exc: aiosmtplib.SMTPRecipientsRefused, clean: Callable[[str], str]) -> SmtpReplyError:
    """Every recipient was refused: report a transient refusal if there is one, since that one may still pass."""
    refusals = sorted(exc.recipients, key=lambda r: (not 400 <= r.code < 500, r.code))
    first = refusals[0]
    return SmtpReplyError(first.code, clean(first.message))


def _transport(exc: BaseException) -> TransportFailure:
    # aiosmtplib wraps a failed handshake in SMTPConnectError; the SSL error underneath is what matters.
    tls = next((e for e in (exc, exc.__cause__, exc.__context__) if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        return TransportFailure("tls", describe(tls))
    if isinstance(exc, TimeoutError):
        return TransportFailure("timeout", describe(exc))
    if isinstance(exc, ConnectionError | OSError):
        return TransportFailure("connection", describe(exc))
    return TransportFailure("protocol", describe(exc))
