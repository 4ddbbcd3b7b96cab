"""The column-by-column reading of arrays gives exactly what reading element by element gives, errors included."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.ips import parse
from notifier.ips.columns import column_builder, convert_column, positional_builder
from notifier.ips.envelope import response_element
from notifier.ips.errors import IpsParseError
from notifier.ips.reader import FieldReader
from notifier.ips.simulator import answers as render
from notifier.ips.simulator.server import make_world
from notifier.ips.values import BadValue, datetime_value, float_value, int_value, items
from notifier.models import ActiveJob, JobDetail, JobLog, TaskProgress
from tests.support.ips import active_jobs, job_logs
from tests.support.sim import START

VERSION = "2014-04-03"
FAST = settings()  # examples per the profile in tests/conftest.py


def _one_by_one(data: bytes, operation: str, wrapper: str, reader: FieldReader[Any]) -> list[Any]:
    ret = response_element(data, operation)
    array = next((c for c in ret if isinstance(c.tag, str) and c.tag.endswith(wrapper)), None)
    return [reader(el, False) for el in items(array)]


@FAST
@given(st.lists(active_jobs, max_size=8))
def test_active_jobs_of_mixed_shapes_read_as_one_by_one(jobs: list[ActiveJob]) -> None:
    """Jobs with different optional elements, read as an array, equal the same jobs read one at a time."""
    data = render.render_active_jobs(jobs, VERSION)
    assert parse.parse_active_jobs(data) == _one_by_one(data, "getActiveJobs", "jobArray", parse.ACTIVE_JOB)


@FAST
@given(st.lists(job_logs, max_size=6))
def test_job_logs_with_details_read_as_one_by_one(logs: list[JobLog]) -> None:
    """Logs with nested detail and aux arrays read the same as an array and one at a time."""
    data = render.render_job_log_details(logs, VERSION)
    assert parse.parse_job_log_details(data) == _one_by_one(data, "getJobLogDetails", "jobLogArray", parse.JOB_LOG)


def _jobs(count: int) -> list[ActiveJob]:
    detail = JobDetail("imageServingPublishJob", "Incremental", "ErrorAndWarning")
    when = datetime.fromisoformat("2026-03-02T08:00:00+00:00")
    return [
        ActiveJob("47", f"47|{i}", f"job {i}", state="Running", start_date=when, progress=i, detail=detail)
        for i in range(count)
    ]


def test_the_first_bad_value_in_document_order_is_reported() -> None:
    """With a bad progress in job 1 and a bad startDate in job 3, the error names job 1's progress."""
    data = render.render_active_jobs(_jobs(5), VERSION)
    data = data.replace(b"<ns1:progress>1<", b"<ns1:progress>one<")
    marker = b"<ns1:jobHandle>47|3</ns1:jobHandle>"
    head, tail = data.split(marker)
    tail = tail.replace(b"2026-03-02T08:00:00+00:00", b"yesterday", 1)
    with pytest.raises(IpsParseError, match=r"<progress> is not an integer: 'one'"):
        parse.parse_active_jobs(head + marker + tail)


def test_empty_typed_elements_read_as_none_within_an_array() -> None:
    """An empty <progress/> among numbers is None, as it is for a single job, not an error."""
    data = render.render_active_jobs(_jobs(3), VERSION).replace(b"<ns1:progress>1</ns1:progress>", b"<ns1:progress/>")
    assert [job.progress for job in parse.parse_active_jobs(data)] == [0, None, 2]


def test_equal_job_details_are_one_shared_value() -> None:
    """Through a `Parser`, jobs with the same publish settings share one JobDetail object, equal to what was sent,
    and to what the plain reading gives; its next answer reuses it."""
    data = render.render_active_jobs(_jobs(4), VERSION)
    parser = parse.Parser()
    parsed = parser.active_jobs(data)
    assert len({id(job.detail) for job in parsed}) == 1
    assert parsed[0].detail == JobDetail("imageServingPublishJob", "Incremental", "ErrorAndWarning")
    assert parsed == parse.parse_active_jobs(data)
    assert parser.active_jobs(data)[0].detail is parsed[0].detail


@given(st.lists(active_jobs, max_size=8))
def test_a_parser_reads_what_the_plain_reading_reads(jobs: list[ActiveJob]) -> None:
    """Shared details or not, a `Parser` gives exactly the models `parse_active_jobs` gives, answer after answer."""
    parser = parse.Parser()
    data = render.render_active_jobs(jobs, VERSION)
    assert parser.active_jobs(data) == parser.active_jobs(data) == parse.parse_active_jobs(data)


