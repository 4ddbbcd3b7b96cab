"""The straightforward renderer the simulator used to send: an lxml tree per response, serialized.

Kept as the reference `notifier.ips.simulator.answers` must match byte for byte (and error for error); it is the
renderer as it was before responses were written as text, with the field tables shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from notifier.ips.envelope import SOAP_ENV, api_namespace
from notifier.ips.schema import (
    ACTIVE_JOB_FIELDS,
    ARRAY_TYPES,
    COMPANY_FIELDS,
    JOB_DETAIL_FIELDS,
    JOB_LOG_FIELDS,
    SCHEDULED_JOB_FIELDS,
    Field,
)
from notifier.models import ActiveJob, Company, JobDetail, JobLog, ScheduledJob, TaskItemProgress

Prefix = str | None


def render_active_jobs(jobs: Iterable[ActiveJob], api_version: str, prefix: Prefix = "ns1") -> bytes:
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


def format_lexical(value: Any, xsd_type: str) -> str:
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


def _response(operation: str, api_version: str, prefix: Prefix) -> tuple[etree._Element, Callable[[], bytes]]:
    ns = api_namespace(api_version)
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    nsmap: dict[Any, str] = {prefix: ns}
    ret = etree.SubElement(body, f"{{{ns}}}{operation}Return", nsmap=nsmap)
    return ret, lambda: bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def _sub(parent: etree._Element, name: str) -> etree._Element:
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
            assert isinstance(value, TaskItemProgress)
            _pairs(item, value.fields)
        else:
            _fill(item, value, item_fields)


def _pairs(el: etree._Element, pairs: tuple[tuple[str, str], ...]) -> None:
    for name, text in pairs:
        _sub(el, name).text = text
