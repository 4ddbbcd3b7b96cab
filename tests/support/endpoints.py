"""Real receivers on 127.0.0.1 for end-to-end delivery tests: a Slack Web API fake (what slack-sdk's
`base_url` points at: `chat.postMessage` with threads, `chat.update`, messages that can be deleted), an aiosmtpd
SMTP server, a webhook endpoint and the schema-checking Teams and PagerDuty fakes, recording what each one got.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.channels import PAGERDUTY_PATH, ROUTING_KEY, FakePagerDuty, FakeTeams, oncall_app, teams_url
from tests.support.daemon import config_text

SLACK_TOKEN = "xoxb-end-to-end-token"  # a fake token for the fake Slack
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"end-to-end-signing-key-0123456").decode()
SLACK_PATH, HOOK_PATH = "/api/", "/hooks/dmc"
PUBLIC_URL = "https://dmc-notifier.example.com"


@dataclass
class Received:
    """What the three receivers accepted, in arrival order."""

    slack: list[dict[str, Any]] = field(default_factory=list)  # chat.postMessage calls; each got `ts` str(index+1)
    slack_updates: list[dict[str, Any]] = field(default_factory=list)  # chat.update calls that found their message
    slack_deleted: set[str] = field(default_factory=set)  # `ts` of messages deleted since they were posted
    mail: list[EmailMessage] = field(default_factory=list)
    raw_mail: list[bytes] = field(default_factory=list)
    hooks: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    teams: FakeTeams = field(default_factory=FakeTeams)
    pagerduty: FakePagerDuty = field(default_factory=FakePagerDuty)

    def complete(self) -> bool:
        return bool(self.slack and self.mail and self.hooks and self.teams.cards and self.pagerduty.events)


@dataclass
class Receivers:
    http: TestServer
    smtp_port: int
    received: Received

    @property
    def slack_url(self) -> str:
        return str(self.http.make_url(SLACK_PATH))

    @property
    def hook_url(self) -> str:
        return str(self.http.make_url(HOOK_PATH))

    @property
    def teams_url(self) -> str:
        return teams_url(self.http)

    @property
    def pagerduty_url(self) -> str:
        return str(self.http.make_url(PAGERDUTY_PATH))


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts, parsed."""

    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.mail.append(parsed)
        self.received.raw_mail.append(content)
        return "250 OK"


SLACK_CHANNEL_ID = "C0DMC"  # what the fake workspace calls "#dmc-alerts"


def slack_ts(index: int) -> str:
    """The `ts` the fake Slack gives the message posted `index`-th (from 0)."""
    return f"1700000000.{index + 1:06d}"


def http_app(received: Received) -> web.Application:
    def refused(request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {SLACK_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return None

    def known(ts: object) -> bool:
        posted = {slack_ts(i) for i in range(len(received.slack))}
        return isinstance(ts, str) and ts in posted and ts not in received.slack_deleted

    async def post_message(request: web.Request) -> web.Response:
        body = await request.json()
        if (answer := refused(request)) is not None:
            return answer
        if "thread_ts" in body and not known(body["thread_ts"]):
            return web.json_response({"ok": False, "error": "thread_not_found"})
        received.slack.append(body)
        return web.json_response({"ok": True, "channel": SLACK_CHANNEL_ID, "ts": slack_ts(len(received.slack) - 1)})

    async def update(request: web.Request) -> web.Response:
        body = await request.json()
        if (answer := refused(request)) is not None:
            return answer
        if body.get("channel") != SLACK_CHANNEL_ID or not known(body.get("ts")):
            return web.json_response({"ok": False, "error": "message_not_found"})
        received.slack_updates.append(body)
        return web.json_response({"ok": True, "channel": SLACK_CHANNEL_ID, "ts": body["ts"]})

    async def webhook(request: web.Request) -> web.Response:
        received.hooks.append((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    app = oncall_app(received.teams, received.pagerduty)
    app.router.add_post(f"{SLACK_PATH}chat.postMessage", post_message)
    app.router.add_post(f"{SLACK_PATH}chat.update", update)
    app.router.add_post(HOOK_PATH, webhook)
    return app


@asynccontextmanager
async def receivers() -> AsyncIterator[Receivers]:
    """Start the HTTP receivers and the SMTP server in this event loop; everything is closed afterwards."""
    received = Received()
    http = TestServer(http_app(received), host="127.0.0.1")
    await http.start_server()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(Mailbox(received), hostname="localhost", enable_SMTPUTF8=True, loop=loop), "127.0.0.1", 0
    )
    try:
        yield Receivers(http, smtp.sockets[0].getsockname()[1], received)
    finally:
        smtp.close()
        await smtp.wait_closed()
        await http.close()


NO_IPS = 'endpoint: "http://127.0.0.1:9/scene7/services/IpsApiService", user: u@example.com, password: p'


def config_yaml(
    endpoints: Receivers, rules: str, ips: str = NO_IPS, *, channels: str = "", http: str = "", **settings: Any
) -> str:
    """A config whose channels point at the receivers (and `channels`, more YAML lines); by default the IPS
    endpoint is never called. `http` adds to the http section, `settings` go to `config_text`."""
    lines = [
        f'  ops-slack: {{type: slack, token: {SLACK_TOKEN}, channel: "#dmc-alerts", api_url: "{endpoints.slack_url}"}}',
        f"  ops-email: {{type: email, host: 127.0.0.1, port: {endpoints.smtp_port}, tls: none,",
        '               from: "DMC Notifier <notifier@example.com>", to: [ops@example.com], timeout: 5s}',
        f'  downstream: {{type: webhook, url: "{endpoints.hook_url}", secret: {WEBHOOK_SECRET}, timeout: 5s}}',
        f'  ops-teams: {{type: teams, webhook_url: "{endpoints.teams_url}", timeout: 5s}}',
        f"  on-call: {{type: pagerduty, routing_key: {ROUTING_KEY}, "
        f'api_url: "{endpoints.pagerduty_url}", timeout: 5s}}',
    ]
    if channels:
        lines.append(channels)
    settings.setdefault("unreachable_after", 3)
    public = f'public_url: "{PUBLIC_URL}"' + (f", {http}" if http else "")
    return config_text("", ips=ips, rules=rules, channels="\n".join(lines), http=public, **settings)
