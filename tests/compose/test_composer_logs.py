"""What is logged when a rule fails at run time while composing: enough to find the rule, the company and the job."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from structlog.testing import capture_logs

from notifier.app.metrics import Metrics
from notifier.app.observe import Observer
from notifier.compose.composer import Composer
from notifier.compose.render import Renderer
from notifier.engine.evaluate import Engine
from notifier.ingest.marks import PollDone
from notifier.models import Event
from notifier.runtime.clock import ManualClock
from notifier.store.records import PENDING
from notifier.store.sqlite.store import SqliteStore
from tests.support.engine import T0, RulesFactory, ended

# Integer division by the job's progress: fine for most jobs, a ZeroDivisionError for one that has not started.
DIVIDING = """\
- name: files-per-percent
  on: job.failed
  where: 100 // job.progress > 1
  notify: [{channel: console}]
"""


async def test_a_rule_failing_for_one_job_is_logged_with_rule_company_and_job(
    store: SqliteStore, make_rules: RulesFactory
) -> None:
    """A `where` that raises for one job logs one error naming rule, company, job and cause; the other job fires."""
    queue: asyncio.Queue[Event | PollDone] = asyncio.Queue()
    observer = Observer(Metrics())
    taker = Composer(queue, Engine(make_rules(DIVIDING)), Renderer(), store, ManualClock(T0), observer=observer)
    fine = ended("job.failed", 1)
    assert fine.job is not None
    failing = replace(fine, job=replace(fine.job, job_handle="47||Not_started", progress=0))

    with capture_logs() as logs:
        new = await taker.process([failing, fine])

    fields = ("log_level", "rule", "company", "job", "error")
    failures = [{name: e.get(name) for name in fields} for e in logs if e["event"] == "rule failed"]
    assert failures == [
        {
            "log_level": "error",
            "rule": "files-per-percent",
            "company": "47",
            "job": "47||Not_started",
            "error": "ZeroDivisionError: integer division or modulo by zero",
        }
    ]
    [row] = await store.list_deliveries([PENDING])
    assert new == [row.notification.key]
    assert row.notification.job is not None
    assert row.notification.job["job_handle"] == "47||Publish_1"
