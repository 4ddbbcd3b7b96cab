"""A big answer is parsed off the event loop: a company with a huge job list holds up no other company's polls.

The big company's getActiveJobs answer is held inside its parse (the test decides when the parse may go on),
which stands for the seconds a hundred thousand jobs take. Counted by deterministic signals, not by wall
time: how many polls the healthy company completes while that parse is in progress.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from notifier.ingest.poller import CompanyPoller
from notifier.ingest.settings import PollSettings
from notifier.ips import parse
from notifier.ips.simulator.scenarios import JobSpec
from notifier.models import ActiveJob, CompanyId, CompanyRef, Event
from notifier.runtime.clock import ManualClock
from tests.support.sim import START, StartSim

THRESHOLD = 16 * 1024  # bytes above which the client parses in a worker thread (lowered for the test)


class HeldParse:
    """Wraps `Parser.active_jobs`: a big answer's parse starts, then waits until the test releases it."""

    def __init__(self) -> None:
        self.started, self.release, self.done = threading.Event(), threading.Event(), threading.Event()
        self.real = parse.Parser.active_jobs

    def parse(self, parser: parse.Parser, data: bytes, max_bytes: int, namespace: str | None = None) -> list[ActiveJob]:
        if len(data) > THRESHOLD:
            self.started.set()
            self.release.wait(timeout=10)  # on the event loop this would stall everything for the whole wait
            try:
                return self.real(parser, data, max_bytes, namespace)
            finally:
                self.done.set()
        return self.real(parser, data, max_bytes, namespace)

    @property
    def holding(self) -> bool:
        return self.started.is_set() and not self.done.is_set()


async def until(condition: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(10):
            while not condition():  # noqa: ASYNC110 - the conditions are flags set by threads and callbacks
                await asyncio.sleep(0.005)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def test_a_healthy_company_keeps_polling_while_a_huge_answer_is_parsed(
    start_sim: StartSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While company 203's answer of 300 jobs is being parsed, company 47 completes three more polls; then the
    big answer is read in full."""
    sim = await start_sim("demo")
    for n in range(300):
        sim.world.add_job(JobSpec("203", "UrlUpload", "stall", f"bulk {n}", run=3600, files=10, stall_files=5))
    held = HeldParse()
    monkeypatch.setattr(parse.Parser, "active_jobs", lambda parser, *args: held.parse(parser, *args))
    client = sim.client(parse_in_thread_above=THRESHOLD)
    during: dict[str, int] = {"47": 0, "203": 0}
    polled: dict[str, int] = {"47": 0, "203": 0}

    class Observe:
        def polled(self, company: CompanyId, outcome: str, _seconds: float) -> None:
            assert outcome == "ok"
            polled[company.label] += 1
            during[company.label] += held.holding

    async def next_turn(_seconds: float) -> None:
        await asyncio.sleep(0)  # the delay between polls passes at once: polls follow each other

    pollers = [
        CompanyPoller(
            client, CompanyRef(handle), asyncio.Queue[Event](), ManualClock(START), PollSettings(),
            rng=random.Random(1), sleep=next_turn, observer=Observe(),
        )
        for handle in ("47", "203")
    ]  # fmt: skip
    tasks = [asyncio.create_task(poller.run()) for poller in pollers]
    try:
        await until(held.started.is_set, "the big answer's parse to begin")
        await until(lambda: during["47"] >= 3, "three polls of the healthy company during the big parse")
        held.release.set()
        await until(lambda: polled["203"] >= 1, "the big company's poll to complete")
    finally:
        held.release.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert pollers[1].tracker is not None
    assert pollers[1].tracker.active_count == len(sim.world.active_jobs("203", "en-US")) >= 300


async def test_small_answers_are_parsed_on_the_loop(start_sim: StartSim, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ordinary answer is parsed where it arrives: a thread hop would cost more than the parse."""
    sim = await start_sim("demo")
    threads: list[Any] = []
    real = parse.Parser.active_jobs

    def spy(parser: parse.Parser, data: bytes, max_bytes: int, namespace: str | None = None) -> list[ActiveJob]:
        threads.append(threading.current_thread())
        return real(parser, data, max_bytes, namespace)

    monkeypatch.setattr(parse.Parser, "active_jobs", spy)
    await sim.client().get_active_jobs("47")
    assert threads == [threading.main_thread()]
