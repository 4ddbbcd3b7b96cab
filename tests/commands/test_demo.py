"""`notifier demo`: one command, no credentials — simulator, daemon, verified webhooks, status page, clean Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
from datetime import datetime, timedelta

import aiohttp

from notifier.commands.demo_slack import STORM
from tests.support.processes import Processes, Running

# `09:05:00  FIRING    critical  failed-publish  203 Sakura Interiors  [ja-JP] 公開ジョブ「…」が失敗しました`
SUMMARY = re.compile(
    r"\d\d:\d\d:\d\d  (FIRING|RESOLVED) +(info|warning|critical) +\S+  \d+ .+  \[[a-z]{2}-[A-Z]{2}\] .+"
)


STATUS_PAGE = re.compile(r"status page +http://127\.0\.0\.1:(\d+)/status")


def status_port(running: Running) -> int:
    """The port the status page took (the demo says where it is; `--port 0` lets it pick a free one)."""
    found = [m for line in running.err if (m := STATUS_PAGE.search(line))]
    assert found, "the demo did not say where its status page is:\n" + "\n".join(running.err[-20:])
    return int(found[0].group(1))


async def test_demo_runs_everything_locally_and_stops_on_ctrl_c(notifier_process: Processes) -> None:
    """Within seconds the demo says where to look and that stalls are called after 2 minutes, prints one readable
    line per notification and a verified webhook delivery; the status page answers; SIGINT exits 0."""
    running = await notifier_process.collected("demo", "--port", "0", "--speed", "20")
    await running.until(
        lambda: any(SUMMARY.fullmatch(x) for x in running.out) and any("verified" in x for x in running.out),
        "a notification and a verified delivery",
        within=40,
    )
    port = status_port(running)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/status") as page:
            assert page.status == 200
            assert "text/html" in page.headers["Content-Type"]
        async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
            assert health.status == 200
    running.send(signal.SIGINT)
    assert await running.exit_code(15) == 0
    assert any(f"http://127.0.0.1:{port}/status" in line for line in running.err)
    assert any("fires after 2 minutes without progress here (the shipped rule: 15)" in line for line in running.err)
    assert not any(line.startswith("{") for line in running.out), "notifications are summaries unless --json"
    assert all(
        SUMMARY.fullmatch(x) or "webhook receiver: signature verified" in x or x.startswith("  ↳ Slack #dmc-demo: ")
        for x in running.out
    ), running.out
    assert not any("Traceback" in line for line in running.err)


def _starts(lines: list[str]) -> list[datetime]:
    jobs = [json.loads(line)["data"]["job"] or {} for line in lines if line.startswith("{")]
    return [datetime.fromisoformat(job["start_date"]) for job in jobs if job.get("start_date")]


def _a_late_job_notified(lines: list[str]) -> bool:
    """A notification about a job that started 10 simulated seconds after the earliest one: at --speed 20 that
    is half a real second, so a daemon on the wall clock would stamp it before the job began."""
    starts = _starts(lines)
    return bool(starts) and max(starts) - min(starts) >= timedelta(seconds=10)


async def test_demo_json_keeps_simulated_time_consistent_at_speed(notifier_process: Processes) -> None:
    """With --json each notification is the webhook body; at --speed 20 the daemon keeps the simulator's time,
    so no notification is stamped before its job started."""
    running = await notifier_process.collected("demo", "--port", "0", "--speed", "20", "--json")
    await running.until(lambda: _a_late_job_notified(running.out), "a job started 10 s after the first", within=40)
    running.send(signal.SIGINT)
    assert await running.exit_code(15) == 0
    bodies = [json.loads(line) for line in running.out if line.startswith("{")]
    for body in bodies:
        stamped = datetime.fromisoformat(body["timestamp"])
        job = body["data"]["job"] or {}
        if job.get("start_date"):
            assert stamped >= datetime.fromisoformat(job["start_date"]), (body["data"]["rule"], job["original_name"])


async def test_demo_shows_a_storm_as_one_digest_and_a_stall_resolving_in_its_thread(
    notifier_process: Processes,
) -> None:
    """The staged storm of 40 failed publishes reaches the demo's Slack as digests, not 40 messages, and the staged
    stall's resolution is a reply in its thread that edits its first message. (At 40× speed a loaded machine
    can take longer than group_wait to commit the storm; its second part then comes in a second digest.)"""
    running = await notifier_process.collected("demo", "--port", "0", "--speed", "40")

    def storm() -> list[int]:
        """The number of failures each Planetary digest told of."""
        found = (re.search(r": (\d+) alerts? in company Planetary", line) for line in running.out)
        return [int(m.group(1)) for m in found if m]

    await running.until(
        lambda: any("edited to: :white_check_mark:" in line for line in running.out) and sum(storm()) >= STORM,
        "the storm told and a stall's resolution",
        within=50,
    )
    running.send(signal.SIGINT)
    assert await running.exit_code(15) == 0
    slack = [line for line in running.out if line.startswith("  ↳ Slack")]
    assert len(storm()) <= 4, slack
    stall = next(line for line in slack if "made no progress" in line and ": message " in line)
    first = stall.split(": message ")[1].split(":")[0]
    assert any(f"reply in the thread of message {first}:" in line for line in slack), slack
    assert any(f"message {first} edited to: :white_check_mark:" in line for line in slack), slack
