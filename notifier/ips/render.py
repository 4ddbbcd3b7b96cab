"""Frozen models → the SOAP response bytes an Axis2 IPS server sends: the inverse of `parse`.

Pure. The simulator answers with these, and the round-trip tests hold `parse(render(x)) == x`. Elements
follow schema order and optional ones are omitted when None, as Axis2 does; the body namespace prefix is
selectable (`"ns1"`, any other, or None for a default namespace) so tests can prove the parser does not care.
The field tables below are also what the simulator's WSDL is generated from, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from notifier.ips.envelope import AUTH_NS, SOAP_ENV, api_namespace
from notifier.models import ActiveJob, Company, JobDetail, JobLog, ScheduledJob, TaskItemProgress

# (element, model attribute, xsd type or the name of a nested array type), in schema order.
Field = tuple[str, str, str]

TASK_PROGRESS_FIELDS: tuple[Field, ...] = (
    ("taskType", "task_type", "string"),
    ("numProcessed", "num_processed", "int"),
    ("numProcessing", "num_processing", "int"),
    ("numPending", "num_pending", "int"),
    ("progress", "progress", "double"),
    ("progressMessage", "progress_message", "string"),
    ("lastProgressUpdate", "last_progress_update", "dateTime"),
    ("taskItemProgressArray", "task_item_progress", "TaskItemProgressArray"),
    ("taskState", "task_state", "string"),
)
ACTIVE_JOB_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("jobHandle", "job_handle", "string"),
    ("name", "name", "string"),
    ("originalName", "original_name", "string"),
    ("type", "type", "string"),
    ("state", "state", "string"),
    ("submitUserEmail", "submit_user_email", "string"),
    ("locale", "locale", "string"),
    ("description", "description", "string"),
    ("serverName", "server_name", "string"),
    ("startDate", "start_date", "dateTime"),
    ("totalSize", "total_size", "long"),
    ("progress", "progress", "int"),
    ("progressMessage", "progress_message", "string"),
    ("lastProgressUpdate", "last_progress_update", "dateTime"),
    ("taskProgressArray", "task_progress", "TaskProgressArray"),
)
# The job-type detail (imageServingPublishJob …) follows the fields above; its element name is its kind.
JOB_DETAIL_FIELDS: tuple[Field, ...] = (
    ("publishType", "publish_type", "string"),
    ("emailSetting", "email_setting", "string"),
    ("httpCompletionUrl", "http_completion_url", "string"),
)
AUX_FIELDS: tuple[Field, ...] = (
    ("logMessage", "log_message", "string"),
    ("logType", "log_type", "string"),
    ("dateCreated", "date_created", "dateTime"),
)
LOG_DETAIL_FIELDS: tuple[Field, ...] = (
    ("logMessage", "log_message", "string"),
    ("logType", "log_type", "string"),
    ("assetName", "asset_name", "string"),
    ("assetType", "asset_type", "string"),
    ("assetHandle", "asset_handle", "string"),
    ("auxArray", "aux", "JobLogAuxArray"),
)
JOB_LOG_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("jobHandle", "job_handle", "string"),
    ("jobName", "job_name", "string"),
    ("originalJobName", "original_job_name", "string"),
    ("submitUserEmail", "submit_user_email", "string"),
    ("logType", "log_type", "string"),
    ("jobSubType", "job_sub_type", "string"),
    ("startDate", "start_date", "dateTime"),
    ("endDate", "end_date", "dateTime"),
    ("description", "description", "string"),
    ("fileSuccessCount", "file_success_count", "int"),
    ("fileErrorCount", "file_error_count", "int"),
    ("fileWarningCount", "file_warning_count", "int"),
    ("fileDuplicateCount", "file_duplicate_count", "int"),
    ("fileUpdateCount", "file_update_count", "int"),
    ("totalFileCount", "total_file_count", "int"),
    ("transferSuccessCount", "transfer_success_count", "int"),
    ("transferErrorCount", "transfer_error_count", "int"),
    ("transferWarningCount", "transfer_warning_count", "int"),
    ("fatalError", "fatal_error", "boolean"),
    ("detailTotalRows", "detail_total_rows", "int"),
    ("detailArray", "details", "JobLogDetailArray"),
)
COMPANY_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("name", "name", "string"),
    ("rootPath", "root_path", "string"),
    ("expires", "expires", "dateTime"),
)
SCHEDULED_JOB_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("jobHandle", "job_handle", "string"),
    ("name", "name", "string"),
    ("originalName", "original_name", "string"),
    ("type", "type", "string"),
    ("submitUserEmail", "submit_user_email", "string"),
    ("locale", "locale", "string"),
    ("description", "description", "string"),
    ("execSchedule", "exec_schedule", "string"),
    ("nextFireTime", "next_fire_time", "dateTime"),
    ("timeZone", "time_zone", "string"),
    ("triggerState", "trigger_state", "string"),
)
# Nested array types: the name of their repeated child and the fields of each item (None: free-form pairs).
# TaskProgressArray repeats `item`, not `items`, in the published schema.
ARRAY_TYPES: dict[str, tuple[str, tuple[Field, ...] | None]] = {
    "TaskProgressArray": ("item", TASK_PROGRESS_FIELDS),
    "TaskItemProgressArray": ("item", None),
    "JobLogDetailArray": ("items", LOG_DETAIL_FIELDS),
    "JobLogAuxArray": ("items", AUX_FIELDS),
}

_FAULT_ELEMENTS = {
    "authentication": "authenticationFault",
    "authorization": "authorizationFault",
    "ipsApi": "ipsApiFault",
}
_FAULT_STRINGS = {
    "authentication": "AuthenticationException",
    "authorization": "AuthorizationException",
    "ipsApi": "IpsApiException",
}

Prefix = str | None


# ------------------------------------------------------------------------------------------- responses


def render_active_jobs(jobs: Iterable[ActiveJob], api_version: str, prefix: Prefix = "ns1") -> bytes:
    """A `getActiveJobs` response; an empty list gives the empty `<jobArray/>` real servers send."""
    ret, out = _response("getActiveJobs", api_version, prefix)
    array = _sub(ret, "jobArray")
    for job in jobs:
        _active_job(_sub(array, "items"), job)
    return out()


def render_job_logs(logs: Iterable[JobLog], api_version: str, prefix: Prefix = "ns1") -> bytes:
    return _log_response("getJobLogs", logs, api_version, prefix)


def render_job_log_details(logs: Iterable[JobLog], api_version: str, prefix: Prefix = "ns1") -> bytes:
    return _log_response("getJobLogDetails", logs, api_version, prefix)


def render_company_info(company: Company, api_version: str, prefix: Prefix = "ns1") -> bytes:
    ret, out = _response("getCompanyInfo", api_version, prefix)
    _fill(_sub(ret, "companyInfo"), company, COMPANY_FIELDS)
    return out()


def render_scheduled_jobs(jobs: Iterable[ScheduledJob], api_version: str, prefix: Prefix = "ns1") -> bytes:
    ret, out = _response("getScheduledJobs", api_version, prefix)
    array = _sub(ret, "jobArray")
    for job in jobs:
        _fill(_sub(array, "items"), job, SCHEDULED_JOB_FIELDS)
    return out()


def render_fault(
    kind: str | None,
    code: int | None,
    reason: str | None,
    faultcode: str = "soapenv:Client",
    faultstring: str | None = None,
) -> bytes:
    """A SOAP 1.1 Fault; `kind` (authentication, authorization, ipsApi) selects the IPS detail element.

    With kind None the fault has no detail, like the faults Axis2 raises itself before reaching IPS code.
    """
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    # faultcode and faultstring are unqualified in SOAP 1.1.
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = faultstring or _FAULT_STRINGS.get(kind or "", "Fault")
    if kind is not None:
        holder = etree.SubElement(fault, "detail")
        detail = etree.SubElement(holder, f"{{{AUTH_NS}}}{_FAULT_ELEMENTS[kind]}", nsmap={"ns1": AUTH_NS})
        if code is not None:
            etree.SubElement(detail, f"{{{AUTH_NS}}}code").text = str(code)
        if reason is not None:
            etree.SubElement(detail, f"{{{AUTH_NS}}}reason").text = reason
    return _serialize(env)


def format_lexical(value: Any, xsd_type: str) -> str:
    """xsd lexical form: `INF`/`NaN` for doubles, offsets on every dateTime, lower-case booleans."""
    if xsd_type == "boolean":
        return "true" if value else "false"
    if xsd_type == "dateTime":
        when: datetime = value
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()
    if xsd_type == "double":
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "INF" if number > 0 else "-INF"
        return repr(number)
    return str(value)


# ------------------------------------------------------------------------------------------ internals


def _response(operation: str, api_version: str, prefix: Prefix) -> tuple[etree._Element, Callable[[], bytes]]:
    """The `<operationReturn>` element to fill, and a thunk that serializes the whole envelope."""
    ns = api_namespace(api_version)
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    nsmap: dict[Any, str] = {prefix: ns}  # a None key declares the default namespace (the stubs say str only)
    ret = etree.SubElement(body, f"{{{ns}}}{operation}Return", nsmap=nsmap)
    return ret, lambda: _serialize(env)


def _serialize(env: etree._Element) -> bytes:
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def _sub(parent: etree._Element, name: str) -> etree._Element:
    """A child in the parent's namespace: the whole response body lives in one namespace."""
    ns = etree.QName(parent).namespace
    return etree.SubElement(parent, f"{{{ns}}}{name}" if ns else name)


