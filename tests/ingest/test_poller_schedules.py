"""When a healthy poller polls next: the interval spread by ± jitter, so many companies never poll in lock-step."""

from __future__ import annotations

import asyncio
import random

import pytest

from notifier.ingest.poller import CompanyPoller
from notifier.ingest.settings import PollSettings, next_delay
from notifier.models import CompanyRef, Event
from notifier.runtime.clock import ManualClock
from tests.support.sim import START, StartSim

INTERVAL, JITTER = 30.0, 0.1
SPREAD = INTERVAL * JITTER


def healthy_delays(settings: PollSettings, seed: int, count: int) -> list[float]:
    rng = random.Random(seed)
    return [next_delay(settings, 0, None, rng) for _ in range(count)]


def test_healthy_delays_vary_across_the_whole_jitter_band() -> None:
    """Successive healthy delays differ, stay within interval ± jitter·interval and reach both ends of it."""
    delays = healthy_delays(PollSettings(interval=INTERVAL, jitter=JITTER), seed=3, count=300)
    assert all(INTERVAL - SPREAD <= d <= INTERVAL + SPREAD for d in delays)
    assert len(set(delays)) == len(delays)
    assert min(delays) < INTERVAL - 0.9 * SPREAD
    assert max(delays) > INTERVAL + 0.9 * SPREAD


def test_zero_jitter_polls_exactly_on_the_interval() -> None:
    """With jitter 0 every healthy delay is the interval itself."""
    assert set(healthy_delays(PollSettings(interval=INTERVAL, jitter=0.0), seed=3, count=50)) == {INTERVAL}


def test_the_spread_comes_from_the_given_random_source() -> None:
    """The same seed gives the same schedule and another seed another one, so schedules are reproducible."""
    settings = PollSettings(interval=INTERVAL, jitter=JITTER)
    assert healthy_delays(settings, seed=5, count=20) == healthy_delays(settings, seed=5, count=20)
    assert healthy_delays(settings, seed=5, count=20) != healthy_delays(settings, seed=6, count=20)


async def test_the_running_poller_sleeps_jittered_delays(start_sim: StartSim) -> None:
    """A poller's loop waits a different, in-band delay after each good poll of the simulator."""
    sim = await start_sim("demo")
    queue: asyncio.Queue[Event] = asyncio.Queue()
    clock = ManualClock(START)
    settings = PollSettings(interval=INTERVAL, jitter=JITTER)
    poller = CompanyPoller(sim.client(), CompanyRef("47"), queue, clock, settings, rng=random.Random(11))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 4:
            raise asyncio.CancelledError
        sim.world.advance(seconds)
        clock.advance(seconds)

    poller.sleep = sleep
    with pytest.raises(asyncio.CancelledError):
        await poller.run()
    assert poller.status.consecutive_failures == 0
    assert all(INTERVAL - SPREAD <= d <= INTERVAL + SPREAD for d in slept)
    assert len(set(slept)) == 4
