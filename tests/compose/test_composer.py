"""The compose stage: events in, notifications committed; neither a rendering bug nor a failing store loses one."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from notifier.app.metrics import Metrics
from notifier.app.observe import Listener, Observer
from notifier.compose.composer import Composer
from notifier.compose.render import Renderer
from notifier.engine.evaluate import Engine, RuleError
from notifier.ingest.marks import PollDone, PollMark
from notifier.models import Event, ScheduledJob
from notifier.runtime.clock import ManualClock
from notifier.store.errors import StoreError
from notifier.store.records import PENDING, SILENCED
from notifier.store.sqlite.store import SqliteStore
from tests.support.engine import T0, RulesFactory, ended, job

FAILED = "- name: failed\n  on: job.failed\n  description: A job failed\n  notify: [{channel: downstream}]\n"


def composer(store: SqliteStore, make_rules: RulesFactory, renderer: Renderer, **kw: Any) -> Composer:
    """A composer on the `failed` rule, reporting to the daemon's observer (metrics and logs) and `listeners`."""
    queue: asyncio.Queue[Event | PollDone] = asyncio.Queue()
    observer = Observer(Metrics(), kw.pop("listeners", ()))
    return Composer(queue, Engine(make_rules(FAILED)), renderer, store, ManualClock(T0), observer=observer, **kw)


class RuleFailures(Listener):
    def __init__(self) -> None:
        self.rules: list[str] = []

    def rule_failed(self, error: RuleError, at: datetime) -> None:
        self.rules.append(error.rule)


