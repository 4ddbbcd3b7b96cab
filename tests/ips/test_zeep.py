"""An independent SOAP stack (zeep, driven by the simulator's WSDL) sees what IpsClient parses.

zeep's synchronous client runs in a worker thread while the simulator keeps serving on the test's loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
import zeep
from zeep.transports import Transport

from notifier.ips.envelope import AUTH_NS
from tests.support.sim import PASSWORD, USER, Sim

WSDL_PATH = "/scene7/webservice/IpsApi-2014-04-03.wsdl"


def _zeep_call(wsdl_url: str, operation: str, **params: Any) -> Any:
    """Load the WSDL and make one call, authenticating with the authHeader the WSDL declares.

    zeep unwraps a response element with a single child, so an array answer comes back as its list of items.
    """
    with requests.Session() as session:
        # zeep ships without type hints for these calls.
        transport = Transport(session=session, cache=None, timeout=10)  # type: ignore[no-untyped-call]
        client = zeep.Client(wsdl_url, transport=transport)  # type: ignore[no-untyped-call]
        header_type = client.get_element(f"{{{AUTH_NS}}}authHeader")  # type: ignore[no-untyped-call]
        header = header_type(user=USER, password=PASSWORD, locale="ja-JP")
        return getattr(client.service, operation)(**params, _soapheaders=[header])


async def test_zeep_reads_the_same_active_jobs_as_ips_client(sim: Sim) -> None:
    """Handles, states, progress and publish details agree between zeep and IpsClient."""
    sim.world.advance(20)
    ours = await sim.client().get_active_jobs("47")
    theirs = await asyncio.to_thread(_zeep_call, sim.url(WSDL_PATH), "getActiveJobs", companyHandle="47")
    assert ours
    assert [(j.job_handle, j.state, j.progress) for j in ours] == [(j.jobHandle, j.state, j.progress) for j in theirs]
    for job, raw in zip(ours, theirs, strict=True):
        assert job.start_date == raw.startDate
        assert job.last_progress_update == raw.lastProgressUpdate
        assert job.detail is not None
        assert getattr(raw, job.detail.kind).emailSetting == job.detail.email_setting


async def test_zeep_reads_localized_log_details(sim: Sim) -> None:
    """getJobLogDetails through zeep, in the authHeader locale ja-JP, matches IpsClient's Japanese lines."""
    sim.world.advance(57)
    (log,) = await sim.client().get_job_logs("203")
    handle = log.job_handle or ""
    (ours,) = await sim.client().get_job_log_details("203", handle, locale="ja-JP")
    theirs = await asyncio.to_thread(
        _zeep_call, sim.url(WSDL_PATH), "getJobLogDetails", companyHandle="203", jobHandle=handle
    )
    lines = theirs[0].detailArray["items"]
    assert [d.logMessage for d in lines] == [d.log_message for d in ours.details]


async def test_zeep_gets_a_soap_fault_for_an_unknown_company(sim: Sim) -> None:
    """The simulator's faults are real SOAP faults to a WSDL-driven client too."""
    with pytest.raises(zeep.exceptions.Fault) as caught:
        await asyncio.to_thread(_zeep_call, sim.url(WSDL_PATH), "getActiveJobs", companyHandle="nope")
    assert caught.value.message == "IpsApiException"
    assert "30001" in "".join(caught.value.detail.itertext())
