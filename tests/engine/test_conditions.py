"""Compiled `where` conditions: the same values, the same errors and the same refusals as the sandboxed Jinja call."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError

from notifier.engine.conditions import Condition, compile_expression
from notifier.engine.context import ROOTS, Views, reference_context
from notifier.engine.facts import EventFacts
from notifier.engine.rules import expression_environment, load_rules
from notifier.models import Event, JobDetail, JobLog, ScheduledJob, TaskProgress
from tests.support.engine import COMPANY, active, at, ended, job

SHIPPED = Path(__file__).resolve().parents[2] / "rules"
ENV = expression_environment()
# Many small cases cost little: eight times the profile's sweep (quick in `make test`, thorough in `make test-slow`).
MANY = settings(max_examples=8 * settings().max_examples)


def outcome(call: Any) -> tuple[str, ...]:
    """What the engine makes of a condition: its truth (or the error it raised) and the value's repr."""
    try:
        value = call()
        verdict = bool(value)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
    shown = "nan" if isinstance(value, float) and math.isnan(value) else re.sub(r" at 0x[0-9a-f]+", "", repr(value))
    return ("ok", str(verdict), type(value).__name__, shown)


def both(source: str, event: Event) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The compiled condition's outcome and Jinja's, for one expression and one event."""
    expression = ENV.compile_expression(source, undefined_to_none=False)
    compiled = compile_expression(expression, source)
    assert compiled is not None, f"{source!r} was not compiled"
    return outcome(lambda: compiled(EventFacts(event, Views()))), outcome(
        lambda: expression(**reference_context(event))
    )


# ------------------------------------------------------------------------------------------- events

SCHEDULE = ScheduledJob("47", "47||Nightly", "Nightly", "Nightly", "ImageServingPublish", trigger_state="Normal")
texts = st.sampled_from(["Running", "New", "", "ImageServingPublish", "ja-JP", "Ünïcode ✓", "Batch 7"])
maybe_ints = st.none() | st.integers(-5, 200)
events = st.builds(
    lambda kind, changes, stalled, log, schedule, previous, error: Event(
        kind,
        at(30),
        COMPANY,
        job(**changes),
        log=log,
        stalled_seconds=stalled,
        previous=previous,
        error=error,
        schedule=schedule,
    ),
    st.sampled_from(["job.active", "job.failed", "job.progressed"]),
    st.fixed_dictionaries(
        {},
        optional={
            "state": st.none() | texts,
            "type": st.none() | texts,
            "progress": maybe_ints,
            "description": st.none() | texts,
            "total_size": maybe_ints,
            "start_date": st.none() | st.just(at(-90)),
            "detail": st.none() | st.just(JobDetail("imageServingPublishJob", "Full", None, other=(("a", "b"),))),
            "task_progress": st.just((TaskProgress("Transcode", progress=0.5),)),
        },
    ),
    st.none() | st.floats(0, 5000, allow_nan=False) | st.integers(0, 5000),
    st.none() | st.builds(JobLog, file_error_count=maybe_ints, fatal_error=st.none() | st.booleans()),
    st.none() | st.just(SCHEDULE),
    st.sampled_from([{}, {"state": "New"}, {"progress": 10}]),
    st.none() | texts,
)

# -------------------------------------------------------------------------------------- expressions

FIELDS = [f"{root}.{name}" for root, names in sorted(ROOTS.items()) for name in sorted(names)]
NESTED = ["job.detail.publish_type", "job.detail.kind", "job.task_progress", "event.previous.state", 'job["state"]']
constants = st.sampled_from(
    ['"Running"', '""', '"ImageServingPublish"', "0", "1", "900", "-3", "2.5", "none", "true", "false",
     '["Running", "New"]', "(1, 2)", "[]"]
)  # fmt: skip
atoms = st.sampled_from(FIELDS + NESTED + ["job", "log", "event", "schedule"]) | constants


def combined(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or", "+", "-", "*", "/",
                              "//", "%", "~"])  # fmt: skip
    tests = st.sampled_from(["none", "not none", "defined", "undefined", "number", "string", "sameas 1", "in [1, 2]"])
    filters = st.sampled_from(["lower", "upper", "length", "int", "float", "string", "abs", 'default("x")', "trim"])
    return st.one_of(
        st.tuples(inner, binary, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(["<", "<="]), inner, st.sampled_from(["<", "=="]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]} {t[3]} {t[4]})"
        ),
        inner.map(lambda e: f"(not {e})"),
        inner.map(lambda e: f"(-{e})"),
        st.tuples(inner, tests).map(lambda t: f"({t[0]} is {t[1]})"),
        st.tuples(inner, filters).map(lambda t: f"({t[0]} | {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
    )


expressions = st.recursive(atoms, combined, max_leaves=6)


@MANY
@given(expressions, events)
def test_a_compiled_expression_agrees_with_jinja(source: str, event: Event) -> None:
    """Any expression of the supported forms gives, compiled, what Jinja gives: value, truth and error."""
    compiled, reference = both(source, event)
    assert compiled == reference


def test_every_shipped_rule_is_compiled_and_agrees_with_jinja() -> None:
    """The shipped rules all compile, and each agrees with Jinja on jobs that do and do not match."""
    rules = [rule for rule in load_rules(SHIPPED, None).rules if rule.where is not None]
    samples = [
        active(0, 0),
        active(200, 1200, progress=None),
        active(10, 5, state="Stopping", start_date=at(-200)),
        active(10, 5, start_date=None),
        ended("job.failed", 30, fatal_error=True),
        dataclasses.replace(ended("job.completed", 30), job=job(type="VideoPublish")),
    ]
    for rule in rules:
        condition = Condition(rule.where, rule.where_source)  # type: ignore[arg-type]
        assert condition.compiled, rule.name
        for event in samples:
            assert both(rule.where_source, event)[0] == both(rule.where_source, event)[1]  # type: ignore[arg-type]


def test_a_field_read_from_the_model_is_the_value_the_view_holds() -> None:
    """For every root field read straight from the models, the value is the one in the event's context."""
    event = dataclasses.replace(
        ended("job.failed", 30, fatal_error=True, file_error_count=2), schedule=SCHEDULE, stalled_seconds=12.5
    )
    event = dataclasses.replace(event, previous={"state": "New"}, error="boom", at=event.at + timedelta(hours=1))
    context = reference_context(event)
    for field in FIELDS:
        root, name = field.split(".")
        expected = context[root][name]
        assert both(field, event) == (outcome(lambda e=expected: e),) * 2, field


