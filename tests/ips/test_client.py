"""IpsClient against the simulator over real HTTP on 127.0.0.1: every operation, every fault, hostile bodies."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from multidict import CIMultiDictProxy

from notifier.ips.envelope import AuthHeader, build_request
from notifier.ips.errors import IpsFault, IpsParseError, IpsTimeout, IpsTransportError
from notifier.ips.parse import parse_active_jobs
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.soap import SimUser
from tests.support.sim import PASSWORD, START, USER, Sim, StartSim

JA_DETAIL = "を公開しました"


async def _raw(
    sim: Sim,
    params: list[tuple[str, object]],
    *,
    auth: AuthHeader | None = None,
    headers: dict[str, str] | None = None,
    operation: str = "getActiveJobs",
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    """A hand-built request, for what IpsClient never sends (Basic auth, faultHttpStatusCode, no locale)."""
    body = build_request(operation, params, auth or AuthHeader(USER, PASSWORD), "2014-04-03")
    sent = {"SOAPAction": operation, "Content-Type": "text/xml; charset=UTF-8", **(headers or {})}
    async with sim.session.post(sim.endpoint, data=body, headers=sent) as resp:
        return resp.status, resp.headers, await resp.read()


# ------------------------------------------------------------------------------------------ operations


async def test_get_active_jobs_returns_the_running_jobs_with_their_details(sim: Sim) -> None:
    """Active jobs carry handle, state, progress, user, locale and the publish job details."""
    jobs = await sim.client().get_active_jobs("47")
    assert [j.original_name for j in jobs] == ["Spring catalogue"]
    job = jobs[0]
    assert job.job_handle == "47||Spring_catalogue_2026-03-02-08:59:40"
    assert (job.state, job.progress, job.locale) == ("Running", 37, "en-US")
    assert job.submit_user_email == "maria.lopez@planetary.example.com"
    assert job.start_date == START - timedelta(seconds=20)
    assert job.last_progress_update is not None
    assert job.last_progress_update <= START
    assert job.detail is not None
    assert job.detail.kind == "imageServingPublishJob"
    assert (job.detail.publish_type, job.detail.email_setting) == ("Full", "ErrorAndWarning")
    assert job.detail.http_completion_url == "https://hooks.planetary.example.com/dmc/publish-complete"


async def test_progress_advances_as_simulated_time_moves(sim: Sim) -> None:
    """The same job reports more progress after the world is advanced, with a later lastProgressUpdate."""
    client = sim.client()
    before = (await client.get_active_jobs("47"))[0]
    sim.world.advance(10)
    after = (await client.get_active_jobs("47"))[0]
    assert after.job_handle == before.job_handle
    assert (after.progress or 0) > (before.progress or 0)
    assert after.last_progress_update is not None
    assert before.last_progress_update is not None
    assert after.last_progress_update > before.last_progress_update


async def test_video_jobs_report_task_progress(sim: Sim) -> None:
    """VideoPublish jobs carry a taskProgressArray, parsed from its `item` children."""
    sim.world.advance(20)
    (job,) = await sim.client().get_active_jobs("118")
    (task,) = job.task_progress
    assert task.task_type == "VideoTranscode"
    assert task.task_state == "Processing"
    assert task.progress is not None
    assert 0 < task.progress < 1


async def test_get_job_logs_reports_how_finished_jobs_ended(sim: Sim) -> None:
    """Once the failing publish leaves the active list, its JobLog says fatalError with counts."""
    sim.world.advance(57)
    client = sim.client()
    assert await client.get_active_jobs("203") == []
    (log,) = await client.get_job_logs("203", start_date=START - timedelta(minutes=5))
    assert log.fatal_error is True
    assert log.failed
    assert log.total_file_count == 30
    assert (log.file_error_count or 0) >= 1
    assert log.end_date is not None
    assert log.start_date is not None
    assert log.end_date > log.start_date


async def test_get_job_logs_honours_the_start_window_and_row_count(sim: Sim) -> None:
    """startDate filters on the job's start; numRows caps the ascending, start-ordered list."""
    sim.world.advance(57)
    client = sim.client()
    every = await client.get_job_logs("311")
    assert [log.original_job_name for log in every] == ["Catalogue printemps"]
    assert await client.get_job_logs("311", start_date=START + timedelta(seconds=16)) == []
    sim.world.advance(600)
    logs = await client.get_job_logs("47", num_rows=2)
    starts = [log.start_date or START for log in logs]
    assert len(logs) == 2
    assert starts == sorted(starts)


