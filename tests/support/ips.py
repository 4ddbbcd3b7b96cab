"""Hypothesis strategies for IPS models: any value the schema allows, in text XML 1.0 can carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from notifier.ips.schema import ACTIVE_JOB_FIELDS, JOB_LOG_FIELDS
from notifier.models import (
    JOB_DETAIL_KINDS,
    ActiveJob,
    AuxLogEntry,
    JobDetail,
    JobLog,
    JobLogDetail,
    TaskItemProgress,
    TaskProgress,
)

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
    **{attr: opt(xml_text) for _, attr, kind in ACTIVE_JOB_FIELDS if kind == "string"},
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
    **{attr: opt(xml_text) for _, attr, kind in JOB_LOG_FIELDS if kind == "string"},
    **{attr: opt(ints) for _, attr, kind in JOB_LOG_FIELDS if kind == "int"},
    start_date=opt(instants),
    end_date=opt(instants),
    fatal_error=opt(st.booleans()),
    details=st.lists(log_details, max_size=3).map(tuple),
)
