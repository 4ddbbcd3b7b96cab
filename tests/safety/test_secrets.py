"""No secret ever reaches a log line, a stored error, the status API or an operator command's output.

One run with every kind of fault, against receivers that echo whatever they were sent back in their error
replies: a failing IPS login, Slack refusing the bot token, a Slack incoming webhook answering 500, an SMTP
server refusing the password, a webhook receiver, a Teams workflow and PagerDuty answering 500. Everything the
daemon wrote is then searched for each secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from notifier.app.daemon import Daemon
from notifier.app.logs import REDACTOR, configure_logging
from notifier.cli import main
from notifier.config import load_config
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.soap import SimUser
from notifier.runtime.clock import ManualClock
from notifier.safety.redact import secret_values, spellings
from notifier.web import snapshot
from tests.support import daemon as support
from tests.support.daemon import CONSOLE
from tests.support.endpoints import config_yaml, receivers
from tests.support.sim import START, Sim, StartSim
from tests.support.store import sqlite_store

IPS_PASSWORD = "ips-Pa55-9f3kQz"
SLACK_TOKEN = "xoxb-1234-5678-SeCrEtToKeN"
SLACK_HOOK_PATH = "/services/T000/B000/HooKSeCrEt42"
SMTP_PASSWORD = "smtp-Pa55-Xy7wV"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
TEAMS_HOOK_PATH, TEAMS_SIG = "/workflows/TeAmSfL0w/invoke", "TeAmSsIgNaTuRe-42xyz"
ROUTING_KEY = "R0uT1nGkEyN0tT0bEsHoWn0123456789"


class Echo:
    """Every receiver here answers with an error that repeats what it was sent: headers, body, credentials."""

    def __init__(self) -> None:
        self.calls = 0

    async def slack_api(self, request: web.Request) -> web.Response:
        self.calls += 1
        body = await request.text()
        echoed = [request.headers["Authorization"], body]
        return web.json_response({"ok": False, "error": "invalid_auth", "echo": echoed})

    async def fail_loudly(self, request: web.Request) -> web.Response:
        self.calls += 1
        body = await request.text()
        return web.Response(status=500, text=f"refused {request.url} {dict(request.headers)} {body}")


class EchoingAuth:
    """An SMTP authenticator that refuses and puts the password it got into its reply."""

    def __call__(self, server: SMTP, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
        password = data.password.decode() if isinstance(data, LoginPassword) else str(data)
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad password {password}")


@pytest.fixture
async def echo_servers() -> AsyncIterator[tuple[Echo, TestServer, int]]:
    echo = Echo()
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", echo.slack_api)
    app.router.add_post(SLACK_HOOK_PATH, echo.fail_loudly)
    app.router.add_post("/hook", echo.fail_loudly)
    app.router.add_post(TEAMS_HOOK_PATH, echo.fail_loudly)
    app.router.add_post("/v2/enqueue", echo.fail_loudly)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(None, hostname="localhost", authenticator=EchoingAuth(), auth_require_tls=False, loop=loop),
        host="127.0.0.1",
        port=0,
    )
    yield echo, server, smtp.sockets[0].getsockname()[1]
    smtp.close()
    await smtp.wait_closed()
    await server.close()


@pytest.fixture
def json_logs() -> Iterator[None]:
    """Production logging (JSON on stderr, with the redactor) for this test only."""
    yield
    structlog.reset_defaults()
    REDACTOR.update([])


def write_config(tmp_path: Path, sim: Sim, server: TestServer, smtp_port: int) -> Path:
    """Six channels answered by the echoing servers, the IPS password read from a file."""
    (tmp_path / "ips_password").write_text(IPS_PASSWORD + "\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(
        "- name: failed-publish\n  on: job.failed\n  severity: critical\n"
        "  notify: [{channel: bot}, {channel: hook}, {channel: mail}, {channel: downstream}, {channel: teams},\n"
        "           {channel: pd}]\n",
        encoding="utf-8",
    )
    channels = f"""\
  bot: {{type: slack, token: "{SLACK_TOKEN}", channel: "#ops", api_url: "{server.make_url("/api/")}"}}
  hook: {{type: slack, webhook_url: "{server.make_url(SLACK_HOOK_PATH)}"}}
  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, tls: none, username: ops, password: "{SMTP_PASSWORD}",
         from: notifier@example.com, to: [ops@example.com], timeout: 5s}}
  downstream: {{type: webhook, url: "{server.make_url("/hook")}", secret: "{WEBHOOK_SECRET}"}}
  teams: {{type: teams, webhook_url: "{server.make_url(TEAMS_HOOK_PATH).with_query(sig=TEAMS_SIG)}"}}
  pd: {{type: pagerduty, routing_key: {ROUTING_KEY}, api_url: "{server.make_url("/v2/enqueue")}"}}"""
    ips = f'endpoint: "{sim.endpoint}", user: ops@example.com, password_file: ips_password, timeout: 5s'
    return support.write_config(tmp_path, "", ips=ips, unreachable_after=1, rules="rules.yaml", channels=channels)


async def test_no_secret_appears_anywhere_after_a_run_with_faults(
    start_sim: StartSim,
    echo_servers: tuple[Echo, TestServer, int],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    """Logs, stored delivery errors, the status API and `outbox list` never contain a configured secret."""
    users = {"ops@example.com": SimUser(IPS_PASSWORD)}
    sim = await start_sim("failure", users=users)
    echo, server, smtp_port = echo_servers
    config = load_config(write_config(tmp_path, sim, server, smtp_port))
    configure_logging("json", "debug", secret_values(config))
    clock = ManualClock(START)
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        [poller] = daemon.pollers.pollers
        for _ in range(2):  # baseline, then the failed publish: six channels, six failures
            await poller.poll_once()
            sim.world.advance(30)
            clock.advance(30)
        await daemon.settle()
        users["ops@example.com"] = SimUser("rotated-elsewhere")  # now every poll is an authentication fault
        await poller.poll_once()
        await daemon.settle()
        status = json.dumps(await snapshot(daemon.status))
    async with sqlite_store(config.state_location.path) as store:
        rows = await store.list_deliveries(["pending", "dead", "delivered"], 100)
    assert echo.calls >= 3
    assert poller.status.consecutive_failures == 1
    errors = [row.last_error or "" for row in rows]
    assert len(rows) == 6
    assert all(errors)
    await asyncio.to_thread(main, ["outbox", "list", "--state", "all", "--config", str(config.source)])
    captured = capfd.readouterr()
    everything = "\n".join([captured.out, captured.err, status, *errors])
    assert "delivery failed" in captured.err or "dead-lettered" in captured.err
    secrets = (IPS_PASSWORD, SLACK_TOKEN, SLACK_HOOK_PATH, SMTP_PASSWORD, WEBHOOK_SECRET, WEBHOOK_SECRET[6:])
    for secret in (*secrets, TEAMS_HOOK_PATH, TEAMS_SIG, ROUTING_KEY):
        assert secret not in everything, f"a secret leaked: …{secret[-6:]}"


ECHOED_PASSWORD = "ips-Pa55&<9f3kQz-Echo"  # escaped when a server quotes the request it refused


async def test_a_password_echoed_by_ips_reaches_no_channel_page_metric_or_stored_byte(
    start_sim: StartSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """IPS faults that quote the request (the IPS password with it) become ips-unreachable: Slack, email,
    webhook and console receive the error with the password redacted in every spelling, and neither the
    state file, /status, /readyz, /api/status, /api/companies, /metrics nor `outbox list` holds it."""
    users = {"ops@example.com": SimUser(ECHOED_PASSWORD)}
    sim = await start_sim("failure", users=users)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- name: ips-unreachable\n  on: company.unreachable\n  severity: critical\n"
        "  notify: [{channel: ops-slack}, {channel: ops-email}, {channel: downstream}, {channel: console}]\n",
        encoding="utf-8",
    )
    async with receivers() as endpoints:
        ips = f'endpoint: "{sim.endpoint}", user: ops@example.com, password: "{ECHOED_PASSWORD}", timeout: 5s'
        path = tmp_path / "notifier.yaml"
        text = config_yaml(
            endpoints, str(rules), ips, channels=CONSOLE, http='listen: "127.0.0.1:0"', unreachable_after=1
        )
        path.write_text(text, encoding="utf-8")
        clock = ManualClock(START)
        async with Daemon.open(load_config(path), clock=clock, polling=False) as daemon:
            [poller] = daemon.pollers.pollers
            await poller.poll_once()
            sim.world.chaos.inject(FaultSpec("echo"), count=5)
            await poller.poll_once()
            await daemon.settle()
            clock.advance(91)  # three intervals without a good poll: /readyz shows the last error too
            pages = [await _get(daemon.window.url(p)) for p in PAGES]
        received = endpoints.received
        sent = [
            json.dumps(received.slack),
            *(b.decode() for b in received.raw_mail),
            *(h[0].decode() for h in received.hooks),
        ]
    assert len(received.slack) == len(received.mail) == len(received.hooks) == 1
    assert "Invalid request XML" in json.dumps(received.slack)  # the error was told, with the password redacted
    assert "Invalid request XML" in pages[1]
    console = capsys.readouterr().out  # the console channel's lines (and this test's unconfigured log lines)
    await asyncio.to_thread(main, ["outbox", "list", "--state", "all", "--config", str(path)])
    printed = capsys.readouterr().out
    assert "ips-unreachable" in printed
    console_lines = [line for line in console.splitlines() if line.startswith('{"channel":"console"')]
    assert len(console_lines) == 1
    sent.extend(console_lines)
    stored = await asyncio.to_thread(_state_files, tmp_path)
    places = {"sent": "\n".join(sent), "outbox list": printed, "state file": stored}
    places.update(zip(PAGES, pages, strict=True))
    for spelling in spellings(ECHOED_PASSWORD):
        leaks = [place for place, text in places.items() if spelling in text]
        assert leaks == [], f"the IPS password leaked as {spelling[:4]}… into {leaks}"


def _state_files(folder: Path) -> str:
    """The state file with its write-ahead log, as bytes read as text: whatever SQLite wrote anywhere."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("state.db*"))).decode("utf-8", "replace")


PAGES = ("/status", "/readyz", "/api/status", "/api/companies", "/metrics")


async def _get(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()
