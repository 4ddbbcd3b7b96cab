"""Properties: parse(render(x)) == x for every model, and no input makes a parser raise an untyped error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.ips import parse
from notifier.ips.errors import IpsFault, IpsParseError
from notifier.ips.simulator import answers as render
from notifier.models import (
    ActiveJob,
    Company,
    JobLog,
    ScheduledJob,
)
from tests.support.ips import active_jobs, instants, job_logs, opt, xml_text

VERSION = "2014-04-03"
FAST = settings()  # examples per the profile in tests/conftest.py


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