async def test_get_job_log_details_come_in_the_requested_locale(sim: Sim) -> None:
    """Asked in ja-JP the log lines are Japanese; asked in en-US the same lines are English."""
    sim.world.advance(57)
    client = sim.client()
    (log,) = await client.get_job_logs("203")
    handle = log.job_handle or ""
    (ja,) = await client.get_job_log_details("203", handle, locale="ja-JP")
    (en,) = await client.get_job_log_details("203", handle, locale="en-US")
    assert any(JA_DETAIL in (d.log_message or "") for d in ja.details)
    assert any("ジョブを中止しました" in (d.log_message or "") for d in ja.details if d.log_type == "FatalError")
    assert any((d.log_message or "").startswith("Published ") for d in en.details)
    assert [d.log_type for d in ja.details] == [d.log_type for d in en.details]
    assert ja.detail_total_rows == len(ja.details)


async def test_get_job_log_details_filters_by_log_type(sim: Sim) -> None:
    """logTypeArray keeps only the asked-for lines; detailTotalRows counts the filtered total."""
    sim.world.advance(57)
    client = sim.client()
    (log,) = await client.get_job_logs("203")
    types = ["FatalError", "ImageServingPublishError"]
    (only,) = await client.get_job_log_details("203", log.job_handle or "", locale=None, log_types=types)
    assert only.details
    assert {d.log_type for d in only.details} <= set(types)
    errors = [d for d in only.details if d.log_type == "ImageServingPublishError"]
    assert all(d.asset_name and d.aux for d in errors)


async def test_an_older_server_refusing_the_paging_members_still_gives_the_details(start_sim: StartSim) -> None:
    """A server on the older WSDL faults for recordsPerPage & co: the client asks once more without them, gets
    the same details, and asks that endpoint without them from then on; another endpoint is not affected."""
    reference = await start_sim("demo")
    older, another_older = await start_sim("demo"), await start_sim("demo")
    for sim in (reference, older, another_older):
        sim.world.advance(57)
    older.world.older_detail_schema = another_older.world.older_detail_schema = True
    (log,) = await reference.client().get_job_logs("203")
    handle = log.job_handle or ""
    expected = await reference.client().get_job_log_details("203", handle, locale="ja-JP")

    client = older.client()
    before = older.world.calls
    assert await client.get_job_log_details("203", handle, locale="ja-JP") == expected
    assert older.world.calls - before == 2  # refused, then asked without the paging members
    assert client.details_without_paging
    assert await client.get_job_log_details("203", handle, locale="ja-JP") == expected
    assert older.world.calls - before == 3  # remembered: one call

    other, before = another_older.client(), another_older.world.calls
    assert not other.details_without_paging
    assert await other.get_job_log_details("203", handle, locale="ja-JP") == expected
    assert another_older.world.calls - before == 2  # its own first refusal: learnt per endpoint
    assert other.details_without_paging


async def test_a_fault_that_is_not_about_the_paging_members_is_not_retried(sim: Sim) -> None:
    """An unknown company is a real error: it is raised, and the paging members stay in use."""
    client = sim.client()
    before = sim.world.calls
    with pytest.raises(IpsFault) as caught:
        await client.get_job_log_details("nope", "x", locale=None)
    assert caught.value.code == 30001
    assert sim.world.calls - before == 1
    assert not client.details_without_paging


async def test_get_company_info_by_name_and_by_handle(sim: Sim) -> None:
    """A company name resolves to its handle, and the handle to its name."""
    client = sim.client()
    by_name = await client.get_company_info(company_name="Planetary")
    by_handle = await client.get_company_info(company_handle="47")
    assert by_name == by_handle
    assert (by_name.company_handle, by_name.name, by_name.root_path) == ("47", "Planetary", "Planetary/")


async def test_get_scheduled_jobs_gives_the_next_fire_time(sim: Sim) -> None:
    """Scheduled jobs carry their schedule, time zone and a next fire time after now."""
    (job,) = await sim.client().get_scheduled_jobs("203")
    assert (job.exec_schedule, job.time_zone, job.trigger_state) == ("0 30 3 * * ?", "Asia/Tokyo", "Normal")
    assert job.next_fire_time is not None
    assert job.next_fire_time > START


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("user", "password", "kind", "code"),
    [
        ("", "", "authentication", 10000),
        (USER, "wrong", "authentication", 10001),
        ("nobody@example.com", PASSWORD, "authentication", 10002),
        ("noaccess@example.com", "demo", "authorization", 20003),
    ],
)
async def test_credential_faults_are_typed_and_not_retryable(
    sim: Sim, user: str, password: str, kind: str, code: int
) -> None:
    """Authentication and authorization faults come back as IpsFault over HTTP 500, never retryable."""
    with pytest.raises(IpsFault) as caught:
        await sim.client(user=user, password=password).get_active_jobs("47")
    fault = caught.value
    assert (fault.kind, fault.code, fault.http_status) == (kind, code, 500)
    assert fault.reason
    assert fault.is_auth
    assert not fault.retryable


