"""One PagerDuty incident per alert, across a restart: simulator → daemon → SQLite outbox → Teams and PagerDuty fakes.

A stalled job fires the shipped stalled-progress rule; the daemon stops; the job ends; a new daemon on the same
state file resolves the alert. PagerDuty must see a trigger and a resolve with one dedup_key, Teams a red card
and then a green one, both linking to the status page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from notifier.config import Config
from notifier.runtime.clock import ManualClock
from tests.support.channels import PAGERDUTY_PATH, ROUTING_KEY, FakePagerDuty, FakeTeams, oncall_server, teams_url
from tests.support.daemon import Harness, daemon_config
from tests.support.processes import SHIPPED_RULES
from tests.support.sim import START, Sim, StartSim

PUBLIC_URL = "https://notifier.example.com/dmc"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTeams, FakePagerDuty, TestServer]]:
    async with oncall_server() as started:
        yield started


def write_config(tmp_path: Path, sim: Sim, server: TestServer) -> Config:
    """The shipped stalled-progress rule, notifying Teams and PagerDuty instead of the console."""
    rule = (SHIPPED_RULES / "stalled-progress.yaml").read_text(encoding="utf-8")
    targets = "    - channel: ops-teams\n    - channel: on-call\n"
    (tmp_path / "rules.yaml").write_text(rule.replace("    - channel: console\n", targets), encoding="utf-8")
    channels = (
        f'  ops-teams: {{type: teams, webhook_url: "{teams_url(server)}", timeout: 5s}}\n'
        f'  on-call: {{type: pagerduty, routing_key: {ROUTING_KEY}, api_url: "{server.make_url(PAGERDUTY_PATH)}", '
        "timeout: 5s}"
    )
    return daemon_config(tmp_path, sim, rules="rules.yaml", channels=channels, http=f'public_url: "{PUBLIC_URL}/"')


async def test_trigger_and_resolve_share_one_dedup_key_across_a_restart(
    start_sim: StartSim, tmp_path: Path, fakes: tuple[FakeTeams, FakePagerDuty, TestServer]
) -> None:
    """The first run triggers; a restart re-polling the still-stalled job adds nothing; the second run resolves the
    incident the first one opened."""
    teams, pagerduty, server = fakes
    sim = await start_sim("stall")
    harness = Harness(sim, write_config(tmp_path, sim, server), ManualClock(START))
    async with harness.running():
        await harness.poll()
    assert [e["event_action"] for e in pagerduty.events] == ["trigger"]
    async with harness.running():
        await harness.poll(after=30)
        assert len(pagerduty.events) == 1  # still firing: a restart neither re-triggers nor forgets it
        handle = next(j.job_handle or "" for j in sim.world.active_jobs("47", "en-US") if "banners" in str(j.name))
        sim.world.finish(handle)
        await harness.poll(after=30)
    trigger, resolve = pagerduty.events
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert trigger["dedup_key"].startswith("alert_")
    assert trigger["payload"]["summary"].startswith("Job “Homepage banners” has made no progress for")
    assert trigger["links"] == [{"href": f"{PUBLIC_URL}/status", "text": "Open status page"}]
    assert [card["body"][0]["style"] for card in teams.cards] == ["warning", "good"]
    assert all(card["actions"][0]["url"] == f"{PUBLIC_URL}/status" for card in teams.cards)
