"""One hostile job does not blind its company, and what it carries reaches no channel as it came.

The simulator sends one job's name as a broken server would: a terminal escape, invalid UTF-8, a right-to-left
override and a megabyte of text. Every poll still succeeds, the company's other job's failure is announced,
and the hostile job's own ending reaches Slack, email and the webhook neutralized and capped, as does the
status page.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from notifier.app.daemon import Daemon
from notifier.config import load_config
from notifier.ips.simulator.scenarios import JobSpec
from notifier.runtime.clock import ManualClock
from notifier.safety import FIELD
from tests.support.endpoints import config_yaml, receivers
from tests.support.sim import START, StartSim

RULES = """
- name: job-ended
  on: [job.completed, job.failed]
  severity: critical
  notify: [{channel: ops-slack}, {channel: ops-email}, {channel: downstream}]
"""
HOSTILE = b"\x1b[2J\x1b[31mEVIL\xff\xfe \xe2\x80\xaegnp.exe " + b"A" * 1_000_000
UNSAFE = ("\x1b", "\u202e")


async def test_a_hostile_job_name_costs_no_poll_and_reaches_every_channel_neutralized_and_capped(
    start_sim: StartSim, tmp_path: Path
) -> None:
    """Polls keep succeeding; both endings are delivered on every channel within a few kilobytes, with the
    escape and the override replaced, and the status page stays small."""
    sim = await start_sim("failure")
    sim.world.add_job(JobSpec("47", "ImageServingPublish", "stall", "HOSTILE", run=600, files=20, stall_files=5))
    sim.world.taint("HOSTILE", HOSTILE)
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    async with receivers() as endpoints:
        ips = f'endpoint: "{sim.endpoint}", user: demo@example.com, password: demo, timeout: 5s'
        text = config_yaml(endpoints, "rules.yaml", ips, http='listen: "127.0.0.1:0"')
        (tmp_path / "notifier.yaml").write_text(text, encoding="utf-8")
        clock = ManualClock(START)
        async with (
            Daemon.open(load_config(tmp_path / "notifier.yaml"), clock=clock, polling=False) as daemon,
            aiohttp.ClientSession() as session,
        ):
            [poller] = daemon.pollers.pollers
            for _ in range(2):  # the baseline, then "Flash sale" has failed
                assert await poller.poll_once() is None
                sim.world.advance(30)
                clock.advance(30)
            handle = next(j.job_handle for j in sim.world.active_jobs("47", "en-US") if j.original_name == "HOSTILE")
            sim.world.finish(handle or "", "failure")
            assert await poller.poll_once() is None
            await daemon.settle()
            async with session.get(daemon.window.url("/status")) as response:
                page = await response.text()
        received = endpoints.received
    assert poller.status.consecutive_failures == 0
    hooks = [json.loads(body) for body, _headers in received.hooks]
    assert sorted(h["data"]["job"]["original_name"][:6] for h in hooks) == ["Flash ", "\ufffd[2J\ufffd["]
    hostile = next(h for h in hooks if h["data"]["job"]["original_name"].startswith("\ufffd"))
    name = hostile["data"]["job"]["original_name"]
    assert name.startswith("\ufffd[2J\ufffd[31mEVIL\ufffd\ufffd \ufffdgnp.exe AAA")
    assert len(name) == FIELD
    assert max(len(body) for body, _ in received.hooks) < 20_000
    assert max(len(json.dumps(message)) for message in received.slack) < 20_000
    assert max(len(raw) for raw in received.raw_mail) < 60_000
    assert len(page) < 200_000
    delivered = [json.dumps(hooks), json.dumps(received.slack, ensure_ascii=False), page]
    delivered += [str(m["Subject"]) + m.get_body(("plain",)).get_content() for m in received.mail]  # type: ignore[union-attr]
    assert len(received.mail) == len(received.slack) == len(hooks) == 2
    assert not any(char in text for text in delivered for char in UNSAFE)
