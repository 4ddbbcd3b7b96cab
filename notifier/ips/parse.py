"""IPS responses → frozen models. Pure: bytes in, models out, typed errors for anything else."""

from __future__ import annotations

from typing import Any

from lxml import etree

from notifier.ips.envelope import (
    DEFAULT_MAX_BYTES,
    FieldMap,
    _fields,
    find_child,
    items,
    local,
    response_element,
    to_bool,
    to_datetime,
    to_float,
    to_int,
    to_str,
)
from notifier.ips.errors import IpsParseError
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

_TASK_PROGRESS: FieldMap = {
    "taskType": ("task_type", to_str),
    "numProcessed": ("num_processed", to_int),
    "numProcessing": ("num_processing", to_int),
    "numPending": ("num_pending", to_int),
    "progress": ("progress", to_float),
    "progressMessage": ("progress_message", to_str),
    "lastProgressUpdate": ("last_progress_update", to_datetime),
    "taskState": ("task_state", to_str),
}


def _simple_pairs(el: etree._Element) -> tuple[tuple[str, str], ...]:
    return tuple((local(c.tag), c.text or "") for c in el if local(c.tag) and len(c) == 0)


def _task_progress(el: etree._Element) -> TaskProgress:
    kwargs = _fields(el, _TASK_PROGRESS)
    array = find_child(el, "taskItemProgressArray")
    if array is not None:
        kwargs["task_item_progress"] = tuple(TaskItemProgress(_simple_pairs(i)) for i in items(array))
    return TaskProgress(**kwargs)


def _job_detail(el: etree._Element) -> tuple[str, JobDetail]:
    known = {"publishType": "publish_type", "emailSetting": "email_setting", "httpCompletionUrl": "http_completion_url"}
    kwargs: dict[str, Any] = {}
    other: list[tuple[str, str]] = []
    for child in el:
        name = local(child.tag)
        if name in known:
            kwargs[known[name]] = to_str(child)
        elif name and len(child) == 0:
            other.append((name, child.text or ""))
    return "detail", JobDetail(kind=local(el.tag), other=tuple(other), **kwargs)


def _task_progress_array(el: etree._Element) -> tuple[str, tuple[TaskProgress, ...]]:
    return "task_progress", tuple(_task_progress(i) for i in items(el))


_ACTIVE_JOB: FieldMap = {
    "companyHandle": ("company_handle", to_str),
    "jobHandle": ("job_handle", to_str),
    "name": ("name", to_str),
    "originalName": ("original_name", to_str),
    "type": ("type", to_str),
    "state": ("state", to_str),
    "submitUserEmail": ("submit_user_email", to_str),
    "locale": ("locale", to_str),
    "description": ("description", to_str),
    "serverName": ("server_name", to_str),
    "startDate": ("start_date", to_datetime),
    "totalSize": ("total_size", to_int),
    "progress": ("progress", to_int),
    "progressMessage": ("progress_message", to_str),
    "lastProgressUpdate": ("last_progress_update", to_datetime),
}
_ACTIVE_JOB_NESTED = {"taskProgressArray": _task_progress_array, **dict.fromkeys(JOB_DETAIL_KINDS, _job_detail)}


def active_job(el: etree._Element) -> ActiveJob:
    return ActiveJob(**_fields(el, _ACTIVE_JOB, _ACTIVE_JOB_NESTED))


_AUX: FieldMap = {
    "logMessage": ("log_message", to_str),
    "logType": ("log_type", to_str),
    "dateCreated": ("date_created", to_datetime),
}


def _aux_array(el: etree._Element) -> tuple[str, tuple[AuxLogEntry, ...]]:
    return "aux", tuple(AuxLogEntry(**_fields(i, _AUX)) for i in items(el))


_LOG_DETAIL: FieldMap = {
    "logMessage": ("log_message", to_str),
    "logType": ("log_type", to_str),
    "assetName": ("asset_name", to_str),
    "assetType": ("asset_type", to_str),
    "assetHandle": ("asset_handle", to_str),
}