class BrokenRenderer(Renderer):
    def render(self, *args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in rendering")


async def test_a_rendering_bug_sends_a_plain_message_instead_of_nothing(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """When rendering itself raises, the notification is still committed, with a plain untemplated message."""
    [key] = await composer(store, make_rules, BrokenRenderer()).process([ended("job.failed", 1, fatal_error=True)])
    [row] = await store.list_deliveries([PENDING])
    assert row.notification.key == key
    assert row.notification.message.title == "A job failed Spring catalog"
    assert "job.failed" in row.notification.message.text


async def test_a_failing_store_is_retried_until_it_takes_the_batch(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails (disk full, a lock) is retried with backoff; the batch is committed, not dropped."""
    real_commit = store.commit
    failures = [StoreError("database or disk is full"), StoreError("database is locked")]

    async def flaky_commit(*args: Any) -> list[str]:
        if failures:
            raise failures.pop(0)
        return await real_commit(*args)

    monkeypatch.setattr(store, "commit", flaky_commit)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    taker = composer(store, make_rules, Renderer(), sleep=sleep)
    new = await taker.process([ended("job.failed", 1, fatal_error=True)])
    assert len(new) == 1
    assert waits == [1.0, 2.0]
    assert len(await store.list_deliveries([PENDING])) == 1


async def test_an_event_that_breaks_evaluation_costs_only_itself(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When evaluating one event raises, the other events of the batch still get their notifications."""
    taker = composer(store, make_rules, Renderer())
    real = taker.engine.evaluate

    def evaluate(event: Event) -> Any:
        if event.job is not None and event.job.job_handle == "47||Bad":
            raise RuntimeError("a bug met by one event")
        return real(event)

    monkeypatch.setattr(taker.engine, "evaluate", evaluate)
    good = ended("job.failed", 1, fatal_error=True)
    bad = replace(good, job=replace(good.job, job_handle="47||Bad"))  # type: ignore[type-var]
    with capture_logs() as logs:
        new = await taker.process([bad, good])
    assert len(new) == 1
    assert [e["job"] for e in logs if e["event"] == "event could not be evaluated"] == ["47||Bad"]


async def test_reading_silences_is_retried_not_fatal(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed read of the silences at the start of a batch is retried; the batch is not dropped."""
    real = store.silences
    failures = [StoreError("database is locked")]

    async def flaky() -> Any:
        if failures:
            raise failures.pop()
        return await real()

    monkeypatch.setattr(store, "silences", flaky)

    async def no_wait(_seconds: float) -> None:
        return None

    assert len(await composer(store, make_rules, Renderer(), sleep=no_wait).process([ended("job.failed", 1)])) == 1


async def test_a_failing_rule_is_logged_once_an_hour_and_counted_every_time(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """The same runtime error of a rule is an error log once per hour (then debug), and every one is counted."""
    failures = RuleFailures()
    taker = composer(store, make_rules, Renderer(), listeners=[failures])
    broken = "- name: broken\n  on: job.failed\n  where: job.detail.publish_type == 1\n  notify: [{channel: hook}]\n"
    taker.engine.replace_rules(make_rules(broken.replace("hook", "downstream")))
    events = [ended("job.failed", minute) for minute in (1, 2, 61, 62)]
    with capture_logs() as logs:
        for event in events:
            await taker.process([event])
    errors = [e for e in logs if e["event"] == "rule failed" and e["log_level"] == "error"]
    assert len(errors) == 2  # minutes 1 and 61; the others are debug lines (filtered out at info level)
    assert failures.rules == ["broken"] * 4


async def test_a_silence_on_a_schedule_holds_back_its_runs_notifications(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """`schedule=Nightly*` matches notifications about a run of that schedule (and its own), not other jobs'."""
    nightly = ScheduledJob(job_handle="47||Nightly_EU", name="Nightly_EU", original_name="Nightly EU")
    await store.add_silence([("schedule", "Nightly*")], T0, T0 + timedelta(hours=1), "maintenance", "ops")
    run = replace(ended("job.failed", 1, fatal_error=True), schedule=nightly)
    failed = ended("job.failed", 2, fatal_error=True)
    other = replace(failed, job=job("47||Other"), log=replace(failed.log, job_handle="47||Other"))  # type: ignore[type-var]
    await composer(store, make_rules, Renderer()).process([run, other])
    rows = await store.list_deliveries([PENDING, SILENCED])
    assert sorted(r.notification.job_handle + " " + r.state for r in rows) == [
        "47||Other pending", "47||Publish_1 silenced"
    ]  # fmt: skip


async def test_a_bug_behind_the_store_surfaces_instead_of_being_waited_out(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TypeError from the commit is a bug, not a full disk: it is raised at once and never retried."""

    async def broken_commit(*args: Any) -> list[str]:
        raise TypeError("unhashable type: 'dict'")

    monkeypatch.setattr(store, "commit", broken_commit)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with pytest.raises(TypeError):
        await composer(store, make_rules, Renderer(), sleep=sleep).process([ended("job.failed", 1, fatal_error=True)])
    assert waits == []


async def test_a_company_handed_over_during_a_retry_keeps_what_its_new_owner_wrote(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When company 47 moves to another replica while the commit waits out a failing store, the retried commit
    stores the notification (keyed: never twice) but neither 47's alert state nor its poll mark."""
    real_commit = store.commit
    failures = [StoreError("connection refused")]

    async def flaky_commit(*args: Any) -> list[str]:
        if failures:
            raise failures.pop(0)
        return await real_commit(*args)

    monkeypatch.setattr(store, "commit", flaky_commit)
    owned = {"47"}

    async def sleep(_seconds: float) -> None:
        owned.clear()  # meanwhile, another replica took 47 over

    taker = composer(store, make_rules, Renderer(), sleep=sleep, accepts=lambda company: company in owned)
    mark = PollDone("47", PollMark(T0, T0, {}))
    assert len(await taker.process([ended("job.failed", 1, fatal_error=True), mark])) == 1
    assert await store.load_alerts() == []
    assert await store.poll_marks() == {}


async def test_a_batch_that_changes_nothing_leaves_the_store_alone(
    store: SqliteStore, make_rules: RulesFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events no rule fires on neither read silences nor commit (a quiet poll cycle is thousands of them); one
    that fires reads them and commits, and the events are counted once per kind either way."""
    calls: list[str] = []
    for name in ("silences", "commit"):
        real = getattr(store, name)

        async def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return await _real(*args)

        monkeypatch.setattr(store, name, spy)
    taken: list[tuple[str, int]] = []

    class Taken(Listener):
        def events_taken(self, kind: str, count: int) -> None:
            taken.append((kind, count))

    taker = composer(store, make_rules, Renderer(), listeners=[Taken()])
    assert await taker.process([ended("job.succeeded", 1), ended("job.succeeded", 2)]) == []
    assert calls == []
    assert taken == [("job.succeeded", 2)]
    assert len(await taker.process([ended("job.failed", 3, fatal_error=True)])) == 1
    assert calls == ["silences", "commit"]
