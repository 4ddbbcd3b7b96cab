"""Event contexts built by `Views` are the reference contexts, and the expression runner gives Jinja's own verdicts."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from notifier.engine.context import Views, reference_context
from notifier.engine.jinja import ExpressionRunner
from notifier.engine.rules import load_rules
from notifier.models import JobDetail, ScheduledJob
from tests.support.engine import RulesFactory, active, ended, job
from tests.support.processes import SHIPPED_RULES

SHIPPED = SHIPPED_RULES
EVENTS = [
    active(0, 0),
    active(200, 1200, state="Running", progress=None),
    active(10, 5, state="Stopping", detail=JobDetail("imageServingPublishJob", "Full", "None")),
    ended("job.failed", 30, fatal_error=True, file_error_count=3),
    ended("job.completed", 30, file_success_count=10),
]


def test_the_runner_agrees_with_jinja_for_every_shipped_rule() -> None:
    """Every shipped `where`, run through the runner, gives what calling the Jinja expression gives."""
    rules = load_rules(SHIPPED, None)
    checked = 0
    for event in EVENTS:
        context = Views().context(event)
        for rule in rules.for_kind(event.kind):
            if rule.where is not None:
                assert ExpressionRunner(rule.where)(context, {}) == rule.where(**context)
                checked += 1
    assert checked >= 4


def test_rules_sharing_a_scope_see_only_their_own_result(make_rules: RulesFactory) -> None:
    """Within one event's scope, each expression's verdict is its own, even after another one failed."""
    rules = make_rules(
        """
- {name: running, on: job.active, where: 'job.state == "Running"', notify: [{channel: console}]}
- {name: broken, on: job.active, where: 'job.progress > "x"', notify: [{channel: console}]}
- {name: low, on: job.active, where: 'job.progress < 10', notify: [{channel: console}]}
"""
    )
    running, broken, low = (ExpressionRunner(r.where) for r in rules.rules if r.where is not None)
    context = Views().context(active(0, 0, progress=40))
    scope: dict[Any, Any] = {}
    assert running(context, scope) is True
    with pytest.raises(TypeError):
        broken(context, scope)
    assert low(context, scope) is False
    assert len(scope) == 1  # one Jinja context served all three


def test_a_plain_callable_is_called_with_the_context() -> None:
    """Anything other than a Jinja expression is called with the context's names as keywords."""
    runner = ExpressionRunner(lambda job, **_rest: job["state"] == "Running")
    assert runner(Views().context(active(0, 0)), {}) is True


def test_views_of_shared_objects_are_fresh_for_every_event() -> None:
    """Changing one event's company or detail view does not change what the next event sees."""
    detail = JobDetail("imageServingPublishJob", "Full", "None")
    views = Views()
    first = views.context(active(0, 0, detail=detail))
    first["company"]["name"] = "changed"
    first["job"]["detail"]["publish_type"] = "changed"
    second = views.context(active(1, 0, detail=detail))
    assert second["company"]["name"] == "Planetary"
    assert second["job"]["detail"]["publish_type"] == "Full"
    assert second["company"] is not first["company"]


def test_a_job_context_has_every_field_and_the_derived_ones() -> None:
    """The job view lists the model's fields with nested models as dicts, plus stalled and running seconds."""
    context = Views().context(active(120, 300, detail=JobDetail("videoPublishJob", other=(("a", "b"),))))
    view = context["job"]
    assert view["name"] == job().name
    assert view["detail"] == {
        "kind": "videoPublishJob",
        "publish_type": None,
        "email_setting": None,
        "http_completion_url": None,
        "other": (("a", "b"),),
    }
    assert view["stalled_seconds"] == 300
    assert view["running_seconds"] == 7200
    assert context["event"]["previous"] == {}


def test_running_seconds_of_an_ended_job_stop_at_its_end() -> None:
    """For an event carrying the job's log, running time is start → log end, not start → when it was noticed."""
    event = ended("job.completed", 30)  # the job started at minute 0, its log ends at minute 30
    event = dataclasses.replace(event, at=event.at + timedelta(hours=5))  # noticed five hours later
    assert Views().context(event)["job"]["running_seconds"] == 30 * 60


def test_fast_contexts_are_the_reference_contexts() -> None:
    """One `Views` over many events (its layouts and kept views reused) gives exactly the plain conversion."""
    views = Views()
    events = [*EVENTS, *EVENTS, replace(EVENTS[2], schedule=ScheduledJob(job_handle="47||Nightly", name="Nightly"))]
    for event in events:
        assert views.context(event) == reference_context(event)
