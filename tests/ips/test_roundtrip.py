"""Properties: parse(render(x)) == x for every model, and no input makes a parser raise an untyped error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.ips import parse
from notifier.ips.errors import IpsFault, IpsParseError
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

VERSION = "2014-04-03"
FAST = settings()  # examples per the profile in tests/conftest.py

# Every character XML 1.0 can carry (no C0 controls except tab/newline/CR, no surrogates, no U+FFFE/U+FFFF).
xml_text = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff") | st.sampled_from("\t\n\r"),
    max_size=30,
)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))])
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)
ints = st.integers(-(2**31), 2**31 - 1)
longs = st.integers(0, 2**63 - 1)
doubles = st.floats(allow_nan=False)
names = st.sampled_from(["contextHandle", "publishTime", "assetHandle", "renditionName"])
pairs = st.lists(st.tuples(names, xml_text), max_size=3).map(tuple)


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


task_progress = st.builds(
    TaskProgress,
    task_type=opt(xml_text),
    num_processed=opt(ints),
    num_processing=opt(ints),
    num_pending=opt(ints),
    progress=opt(doubles),
    progress_message=opt(xml_text),
    last_progress_update=opt(instants),
    task_item_progress=st.lists(st.builds(TaskItemProgress, pairs), max_size=2).map(tuple),
    task_state=opt(st.sampled_from(["Unknown", "New", "Processing", "Stopping", "Done", "Failed"])),
)
job_detail = st.builds(
    JobDetail,
    kind=st.sampled_from(JOB_DETAIL_KINDS),
    publish_type=opt(xml_text),
    email_setting=opt(xml_text),
    http_completion_url=opt(xml_text),
    other=pairs,
)
active_jobs = st.builds(
    ActiveJob,
    **{attr: opt(xml_text) for _, attr, kind in render.ACTIVE_JOB_FIELDS if kind == "string"},
    start_date=opt(instants),
    trigger_time=opt(instants),
    last_progress_update=opt(instants),
    total_size=opt(longs),
    progress=opt(ints),
    task_progress=st.lists(task_progress, max_size=2).map(tuple),
    detail=opt(job_detail),
)
aux = st.builds(AuxLogEntry, opt(xml_text), opt(xml_text), opt(instants))
log_details = st.builds(
    JobLogDetail,
    opt(xml_text),
    opt(xml_text),
    opt(xml_text),
    opt(xml_text),
    opt(xml_text),
    st.lists(aux, max_size=2).map(tuple),
    opt(instants),
)
job_logs = st.builds(
    JobLog,
    **{attr: opt(xml_text) for _, attr, kind in render.JOB_LOG_FIELDS if kind == "string"},
    **{attr: opt(ints) for _, attr, kind in render.JOB_LOG_FIELDS if kind == "int"},
    start_date=opt(instants),
    end_date=opt(instants),
    fatal_error=opt(st.booleans()),
    details=st.lists(log_details, max_size=3).map(tuple),
)


@FAST
@given(st.lists(active_jobs, max_size=3), st.sampled_from(["ns1", "x", None]))
def test_active_jobs_round_trip(jobs: list[ActiveJob], prefix: str | None) -> None:
    """Every ActiveJob, with task progress and job detail, survives render → parse unchanged."""
    assert parse.parse_active_jobs(render.render_active_jobs(jobs, VERSION, prefix)) == jobs


@FAST
@given(st.lists(job_logs, max_size=3))
def test_job_logs_round_trip(logs: list[JobLog]) -> None:
    """Every JobLog, with its details and their aux entries, survives render → parse unchanged."""
    assert parse.parse_job_logs(render.render_job_logs(logs, VERSION)) == logs
    assert parse.parse_job_log_details(render.render_job_log_details(logs, VERSION)) == logs


@FAST
@given(st.builds(Company, opt(xml_text), opt(xml_text), opt(xml_text), opt(instants)))
def test_company_info_round_trips(company: Company) -> None:
    """getCompanyInfo's answer survives render → parse unchanged."""
    assert parse.parse_company_info(render.render_company_info(company, VERSION)) == company


@FAST
@given(st.lists(st.builds(ScheduledJob, next_fire_time=opt(instants), name=opt(xml_text)), max_size=3))
def test_scheduled_jobs_round_trip(jobs: list[ScheduledJob]) -> None:
    """Scheduled jobs survive render → parse unchanged."""
    assert parse.parse_scheduled_jobs(render.render_scheduled_jobs(jobs, VERSION)) == jobs


# ---------------------------------------------------------------------------------------------- fuzzing

PARSERS: list[Callable[[bytes], object]] = [
    parse.parse_active_jobs,
    parse.parse_job_logs,
    parse.parse_job_log_details,
    parse.parse_company_info,
    parse.parse_scheduled_jobs,
]
SAMPLE = render.render_active_jobs(
    [ActiveJob(job_handle="47||a", progress=5, start_date=datetime(2026, 1, 1, tzinfo=UTC))], VERSION
)


def _only_typed_errors(data: bytes) -> None:
    for parser in PARSERS:
        with contextlib.suppress(IpsParseError, IpsFault):
            parser(data)


@FAST
@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_typed_errors(data: bytes) -> None:
    """Whatever bytes arrive, a parser returns or raises IpsParseError / IpsFault, nothing else."""
    _only_typed_errors(data)


@FAST
@given(st.data())
def test_mutated_envelopes_raise_only_typed_errors(data: st.DataObject) -> None:
    """A real envelope with bytes replaced, cut or inserted still fails only in typed ways."""
    body = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body)))
        action = data.draw(st.sampled_from(["replace", "cut", "insert"]))
        chunk = data.draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"<", b">", b"&", b"x:", b'"']))
        if action == "cut":
            del body[at : at + len(chunk)]
        elif action == "insert":
            body[at:at] = chunk
        else:
            body[at : at + len(chunk)] = chunk
    _only_typed_errors(bytes(body))


@FAST
@given(st.sampled_from(["progress", "startDate", "totalSize", "code"]), xml_text)
def test_garbage_field_values_raise_only_typed_errors(field: str, value: str) -> None:
    """Any text in a typed field (int, dateTime, fault code) is a value or a typed error."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#13;").encode()
    data = SAMPLE.replace(b"<ns1:progress>5<", b"<ns1:" + field.encode() + b">" + escaped + b"<")
    data = data.replace(b"</ns1:progress>", f"</ns1:{field}>".encode(), 1)
    fault = render.render_fault("ipsApi", 30001, "x").replace(b">30001<", b">" + escaped + b"<")
    _only_typed_errors(data)
    _only_typed_errors(fault)
