"""Frozen models → the SOAP response bytes an Axis2 IPS server sends: the inverse of `parse`.

Pure. The simulator answers with these, and the round-trip tests hold `parse(render(x)) == x`. Elements
follow schema order (`schema`) and optional ones are omitted when None, as Axis2 does; the body namespace
prefix is selectable (`"ns1"`, any other, or None for a default namespace) so tests can prove the parser does
not care. Responses are written as text, exactly as lxml would serialize them (`xmltext`); a server that
answers for the same jobs again and again keeps an `ActiveJobTemplate` per job and writes only what moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from notifier.ips.envelope import AUTH_NS, SOAP_ENV
from notifier.ips.schema import (
    ACTIVE_JOB_FIELDS,
    ARRAY_TYPES,
    AUX_FIELDS,
    COMPANY_FIELDS,
    JOB_DETAIL_FIELDS,
    JOB_LOG_FIELDS,
    LOG_DETAIL_FIELDS,
    SCHEDULED_JOB_FIELDS,
    TASK_PROGRESS_FIELDS,
    Field,
)
from notifier.ips.simulator.xmltext import Prefix, Slot, close, format_lexical, serialize, writer
from notifier.models import ActiveJob, Company, JobLog, ScheduledJob

# The field tables live in `schema`; they are named here too, where the round-trip tests have always found them.
__all__ = [
    "ACTIVE_JOB_FIELDS",
    "ARRAY_TYPES",
    "AUX_FIELDS",
    "COMPANY_FIELDS",
    "JOB_DETAIL_FIELDS",
    "JOB_LOG_FIELDS",
    "LOG_DETAIL_FIELDS",
    "SCHEDULED_JOB_FIELDS",
    "TASK_PROGRESS_FIELDS",
    "ActiveJobTemplate",
    "Field",
    "Prefix",
    "format_lexical",
    "render_active_job_items",
    "render_active_jobs",
    "render_company_info",
    "render_fault",
    "render_job_log_details",
    "render_job_logs",
    "render_scheduled_jobs",
]

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


def render_active_jobs(jobs: Iterable[ActiveJob], api_version: str, prefix: Prefix = "ns1") -> bytes:
    """A `getActiveJobs` response; an empty list gives the empty `<jobArray/>` real servers send."""
    w = writer(prefix)
    return w.document("getActiveJobs", "jobArray", api_version, w.active_jobs, jobs)


def render_active_job_items(items: Iterable[str], api_version: str, prefix: Prefix = "ns1") -> bytes:
    """A `getActiveJobs` response around `<items>` elements from `ActiveJobTemplate.fill` (same prefix)."""
    return writer(prefix).document("getActiveJobs", "jobArray", api_version, list.extend, items)


def render_job_logs(logs: Iterable[JobLog], api_version: str, prefix: Prefix = "ns1") -> bytes:
    w = writer(prefix)
    return w.document("getJobLogs", "jobLogArray", api_version, w.job_logs, logs)


def render_job_log_details(logs: Iterable[JobLog], api_version: str, prefix: Prefix = "ns1") -> bytes:
    w = writer(prefix)
    return w.document("getJobLogDetails", "jobLogArray", api_version, w.job_logs, logs)


def render_company_info(company: Company, api_version: str, prefix: Prefix = "ns1") -> bytes:
    w = writer(prefix)
    return w.document("getCompanyInfo", "companyInfo", api_version, w.company, company)


def render_scheduled_jobs(jobs: Iterable[ScheduledJob], api_version: str, prefix: Prefix = "ns1") -> bytes:
    w = writer(prefix)
    return w.document("getScheduledJobs", "jobArray", api_version, w.scheduled_jobs, jobs)


class ActiveJobTemplate:
    """One job's `<items>` element written once, but for its `live` fields, which `fill` writes each time.

    `fill(values)` gives exactly what `render_active_jobs` writes for `job` with its live fields read from
    `values` (any object with those attributes) instead. Only fields of `ACTIVE_JOB_FIELDS` can be live.
    """

    __slots__ = ("_segments", "_tags", "_writer")

    def __init__(self, job: ActiveJob, live: Iterable[str], prefix: Prefix = "ns1") -> None:
        w, live = writer(prefix), frozenset(live)
        if not live <= {attr for _, attr, _ in ACTIVE_JOB_FIELDS}:
            raise ValueError(f"not fields of an active job: {', '.join(sorted(live))}")
        # Text written now, alternating with runs of live fields that `fill` writes.
        segments: list[str | tuple[Slot, ...]] = [""]
        for slot in w.active_job:
            last = segments.pop()
            if slot[0] in live:
                segments += [(*last, slot)] if isinstance(last, tuple) else [last, (slot,)]
            else:
                text = w.text(w.fields, job, (slot,))
                segments += [last + text] if isinstance(last, str) else [last, text]
        if job.detail is not None:
            last = segments.pop()
            text = w.text(w.job_detail, job.detail)
            segments += [last + text] if isinstance(last, str) else [last, text]
        self._writer, self._tags = w, w.tags("items")
        self._segments = tuple(segment for segment in segments if segment)

    def fill(self, values: Any) -> str:
        """The `<items>` element, with the live fields' values read from `values`."""
        out = [self._tags[0]]
        for segment in self._segments:
            if isinstance(segment, str):
                out.append(segment)
            else:
                self._writer.fields(out, values, segment)
        close(out, 0, self._tags)
        return "".join(out)


def render_fault(
    kind: str | None,
    code: int | None,
    reason: str | None,
    faultcode: str = "soapenv:Client",
    faultstring: str | None = None,
) -> bytes:
    """A SOAP 1.1 Fault; `kind` (authentication, authorization, ipsApi) selects the IPS detail element.

    With kind None the fault has no detail, like the faults Axis2 raises itself before reaching IPS code.
    Faults are rare and small, so they are built as a tree.
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
    return serialize(env)