def _log_response(operation: str, logs: Iterable[JobLog], api_version: str, prefix: Prefix) -> bytes:
    ret, out = _response(operation, api_version, prefix)
    array = _sub(ret, "jobLogArray")
    for log in logs:
        _fill(_sub(array, "items"), log, JOB_LOG_FIELDS)
    return out()


def _active_job(el: etree._Element, job: ActiveJob) -> None:
    _fill(el, job, ACTIVE_JOB_FIELDS)
    if job.detail is not None:
        _job_detail(_sub(el, job.detail.kind), job.detail)


def _job_detail(el: etree._Element, detail: JobDetail) -> None:
    _fill(el, detail, JOB_DETAIL_FIELDS)
    _pairs(el, detail.other)


def _fill(el: etree._Element, obj: Any, fields: tuple[Field, ...]) -> None:
    """Children for every field of `obj` that has a value, in table order; None and () are omitted."""
    for name, attr, xsd_type in fields:
        value = getattr(obj, attr)
        if value is None or value == ():
            continue
        if xsd_type in ARRAY_TYPES:
            _array(_sub(el, name), value, xsd_type)
        else:
            _sub(el, name).text = format_lexical(value, xsd_type)


def _array(wrapper: etree._Element, values: tuple[Any, ...], array_type: str) -> None:
    item_name, item_fields = ARRAY_TYPES[array_type]
    for value in values:
        item = _sub(wrapper, item_name)
        if item_fields is None:
            _pairs(item, _item_pairs(value))
        else:
            _fill(item, value, item_fields)


def _item_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    assert isinstance(value, TaskItemProgress)
    return value.fields


def _pairs(el: etree._Element, pairs: tuple[tuple[str, str], ...]) -> None:
    for name, text in pairs:
        _sub(el, name).text = text
