"""IPS responses → frozen models. Pure: bytes in, models out, typed errors for anything else.

Which element feeds which model field, and how its text converts; `reader.FieldReader` does the reading.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from lxml import etree

from notifier.ips.envelope import DEFAULT_MAX_BYTES, find_child, response_element
from notifier.ips.errors import IpsParseError
from notifier.ips.freeform import DetailReader, read_job_detail, task_item_arrays
from notifier.ips.reader import FieldReader, array_reader
from notifier.ips.values import (
    bool_value,
    datetime_value,
    float_value,
    int_value,
    items,
    may_have_nils,
    size_value,
    str_value,
)
from notifier.models import (
    JOB_DETAIL_KINDS,
    ActiveJob,
    AuxLogEntry,
    Company,
    JobDetail,
    JobLog,
    JobLogDetail,
    ScheduledJob,
    TaskProgress,
)

_TASK_PROGRESS = FieldReader(
    TaskProgress,
    {
        "taskType": ("task_type", str_value),
        "numProcessed": ("num_processed", int_value),
        "numProcessing": ("num_processing", int_value),
        "numPending": ("num_pending", int_value),
        "progress": ("progress", float_value),
        "progressMessage": ("progress_message", str_value),
        "lastProgressUpdate": ("last_progress_update", datetime_value),
        "taskState": ("task_state", str_value),
    },
    {"taskItemProgressArray": ("task_item_progress", task_item_arrays)},
)


DetailsReader = Callable[[Sequence[etree._Element], bool], list[JobDetail]]


def _read_job_details(els: Sequence[etree._Element], nils: bool) -> list[JobDetail]:
    """Each job-type detail read on its own: the reference a `DetailReader` is held to."""
    return [read_job_detail(el, nils) for el in els]


def active_job_reader(details: DetailsReader) -> FieldReader[ActiveJob]:
    """What reads an ActiveJob, its job-type details read by `details`."""
    return FieldReader(
        ActiveJob,
        {
            "companyHandle": ("company_handle", str_value),
            "jobHandle": ("job_handle", str_value),
            "name": ("name", str_value),
            "originalName": ("original_name", str_value),
            "type": ("type", str_value),
            "state": ("state", str_value),
            "submitUserEmail": ("submit_user_email", str_value),
            "locale": ("locale", str_value),
            "description": ("description", str_value),
            "serverName": ("server_name", str_value),
            "startDate": ("start_date", datetime_value),
            "triggerTime": ("trigger_time", datetime_value),
            "totalSize": ("total_size", size_value),
            "progress": ("progress", int_value),
            "progressMessage": ("progress_message", str_value),
            "lastProgressUpdate": ("last_progress_update", datetime_value),
        },
        {
            "taskProgressArray": ("task_progress", array_reader(_TASK_PROGRESS)),
            **dict.fromkeys(JOB_DETAIL_KINDS, ("detail", details)),
        },
        unique=("job_handle", "name", "original_name", "progress_message"),
    )


ACTIVE_JOB = active_job_reader(_read_job_details)


class Parser:
    """`parse_active_jobs` with equal job-type details shared (`DetailReader`), for the client that owns it."""

    def __init__(self) -> None:
        self.details = DetailReader()
        self._active_job = active_job_reader(self.details)

    def active_jobs(
        self, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None
    ) -> list[ActiveJob]:
        return _parse_array(data, "getActiveJobs", "jobArray", self._active_job, max_bytes, namespace)


def active_job(el: etree._Element, nils: bool = True) -> ActiveJob:
    return ACTIVE_JOB(el, nils)


_AUX = FieldReader(
    AuxLogEntry,
    {
        "logMessage": ("log_message", str_value),
        "logType": ("log_type", str_value),
        "dateCreated": ("date_created", datetime_value),
    },
)


LOG_DETAIL = FieldReader(
    JobLogDetail,
    {
        "logMessage": ("log_message", str_value),
        "logType": ("log_type", str_value),
        "assetName": ("asset_name", str_value),
        "assetType": ("asset_type", str_value),
        "assetHandle": ("asset_handle", str_value),
        "dateCreated": ("date_created", datetime_value),
    },
    {"auxArray": ("aux", array_reader(_AUX))},
)


JOB_LOG = FieldReader(
    JobLog,
    {
        "companyHandle": ("company_handle", str_value),
        "jobHandle": ("job_handle", str_value),
        "jobName": ("job_name", str_value),
        "originalJobName": ("original_job_name", str_value),
        "submitUserEmail": ("submit_user_email", str_value),
        "logType": ("log_type", str_value),
        "jobSubType": ("job_sub_type", str_value),
        "startDate": ("start_date", datetime_value),
        "endDate": ("end_date", datetime_value),
        "description": ("description", str_value),
        "fileSuccessCount": ("file_success_count", int_value),
        "fileErrorCount": ("file_error_count", int_value),
        "fileWarningCount": ("file_warning_count", int_value),
        "fileDuplicateCount": ("file_duplicate_count", int_value),
        "fileUpdateCount": ("file_update_count", int_value),
        "totalFileCount": ("total_file_count", int_value),
        "transferSuccessCount": ("transfer_success_count", int_value),
        "transferErrorCount": ("transfer_error_count", int_value),
        "transferWarningCount": ("transfer_warning_count", int_value),
        "fatalError": ("fatal_error", bool_value),
        "detailTotalRows": ("detail_total_rows", int_value),
    },
    {"detailArray": ("details", array_reader(LOG_DETAIL))},
    unique=("job_handle", "job_name", "original_job_name"),
)


def job_log(el: etree._Element, nils: bool = True) -> JobLog:
    return JOB_LOG(el, nils)


_COMPANY = FieldReader(
    Company,
    {
        "companyHandle": ("company_handle", str_value),
        "name": ("name", str_value),
        "rootPath": ("root_path", str_value),
        "expires": ("expires", datetime_value),
    },
)

_SCHEDULED_JOB = FieldReader(
    ScheduledJob,
    {
        "companyHandle": ("company_handle", str_value),
        "jobHandle": ("job_handle", str_value),
        "name": ("name", str_value),
        "originalName": ("original_name", str_value),
        "type": ("type", str_value),
        "submitUserEmail": ("submit_user_email", str_value),
        "locale": ("locale", str_value),
        "description": ("description", str_value),
        "execSchedule": ("exec_schedule", str_value),
        "nextFireTime": ("next_fire_time", datetime_value),
        "timeZone": ("time_zone", str_value),
        "triggerState": ("trigger_state", str_value),
    },
)


def _array(ret: etree._Element, wrapper: str) -> list[etree._Element]:
    # An absent wrapper means an empty result: Axis2 omits empty optional elements.
    return items(find_child(ret, wrapper))


M = TypeVar("M")


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while one response is read (synchronously: never across an await)
    and resumed as it was.

    Reading makes a short-lived proxy object for every element; a collection running meanwhile would scan and
    promote them all for nothing (up to a sixth of the parse), and in a daemon holding 50,000 jobs would bring
    the next full collection closer. Nothing read here forms a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_array(
    data: bytes, operation: str, wrapper: str, reader: FieldReader[M], max_bytes: int, namespace: str | None
) -> list[M]:
    """Every item of the response's array, as models, read with the collector paused."""
    with collector_paused():
        ret = response_element(data, operation, max_bytes, namespace)
        models = reader.many(_array(ret, wrapper), may_have_nils(ret, data))
        del ret  # the tree and its proxies go while the collector is still paused
        return models


def parse_active_jobs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None) -> list[ActiveJob]:
    """The jobs of a getActiveJobs answer, each job-type detail read on its own (the reference `Parser` is held
    to; the client reads through a `Parser`)."""
    return _parse_array(data, "getActiveJobs", "jobArray", ACTIVE_JOB, max_bytes, namespace)


def parse_job_logs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None) -> list[JobLog]:
    return _parse_array(data, "getJobLogs", "jobLogArray", JOB_LOG, max_bytes, namespace)


def parse_job_log_details(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None
) -> list[JobLog]:
    return _parse_array(data, "getJobLogDetails", "jobLogArray", JOB_LOG, max_bytes, namespace)


def parse_company_info(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None) -> Company:
    ret = response_element(data, "getCompanyInfo", max_bytes, namespace)
    info = find_child(ret, "companyInfo")
    if info is None:
        raise IpsParseError("getCompanyInfoReturn has no companyInfo")
    return _COMPANY(info, nils=True)


def parse_scheduled_jobs(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None
) -> list[ScheduledJob]:
    return _parse_array(data, "getScheduledJobs", "jobArray", _SCHEDULED_JOB, max_bytes, namespace)
