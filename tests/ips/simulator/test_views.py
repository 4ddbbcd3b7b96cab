"""What the simulator renders, against the straightforward path: every model of every scenario through the
lxml reference, each running job's cached `<items>` against rendering its ActiveJob, and log retention
against pruning every company on every call."""

from __future__ import annotations

from datetime import datetime

import pytest

from notifier.ips.simulator import answers as render
from notifier.ips.simulator import world as world_module
from notifier.ips.simulator.messages import LOCALES
from notifier.ips.simulator.scenarios import SCENARIOS, build_scenario
from notifier.ips.simulator.world import World
from tests.support import reference_answers as reference
from tests.support.sim import START

VERSION = "2014-04-03"
STOPS = (0.0, 1.5, 4.0, 17.0, 33.0, 61.0, 240.0)  # seconds to advance: queued, running, ended, spawned
# The large scenarios in a size that still has every job type; their full size runs in `make test-slow`.
SMALL = {"scale": {"companies": 3, "jobs": 8}, "fleet": {"companies": 3, "jobs": 20}}
WORLDS = [
    *[pytest.param(name, SMALL.get(name, {}), id=name) for name in SCENARIOS],
    *[pytest.param(name, {}, id=f"{name}-full", marks=pytest.mark.slow) for name in SMALL],
]


def _world(scenario: str, **options: int) -> World:
    return World(build_scenario(scenario, **options), seed=3, speed=0.0, start=START)


@pytest.mark.parametrize(("scenario", "options"), WORLDS)
def test_every_answer_of_a_scenario_renders_as_the_reference(scenario: str, options: dict[str, int]) -> None:
    """Active jobs, logs, details, companies and schedules of the world, in every locale and both prefixes."""
    world = _world(scenario, **options)
    for n, seconds in enumerate(STOPS):
        world.advance(seconds)
        locale, prefix = LOCALES[n % len(LOCALES)], ("ns1", None)[n % 2]
        handles = sorted(world.companies)
        answers = [
            ("render_active_jobs", world.active_jobs(None, locale)),
            ("render_job_logs", world.job_logs(None)),
            *[("render_job_log_details", world.job_log_details(h, locale=locale)) for h in handles],
            *[("render_company_info", world.company_info(h)) for h in handles],
            *[("render_scheduled_jobs", world.scheduled_jobs(h, None, None)) for h in handles],
        ]
        for function, models in answers:
            ours = getattr(render, function)(models, VERSION, prefix)
            assert ours == getattr(reference, function)(models, VERSION, prefix), (function, seconds)


@pytest.mark.parametrize("prefix", ["ns1", None])
def test_a_running_job_s_items_are_its_active_job_rendered(prefix: str | None) -> None:
    """`LiveJob.xml` is what rendering the job's ActiveJob gives, queued or running, video tasks included."""
    world = _world("demo")
    seen = 0
    for n, seconds in enumerate(STOPS):
        now = world.advance(seconds)
        locale = LOCALES[n % len(LOCALES)]
        _, jobs = world.live_jobs(None)
        for job in jobs:
            view = job.view(now, locale)
            body = render.render_active_job_items([job.xml(now, locale, prefix)], VERSION, prefix)
            assert body == reference.render_active_jobs([view], VERSION, prefix)
            assert job.started(now) == (view.state != "New")
            seen += 1
    assert seen > 20


def test_items_follow_the_clock_and_the_asked_locale() -> None:
    """The same running job, asked later or in another locale, shows its new progress, not a cached one."""
    world = _world("progress")
    now, (job, *_) = world.live_jobs("47")
    first = job.xml(now, "en-US", "ns1")
    later = world.advance(9)
    assert job.xml(later, "en-US", "ns1") != first
    assert "Verarbeitete Dateien" in job.xml(later, "de-DE", "ns1")
    assert job.xml(later, "en-US", "ns1") == job.xml(later, "en-US", "ns1")


class PruneEverything(World):
    """The world as it was: every company's logs walked on every call."""

    def _prune(self, before: datetime, ended: set[str]) -> None:
        for logs in self._finished.values():
            while logs:
                handle, plan = next(iter(logs.items()))
                if plan.end is not None and plan.end >= before and len(logs) <= world_module.MAX_LOGS_PER_COMPANY:
                    break
                del logs[handle]
                self._names.discard(plan.name)


@pytest.mark.parametrize("cap", [6, pytest.param(10_000, marks=pytest.mark.slow)])
def test_logs_expire_and_are_capped_as_when_every_company_is_pruned(monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    """Across retention's edge, big jumps and the per-company cap, the logs kept are the same as pruning all."""
    monkeypatch.setattr(world_module, "MAX_LOGS_PER_COMPANY", cap)
    scenario = build_scenario("scale", companies=2, jobs=2)
    ours, theirs = (kind(scenario, seed=1, speed=0.0, start=START) for kind in (World, PruneEverything))
    week = world_module.LOG_RETENTION.total_seconds()
    for seconds in (0, 300, 900, 3600, week - 2000, 1500, 400, 60, 30, 7, 1, week * 2, 86400, week):
        ours.advance(seconds)
        theirs.advance(seconds)
        kept = [(log.job_handle, log.end_date) for log in ours.job_logs(None)]
        assert kept == [(log.job_handle, log.end_date) for log in theirs.job_logs(None)], seconds
        assert ours.state() == theirs.state()
    assert 0 < len(kept) <= 2 * cap