canonical = st.datetimes(timezones=st.sampled_from([None, datetime.fromisoformat("2026-01-01T00:00+02:00").tzinfo]))
texts = st.one_of(
    canonical.map(lambda d: d.isoformat()),
    canonical.map(lambda d: d.isoformat() + "Z" if d.tzinfo is None else d.isoformat()),
    st.from_regex(r"\A2026-0[1-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{0,9})?(Z|[+-]0[0-9]:00)?\Z"),
    st.sampled_from(["", " ", "2026-13-01T00:00:00Z", " 2026-03-02T08:45:26+00:00", "2026-03-02T08:45:26.+00:00"]),
)


Converter = Callable[[str | None], Any]


def _each(convert: Converter, values: list[str]) -> list[Any] | str:
    try:
        return [convert(v) for v in values]
    except BadValue as exc:
        return f"bad: {exc.expected}"


def _column(convert: Converter, values: list[str]) -> list[Any] | str:
    try:
        return list(convert_column(convert, list(values)))
    except BadValue as exc:
        return f"bad: {exc.expected}"


@FAST
@given(st.lists(texts, min_size=1, max_size=12))
def test_a_datetime_column_converts_as_each_text_would(values: list[str]) -> None:
    """Converting a column of dateTime texts at once gives each text's own value (or the same error)."""
    assert _column(datetime_value, values) == _each(datetime_value, values)


@FAST
@given(st.lists(st.sampled_from(["1", " 2 ", "", "  ", "1_000", "x", "-7", "٣"]), min_size=1, max_size=8))
def test_an_integer_column_converts_as_each_text_would(values: list[str]) -> None:
    """Blank texts are None and bad ones the same error, whether converted one by one or as a column."""
    assert _column(int_value, values) == _each(int_value, values)


def test_learned_tags_and_shapes_stay_bounded() -> None:
    """A server inventing a namespace per response cannot grow the reader's tables without bound."""
    reader = FieldReader(TaskProgress, {"progress": ("progress", float_value)})
    for n in range(1500):
        data = render.render_active_jobs(_jobs(1), f"2026-01-{n:04d}")
        reader.many(items(next(iter(response_element(data, "getActiveJobs")))), False)
    tags, shapes = reader.learned
    assert tags <= 512
    assert shapes <= 256


def test_builders_make_the_objects_init_makes() -> None:
    """Both slot builders produce objects equal to those of the dataclass constructor."""
    jobs = _jobs(3)
    values = [[getattr(job, name) for name in ActiveJob.__dataclass_fields__] for job in jobs]
    assert [positional_builder(ActiveJob)(v) for v in values] == jobs
    assert column_builder(ActiveJob)(list(zip(*values, strict=True)), 3) == jobs


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(enabled: bool) -> None:
    """Parsing, even of a malformed body, leaves the collector enabled or disabled as it found it."""
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        parse.parse_active_jobs(render.render_active_jobs(_jobs(2), VERSION))
        with pytest.raises(IpsParseError):
            parse.parse_active_jobs(b"<not xml")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_response_mixing_every_job_type_reads_as_one_by_one() -> None:
    """A fleet's response (every job type, video tasks, omitted elements) reads shape by shape as sent."""
    world = make_world("fleet", companies=1, jobs=300, seed=0, speed=0.0, start=START)
    world.advance(1800)
    jobs = world.active_jobs("1000", "en-US")
    data = render.render_active_jobs(jobs, VERSION)
    parsed = parse.parse_active_jobs(data)
    assert len({job.type for job in parsed}) == 10
    assert parsed == jobs == _one_by_one(data, "getActiveJobs", "jobArray", parse.ACTIVE_JOB)


def test_the_first_bad_value_in_document_order_is_reported_across_shapes() -> None:
    """Jobs of two shapes, a bad value in each: the one earlier in the document is reported, whichever shape
    happens to be read first."""
    jobs = _jobs(4)
    jobs[0] = dataclasses.replace(jobs[0], description="first shape")
    jobs[2] = dataclasses.replace(jobs[2], description="first shape")
    data = render.render_active_jobs(jobs, VERSION)
    data = data.replace(b"<ns1:progress>1<", b"<ns1:progress>one<").replace(b"<ns1:progress>2<", b"<ns1:progress>two<")
    with pytest.raises(IpsParseError, match=r"<progress> is not an integer: 'one'"):
        parse.parse_active_jobs(data)
