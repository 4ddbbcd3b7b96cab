"""Request envelopes as IPS expects them, and response parsing as lenient as real Axis2 servers require."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree

from notifier.ips.client import IpsClient, IpsSettings
from notifier.ips.envelope import AUTH_NS, SOAP_ENV, AuthHeader, build_request, parse_xml
from notifier.ips.errors import IpsFault, IpsParseError
from notifier.ips.parse import parse_active_jobs, parse_company_info, parse_job_logs
from notifier.ips.simulator.answers import render_active_jobs, render_company_info, render_fault, render_job_logs
from notifier.models import ActiveJob, Company, JobDetail, JobLog

VERSION = "2014-04-03"
NS = f"{AUTH_NS}/{VERSION}"
JOB = ActiveJob(
    company_handle="47",
    job_handle="47||Add_2007-09-14-15:04:34",
    name="Add_2007-09-14-15:04:34",
    type="ImageServingPublish",
    state="Running",
    progress=40,
    start_date=datetime(2007, 9, 14, 15, 4, 34, tzinfo=UTC),
    detail=JobDetail("imageServingPublishJob", publish_type="Full", email_setting="All"),
)
AUTH = AuthHeader("demo@example.com", "s3cret-password", locale="ja-JP", app_name="dmc-notifier")


def _tree(data: bytes) -> etree._Element:
    return parse_xml(data)


# -------------------------------------------------------------------------------------------- requests


def test_auth_header_is_in_the_unversioned_namespace_and_the_body_in_the_versioned_one() -> None:
    """authHeader lives in .../IpsApi/xsd whatever the version; the operation param in .../xsd/<version>."""
    root = _tree(build_request("getActiveJobs", [("companyHandle", "47")], AUTH, VERSION))
    header = root.find(f"{{{SOAP_ENV}}}Header/{{{AUTH_NS}}}authHeader")
    assert header is not None
    assert header.findtext(f"{{{AUTH_NS}}}user") == "demo@example.com"
    assert header.findtext(f"{{{AUTH_NS}}}locale") == "ja-JP"
    assert root.findtext(f"{{{SOAP_ENV}}}Body/{{{NS}}}getActiveJobsParam/{{{NS}}}companyHandle") == "47"


def test_the_pre_4_0_version_uses_the_unversioned_body_namespace() -> None:
    """An empty api_version selects the old unversioned namespace for the body too."""
    root = _tree(build_request("getActiveJobs", [], AUTH, ""))
    assert root.find(f"{{{SOAP_ENV}}}Body/{{{AUTH_NS}}}getActiveJobsParam") is not None


def test_none_values_are_omitted_lists_become_items_and_datetimes_keep_offsets() -> None:
    """Optional params are left out; a StringArray is repeated `items`; dateTimes carry their zone."""
    when = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    params = [("jobHandle", None), ("logTypeArray", ["FatalError", "UploadError"]), ("startDate", when)]
    param = _tree(build_request("getJobLogDetails", params, AUTH, VERSION)).find(
        f"{{{SOAP_ENV}}}Body/{{{NS}}}getJobLogDetailsParam"
    )
    assert param is not None
    assert param.find(f"{{{NS}}}jobHandle") is None
    assert [i.text for i in param.iterfind(f"{{{NS}}}logTypeArray/{{{NS}}}items")] == ["FatalError", "UploadError"]
    assert param.findtext(f"{{{NS}}}startDate") == "2026-03-02T09:00:00+09:00"


def test_the_password_never_appears_in_a_repr() -> None:
    """Neither AuthHeader nor IpsSettings lets the password into logs through repr()."""
    settings = IpsSettings(endpoint="http://x", user="u", password="s3cret-password")
    assert "s3cret" not in repr(AUTH)
    assert "s3cret" not in repr(settings)


async def test_the_client_sends_soapaction_and_text_xml() -> None:
    """Each call carries `SOAPAction: <operation>` and `Content-Type: text/xml; charset=UTF-8`."""
    seen: list[tuple[str, str, bytes]] = []

    async def capture(request: web.Request) -> web.Response:
        seen.append((request.headers["SOAPAction"], request.headers["Content-Type"], await request.read()))
        return web.Response(body=render_active_jobs([], VERSION), content_type="text/xml")

    app = web.Application()
    app.router.add_post("/scene7/services/IpsApiService", capture)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        settings = IpsSettings(str(server.make_url("/scene7/services/IpsApiService")), "demo@example.com", "demo")
        assert await IpsClient(session, settings).get_active_jobs("47") == []
    ((action, content_type, body),) = seen
    assert (action, content_type) == ("getActiveJobs", "text/xml; charset=UTF-8")
    assert _tree(body).find(f"{{{SOAP_ENV}}}Body/{{{NS}}}getActiveJobsParam") is not None


# ------------------------------------------------------------------------------------- parsing leniency


@pytest.mark.parametrize("prefix", ["ns1", "s7", "ips", None])
def test_any_namespace_prefix_or_a_default_namespace_parses_the_same(prefix: str | None) -> None:
    """The prefix is the server's choice; only namespace and local name matter."""
    assert parse_active_jobs(render_active_jobs([JOB], VERSION, prefix)) == [JOB]