async def test_a_user_without_permission_can_still_call_what_is_permitted(sim: Sim) -> None:
    """Permissions are per operation: noaccess@example.com may resolve companies."""
    info = await sim.client(user="noaccess@example.com", password="demo").get_company_info(company_name="Planetary")
    assert info.company_handle == "47"


async def test_an_unknown_company_is_an_invalid_parameter(sim: Sim) -> None:
    """ipsApiFault 30001 for an unknown company handle; retrying the same request cannot help."""
    with pytest.raises(IpsFault) as caught:
        await sim.client().get_active_jobs("no-such-company")
    assert (caught.value.kind, caught.value.code, caught.value.retryable) == ("ipsApi", 30001, False)


async def test_a_missing_required_parameter_is_fault_30002(sim: Sim) -> None:
    """getScheduledJobs without a companyHandle gives ipsApiFault 30002."""
    with pytest.raises(IpsFault) as caught:
        await sim.client().get_scheduled_jobs("")
    assert (caught.value.kind, caught.value.code) == ("ipsApi", 30002)


async def test_malformed_request_xml_is_fault_30003(sim: Sim) -> None:
    """A request that is not XML gets ipsApiFault 30003 in a SOAP fault, HTTP 500."""
    async with sim.session.post(sim.endpoint, data=b"<not-closed", headers={"SOAPAction": "getActiveJobs"}) as resp:
        body = await resp.read()
        assert resp.status == 500
    with pytest.raises(IpsFault) as caught:
        parse_active_jobs(body)
    assert caught.value.code == 30003


async def test_fault_http_status_code_moves_the_fault_to_that_status(sim: Sim) -> None:
    """With authHeader/faultHttpStatusCode=200 the fault arrives in a 200 body and still parses as a fault."""
    status, _, body = await _raw(
        sim, [("companyHandle", "47")], auth=AuthHeader(USER, "wrong", fault_http_status_code=200)
    )
    assert status == 200
    with pytest.raises(IpsFault) as caught:
        parse_active_jobs(body)
    assert caught.value.code == 10001


async def test_http_basic_auth_is_accepted_instead_of_the_auth_header(sim: Sim) -> None:
    """Without authHeader credentials, HTTP Basic credentials authenticate the call."""
    basic = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    status, _, body = await _raw(sim, [("companyHandle", "47")], auth=AuthHeader("", ""), headers=basic)
    assert status == 200
    assert len(parse_active_jobs(body)) == 1


async def test_custom_users_are_honoured(start_sim: StartSim) -> None:
    """create_app(users=...) replaces the default accounts."""
    sim = await start_sim(users={"ops@example.com": SimUser("s3cret")})
    assert await sim.client(user="ops@example.com", password="s3cret").get_active_jobs("47")
    with pytest.raises(IpsFault):
        await sim.client().get_active_jobs("47")


# -------------------------------------------------------------------------------------------- transport


@pytest.mark.parametrize(("accept", "gzip_response", "encoded"), [("gzip", None, True), ("gzip", False, False),
                                                                   ("identity", None, False)])  # fmt: skip
async def test_gzip_follows_accept_encoding_unless_gzip_response_is_false(
    sim: Sim, accept: str, gzip_response: bool | None, encoded: bool
) -> None:
    """Accept-Encoding: gzip compresses the answer; authHeader/gzipResponse=false turns it off."""
    auth = AuthHeader(USER, PASSWORD, gzip_response=gzip_response)
    _, headers, body = await _raw(sim, [("companyHandle", "47")], auth=auth, headers={"Accept-Encoding": accept})
    assert (headers.get("Content-Encoding") == "gzip") is encoded
    assert len(parse_active_jobs(body)) == 1


async def test_the_client_reads_gzip_and_plain_answers_alike(sim: Sim) -> None:
    """IpsClient with gzip on and off parses the same jobs."""
    assert await sim.client(gzip=True).get_active_jobs("47") == await sim.client(gzip=False).get_active_jobs("47")


async def test_large_answers_are_chunked_and_parsed(start_sim: StartSim) -> None:
    """A big getActiveJobs answer comes with chunked transfer encoding and parses completely."""
    sim = await start_sim("scale", companies=1, jobs=300)
    _, headers, body = await _raw(sim, [("companyHandle", "1000")])
    assert headers.get("Transfer-Encoding") == "chunked"
    assert len(parse_active_jobs(body)) == 300
    assert len(await sim.client().get_active_jobs("1000")) == 300


