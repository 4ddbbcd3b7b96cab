"""An alert storm through a real `notifier run`: grouped digests against one message per failure, in the same run.

    .venv/bin/python benchmarks/bench_storm.py [--quick]

`notifier simulate` serves 50 companies; this script starts a Slack Web API fake that, like Slack, takes at
most one message per second per channel (a faster one is answered 429 `ratelimited` with `Retry-After: 1`).
Each company's failures go to its own Slack channel. Then, twice, in the same run and against the same
fake: a fresh `notifier run` (its own state) watches the companies, and this script makes 100 publish jobs
per company (20 with --quick) fail within the same second — 5,000 failures in all. The daemon polls them,
fetches their logs, evaluates, commits and sends, all as in production.

- grouped: the rule's Slack target has `group_by: [company.handle]`, `group_wait: 10s`, `group_interval: 1m`.
  Measured: the time from the first failure until every company's channel has its digest (the design asks
  for ≤ group_wait + 60 s), until every failure has been told (failures polled after the first digest come in
  the second, an interval later), and the messages the busiest channel got within group_wait + group_interval
  (≤ 2).
- ungrouped (the baseline): the same rule without `group_by`: one message per failure. Measured: the same.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from harness import Row, machine, options, report
from procs import SERVICE_PATH, daemon_config, free_port, simulator_command, started, wait_until_answering

COMPANIES = 50
WAIT, INTERVAL = 10.0, 60.0
TOKEN = "xoxb-benchmark-token"  # noqa: S105 - the fake's token, nothing real
COUNT = re.compile(r"([\d,]+) alerts? in company")
RUN = 20.0  # seconds a job runs before it fails: every job is created before the first one ends


@dataclass
class Workspace:
    """What the Slack fake took: per channel, each message's arrival time and how many failures it tells of."""

    messages: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    refused: int = 0
    _last: dict[str, float] = field(default_factory=dict)

    async def post(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await request.json()
        channel, now = str(body.get("channel")), time.monotonic()
        if now - self._last.get(channel, float("-inf")) < 1.0:  # Slack: about one message per second per channel
            self.refused += 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        self._last[channel] = now
        found = COUNT.search(str(body.get("text", "")))
        self.messages[channel].append((now, int(found.group(1).replace(",", "")) if found else 1))
        ts = f"{now:.6f}"
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    def told(self, channel: str) -> int:
        return sum(count for _, count in self.messages.get(channel, []))


def rules(grouped: bool) -> str:
    """One failed-publish rule per company, each notifying that company's own Slack channel."""
    grouping = f", group_by: [company.handle], group_wait: {WAIT:g}s, group_interval: {INTERVAL:g}s" if grouped else ""
    return "".join(
        f"- name: failed-{1000 + i}\n  description: A publish job ended with errors\n  on: job.failed\n"
        f'  where: company.handle == "{1000 + i}"\n  severity: critical\n'
        f"  notify: [{{channel: slack-{1000 + i}{grouping}}}]\n"
        for i in range(COMPANIES)
    )


def configure(directory: Path, ips: str, slack: str, grouped: bool, port: int) -> Path:
    (directory / "rules").mkdir()
    (directory / "rules" / "storm.yaml").write_text(rules(grouped))
    channels = "".join(
        f'  slack-{1000 + i}: {{type: slack, token: {TOKEN}, channel: "#c{1000 + i}", api_url: "{slack}"}}\n'
        for i in range(COMPANIES)
    )
    rest = (f"poll: {{interval: 1s, jitter: 0, schedules_interval: 0}}\nchannels:\n{channels}"
            f"http: {{listen: 127.0.0.1:{port}}}\nlog: {{format: json, level: warning}}\n")  # fmt: skip
    return daemon_config(directory, ips, COMPANIES, "rules/", rest)


async def storm(ips: str, jobs: int) -> float:
    """`jobs` publish jobs per company that all fail RUN seconds after the first was made; when that is."""
    first = time.monotonic()
    async with aiohttp.ClientSession() as session:

        async def make(company: int, n: int) -> None:
            run = RUN - (time.monotonic() - first)  # all end together, however long making them takes
            body = {"company": str(1000 + company), "type": "ImageServingPublish", "outcome": "failure",
                    "name": f"Spring {n}", "run": run, "queued": 0}  # fmt: skip
            async with session.post(f"{ips}/_sim/jobs", json=body) as response:
                response.raise_for_status()

        for company in range(COMPANIES):
            await asyncio.gather(*(make(company, n) for n in range(jobs)))
    return first + RUN


async def until(done: Callable[[], bool], limit: float) -> bool:
    """Whether `done()` came true within `limit` seconds (looked at five times a second)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if done():
            return True
        await asyncio.sleep(0.2)
    return False


async def one_run(ips: str, jobs: int, grouped: bool, limit: float) -> tuple[float, float, int, int]:
    """(seconds until every channel had its first message, until every failure was told, most messages one
    channel got within group_wait + group_interval, failures told) for one fresh daemon."""
    workspace = Workspace()
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", workspace.post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    slack = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    channels = [f"#c{1000 + i}" for i in range(COMPANIES)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            path = configure(Path(tmp), ips + SERVICE_PATH, slack, grouped, port)
            with started([sys.executable, "-m", "notifier", "run", "--config", str(path)]) as daemon:
                await wait_until_answering(f"http://127.0.0.1:{port}/readyz", daemon)
                failed_at = await storm(ips, jobs)
                first_ok = await until(lambda: all(workspace.messages.get(c) for c in channels), limit)
                first = max(workspace.messages[c][0][0] for c in channels) - failed_at if first_ok else float("nan")
                all_ok = await until(lambda: all(workspace.told(c) >= jobs for c in channels), limit)
                last = max(workspace.messages[c][-1][0] for c in channels) - failed_at if all_ok else float("nan")
                # A group opens with its first member, group_wait before its first digest: what it may send within
                # group_wait + group_interval is what a channel got until an interval after that digest.
                opened = {c: workspace.messages[c][0][0] - (WAIT if grouped else 0.0) for c in channels if first_ok}
                window = max(opened.values(), default=time.monotonic()) + WAIT + INTERVAL + 1.0
                await asyncio.sleep(max(2.0, window - time.monotonic()))  # a third message would have come by now
                most = max(
                    (
                        sum(1 for at, _ in workspace.messages[c] if at <= opened[c] + WAIT + INTERVAL + 1.0)
                        for c in opened
                    ),
                    default=0,
                )
                told = sum(workspace.told(c) for c in channels)
    finally:
        await runner.cleanup()
    return first, last, most, told


def main() -> None:
    args = options(__doc__.splitlines()[0])
    jobs = 20 if args.quick else 100
    sim_port = free_port()
    ips = f"http://127.0.0.1:{sim_port}"
    sim_cmd = simulator_command(sim_port, "scale", "--companies", str(COMPANIES), "--jobs", "0")
    with started(sim_cmd) as simulator:
        asyncio.run(wait_until_answering(f"{ips}/_sim/state", simulator))
        first, told_all, most, told = asyncio.run(one_run(ips, jobs, grouped=True, limit=WAIT + INTERVAL + 60))
        base_first, base_all, base_most, base_told = asyncio.run(one_run(ips, jobs, False, limit=jobs * 2.0 + 60))
    total = jobs * COMPANIES
    report(
        f"Alert storm: {total:,} failures across {COMPANIES} companies, Slack at 1 message/s per channel",
        [
            Row(
                "every channel has its digest (from the first failure)",
                first,
                "s",
                base_all,
                "every failure told, ungrouped",
                target=("<=", WAIT + 60),
            ),
            Row(
                "every failure told in every channel",
                told_all,
                "s",
                base_all,
                "ungrouped",
                ratio=base_all / told_all if told_all else None,
            ),
            Row(
                "messages in the busiest channel, group_wait + interval",
                most,
                "",
                base_most,
                "ungrouped",
                target=("<=", 2),
            ),
            Row("failures the messages account for", told, "", base_told, "ungrouped"),
        ],
        notes=[
            machine(),
            f"group_wait {WAIT:g} s, group_interval {INTERVAL:g} s; ungrouped, every channel had its first message "
            f"after {base_first:.1f} s; a NaN is a wait that timed out",
        ],
        json_path=args.json,
    )


if __name__ == "__main__":
    main()