def job_log_detail(el: etree._Element) -> JobLogDetail:
    return JobLogDetail(**_fields(el, _LOG_DETAIL, {"auxArray": _aux_array}))


def _detail_array(el: etree._Element) -> tuple[str, tuple[JobLogDetail, ...]]:
    return "details", tuple(job_log_detail(i) for i in items(el))


_JOB_LOG: FieldMap = {
    "companyHandle": ("company_handle", to_str),
    "jobHandle": ("job_handle", to_str),
    "jobName": ("job_name", to_str),
    "originalJobName": ("original_job_name", to_str),
    "submitUserEmail": ("submit_user_email", to_str),
    "logType": ("log_type", to_str),
    "jobSubType": ("job_sub_type", to_str),
    "startDate": ("start_date", to_datetime),
    "endDate": ("end_date", to_datetime),
    "description": ("description", to_str),
    "fileSuccessCount": ("file_success_count", to_int),
    "fileErrorCount": ("file_error_count", to_int),
    "fileWarningCount": ("file_warning_count", to_int),
    "fileDuplicateCount": ("file_duplicate_count", to_int),
    "fileUpdateCount": ("file_update_count", to_int),
    "totalFileCount": ("total_file_count", to_int),
    "transferSuccessCount": ("transfer_success_count", to_int),
    "transferErrorCount": ("transfer_error_count", to_int),
    "transferWarningCount": ("transfer_warning_count", to_int),
    "fatalError": ("fatal_error", to_bool),
    "detailTotalRows": ("detail_total_rows", to_int),
}


def job_log(el: etree._Element) -> JobLog:
    return JobLog(**_fields(el, _JOB_LOG, {"detailArray": _detail_array}))


_COMPANY: FieldMap = {
    "companyHandle": ("company_handle", to_str),
    "name": ("name", to_str),
    "rootPath": ("root_path", to_str),
    "expires": ("expires", to_datetime),
}

_SCHEDULED_JOB: FieldMap = {
    "companyHandle": ("company_handle", to_str),
    "jobHandle": ("job_handle", to_str),
    "name": ("name", to_str),
    "originalName": ("original_name", to_str),
    "type": ("type", to_str),
    "submitUserEmail": ("submit_user_email", to_str),
    "locale": ("locale", to_str),
    "description": ("description", to_str),
    "execSchedule": ("exec_schedule", to_str),
    "nextFireTime": ("next_fire_time", to_datetime),
    "timeZone": ("time_zone", to_str),
    "triggerState": ("trigger_state", to_str),
}


def _array(ret: etree._Element, wrapper: str) -> list[etree._Element]:
    # An absent wrapper means an empty result: Axis2 omits empty optional elements.
    return items(find_child(ret, wrapper))


def parse_active_jobs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[ActiveJob]:
    ret = response_element(data, "getActiveJobs", max_bytes)
    return [active_job(i) for i in _array(ret, "jobArray")]


def parse_job_logs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[JobLog]:
    ret = response_element(data, "getJobLogs", max_bytes)
    return [job_log(i) for i in _array(ret, "jobLogArray")]


def parse_job_log_details(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[JobLog]:
    ret = response_element(data, "getJobLogDetails", max_bytes)
    return [job_log(i) for i in _array(ret, "jobLogArray")]


def parse_company_info(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Company:
    ret = response_element(data, "getCompanyInfo", max_bytes)
    info = find_child(ret, "companyInfo")
    if info is None:
        raise IpsParseError("getCompanyInfoReturn has no companyInfo")
    return Company(**_fields(info, _COMPANY))


def parse_scheduled_jobs(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[ScheduledJob]:
    ret = response_element(data, "getScheduledJobs", max_bytes)
    return [ScheduledJob(**_fields(i, _SCHEDULED_JOB)) for i in _array(ret, "jobArray")]
