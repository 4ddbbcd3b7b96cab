"""IPS responses → frozen models. Pure: bytes in, models out, typed errors for anything else.

A poll cycle may parse tens of thousands of jobs, so each model has a `FieldReader` that fills its fields
positionally from an element's children in one pass, learning which full tag means which field as tags are
met: the namespace is split off once per response shape, not once per element.
"""

from __future__ import annotations

import dataclasses

from lxml import etree

from notifier.ips.envelope import DEFAULT_MAX_BYTES, find_child, response_element
from notifier.ips.errors import IpsParseError
from notifier.ips.fields import (
    FieldReader,
    bool_value,
    datetime_value,
    float_value,
    int_value,
    is_nil,
    items,
    local,
    may_have_nils,
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
    TaskItemProgress,
    TaskProgress,
)


def _simple_pairs(el: etree._Element) -> tuple[tuple[str, str], ...]:
    return tuple((local(c.tag), c.text or "") for c in el if local(c.tag) and len(c) == 0)


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
)


def _task_progress(el: etree._Element, nils: bool) -> TaskProgress:
    values = _TASK_PROGRESS.values(el, nils)
    array = find_child(el, "taskItemProgressArray")
    if array is not None:
        values[_TASK_ITEMS] = tuple(TaskItemProgress(_simple_pairs(i)) for i in items(array))
    return TaskProgress(*values)


_TASK_ITEMS = [f.name for f in dataclasses.fields(TaskProgress)].index("task_item_progress")


def _task_progress_array(el: etree._Element, nils: bool) -> tuple[TaskProgress, ...]:
    return tuple(_task_progress(i, nils) for i in items(el))


_DETAIL_KNOWN = ("publishType", "emailSetting", "httpCompletionUrl")
# Publish settings repeat from job to job: equal details share one frozen value, which saves time and memory.
_DETAILS: dict[tuple[object, ...], JobDetail] = {}
_MAX_DETAILS = 1024


def _job_detail(el: etree._Element, nils: bool) -> JobDetail:
    if nils:
        return _read_job_detail(el, nils)
    key = (el.tag, *[(c.tag, c.text, len(c)) for c in el])
    detail = _DETAILS.get(key)
    if detail is None:
        detail = _read_job_detail(el, nils)
        if len(_DETAILS) >= _MAX_DETAILS:
            _DETAILS.clear()
        _DETAILS[key] = detail
    return detail


def _read_job_detail(el: etree._Element, nils: bool) -> JobDetail:
    known: list[str | None] = [None, None, None]
    other: list[tuple[str, str]] = []
    for child in el:
        name = local(child.tag)
        if name in _DETAIL_KNOWN:
            known[_DETAIL_KNOWN.index(name)] = None if nils and is_nil(child) else child.text or ""
        elif name and len(child) == 0:
            other.append((name, child.text or ""))
    publish_type, email_setting, http_completion_url = known
    return JobDetail(local(el.tag), publish_type, email_setting, http_completion_url, tuple(other))


_ACTIVE_JOB = FieldReader(
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
        "totalSize": ("total_size", int_value),
        "progress": ("progress", int_value),
        "progressMessage": ("progress_message", str_value),
        "lastProgressUpdate": ("last_progress_update", datetime_value),
    },
    {
        "taskProgressArray": ("task_progress", _task_progress_array),
        **dict.fromkeys(JOB_DETAIL_KINDS, ("detail", _job_detail)),
    },
)


def active_job(el: etree._Element, nils: bool = True) -> ActiveJob:
    return _ACTIVE_JOB(el, nils)


_AUX = FieldReader(
    AuxLogEntry,
    {
        "logMessage": ("log_message", str_value),
        "logType": ("log_type", str_value),
        "dateCreated": ("date_created", datetime_value),
    },
)


def _aux_array(el: etree._Element, nils: bool) -> tuple[AuxLogEntry, ...]:
    return tuple(_AUX(i, nils) for i in items(el))


_LOG_DETAIL = FieldReader(
    JobLogDetail,
    {
        "logMessage": ("log_message", str_value),
        "logType": ("log_type", str_value),
        "assetName": ("asset_name", str_value),
        "assetType": ("asset_type", str_value),
        "assetHandle": ("asset_handle", str_value),
    },
    {"auxArray": ("aux", _aux_array)},
)


def job_log_detail(el: etree._Element, nils: bool = True) -> JobLogDetail:
    return _LOG_DETAIL(el, nils)


def _detail_array(el: etree._Element, nils: bool) -> tuple[JobLogDetail, ...]:
    return tuple(_LOG_DETAIL(i, nils) for i in items(el))


_JOB_LOG = FieldReader(
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
    {"detailArray": ("details", _detail_array)},
)


def job_log(el: etree._Element, nils: bool = True) -> JobLog:
    return _JOB_LOG(el, nils)


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


def parse_active_jobs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[ActiveJob]:
    ret = response_element(data, "getActiveJobs", max_bytes)
    nils = may_have_nils(ret)
    return [_ACTIVE_JOB(i, nils) for i in _array(ret, "jobArray")]


def parse_job_logs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[JobLog]:
    ret = response_element(data, "getJobLogs", max_bytes)
    nils = may_have_nils(ret)
    return [_JOB_LOG(i, nils) for i in _array(ret, "jobLogArray")]


def parse_job_log_details(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[JobLog]:
    ret = response_element(data, "getJobLogDetails", max_bytes)
    nils = may_have_nils(ret)
    return [_JOB_LOG(i, nils) for i in _array(ret, "jobLogArray")]


def parse_company_info(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Company:
    ret = response_element(data, "getCompanyInfo", max_bytes)
    info = find_child(ret, "companyInfo")
    if info is None:
        raise IpsParseError("getCompanyInfoReturn has no companyInfo")
    return _COMPANY(info, nils=True)


def parse_scheduled_jobs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[ScheduledJob]:
    ret = response_element(data, "getScheduledJobs", max_bytes)
    nils = may_have_nils(ret)
    return [_SCHEDULED_JOB(i, nils) for i in _array(ret, "jobArray")]
