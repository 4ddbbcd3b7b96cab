"""Email through aiosmtplib against a real aiosmtpd server on 127.0.0.1, with TLS from a trustme CA."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from notifier.channels.base import ConfigurationError, SmtpReplyError, TransportFailure
from notifier.channels.email import EmailSender, build_message, message_id, recipients
from notifier.config import EmailChannel
from tests.support.channels import TITLE_JA, sample_delivery, sample_notification

PASSWORD = "pa55-w0rd-s3cret"


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and can be told to refuse."""

    data_reply: str = "250 OK"
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    received: list[tuple[Envelope, bool]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply.startswith("250"):
            self.received.append((envelope, session.ssl is not None))
        return self.data_reply

    def message(self, index: int = 0) -> EmailMessage:
        content = self.received[index][0].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def smtp_server() -> AsyncIterator[Callable[..., Any]]:
    """Starts aiosmtpd in this test's event loop on a free port; every server is closed afterwards."""
    servers: list[asyncio.Server] = []

    async def start(handler: Mailbox, *, implicit: ssl.SSLContext | None = None, **smtp_kwargs: Any) -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="localhost", enable_SMTPUTF8=True, loop=loop, **smtp_kwargs),
            host="127.0.0.1",
            port=0,
            ssl=implicit,
        )
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def channel(port: int, tls: str = "none", to: tuple[str, ...] = ("ops@example.com",), **kw: Any) -> EmailChannel:
    return EmailChannel.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "tls": tls,
            "from": "DMC ノーティファイア <notifier@example.com>",
            "to": list(to),
            "timeout": 5,
            **kw,
        }
    )


async def test_message_content(smtp_server: Callable[..., Any]) -> None:
    """The server gets a multipart/alternative message with the expected headers and both bodies."""
    box = Mailbox()
    sender = EmailSender("ops-email", channel(await smtp_server(box)))
    await sender.send(sample_delivery(recipients=("team@example.com", "OPS@example.com")))
    envelope, _ = box.received[0]
    assert envelope.mail_from == "notifier@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "team@example.com"]
    msg = box.message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["X-DMC-Notifier-Rule"] == "failed-publish"
    assert msg["X-DMC-Notifier-Severity"] == "critical"
    assert msg["From"].addresses[0].display_name == "DMC ノーティファイア"
    plain = msg.get_body(("plain",))
    assert plain is not None
    assert "失敗しました" in plain.get_content()


