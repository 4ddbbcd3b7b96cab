"""The text renderer against the lxml-tree reference: the same bytes for every model, the same refusals."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.ips.simulator import answers as render
from notifier.models import (
    JOB_DETAIL_KINDS,
    ActiveJob,
    AuxLogEntry,
    Company,
    JobDetail,
    JobLog,
    JobLogDetail,
    ScheduledJob,
    TaskItemProgress,
    TaskProgress,
)
from tests.support import reference_answers as reference

SETTINGS = settings()  # examples per the profile in tests/conftest.py
FORBIDDEN = ("\x00", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800")

# Text XML can carry, with what needs escaping or is easy to get wrong.
valid_text = st.lists(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff")
    | st.sampled_from(["&", "<", ">", "\r", "\t", "\n", "]]>", "&amp;", '"', "'", "\x7f", "\x85", "\u2028", "😀"]),
    max_size=8,
).map("".join)
texts = valid_text
zones: list[tzinfo | None] = [None, UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
instants = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.sampled_from(zones))  # naive too
ints = st.integers(-(2**63), 2**63)
doubles = st.floats() | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e300, 5e-324])
names = st.sampled_from(["contextHandle", "publishTime", "é", "a.b", "x-y"])
pairs = st.lists(st.tuples(names, texts | st.none()), max_size=3).map(tuple)
prefixes = st.sampled_from(["ns1", "x", None])
versions = st.sampled_from(["2014-04-03", "", "2012-02-14"])


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def array(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Tuples as the models hold them, and now and then an empty list, which is not omitted like ()."""
    return st.lists(strategy, max_size=2).map(tuple) | st.just([])


def text_fields(fields: tuple[render.Field, ...]) -> dict[str, st.SearchStrategy[Any]]:
    return {attr: opt(texts) for _, attr, kind in fields if kind == "string"}


def int_fields(fields: tuple[render.Field, ...]) -> dict[str, st.SearchStrategy[Any]]:
    return {attr: opt(ints) for _, attr, kind in fields if kind in ("int", "long")}


task_progress = st.builds(
    TaskProgress,
    **text_fields(render.TASK_PROGRESS_FIELDS),
    **int_fields(render.TASK_PROGRESS_FIELDS),
    progress=opt(doubles),
    last_progress_update=opt(instants),
    task_item_progress=array(st.builds(TaskItemProgress, pairs)),
)
job_detail = st.builds(
    JobDetail,
    kind=st.sampled_from([*JOB_DETAIL_KINDS, "ünïcodeJob"]),
    **text_fields(render.JOB_DETAIL_FIELDS),
    other=pairs,
)
active_jobs = st.builds(
    ActiveJob,
    **text_fields(render.ACTIVE_JOB_FIELDS),
    **int_fields(render.ACTIVE_JOB_FIELDS),
    start_date=opt(instants),
    trigger_time=opt(instants),
    last_progress_update=opt(instants),
    task_progress=array(task_progress),
    detail=opt(job_detail),
)
aux = st.builds(AuxLogEntry, opt(texts), opt(texts), opt(instants))
log_details = st.builds(
    JobLogDetail, opt(texts), opt(texts), opt(texts), opt(texts), opt(texts), array(aux), opt(instants)
)
job_logs = st.builds(
    JobLog,
    **text_fields(render.JOB_LOG_FIELDS),
    **int_fields(render.JOB_LOG_FIELDS),
    start_date=opt(instants),
    end_date=opt(instants),
    fatal_error=opt(st.booleans()),
    details=array(log_details),
)
companies = st.builds(Company, opt(texts), opt(texts), opt(texts), opt(instants))
scheduled_jobs = st.builds(ScheduledJob, **text_fields(render.SCHEDULED_JOB_FIELDS), next_fire_time=opt(instants))


def outcome(fn: Callable[..., bytes], *args: Any) -> bytes | str:
    """The bytes rendered, or that rendering was refused (ValueError, UnicodeEncodeError included)."""
    try:
        return fn(*args)
    except ValueError:
        return "refused"


def poisoned(job: ActiveJob, attr: str, character: str) -> ActiveJob:
    text: Any = f"{getattr(job, attr) or ''}{character}"
    return dataclasses.replace(job, **{attr: text})


@SETTINGS
@given(st.lists(active_jobs, max_size=3), versions, prefixes)
def test_active_jobs_render_as_the_reference(jobs: list[ActiveJob], version: str, prefix: str | None) -> None:
    """getActiveJobs: same bytes as the lxml tree, task progress, item pairs and job details included."""
    expected = outcome(reference.render_active_jobs, jobs, version, prefix)
    assert outcome(render.render_active_jobs, jobs, version, prefix) == expected


