"""`notifier demo`: the whole product on 127.0.0.1 in one command, no credentials.

Starts the IPS simulator (demo scenario), a webhook receiver that verifies each delivery's signature and
prints it, a Slack workspace that prints its messages, replies and edits, and the daemon with the shipped
rules (each also sent to the local webhook; failed publishes and stalls to Slack too: failures grouped per
company into digests, stalls resolving in their thread), a console channel and the status page. Then it stages
a storm of failed publishes and a stall that resolves. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from notifier.commands.demo_slack import CHANNEL, DEMO_TOKEN, STORM, serving, slack_workspace, stage
from notifier.sources.sourcemap import Loader

DEMO_USER, DEMO_PASSWORD = "demo@example.com", "demo"


def shipped_rules() -> Path:
    """The rules shipped with the package (wheel) or beside it (a source checkout)."""
    packaged = Path(str(resources.files("notifier"))) / "shipped_rules"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "rules"


def busy_port_problem(port: int) -> str | None:
    """Why the status page could not listen on `port` (another demo, a running daemon …), said with the fix."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: TIME_WAIT is not "busy"
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return (
                f"port {port} on 127.0.0.1 is not free ({exc.strerror or exc}): is a notifier or another demo "
                f"running? Pick another with --port, e.g. `notifier demo --port {port + 1}`"
            )
    return None


DEMO_LOG = {"format": "console", "level": "warning"}  # readable lines, and only what needs attention
STALL_SECONDS = 120  # the demo's stalled-progress threshold; the shipped rule waits 15 minutes


# In the demo's Slack: failed publishes as one digest per company, stalls with their resolution in their thread.
SLACK_TARGETS = {
    "failed-publish": {"channel": "demo-slack", "group_by": ["company.handle"], "group_wait": "30s",
                       "group_interval": "2m"},
    "stalled-progress": {"channel": "demo-slack"},
}  # fmt: skip


def demo_rules(target: Path, extra_channel: str) -> None:
    """The shipped rules, each also notifying the demo's webhook receiver, failures and stalls its Slack too;
    stalls are called after 2 minutes."""
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(shipped_rules().glob("*.yaml")):
        # The project's loader: under plain YAML 1.1 every rule's `on:` key would be read as True.
        rules = yaml.load(source.read_text(encoding="utf-8"), Loader=Loader) or []  # noqa: S506 - a safe loader
        for rule in rules:
            slack = [SLACK_TARGETS[rule["name"]]] if rule.get("name") in SLACK_TARGETS else []
            rule["notify"] = [*rule.get("notify", []), {"channel": extra_channel}, *slack]
            if rule.get("on") == "job.active" and "stalled_seconds >= 900" in rule.get("where", ""):
                rule["where"] = rule["where"].replace(">= 900", f">= {STALL_SECONDS}")  # not 15 minutes of waiting
        (target / source.name).write_text(yaml.safe_dump(rules, sort_keys=False, allow_unicode=True), encoding="utf-8")


