"""How the simulator reads requests: dispatch, locale negotiation, size limits and the WSDL endpoint."""

from __future__ import annotations

import io

import pytest

from notifier.ips.envelope import AuthHeader, build_request
from notifier.ips.errors import IpsFault
from notifier.ips.parse import parse_active_jobs, parse_job_log_details, parse_job_logs
from tests.support.sim import PASSWORD, USER, Sim

ENVELOPE = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<getActiveJobsParam xmlns="http://www.scene7.com/IpsApi/xsd/2013-02-15"><companyHandle>47</companyHandle>'
    "</getActiveJobsParam></soapenv:Body></soapenv:Envelope>"
)
BASIC = {"Authorization": "Basic ZGVtb0BleGFtcGxlLmNvbTpkZW1v"}  # demo@example.com:demo


async def _post(sim: Sim, body: bytes | str | io.BytesIO, headers: dict[str, str]) -> tuple[int, bytes]:
    async with sim.session.post(sim.endpoint, data=body, headers=headers) as resp:
        return resp.status, await resp.read()


@pytest.mark.parametrize("action", ['"getActiveJobs"', "urn:getActiveJobs", "", None])
async def test_dispatch_by_soapaction_quoted_or_not_or_by_body(sim: Sim, action: str | None) -> None:
    """SOAPAction may be quoted or a URI; without it the body element names the operation."""
    headers = dict(BASIC) if action is None else {**BASIC, "SOAPAction": action}
    status, body = await _post(sim, ENVELOPE, headers)
    assert status == 200
    assert [j.original_name for j in parse_active_jobs(body)] == ["Spring catalogue"]


async def test_an_unknown_operation_is_a_fault_without_ips_detail(sim: Sim) -> None:
    """An operation the service does not have gets an Axis2-style fault, not an IPS one."""
    status, body = await _post(sim, ENVELOPE.replace("getActiveJobs", "submitJob"), BASIC)
    assert status == 500
    with pytest.raises(IpsFault) as caught:
        parse_active_jobs(body)
    assert caught.value.kind == "unknown"


async def test_accept_language_sets_the_operation_locale_without_an_auth_header_locale(sim: Sim) -> None:
    """Accept-Language: de-DE gives German log lines when authHeader carries no locale."""
    sim.world.advance(57)
    (log,) = await sim.client().get_job_logs("203")
    params: list[tuple[str, object]] = [("companyHandle", "203"), ("jobHandle", log.job_handle)]
    request = build_request("getJobLogDetails", params, AuthHeader(USER, PASSWORD), "2014-04-03")
    status, body = await _post(sim, request, {"SOAPAction": "getJobLogDetails", "Accept-Language": "de-DE, en;q=0.5"})
    assert status == 200
    (detailed,) = parse_job_log_details(body)
    assert detailed.details[-1].log_message is not None
    assert "abgeschlossen" in detailed.details[-1].log_message


async def test_invalid_parameters_are_30001(sim: Sim) -> None:
    """A sortBy outside the published values and a bad date are invalid parameters."""
    for params in ([("sortBy", "Colour")], [("numRows", "many")]):
        request = build_request("getJobLogs", params, AuthHeader(USER, PASSWORD), "2014-04-03")
        status, body = await _post(sim, request, {"SOAPAction": "getJobLogs"})
        assert status == 500
        with pytest.raises(IpsFault) as caught:
            parse_job_logs(body)
        assert caught.value.code == 30001


async def test_an_oversized_request_is_refused_as_invalid_xml(sim: Sim) -> None:
    """A request over 1 MB is answered with ipsApiFault 30003, not read into the world."""
    huge = ENVELOPE.replace("<companyHandle>47", "<companyHandle>" + "4" * (2 * 1024 * 1024))
    status, body = await _post(sim, io.BytesIO(huge.encode()), {**BASIC, "SOAPAction": "getActiveJobs"})
    assert status == 500
    with pytest.raises(IpsFault) as caught:
        parse_active_jobs(body)
    assert caught.value.code == 30003


async def test_the_wsdl_is_served_per_version_with_the_service_location(sim: Sim) -> None:
    """GET IpsApi-<version>.wsdl names that version's namespace and this server's endpoint."""
    async with sim.session.get(sim.url("/scene7/webservice/IpsApi-2012-02-14.wsdl")) as resp:
        text = await resp.text()
    assert 'targetNamespace="http://www.scene7.com/IpsApi/xsd/2012-02-14"' in text
    assert f'location="{sim.endpoint}"' in text
    async with sim.session.get(sim.url("/scene7/webservice/IpsApi-latest.wsdl")) as resp:
        assert resp.status == 404