@SETTINGS
@given(st.lists(job_logs, max_size=3), versions, prefixes)
def test_job_logs_render_as_the_reference(logs: list[JobLog], version: str, prefix: str | None) -> None:
    """getJobLogs and getJobLogDetails: same bytes as the lxml tree, details and aux entries included."""
    assert outcome(render.render_job_logs, logs, version, prefix) == outcome(
        reference.render_job_logs, logs, version, prefix
    )
    assert outcome(render.render_job_log_details, logs, version, prefix) == outcome(
        reference.render_job_log_details, logs, version, prefix
    )


@SETTINGS
@given(companies, st.lists(scheduled_jobs, max_size=3), versions, prefixes)
def test_company_info_and_scheduled_jobs_render_as_the_reference(
    company: Company, jobs: list[ScheduledJob], version: str, prefix: str | None
) -> None:
    """getCompanyInfo (an empty one self-closing) and getScheduledJobs: same bytes as the lxml tree."""
    assert outcome(render.render_company_info, company, version, prefix) == outcome(
        reference.render_company_info, company, version, prefix
    )
    assert outcome(render.render_scheduled_jobs, jobs, version, prefix) == outcome(
        reference.render_scheduled_jobs, jobs, version, prefix
    )


LIVE = [attr for _, attr, _ in render.ACTIVE_JOB_FIELDS]


@SETTINGS
@given(active_jobs, active_jobs, st.sets(st.sampled_from(LIVE)), prefixes)
def test_a_filled_template_renders_as_the_job_with_those_fields(
    job: ActiveJob, moved: ActiveJob, live: set[str], prefix: str | None
) -> None:
    """A template of `job` filled from `moved` gives the reference bytes of `job` with the live fields moved."""
    expected = dataclasses.replace(job, **{attr: getattr(moved, attr) for attr in live})
    want = outcome(reference.render_active_jobs, [expected], "2014-04-03", prefix)
    try:
        template = render.ActiveJobTemplate(job, live, prefix)
        got = outcome(render.render_active_job_items, [template.fill(moved)], "2014-04-03", prefix)
    except ValueError:
        got = "refused"
    assert got == want


def test_a_template_refuses_live_fields_an_active_job_does_not_have() -> None:
    """Only fields of the ActiveJob table can be live: the job-type detail is written with the job."""
    with pytest.raises(ValueError, match="detail"):
        render.ActiveJobTemplate(ActiveJob(job_handle="47||a"), ["state", "detail"])


STRING_FIELDS = [attr for _, attr, kind in render.ACTIVE_JOB_FIELDS if kind == "string"]


@SETTINGS
@given(st.lists(active_jobs, min_size=1, max_size=3), st.sampled_from(STRING_FIELDS), st.sampled_from(FORBIDDEN))
def test_a_character_xml_cannot_carry_anywhere_is_refused(jobs: list[ActiveJob], attr: str, character: str) -> None:
    """One forbidden character in any text of any job refuses the whole response, as lxml does."""
    jobs[-1] = poisoned(jobs[-1], attr, character)
    assert outcome(render.render_active_jobs, jobs, "2014-04-03") == "refused"
    assert outcome(reference.render_active_jobs, jobs, "2014-04-03") == "refused"


@pytest.mark.parametrize(
    ("detail", "version"),
    [
        (JobDetail("bad kind"), "2014-04-03"),
        (JobDetail("imageServingPublishJob", other=(("a:b", "x"),)), "2014-04-03"),
        (JobDetail("imageServingPublishJob", other=(("", "x"),)), "2014-04-03"),
        (JobDetail("1x"), "2014-04-03"),
        (None, "2014-04-03 beta"),
        (None, "ü"),
    ],
)
def test_names_and_namespaces_lxml_refuses_are_refused(detail: JobDetail | None, version: str) -> None:
    """An element name or a namespace lxml would not accept makes both renderers raise ValueError."""
    jobs = [ActiveJob(job_handle="47||a", detail=detail)]
    with pytest.raises(ValueError, match=r"Invalid|Empty"):
        render.render_active_jobs(jobs, version)
    with pytest.raises(ValueError, match=r"Invalid|Empty"):
        reference.render_active_jobs(jobs, version)


@pytest.mark.parametrize("character", FORBIDDEN)
def test_characters_xml_cannot_carry_are_refused_with_lxml_s_error(character: str) -> None:
    """A control character, U+FFFE/U+FFFF or a lone surrogate raises the same exception type as lxml."""
    job = ActiveJob(job_handle="47||a", description=f"before{character}after")
    with pytest.raises(ValueError, match=r"XML compatible|surrogates") as ours:
        render.render_active_jobs([job], "2014-04-03")
    with pytest.raises(ValueError, match=r"XML compatible|surrogates") as theirs:
        reference.render_active_jobs([job], "2014-04-03")
    assert type(ours.value) is type(theirs.value)


def test_a_prefix_lxml_would_not_bind_the_body_to_is_refused() -> None:
    """The reserved `xml` prefix cannot name the body namespace, so rendering with it raises ValueError."""
    with pytest.raises(ValueError, match="prefix 'xml'"):
        render.render_active_jobs([ActiveJob(job_handle="47||a")], "2014-04-03", "xml")