async def test_a_5xx_is_retryable_and_the_next_call_recovers(sim: Sim) -> None:
    """A 503 gateway page becomes a retryable IpsTransportError; the following call succeeds."""
    sim.world.chaos.inject(FaultSpec("5xx", status=503))
    client = sim.client()
    with pytest.raises(IpsTransportError) as caught:
        await client.get_active_jobs("47")
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert len(await client.get_active_jobs("47")) == 1


async def test_an_answer_slower_than_the_timeout_is_ips_timeout(sim: Sim) -> None:
    """The client gives up after its timeout with IpsTimeout; the next call is answered normally."""
    sim.world.chaos.inject(FaultSpec("slow", delay=0.6))
    client = sim.client(timeout=0.2)
    with pytest.raises(IpsTimeout):
        await client.get_active_jobs("47")
    assert len(await client.get_active_jobs("47")) == 1


@pytest.mark.parametrize("mode", ["doctype", "entity", "garbage", "truncated"])
async def test_hostile_bodies_are_parse_errors(sim: Sim, mode: str) -> None:
    """XXE, billion laughs, random bytes and a truncated envelope all end as IpsParseError."""
    sim.world.chaos.inject(FaultSpec(mode))
    with pytest.raises(IpsParseError):
        await sim.client().get_active_jobs("47")


@pytest.mark.parametrize("length", [False, True])
async def test_a_50_mb_body_stops_at_the_size_cap(sim: Sim, length: bool) -> None:
    """A 50 MB answer (chunked or with Content-Length) is refused at the cap, not buffered whole."""
    sim.world.chaos.inject(FaultSpec("huge", length=length))
    client = sim.client(max_response_bytes=1024 * 1024)
    with pytest.raises(IpsTransportError, match="cap"):
        await client.get_active_jobs("47")
    assert not sim.world.chaos.stream.complete
    assert len(await client.get_active_jobs("47")) == 1


async def test_a_gzip_bomb_stops_at_the_size_cap(sim: Sim) -> None:
    """A small gzip body that inflates to 50 MB is refused once the inflated size passes the cap."""
    sim.world.chaos.inject(FaultSpec("bomb"))
    with pytest.raises(IpsTransportError, match="cap"):
        await sim.client(max_response_bytes=1024 * 1024).get_active_jobs("47")


async def test_a_dropped_connection_is_a_retryable_transport_error(sim: Sim) -> None:
    """The server closing the connection mid-request is retryable, and the next call works."""
    sim.world.chaos.inject(FaultSpec("reset"))
    client = sim.client()
    with pytest.raises(IpsTransportError) as caught:
        await client.get_active_jobs("47")
    assert caught.value.retryable
    assert len(await client.get_active_jobs("47")) == 1


async def test_default_namespace_answers_parse_the_same(start_sim: StartSim) -> None:
    """A server using a default namespace instead of ns1: gives the same jobs."""
    prefixed, default = await start_sim(prefix="ns1"), await start_sim(prefix=None)
    assert await prefixed.client().get_active_jobs("47") == await default.client().get_active_jobs("47")


@pytest.mark.parametrize(("status", "title"), [(200, "Sign in"), (502, "502 Bad Gateway")])
async def test_an_html_page_is_reported_as_html_with_its_status(sim: Sim, status: int, title: str) -> None:
    """A proxy's HTML page (with a doctype) is named for what it is, with the status and its title, and is
    retryable; it is never mistaken for a DTD."""
    sim.world.chaos.inject(FaultSpec("html", status=status))
    with pytest.raises(IpsTransportError) as caught:
        await sim.client().get_active_jobs("47")
    assert str(caught.value).startswith(f"HTTP {status}: an HTML page ('{title}')")
    assert "DTD" not in str(caught.value)
    assert caught.value.retryable


async def test_an_answer_in_another_api_namespace_is_refused(start_sim: StartSim) -> None:
    """A body in another version's namespace is another API: refused, naming both namespaces."""
    sim = await start_sim()
    client = sim.client(api_version="2012-02-14")
    assert await client.get_active_jobs("47")  # the simulator answers in the version asked for
    sim.world.taint("xsd/2012-02-14", b"xsd/2014-04-03")  # …but this server answers in another one
    with pytest.raises(IpsParseError, match=r"namespace '.*/2014-04-03', not the configured API's '.*/2012-02-14'"):
        await client.get_active_jobs("47")
