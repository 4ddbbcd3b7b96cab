"""IPS responses → frozen models. Pure: bytes in, models out, typed errors for anything else.

Which element feeds which model field, and how its text converts; `reader.FieldReader` does the reading.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Sequence
from itertools import islice, repeat
from typing import TypeVar

from lxml import etree

from notifier.ips.envelope import DEFAULT_MAX_BYTES, find_child, response_element
from notifier.ips.errors import IpsParseError
from notifier.ips.reader import FieldReader
from notifier.ips.values import (
    bool_value,
    datetime_value,
    float_value,
    int_value,
    is_nil,
    items,
    local,
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
    TaskItemProgress,
    TaskProgress,
)


def _simple_pairs(el: etree._Element) -> tuple[tuple[str, str], ...]:
    return tuple((local(c.tag), c.text or "") for c in el if local(c.tag) and len(c) == 0)


def _task_item_arrays(els: Sequence[etree._Element], nils: bool) -> list[tuple[TaskItemProgress, ...]]:
    return [tuple(TaskItemProgress(_simple_pairs(i)) for i in items(el)) for el in els]


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
    {"taskItemProgressArray": ("task_item_progress", _task_item_arrays)},
)


def _task_progress_arrays(els: Sequence[etree._Element], nils: bool) -> list[tuple[TaskProgress, ...]]:
    """The tasks of many jobs, all read as one array and then handed back to their jobs."""
    per_job = [items(el) for el in els]
    tasks = iter(_TASK_PROGRESS.many([task for job in per_job for task in job], nils))
    return [tuple(islice(tasks, len(job))) for job in per_job]


_DETAIL_KNOWN = ("publishType", "emailSetting", "httpCompletionUrl")
_TAG, _TEXT = operator.attrgetter("tag"), operator.attrgetter("text")
DetailsReader = Callable[[Sequence[etree._Element], bool], list[JobDetail]]
Key = tuple[object, ...]


def _read_job_details(els: Sequence[etree._Element], nils: bool) -> list[JobDetail]:
    """Each job-type detail read on its own: the reference `DetailCache.many` is held to."""
    return [_read_job_detail(el, nils) for el in els]


class DetailCache:
    """Job-type details read from answers, equal ones shared: publish settings repeat from job to job, so equal
    details share one frozen value, which saves time and memory. The client that reads the answers keeps one;
    what it gives always equals `_read_job_details`."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._by_children: dict[Key, JobDetail] = {}  # kind, and every child's tag, text and child count
        self._by_columns: dict[Key, JobDetail] = {}  # kind, the children's tags, and their texts

    def many(self, els: Sequence[etree._Element], nils: bool) -> list[JobDetail]:
        """Job-type details of many jobs; when all have the same publish settings' elements, read as columns."""
        if nils:
            return _read_job_details(els, nils)
        kids = [c for el in els for c in el]
        tags, counts = list(map(_TAG, kids)), list(map(len, els))
        width = counts[0] if counts else 0
        shape = tuple(tags[:width])
        same = counts == [width] * len(els) and tags == list(shape) * len(els)
        if not width or not same or not all(local(tag) in _DETAIL_KNOWN for tag in shape):
            return [self._one(el) for el in els]
        # Only known children, in one order: the kind and their texts say everything a detail holds.
        texts = list(map(_TEXT, kids))
        keys = list(zip(map(_TAG, els), repeat(shape), *(texts[pos::width] for pos in range(width)), strict=False))
        found = list(map(self._by_columns.get, keys))
        if None not in found:
            return found  # type: ignore[return-value]  # no None in it, as just checked
        # Settings not seen before: read once, shared from then on.
        cache = self._by_columns
        return [
            hit or cache.get(key) or self._remember(cache, key, el)
            for hit, key, el in zip(found, keys, els, strict=True)
        ]

    def _one(self, el: etree._Element) -> JobDetail:
        key = (el.tag, *[(c.tag, c.text, len(c)) for c in el])
        return self._by_children.get(key) or self._remember(self._by_children, key, el)

    def _remember(
        self, cache: dict[tuple[object, ...], JobDetail], key: tuple[object, ...], el: etree._Element
    ) -> JobDetail:
        if len(cache) >= self.capacity:
            cache.clear()
        detail = cache[key] = _read_job_detail(el, False)
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
            "taskProgressArray": ("task_progress", _task_progress_arrays),
            **dict.fromkeys(JOB_DETAIL_KINDS, ("detail", details)),
        },
    )


ACTIVE_JOB = active_job_reader(_read_job_details)


class Parser:
    """`parse_active_jobs` with equal job-type details shared (`DetailCache`), for the client that owns it."""

    def __init__(self) -> None:
        self.details = DetailCache()
        self._active_job = active_job_reader(self.details.many)

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


def _aux_arrays(els: Sequence[etree._Element], nils: bool) -> list[tuple[AuxLogEntry, ...]]:
    return [tuple(_AUX.many(items(el), nils)) for el in els]


_LOG_DETAIL = FieldReader(
    JobLogDetail,
    {
        "logMessage": ("log_message", str_value),
        "logType": ("log_type", str_value),
        "assetName": ("asset_name", str_value),
        "assetType": ("asset_type", str_value),
        "assetHandle": ("asset_handle", str_value),
        "dateCreated": ("date_created", datetime_value),
    },
    {"auxArray": ("aux", _aux_arrays)},
)


def _detail_arrays(els: Sequence[etree._Element], nils: bool) -> list[tuple[JobLogDetail, ...]]:
    return [tuple(_LOG_DETAIL.many(items(el), nils)) for el in els]


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
    {"detailArray": ("details", _detail_arrays)},
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


def _parse_array(
    data: bytes, operation: str, wrapper: str, reader: FieldReader[M], max_bytes: int, namespace: str | None
) -> list[M]:
    """Every item of the response's array, as models.

    The cyclic garbage collector is paused while one response is read (synchronously: never across an await)
    and resumed as it was. Reading makes a short-lived proxy object for every element; a collection running
    meanwhile would scan and promote them all for nothing (up to a sixth of the parse), and in a daemon
    holding 50,000 jobs would bring the next full collection closer. Nothing read here forms a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        ret = response_element(data, operation, max_bytes, namespace)
        models = reader.many(_array(ret, wrapper), may_have_nils(ret))
        del ret  # the tree and its proxies go while the collector is still paused
        return models
    finally:
        if was_enabled:
            gc.enable()


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