async def test_japanese_subject_round_trips(smtp_server: Callable[..., Any]) -> None:
    """A Japanese subject travels RFC 2047-encoded and decodes to exactly the original string."""
    box = Mailbox()
    await EmailSender("ops-email", channel(await smtp_server(box))).send(sample_delivery())
    content = box.received[0][0].content
    assert isinstance(content, bytes)
    raw_subject = next(line for line in content.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in raw_subject.lower()
    content.split(b"\r\n\r\n", 1)[0].decode("ascii")  # every header is 7-bit on the wire
    assert box.message()["Subject"] == TITLE_JA


async def test_message_id_is_stable(smtp_server: Callable[..., Any]) -> None:
    """Two sends of one notification carry the same Message-ID and Date, derived from its key."""
    box = Mailbox()
    sender = EmailSender("ops-email", channel(await smtp_server(box)))
    await sender.send(sample_delivery())
    await sender.send(sample_delivery())
    first, second = box.message(0), box.message(1)
    assert first["Message-ID"] == second["Message-ID"] == message_id(sample_notification().key)
    assert first["Date"] == second["Date"]


async def test_text_only_message_gets_escaped_html(smtp_server: Callable[..., Any]) -> None:
    """Without a rendered HTML body the text is escaped into a <pre> alternative."""
    box = Mailbox()
    notification = sample_notification()
    plain = type(notification.message)(locale="en-US", title="Done", text="<b>a & b</b>")
    await EmailSender("ops-email", channel(await smtp_server(box))).send(sample_delivery(message=plain))
    html_part = box.message().get_body(("html",))
    assert html_part is not None
    assert "&lt;b&gt;a &amp; b&lt;/b&gt;" in html_part.get_content()


@pytest.mark.parametrize(("reply", "code"), [("451 4.3.0 try later", 451), ("550 5.7.1 rejected", 550)])
async def test_data_replies_are_reported(smtp_server: Callable[..., Any], reply: str, code: int) -> None:
    """A refusal of the message is an SmtpReplyError with the server's code."""
    box = Mailbox(data_reply=reply)
    with pytest.raises(SmtpReplyError) as caught:
        await EmailSender("ops-email", channel(await smtp_server(box))).send(sample_delivery())
    assert caught.value.code == code


async def test_all_recipients_refused_prefers_the_transient_code(smtp_server: Callable[..., Any]) -> None:
    """When every recipient is refused, a transient refusal wins so the policy retries."""
    box = Mailbox(refuse_rcpt={"ops@example.com": "550 5.1.1 no such user", "b@example.com": "450 4.2.1 busy"})
    with pytest.raises(SmtpReplyError) as caught:
        await EmailSender("ops-email", channel(await smtp_server(box))).send(
            sample_delivery(recipients=("b@example.com",))
        )
    assert caught.value.code == 450


async def test_partial_refusal_still_delivers(smtp_server: Callable[..., Any]) -> None:
    """If some recipients are accepted the message counts as sent (a retry would duplicate it for them)."""
    box = Mailbox(refuse_rcpt={"gone@example.com": "550 5.1.1 no such user"})
    sender = EmailSender("ops-email", channel(await smtp_server(box)))
    await sender.send(sample_delivery(recipients=("gone@example.com",)))
    assert box.received[0][0].rcpt_tos == ["ops@example.com"]


async def test_starttls_with_trusted_ca(
    smtp_server: Callable[..., Any], server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    """A server that requires STARTTLS receives the message over TLS when the client trusts its CA."""
    box = Mailbox()
    port = await smtp_server(box, tls_context=server_tls, require_starttls=True)
    await EmailSender("ops-email", channel(port, "starttls"), tls_context=client_tls).send(sample_delivery())
    assert box.received[0][1] is True


async def test_starttls_with_login(
    smtp_server: Callable[..., Any], server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    """Credentials are sent after STARTTLS; a wrong password is a 535 that does not echo the password."""

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd itself answers 535 on failure

    box = Mailbox()
    port = await smtp_server(
        box, tls_context=server_tls, require_starttls=True, authenticator=authenticate, auth_required=True
    )
    good = channel(port, "starttls", username="notifier", password=PASSWORD)
    await EmailSender("ops-email", good, tls_context=client_tls).send(sample_delivery())
    assert len(box.received) == 1
    bad = channel(port, "starttls", username="notifier", password=PASSWORD + "x")
    with pytest.raises(SmtpReplyError) as caught:
        await EmailSender("ops-email", bad, tls_context=client_tls).send(sample_delivery())
    assert caught.value.code == 535
    assert PASSWORD not in str(caught.value)


async def test_starttls_required_but_not_offered(smtp_server: Callable[..., Any]) -> None:
    """When the server does not offer STARTTLS the send fails as TLS and nothing is sent in plaintext."""
    box = Mailbox()
    with pytest.raises(TransportFailure) as caught:
        await EmailSender("ops-email", channel(await smtp_server(box), "starttls")).send(sample_delivery())
    assert caught.value.kind == "tls"
    assert box.received == []


async def test_untrusted_certificate_is_a_tls_failure(
    smtp_server: Callable[..., Any], server_tls: ssl.SSLContext
) -> None:
    """A certificate the client does not trust stops the send before any mail data is written."""
    box = Mailbox()
    port = await smtp_server(box, tls_context=server_tls, require_starttls=True)
    with pytest.raises(TransportFailure) as caught:
        await EmailSender("ops-email", channel(port, "starttls"), tls_context=ssl.create_default_context()).send(
            sample_delivery()
        )
    assert caught.value.kind == "tls"
    assert box.received == []


async def test_implicit_tls(
    smtp_server: Callable[..., Any], server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    """Implicit TLS (SMTPS) connects with TLS from the first byte."""
    box = Mailbox()
    port = await smtp_server(box, implicit=server_tls)
    await EmailSender("ops-email", channel(port, "implicit"), tls_context=client_tls).send(sample_delivery())
    assert len(box.received) == 1


async def test_crlf_recipients_are_dropped(smtp_server: Callable[..., Any]) -> None:
    """Recipients carrying CR/LF never reach RCPT TO or a header; the valid ones still get the message."""
    box = Mailbox()
    evil = ("x@example.com\r\nBcc: spy@evil.example", "y@example.com\nRCPT TO:<spy@evil.example>")
    await EmailSender("ops-email", channel(await smtp_server(box))).send(sample_delivery(recipients=evil))
    envelope, _ = box.received[0]
    assert envelope.rcpt_tos == ["ops@example.com"]
    assert isinstance(envelope.content, bytes)
    assert b"evil.example" not in envelope.content


async def test_no_valid_recipient_is_a_configuration_error(smtp_server: Callable[..., Any]) -> None:
    """With every recipient invalid or blank the send fails without connecting."""
    box = Mailbox()
    sender = EmailSender("ops-email", channel(await smtp_server(box), to=()))
    with pytest.raises(ConfigurationError):
        await sender.send(sample_delivery(recipients=("", "not an address", "a@b.example\r\nX: y")))
    assert box.received == []


def test_recipient_validation() -> None:
    """Recipients are trimmed, de-duplicated case-insensitively, and anything but a plain address is rejected."""
    valid, rejected = recipients(
        ("Ops@Example.com",), (" ops@example.com ", "", "dev+dmc@example.co.jp", "a@b\nc", "<x@y.z>", "no-at")
    )
    assert valid == ["Ops@Example.com", "dev+dmc@example.co.jp"]
    assert rejected == ["a@b\nc", "<x@y.z>", "no-at"]


async def test_connection_refused(refused: int) -> None:
    """Nothing listening is a connection failure."""
    with pytest.raises(TransportFailure) as caught:
        await EmailSender("ops-email", channel(refused)).send(sample_delivery())
    assert caught.value.kind == "connection"


async def test_silent_server_times_out() -> None:
    """A server that never greets is a timeout, bounded by the channel timeout."""

    done, closed = asyncio.Event(), asyncio.Event()

    async def mute(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()
        await writer.wait_closed()
        closed.set()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TransportFailure) as caught:
            await EmailSender("ops-email", channel(port, timeout=0.2)).send(sample_delivery())
        done.set()
        await closed.wait()
    assert caught.value.kind == "timeout"


async def test_title_cannot_inject_headers(smtp_server: Callable[..., Any]) -> None:
    """A rendered title carrying CR/LF and a header stays one Subject line; no header or recipient is added."""
    box = Mailbox()
    message = sample_notification().message
    evil = type(message)(locale="en-US", title="Job done\r\nBcc: spy@evil.example\r\n\r\nbody", text="t")
    await EmailSender("ops-email", channel(await smtp_server(box))).send(sample_delivery(message=evil))
    envelope, _ = box.received[0]
    assert envelope.rcpt_tos == ["ops@example.com"]
    received = box.message()
    assert received["Bcc"] is None
    assert received["Subject"] == "Job done Bcc: spy@evil.example body"
    assert isinstance(envelope.content, bytes)
    headers = envelope.content.split(b"\r\n\r\n", 1)[0]
    assert not any(line.startswith(b"Bcc:") for line in headers.split(b"\r\n"))


async def test_plaintext_only_when_configured(smtp_server: Callable[..., Any]) -> None:
    """`tls: none` sends without TLS, as configured; STARTTLS is never attempted behind the operator's back."""
    box = Mailbox()
    await EmailSender("ops-email", channel(await smtp_server(box), "none")).send(sample_delivery())
    assert box.received[0][1] is False


def test_a_resolution_threads_under_the_firing_mail() -> None:
    """In-Reply-To and References name the Message-ID of the mail its `thread` notification was sent as."""
    resolved = replace(sample_notification(), key="msg_resolved", status="resolved", thread="msg_firing")
    mail = build_message(resolved, "notifier@example.com", ["ops@example.com"])
    assert mail["In-Reply-To"] == mail["References"] == message_id("msg_firing")
    assert "In-Reply-To" not in build_message(sample_notification(), "notifier@example.com", ["ops@example.com"])