def demo_config(
    workdir: Path,
    ips_port: int,
    hook_port: int,
    http_port: int,
    secret: str,
    *,
    slack_port: int = 9,
    speed: float = 1.0,
    as_json: bool = False,
) -> Path:
    every = f"{max(1, round(5 / speed))}s"
    config = {
        "ips": {
            "endpoint": f"http://127.0.0.1:{ips_port}/scene7/services/IpsApiService",
            "user": DEMO_USER,
            "password": DEMO_PASSWORD,
            "timeout": "10s",
        },
        # Every 5 s of simulated time, at most once a second (at --speed 10 the jobs move ten times as fast), and
        # schedules at every poll; a fire time without a run for a minute is missed: a demo should not take an hour.
        "poll": {"interval": every, "unreachable_after": 3, "schedules_interval": every, "schedule_grace": "1m"},
        # Each company's locale is the fallback for jobs that finish between two polls (never seen active,
        # so their own locale is unknown); jobs seen active speak their own locale.
        "companies": [
            {"handle": "47", "locale": "en-US", "timezone": "America/Los_Angeles"},
            {"name": "Nordwind Moden", "locale": "de-DE", "timezone": "Europe/Berlin"},  # resolved by name
            {"handle": "203", "locale": "ja-JP", "timezone": "Asia/Tokyo"},
            {"handle": "311", "locale": "fr-FR", "timezone": "Europe/Paris"},
            {"handle": "512", "locale": "zh-CN", "timezone": "Asia/Shanghai"},
        ],
        "rules": "rules",
        "channels": {
            "console": {"type": "console", "format": "json" if as_json else "summary"},
            "demo-webhook": {"type": "webhook", "url": f"http://127.0.0.1:{hook_port}/hook", "secret": secret},
            "demo-slack": {
                "type": "slack",
                "token": DEMO_TOKEN,
                "channel": CHANNEL,
                "api_url": f"http://127.0.0.1:{slack_port}/api/",
            },
        },
        "http": {"listen": f"127.0.0.1:{http_port}"},
        "log": DEMO_LOG,
    }
    demo_rules(workdir / "rules", "demo-webhook")
    path = workdir / "notifier.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def verify(secret: str, headers: Any, body: bytes) -> bool:
    """Standard Webhooks verification, as a receiver would do it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1)[-1] == expected for sig in headers.get("webhook-signature", "").split())


@asynccontextmanager
async def receiver(secret: str) -> AsyncIterator[int]:
    """A webhook receiver on a free port of 127.0.0.1 (yielded) that verifies and prints each delivery."""

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(secret, request.headers, body):
            print("webhook receiver: REJECTED a delivery with a bad signature", flush=True)
            return web.Response(status=401)
        data = json.loads(body)["data"]
        print(f"  ↳ webhook receiver: signature verified, {data['status']} {data['rule']} "
              f"({request.headers['webhook-id']})", flush=True)  # fmt: skip
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with serving(app) as port:
        yield port


async def demo(port: int, speed: float, *, as_json: bool = False) -> None:
    from notifier.app.daemon import Daemon
    from notifier.app.logs import configure_logging
    from notifier.app.run import install_stop_signals, run
    from notifier.config import load_config
    from notifier.ips.simulator.server import serve_simulator

    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    configure_logging(DEMO_LOG["format"], DEMO_LOG["level"])  # before anything started here can log
    with tempfile.TemporaryDirectory(prefix="notifier-demo-") as tmp:
        stop = asyncio.Event()
        install_stop_signals(stop)
        async with (
            serve_simulator("127.0.0.1", 0, scenario="demo", speed=speed) as simulator,
            receiver(secret) as hook_port,
            slack_workspace() as (slack_port, workspace),
        ):
            path = demo_config(Path(tmp), simulator.port, hook_port, port, secret, speed=speed, as_json=as_json,
                               slack_port=slack_port)  # fmt: skip
            config = load_config(path)
            staged: list[asyncio.Task[None]] = []

            def introduce(daemon: Daemon) -> None:
                _introduce(simulator.port, hook_port, daemon.window.port or port, speed, as_json)
                staged.append(asyncio.create_task(stage(simulator.world, workspace)))

            # The daemon keeps the simulator's time: at --speed 10 both run ten times faster, so a notification
            # is never stamped before the job it is about started.
            try:
                await run(config, stop=stop, clock=simulator.world.clock, started=introduce)
            finally:
                for task in staged:
                    task.cancel()
                await asyncio.gather(*staged, return_exceptions=True)


def _introduce(ips_port: int, hook_port: int, port: int, speed: float, as_json: bool) -> None:
    lines = [
        f"IPS simulator     http://127.0.0.1:{ips_port}/scene7/services/IpsApiService",
        f"webhook receiver  http://127.0.0.1:{hook_port}/hook (verifies signatures)",
        f"status page       http://127.0.0.1:{port}/status   (metrics: /metrics)",
        f"stalled-progress  fires after {STALL_SECONDS // 60} minutes without progress here (the shipped rule: 15)",
        f"Slack {CHANNEL}       a local workspace: {STORM} publishes of company 47 fail in about 30 s and arrive as "
        "one digest; a stalled job's resolution replies in its thread and edits it",
    ]
    if speed != 1:
        lines.append(f"simulated time    runs {speed:g}× as fast; times shown are simulated, the daemon's included")
    shown = "as the webhook's JSON body" if as_json else "one line each (--json for the webhook's JSON body)"
    lines.append(f"notifications appear below, {shown}; Ctrl-C stops everything")
    print("\n".join(lines), file=sys.stderr, flush=True)
