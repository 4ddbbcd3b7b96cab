"""The whole pipeline in one process: simulator → pollers → engine → outbox → console channel.

Time is driven, not waited for: the simulator's world and the daemon's clock advance together and each poll is
triggered by the test (`Daemon.open(polling=False)`), so every step is deterministic.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from notifier.app.observe import Listener
from notifier.runtime.clock import ManualClock
from tests.support.daemon import Harness, console_lines, daemon_config, summary
from tests.support.sim import START, Sim, StartSim


class Commits(Listener):
    """Counts what commits left out because it was stored already."""

    def __init__(self) -> None:
        self.duplicates = 0

    def committed(self, new: int, duplicates: int) -> None:
        self.duplicates += duplicates


@pytest.fixture
async def stall_sim(start_sim: StartSim) -> Sim:
    return await start_sim("stall")


def stalled_handle(sim: Sim) -> str:
    jobs = sim.world.active_jobs("47", "en-US")
    return next(j.job_handle or "" for j in jobs if j.original_name == "Homepage banners")


async def test_stalled_job_fires_once_then_resolves_when_it_ends(
    stall_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job stalled for 30 minutes fires stalled-progress once, re-polls add nothing, and its end resolves it."""
    harness = Harness(stall_sim, daemon_config(tmp_path, stall_sim), ManualClock(START))
    async with harness.running():
        await harness.poll()
        assert summary(console_lines(capsys)) == [("stalled-progress", "firing", "Homepage banners")]
        for _ in range(3):
            await harness.poll(after=30)
        assert [s for s in summary(console_lines(capsys)) if s[0] == "stalled-progress"] == []
        stall_sim.world.finish(stalled_handle(stall_sim))
        await harness.poll(after=30)
        lines = summary(console_lines(capsys))
    assert ("stalled-progress", "resolved", "Homepage banners") in lines
    assert ("publish-completed", "firing", "Homepage banners") in lines


async def test_failed_publish_fires_once_across_a_restart(
    start_sim: StartSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed publish is announced once; a restarted daemon re-polling, then replaying the event after its
    repeat window has passed, stays silent: the notification key is already in the store."""
    sim = await start_sim("failure")
    clock = ManualClock(START)
    harness = Harness(sim, daemon_config(tmp_path, sim), clock)
    async with harness.running() as first:
        await harness.poll()
        await harness.poll(after=30)
        failed = [e for e in console_lines(capsys) if e["data"]["rule"] == "failed-publish"]
        assert [(e["data"]["status"], e["data"]["job"]["original_name"]) for e in failed] == [("firing", "Flash sale")]
        announced = [a.event for a in first.alerts() if a.rule == "failed-publish" and a.event is not None]
    assert [e.kind for e in announced] == ["job.failed"]
    commits = Commits()
    async with harness.running(listeners=[commits]) as second:
        await harness.poll(after=30)
        clock.advance(5 * 3600)  # past the rule's 4 h repeat window: only the key can stop a resend now
        second.engine.prune(clock.now())
        for event in announced:
            await second.queue.put(event)
        await second.settle()
        assert commits.duplicates == 1
    assert [e for e in console_lines(capsys) if e["data"]["rule"] == "failed-publish"] == []


async def test_alert_left_open_by_a_previous_run_resolves_after_restart(
    stall_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stalled job that ends while the daemon is down is resolved at the first poll after the restart, and its
    completion, which happened while nobody watched, is announced too."""
    harness = Harness(stall_sim, daemon_config(tmp_path, stall_sim), ManualClock(START))
    async with harness.running():
        await harness.poll()
    assert summary(console_lines(capsys)) == [("stalled-progress", "firing", "Homepage banners")]
    stall_sim.world.finish(stalled_handle(stall_sim))
    async with harness.running() as daemon:
        await harness.poll(after=60)
        await daemon.settle()  # the reconciling event is queued by the first good poll
        lines = summary(console_lines(capsys))
        assert daemon.alerts() == []
    assert sorted(lines) == [
        ("publish-completed", "firing", "Homepage banners"),
        ("stalled-progress", "resolved", "Homepage banners"),
    ]


async def test_unreachable_company_fires_and_recovers(
    stall_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The IPS API going down fires ips-unreachable after two failed polls; its return resolves it."""
    harness = Harness(stall_sim, daemon_config(tmp_path, stall_sim), ManualClock(START))
    async with harness.running():
        await harness.poll()
        console_lines(capsys)
        stall_sim.world.chaos.down = True
        await harness.poll(after=30)
        assert console_lines(capsys) == []
        await harness.poll(after=30)
        down = console_lines(capsys)
        stall_sim.world.chaos.down = False
        await harness.poll(after=30)
        up = console_lines(capsys)
    assert [(d["data"]["rule"], d["data"]["status"]) for d in down] == [("ips-unreachable", "firing")]
    assert [(d["data"]["rule"], d["data"]["status"]) for d in up] == [("ips-unreachable", "resolved")]


async def test_a_failure_while_the_daemon_was_down_is_announced_after_the_restart(
    start_sim: StartSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A publish that fails between a stop and the next start is announced by the restarted daemon, once."""
    sim = await start_sim("failure")
    clock = ManualClock(START)
    harness = Harness(sim, daemon_config(tmp_path, sim), clock)
    async with harness.running():
        await harness.poll()  # the first poll ever: a baseline, then the daemon stops
    sim.world.advance(120)  # "Flash sale" fails meanwhile
    clock.advance(120)
    async with harness.running():
        await harness.poll()
    async with harness.running():  # and a second restart does not announce it again
        await harness.poll(after=30)
    failed = [e for e in console_lines(capsys) if e["data"]["rule"] == "failed-publish"]
    assert [(e["data"]["status"], e["data"]["job"]["original_name"]) for e in failed] == [("firing", "Flash sale")]


async def test_companies_known_by_name_are_told_apart_while_unresolved(
    start_sim: StartSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With IPS down from the start, each company configured by name gets its own unreachable alert, and
    each resolves once IPS answers and its handle is known."""
    sim = await start_sim("demo")
    companies = "[{name: Nordwind Moden}, {name: Planetary}]"
    harness = Harness(sim, daemon_config(tmp_path, sim, companies=companies), ManualClock(START))
    sim.world.chaos.down = True
    async with harness.running() as daemon:
        await harness.poll()
        await harness.poll(after=30)
        down = console_lines(capsys)
        sim.world.chaos.down = False
        await harness.poll(after=30)
        up = console_lines(capsys)
        left = [a for a in daemon.alerts() if a.rule == "ips-unreachable"]
    names = sorted((d["data"]["status"], d["data"]["company"]["name"]) for d in down + up)
    assert names == [
        ("firing", "Nordwind Moden"), ("firing", "Planetary"), ("resolved", "Nordwind Moden"), ("resolved", "Planetary")
    ]  # fmt: skip
    assert left == []


async def test_a_quick_restart_does_not_replay_what_ended_before_the_first_start(
    start_sim: StartSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run of one minute, then a restart: the failure that ended before the first run began stays history."""
    sim = await start_sim("failure")
    sim.world.advance(120)  # "Flash sale" failed before the daemon ever started
    clock = ManualClock(START + timedelta(seconds=120))
    harness = Harness(sim, daemon_config(tmp_path, sim), clock)
    async with harness.running():
        await harness.poll()
        await harness.poll(after=30)
    async with harness.running():
        await harness.poll(after=30)
    assert [e for e in console_lines(capsys) if e["data"]["rule"] == "failed-publish"] == []