def test_other_api_versions_parse_the_same() -> None:
    """Newer (beta) and pre-4.0 namespaces are read alike."""
    for version in ("2008-01-15", "2022-11-01-beta", ""):
        assert parse_active_jobs(render_active_jobs([JOB], version)) == [JOB]


def test_unknown_elements_from_newer_versions_are_ignored() -> None:
    """Elements the client does not know, anywhere in a job, are skipped without error."""
    data = render_active_jobs([JOB], VERSION).replace(
        b"<ns1:state>", b"<ns1:futureField><ns1:nested>1</ns1:nested></ns1:futureField><ns1:state>"
    )
    data = data.replace(b"<ns1:jobArray>", b"<ns1:paging>3</ns1:paging><ns1:jobArray>")
    assert parse_active_jobs(data) == [JOB]


def test_omitted_optional_elements_are_none() -> None:
    """A job with nothing but a handle is a valid job whose other fields are None."""
    data = render_active_jobs([ActiveJob(job_handle="47||x")], VERSION)
    assert parse_active_jobs(data) == [ActiveJob(job_handle="47||x")]


def test_xsi_nil_is_none() -> None:
    """`xsi:nil="true"` means absent, not an empty string."""
    nil = b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    data = render_active_jobs([ActiveJob(job_handle="h", description="d")], VERSION)
    data = data.replace(b"><ns1:description>d</ns1:description>", b"><ns1:description" + nil)
    assert parse_active_jobs(data)[0].description is None


@pytest.mark.parametrize("body", [b"<ns1:jobArray/>", b""])
def test_an_empty_or_absent_job_array_is_no_jobs(body: bytes) -> None:
    """`<jobArray/>` and an omitted jobArray both mean the company has no active jobs."""
    data = render_active_jobs([], VERSION).replace(b"<ns1:jobArray/>", body)
    assert parse_active_jobs(data) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02T09:00:00Z", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        ("2026-03-02T18:00:00+09:00", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        ("2026-03-02T04:00:00-05:00", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        ("2026-03-02T09:00:00.5Z", datetime(2026, 3, 2, 9, 0, 0, 500000, tzinfo=UTC)),
        ("2026-03-02T09:00:00.123456789+00:00", datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-02T09:00:00", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
    ],
)
def test_datetimes_with_z_offsets_fractions_or_no_zone(text: str, expected: datetime) -> None:
    """Z, ±hh:mm, up to nanosecond fractions, and a missing zone (taken as UTC) all parse to the instant."""
    data = render_company_info(Company(company_handle="47", expires=datetime(2000, 1, 1, tzinfo=UTC)), VERSION)
    data = data.replace(b"2000-01-01T00:00:00+00:00", text.encode())
    expires = parse_company_info(data).expires
    assert expires == expected
    assert expires is not None
    assert expires.utcoffset() is not None


def test_a_malformed_datetime_is_a_parse_error() -> None:
    """A dateTime that is not one is reported, not guessed."""
    data = render_job_logs([JobLog(job_handle="h", start_date=datetime(2026, 1, 1, tzinfo=UTC))], VERSION)
    with pytest.raises(IpsParseError, match="startDate"):
        parse_job_logs(data.replace(b"2026-01-01T00:00:00+00:00", b"yesterday"))


def test_task_progress_accepts_item_as_well_as_items() -> None:
    """The task arrays repeat `items` as the schema says (and the simulator sends); `item`, which Adobe's markdown
    pages show, is read too."""
    from notifier.models import TaskItemProgress, TaskProgress

    item = TaskItemProgress((("itemName", "mp4-720p"), ("progress", "0.5")))
    task = TaskProgress(task_type="VideoTranscode", progress=0.5, task_item_progress=(item,))
    job = ActiveJob(job_handle="h", task_progress=(task,))
    data = render_active_jobs([job], VERSION)
    assert b"<ns1:taskProgressArray><ns1:items>" in data
    assert b"<ns1:item>" not in data
    assert parse_active_jobs(data.replace(b"ns1:items>", b"ns1:item>")) == [job]


# ---------------------------------------------------------------------------------------------- faults