@pytest.mark.parametrize(
    "source",
    [
        "job.__class__",
        "job.detail.__class__.__mro__",
        "job.name.__class__",
        "event.previous.__class__",
        "job._private",
        "company.handle.__len__",
        "job.items",
        "job.detail.update",
        '"".__class__.__mro__[1].__subclasses__',
        "event.previous.copy",
    ],
)
def test_an_escape_from_the_sandbox_is_refused_by_both(source: str) -> None:
    """Reaching for internals or mutating methods is refused (or left undefined) alike, compiled or not."""
    event = dataclasses.replace(active(0, 0, detail=JobDetail("imageServingPublishJob")), previous={"a": 1})
    compiled, reference = both(source, event)
    assert compiled == reference
    assert compiled[0] == "error" or compiled[2] in ("builtin_function_or_method", "method")


@pytest.mark.parametrize(
    "source", ["job.items()", "job.name.upper()", "job.name[0:2]", "range(3)", "job.task_progress | map('x')"]
)
def test_calls_and_unknown_names_stay_with_the_sandbox(source: str) -> None:
    """What the compiler does not take (calls, slices, other names, context filters) keeps Jinja's sandbox."""
    expression = ENV.compile_expression(source, undefined_to_none=False)
    assert compile_expression(expression, source) is None
    condition = Condition(expression, source)
    assert not condition.compiled
    facts = EventFacts(active(0, 0), Views())
    assert outcome(lambda: condition(facts)) == outcome(lambda: expression(**reference_context(facts.event)))
    mutate = 'job.update({"state": "Done"})'
    with pytest.raises(SecurityError):
        Condition(ENV.compile_expression(mutate, undefined_to_none=False), mutate)(facts)


def test_a_condition_reads_the_context_only_when_it_needs_it() -> None:
    """Plain fields are read from the models: an event whose rules read only those never builds its views."""
    facts = EventFacts(active(0, 1200, detail=JobDetail("imageServingPublishJob")), Views())
    source = 'job.state == "Running" and job.stalled_seconds >= 900 and company.handle == "47"'
    condition = Condition(ENV.compile_expression(source, undefined_to_none=False), source)
    assert condition(facts) is True
    assert facts._context is None
    Condition(ENV.compile_expression("job.detail", undefined_to_none=False), "job.detail")(facts)
    assert facts._context is not None
