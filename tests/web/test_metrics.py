"""/metrics after real activity: every metric is recorded where its thing happens, with the documented labels.

The exposition is read back with prometheus-client's own parser, as a Prometheus server would read it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from notifier import __version__
from notifier.store.errors import StoreError
from tests.support.receiver import Receiver
from tests.support.sim import StartSim
from tests.support.window import INTERVAL, Window, window_config

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(window: Window) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(window.url("/metrics")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        return parse(await response.text())


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def busy_afternoon(window: Window) -> Samples:
    """Two polls: a stalled job fires (busy channel retries, pager silenced), two jobs start (hook takes them,
    broken dead-letters them)."""
    await window.silence_pager()
    await window.poll()
    await window.poll(after=INTERVAL)
    return await scrape(window)


async def test_polls_are_counted_by_company_and_outcome_with_latency(window: Window) -> None:
    """Every poll cycle counts once under its company and outcome, and lands in the latency histogram."""
    await window.poll()
    window.sim.world.chaos.down = True
    await window.poll(after=INTERVAL)
    samples = await scrape(window)
    for company in ("47", "311", "118"):
        assert value(samples, "notifier_polls_total", company=company, outcome="ok") == 1
        assert value(samples, "notifier_poll_duration_seconds_count", company=company) == 2
        assert value(samples, "notifier_poll_duration_seconds_bucket", company=company, le="+Inf") == 2
    assert value(samples, "notifier_polls_total", company="47", outcome="IpsTransportError") == 1


async def test_events_are_counted_by_kind(window: Window) -> None:
    """Events count by kind as the intake takes them: one job.active per job and poll, job.started for new jobs."""
    samples = await busy_afternoon(window)
    active_first = sum(len(window.sim.world.active_jobs(c, "en-US")) for c in ("47", "311", "118"))
    assert value(samples, "notifier_events_total", kind="job.started") == 2
    assert (value(samples, "notifier_events_total", kind="job.active") or 0) >= active_first


async def test_delivery_outcomes_retries_and_dead_letters_are_counted(window: Window) -> None:
    """Each attempt counts under rule, channel and outcome; retries and dead letters also count per channel."""
    samples = await busy_afternoon(window)
    assert value(samples, "notifier_notifications_total", rule="job-started", channel="hook", outcome="delivered") == 2
    assert value(samples, "notifier_notifications_total", rule="job-started", channel="broken", outcome="dead") == 2
    assert value(samples, "notifier_dead_letters_total", channel="broken") == 2
    retries = value(samples, "notifier_notifications_total", rule="stalled-progress", channel="busy", outcome="retry")
    assert retries is not None
    assert retries >= 1
    assert value(samples, "notifier_delivery_retries_total", channel="busy") == retries
    assert window.receiver.hits("/busy") == retries


async def test_silenced_deliveries_are_counted(window: Window) -> None:
    """A delivery held back by a silence counts in notifier_notifications_silenced_total and is never sent."""
    samples = await busy_afternoon(window)
    assert value(samples, "notifier_notifications_silenced_total", rule="stalled-progress", channel="pager") == 1
    assert value(samples, "notifier_notifications_silenced_total", rule="job-started", channel="hook") is None
    assert window.receiver.hits("/ok") == 2  # the two job-started deliveries on hook; nothing on pager


async def test_state_gauges_describe_the_pipeline_now(window: Window) -> None:
    """Outbox depth and oldest age, queue depth and firing alerts are set from the current state at scrape."""
    await busy_afternoon(window)
    window.advance(45)
    samples = await scrape(window)
    assert value(samples, "notifier_outbox_depth") == 1  # the stalled-progress delivery the busy channel refuses
    # Created 45 s ago and retried meanwhile; SQLite's julianday keeps milliseconds.
    assert value(samples, "notifier_outbox_oldest_age_seconds") == pytest.approx(45, abs=0.01)
    assert value(samples, "notifier_queue_depth") == 0
    assert value(samples, "notifier_alerts_firing") == 1
    assert value(samples, "notifier_build_info", version=__version__) == 1


async def test_queue_depth_counts_events_nothing_has_taken_yet(
    start_sim: StartSim, receiver: Receiver, tmp_path: Path
) -> None:
    """Events a poll queued while the rules are held up (the store refuses to commit the previous poll's batch)
    are counted in notifier_queue_depth."""
    sim = await start_sim("demo")
    held, waiting = asyncio.Event(), asyncio.Event()

    async def wait_out(_seconds: float) -> None:
        waiting.set()
        await held.wait()

    window = Window(sim, window_config(tmp_path, sim, receiver, companies=("47",)), receiver)
    async with window.running(sleep=wait_out) as daemon:
        real_commit, refusals = daemon.store.commit, [StoreError("database is locked")]

        async def refuse_once(*args: Any) -> list[str]:
            if refusals:
                raise refusals.pop()
            return await real_commit(*args)

        daemon.store.commit = refuse_once  # type: ignore[method-assign,assignment]
        await daemon.pollers.pollers[0].poll_once()
        await waiting.wait()  # the composer took the poll's batch and waits out the store
        await daemon.pollers.pollers[0].poll_once()
        queued = daemon.queue.qsize()
        samples = await scrape(window)
        held.set()
        await daemon.settle()
    assert queued >= 1  # the second poll's job.active events, and its mark
    assert value(samples, "notifier_queue_depth") == queued


async def test_company_up_follows_the_last_poll(window: Window) -> None:
    """A company is up only once its last poll succeeded: 0 before any poll, 1 after, 0 again when it fails."""
    assert value(await scrape(window), "notifier_company_up", company="47") == 0
    await window.poll()
    assert value(await scrape(window), "notifier_company_up", company="47") == 1
    window.sim.world.chaos.down = True
    await window.poll(after=INTERVAL)
    assert value(await scrape(window), "notifier_company_up", company="47") == 0


async def test_company_up_drops_the_name_once_the_handle_is_known(
    start_sim: StartSim, receiver: Receiver, tmp_path: Path
) -> None:
    """A company configured by name is reported under its name until resolved, then only under its handle:
    no series is left behind at 0 looking like a company that is down."""
    sim = await start_sim("demo")
    window = Window(sim, window_config(tmp_path, sim, receiver, companies=('{name: "Nordwind Moden"}',)), receiver)
    async with window.running() as daemon:
        before = await scrape(window)
        await daemon.pollers.pollers[0].poll_once()
        after = await scrape(window)
    assert value(before, "notifier_company_up", company="Nordwind Moden") == 0
    assert value(after, "notifier_company_up", company="118") == 1
    assert [k for k in after if k[0] == "notifier_company_up"] == [
        ("notifier_company_up", frozenset({("company", "118")}))
    ]