def test_a_fault_in_a_200_body_is_still_a_fault() -> None:
    """Servers configured with faultHttpStatusCode=200 send faults as 200: parse them as IpsFault."""
    data = render_fault("authorization", 20003, "User does not have permission to access operation")
    with pytest.raises(IpsFault) as caught:
        parse_active_jobs(data)
    assert (caught.value.kind, caught.value.code, caught.value.faultstring) == (
        "authorization",
        20003,
        "AuthorizationException",
    )
    assert caught.value.is_auth
    assert not caught.value.retryable


def test_a_fault_without_ips_detail_is_unknown_but_typed() -> None:
    """An Axis2 fault with no IPS detail still arrives as IpsFault (kind unknown, retryable)."""
    with pytest.raises(IpsFault) as caught:
        parse_job_logs(render_fault(None, None, None, faultcode="soapenv:Server", faultstring="NullPointerException"))
    assert (caught.value.kind, caught.value.code, caught.value.retryable) == ("unknown", None, True)


@pytest.mark.parametrize("code", ["--5", "²", "ten", ""])
def test_an_unreadable_fault_code_keeps_the_fault(code: str) -> None:
    """A garbled fault code must not turn a fault into a crash: the code is just unknown."""
    data = render_fault("ipsApi", 30000, "x").replace(b">30000<", f">{code}<".encode())
    with pytest.raises(IpsFault) as caught:
        parse_active_jobs(data)
    assert (caught.value.kind, caught.value.code) == ("ipsApi", None)


# ------------------------------------------------------------------------------------------ safety


def test_a_dtd_is_refused_even_in_utf16() -> None:
    """A DOCTYPE is refused whatever the encoding, so entity tricks cannot hide behind UTF-16."""
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    with pytest.raises(IpsParseError, match="DTD"):
        parse_xml(text.encode("utf-16"))


def test_a_body_over_the_cap_is_refused_before_parsing() -> None:
    """The size cap applies before any parsing work is done."""
    with pytest.raises(IpsParseError, match="cap"):
        parse_active_jobs(render_active_jobs([JOB] * 20, VERSION), 1000)


@pytest.mark.parametrize("data", [b"", b"<html>502 Bad Gateway</html>", b"\xff\xfe\x00", b"<a:b xmlns:a='x'/>"])
def test_non_soap_bodies_are_parse_errors(data: bytes) -> None:
    """Empty bodies, HTML error pages, binary junk and foreign XML are all IpsParseError."""
    with pytest.raises(IpsParseError):
        parse_active_jobs(data)


# --------------------------------------------------------------------------------------- leniency

HOSTILE = {
    "a raw ESC": (b"\x1b[31mRed\x1b[0m", "\ufffd[31mRed\ufffd[0m"),
    "invalid UTF-8": (b"caf\xe9 \xff\xfe", "caf\ufffd \ufffd\ufffd"),
    "references to controls": (b"&#27;[2J&#x0;&#xFFFF;", "\ufffd[2J\ufffd\ufffd"),
    "a bidi override, which XML carries": (b"\xe2\x80\xaegnp.exe", "\u202egnp.exe"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_one_unreadable_name_costs_nothing_but_its_characters(case: str) -> None:
    """What XML cannot carry in one job's name becomes U+FFFD in that name; every job of the answer is read."""
    raw, read = HOSTILE[case]
    others = [JOB, *(ActiveJob(job_handle=f"47||job-{n}", name=f"job-{n}") for n in range(3))]
    data = render_active_jobs([ActiveJob(job_handle="47||bad", name="PLACEHOLDER"), *others], VERSION)
    jobs = parse_active_jobs(data.replace(b"PLACEHOLDER", raw))
    assert [j.name for j in jobs] == [read, *(j.name for j in others)]


def test_a_body_in_a_declared_single_byte_encoding_is_read_in_it() -> None:
    """A Latin-1 body with a control character in it is decoded as Latin-1 when it is repaired."""
    data = render_company_info(Company("47", "Café Ñ"), VERSION).decode().replace("Café Ñ", "Café\x01Ñ")
    data = data.replace("encoding='UTF-8'", "encoding='ISO-8859-1'").replace(
        'encoding="UTF-8"', 'encoding="ISO-8859-1"'
    )
    assert parse_company_info(data.encode("latin-1")).name == "Café\ufffdÑ"


@pytest.mark.parametrize("data", [b"<a>unclosed\x1b", b"\x1b\x00 not xml at all"])
def test_what_is_malformed_beyond_its_characters_is_still_refused(data: bytes) -> None:
    """Repairing characters never makes a truncated or foreign body acceptable."""
    with pytest.raises(IpsParseError, match="malformed XML"):
        parse_xml(data)
