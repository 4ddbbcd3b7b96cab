"""The simulated world: deterministic evolution, stalls, failures with localized details, scenarios, control API."""

from __future__ import annotations

import base64
import re
import string
from datetime import UTC, datetime, timedelta

import pytest

from notifier.ips.errors import IpsFault
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.jobs import active_view, detail_lines
from notifier.ips.simulator.messages import CATALOG, LOCALES, accept_language, operation_locale, resolve_locale
from notifier.ips.simulator.scenarios import SCENARIOS, build_scenario
from notifier.ips.simulator.server import make_world
from notifier.ips.simulator.world import SimClock, World
from notifier.models import JOB_TYPES
from tests.support.sim import START, Sim, StartSim


def _world(scenario: str = "demo", seed: int = 0, **options: object) -> World:
    return make_world(scenario, seed=seed, speed=0.0, start=START, **options)


def _snapshot(world: World) -> tuple[object, ...]:
    return tuple(world.active_jobs(None, "en-US")) + tuple(world.job_logs(None))


# -------------------------------------------------------------------------------------- determinism


def test_the_same_seed_and_advances_give_the_same_world() -> None:
    """Two worlds with one seed, advanced alike, answer identically at every step, spawned jobs included."""
    first, second = _world(seed=7), _world(seed=7)
    for step in (0, 15, 30, 45, 120, 600):
        first.advance(step)
        second.advance(step)
        assert _snapshot(first) == _snapshot(second)


def test_how_often_the_world_is_asked_does_not_change_it() -> None:
    """Polling every second or once at the end sees the same jobs and logs at the end."""
    polled, quiet = _world(seed=3), _world(seed=3)
    for _ in range(300):
        polled.advance(1)
        polled.active_jobs(None, "en-US")
    quiet.advance(300)
    assert _snapshot(polled) == _snapshot(quiet)


def test_different_seeds_give_different_worlds() -> None:
    """The seed drives file outcomes and arrivals, so two seeds differ once jobs have run."""
    first, second = _world(seed=1), _world(seed=2)
    first.advance(900)
    second.advance(900)
    assert _snapshot(first) != _snapshot(second)


def test_simulated_time_follows_wall_time_scaled_by_speed() -> None:
    """now = start + elapsed × speed + explicit advances; changing speed keeps time continuous."""
    ticks = iter([0.0, 10.0, 10.0, 10.0, 10.0, 20.0])
    clock = SimClock(START, speed=3.0, monotonic=lambda: next(ticks))
    assert clock.now() == START + timedelta(seconds=30)
    clock.speed = 0.5  # re-anchors at 30 s of simulated time
    assert clock.advance(5) == START + timedelta(seconds=35)
    assert clock.now() == START + timedelta(seconds=40)


def test_time_only_moves_forward() -> None:
    """A negative advance is refused rather than rewinding the world."""
    with pytest.raises(ValueError, match="forward"):
        _world().advance(-1)


# ------------------------------------------------------------------------------------------ job lives


def test_jobs_progress_to_completion_and_leave_a_log() -> None:
    """A job's progress rises while it runs; when it is done it leaves the active list and a JobLog appears."""
    world = _world("progress")
    seen: list[int] = []
    for _ in range(16):
        jobs = {j.original_name: j for j in world.active_jobs("47", "en-US")}
        if "Product images" in jobs:
            seen.append(jobs["Product images"].progress or 0)
        world.advance(2)
    assert seen == sorted(seen)
    assert seen[0] == 0
    assert seen[-1] > 80
    (log,) = [log for log in world.job_logs("47") if log.original_job_name == "Product images"]
    assert (log.fatal_error, log.file_success_count, log.file_error_count) == (False, 10, 0)


def test_a_stalled_job_never_changes_progress() -> None:
    """The stalled job's progress and lastProgressUpdate stay fixed for hours, and it never leaves."""
    world = _world("stall")
    first = {j.original_name: j for j in world.active_jobs("47", "en-US")}["Homepage banners"]
    for _ in range(10):
        world.advance(600)
        again = {j.original_name: j for j in world.active_jobs("47", "en-US")}["Homepage banners"]
        assert (again.progress, again.last_progress_update, again.state) == (25, first.last_progress_update, "Running")
    assert first.last_progress_update is not None
    assert first.last_progress_update < START - timedelta(minutes=15)


def test_a_job_that_stalls_while_watched_stops_moving() -> None:
    """The second stall job advances until 12 of 20 files, then stays at 60 % for good."""
    world = _world("stall")
    world.advance(60)
    job = {j.original_name: j for j in world.active_jobs("47", "en-US")}["Outlet images"]
    world.advance(3600)
    assert job == {j.original_name: j for j in world.active_jobs("47", "en-US")}["Outlet images"]
    assert job.progress == 60


def test_a_failed_publish_leaves_fatal_error_and_localized_details() -> None:
    """The failed publish's log has fatalError, an error line per failed file, and a FatalError line."""
    world = _world("failure")
    world.advance(40)
    (log,) = world.job_logs("203")
    assert log.fatal_error is True
    assert log.failed
    (ja,) = world.job_log_details("203", locale="ja-JP", job_handle=log.job_handle)
    (de,) = world.job_log_details("203", locale="de-DE", job_handle=log.job_handle)
    fatal = [d.log_message for d in ja.details if d.log_type == "FatalError"]
    assert fatal
    assert fatal[0].startswith("ジョブを中止しました")  # type: ignore[union-attr]
    errors = [d for d in de.details if d.log_type == "ImageServingPublishError"]
    assert errors
    assert all(d.aux[0].log_message == "Nach 3 Versuchen aufgegeben." for d in errors)
    assert [d.log_type for d in ja.details] == [d.log_type for d in de.details]


def test_a_job_with_warnings_completes_without_failing() -> None:
    """The warnings job ends successfully with a warning count and Warning lines."""
    world = _world("warnings")
    world.advance(40)
    log = next(log for log in world.job_logs("47"))
    assert not log.failed
    assert log.has_warnings
    (detailed,) = world.job_log_details("47", locale="fr-FR", job_handle=log.job_handle)
    warnings = [d for d in detailed.details if d.log_type == "ImageServingPublishWarning"]
    assert len(warnings) == log.file_warning_count
    assert all(" : " in (d.log_message or "") for d in warnings)  # French typography: space before colon


def test_log_details_are_paged() -> None:
    """recordsPerPage and resultsPage slice the lines; detailTotalRows counts them all."""
    world = _world("failure")
    world.advance(40)
    (log,) = world.job_logs("203")
    (whole,) = world.job_log_details("203", locale="en-US", job_handle=log.job_handle)
    (page,) = world.job_log_details("203", locale="en-US", job_handle=log.job_handle, per_page=5, page=2)
    assert page.details == whole.details[5:10]
    assert page.detail_total_rows == whole.detail_total_rows == len(whole.details)


def test_job_logs_filter_by_start_window_and_sort_both_ways() -> None:
    """startDate/endDate bound the job start; Descending reverses the order; numRows keeps the first rows."""
    world = _world("demo")
    world.advance(57)
    ascending = world.job_logs(None)
    starts = [log.start_date or START for log in ascending]
    assert starts == sorted(starts)
    assert world.job_logs(None, descending=True) == ascending[::-1]
    window = world.job_logs(None, start=START, end=START + timedelta(seconds=10))
    assert {log.original_job_name for log in window} == {
        "秋の新作カタログ",
        "Herbstkollektion Lookbook",
        "Holiday assets",
    }
    assert world.job_logs(None, sort_by="JobName", num_rows=1)[0].job_name == min(
        log.job_name or "" for log in ascending
    )


def test_demo_has_every_locale_and_keeps_going_after_the_first_minute() -> None:
    """The demo runs jobs in five locales and new jobs keep arriving after its scripted minute."""
    world = _world("demo")
    assert {p.locale for p in (world.plan(j.job_handle or "") for j in world.active_jobs(None, "en-US")) if p} >= {
        "en-US",
        "fr-FR",
        "zh-CN",
        "de-DE",
    }
    world.advance(57)
    assert {log.company_handle for log in world.job_logs(None)} == {"47", "118", "203", "311", "512"}
    world.advance(300)
    assert any(log.start_date and log.start_date > START + timedelta(seconds=60) for log in world.job_logs(None))


def test_scale_builds_companies_times_jobs() -> None:
    """scale(companies=3, jobs=7) starts with exactly 7 active jobs in each of 3 companies."""
    world = _world("scale", companies=3, jobs=7)
    assert len(world.companies) == 3
    assert {h: len(world.active_jobs(h, "en-US")) for h in world.companies} == {"1000": 7, "1001": 7, "1002": 7}


def test_fleet_runs_jobs_of_every_type_and_replaces_them_with_every_type() -> None:
    """fleet(companies=2, jobs=150) starts 150 jobs per company of all types, and new arrivals are of all types."""
    world = _world("fleet", companies=2, jobs=150)
    jobs = [job for handle in world.companies for job in world.active_jobs(handle, "en-US")]
    assert len(jobs) == 300
    assert {job.type for job in jobs} == set(JOB_TYPES)
    assert any(job.task_progress for job in jobs)  # video jobs report their transcoding
    world.advance(3600)
    later = [job for handle in world.companies for job in world.active_jobs(handle, "en-US")]
    assert {job.type for job in later if job.start_date and job.start_date > START} == set(JOB_TYPES)


def test_unknown_scenarios_and_options_are_refused() -> None:
    """A typo in a scenario name or option fails loudly instead of silently running something else."""
    with pytest.raises(ValueError, match="unknown scenario"):
        build_scenario("dmeo")
    with pytest.raises(ValueError, match="jobs"):
        build_scenario("demo", jobs=3)
    assert set(SCENARIOS) >= {"demo", "progress", "stall", "failure", "warnings", "locales", "auth-failure"}


def test_active_view_is_a_pure_function_of_time() -> None:
    """The same plan at the same instant always looks the same; messages follow the asked locale."""
    world = _world("progress")
    plan = world.plan(world.active_jobs("47", "en-US")[0].job_handle or "")
    assert plan is not None
    at = START + timedelta(seconds=12)
    assert active_view(plan, at, "en-US") == active_view(plan, at, "en-US")
    assert active_view(plan, at, "zh-CN").progress_message == "已处理文件：3 / 10"
    assert detail_lines(plan, "ja-JP")[0].log_message == "画像サービングへの公開を開始しました。"


def test_scheduled_jobs_fire_next_in_their_own_time_zone() -> None:
    """A daily 03:30 Tokyo schedule fires next at 03:30 +09:00, after now."""
    world = _world("demo")
    (job,) = world.scheduled_jobs("203", None, None)
    assert job.next_fire_time == datetime(2026, 3, 2, 18, 30, tzinfo=UTC)


# ------------------------------------------------------------------------------------------- messages


def test_every_message_exists_in_every_locale_with_the_same_fields() -> None:
    """No locale lacks a message, and every translation uses exactly the English placeholders."""
    fields = string.Formatter()
    for key, templates in CATALOG.items():
        assert set(templates) == set(LOCALES), key
        expected = {f for _, f, _, _ in fields.parse(templates["en-US"]) if f}
        for locale, template in templates.items():
            assert {f for _, f, _, _ in fields.parse(template) if f} == expected, (key, locale)


@pytest.mark.parametrize(
    ("tag", "resolved"),
    [("ja", "ja-JP"), ("de_DE", "de-DE"), ("fr-CA", "fr-FR"), ("zh", "zh-CN"), ("zh-TW", None), ("ko-KR", None)],
)
def test_locale_tags_resolve_to_catalog_locales(tag: str, resolved: str | None) -> None:
    """Language matches are used, but Traditional Chinese never falls back to Simplified."""
    assert resolve_locale(tag) == resolved


def test_the_operation_locale_prefers_the_auth_header_then_accept_language() -> None:
    """authHeader/locale wins; else the best Accept-Language match; else en-US."""
    assert accept_language("fr;q=0.5, ja-JP, *;q=0.1, de;q=0.8") == ["ja-JP", "de", "fr"]
    assert operation_locale("de-DE", "ja-JP") == "de-DE"
    assert operation_locale(None, "ko-KR, ja;q=0.9") == "ja-JP"
    assert operation_locale(None, None) == "en-US"


# ----------------------------------------------------------------------------------- scenarios on HTTP


async def test_auth_failure_scenario_refuses_every_call(start_sim: StartSim) -> None:
    """With correct credentials, every operation still gets authenticationFault 10001."""
    sim = await start_sim("auth-failure")
    client = sim.client()
    for call in (client.get_active_jobs("47"), client.get_company_info(company_handle="47")):
        with pytest.raises(IpsFault) as caught:
            await call
        assert (caught.value.kind, caught.value.code, caught.value.retryable) == ("authentication", 10001, False)


def test_flaky_scenario_misbehaves_reproducibly() -> None:
    """The flaky scenario mixes 5xx and slow answers among normal ones, the same way for the same seed."""

    def sequence(seed: int) -> list[str]:
        world = _world("flaky", seed=seed)
        return [f.mode if f else "ok" for f in (world.chaos.next_fault() for _ in range(200))]

    modes = sequence(5)
    assert modes == sequence(5)
    assert {"ok", "5xx", "slow"} <= set(modes)


async def test_control_api_advances_time_and_reports_state(sim: Sim) -> None:
    """POST /_sim/advance moves simulated time; GET /_sim/state shows it with per-company counts."""
    async with sim.session.post(sim.url("/_sim/advance"), json={"seconds": 57}) as resp:
        assert (await resp.json())["now"] == (START + timedelta(seconds=57)).isoformat()
    async with sim.session.get(sim.url("/_sim/state")) as resp:
        state = await resp.json()
    assert state["scenario"] == "demo"
    assert state["companies"]["203"] == {"name": "Sakura Interiors", "active": 0, "logs": 1}


async def test_control_api_injects_faults_and_outages(sim: Sim) -> None:
    """Faults queued over HTTP hit the next calls; down/up switches an outage on and off."""
    client = sim.client()
    async with sim.session.post(sim.url("/_sim/fault"), json={"mode": "5xx", "status": 502, "count": 2}) as resp:
        assert (await resp.json())["pending"] == ["5xx", "5xx"]
    for _ in range(2):
        with pytest.raises(Exception, match="502"):
            await client.get_active_jobs("47")
    await (await sim.session.post(sim.url("/_sim/down"))).release()
    with pytest.raises(Exception, match="503"):
        await client.get_active_jobs("47")
    await (await sim.session.post(sim.url("/_sim/up"))).release()
    assert await client.get_active_jobs("47")


async def test_control_api_starts_jobs_and_rejects_nonsense(sim: Sim) -> None:
    """POST /_sim/jobs starts a job now; bad input is a 400 with a reason, not a crash."""
    body = {"company": "47", "type": "VideoPublish", "outcome": "failure", "locale": "ja-JP", "run": 10}
    async with sim.session.post(sim.url("/_sim/jobs"), json=body) as resp:
        handle = (await resp.json())["jobHandle"]
    assert re.fullmatch(r"47\|\|VideoPublish_job_2026-03-02-09:00:00", handle)
    assert handle in {j.job_handle for j in await sim.client().get_active_jobs("47")}
    for bad in ({"mode": "meteor"}, {"seconds": -1}):
        path = "/_sim/fault" if "mode" in bad else "/_sim/advance"
        async with sim.session.post(sim.url(path), json=bad) as resp:
            assert resp.status == 400
            assert "error" in await resp.json()
    sim.world.chaos.inject(FaultSpec("5xx"))
    async with sim.session.delete(sim.url("/_sim/fault")) as resp:
        assert (await resp.json())["pending"] == []


async def test_control_api_targets_faults_at_one_operation(sim: Sim) -> None:
    """A fault for getJobLogDetails waits for that call: the calls before it are answered as usual."""
    client = sim.client()
    body = {"mode": "5xx", "status": 503, "operation": "getJobLogDetails"}
    await (await sim.session.post(sim.url("/_sim/fault"), json=body)).release()
    await client.get_active_jobs("47")
    with pytest.raises(Exception, match="503"):
        await client.get_job_log_details("47", "47||x", locale=None)
    assert sim.world.chaos.pending == []


async def test_echo_fault_quotes_the_request_with_its_credentials(sim: Sim) -> None:
    """An echo fault is an ipsApiFault whose reason repeats the request, as servers that quote bad input do."""
    sim.world.chaos.inject(FaultSpec("echo"))
    with pytest.raises(IpsFault) as caught:
        await sim.client().get_active_jobs("47")
    assert caught.value.code == 30003
    assert "<auth:password>demo</auth:password>" in (caught.value.reason or "")


async def test_control_api_taints_answers_with_raw_bytes(sim: Sim) -> None:
    """After POST /_sim/taint every answer carries the raw bytes where the text was; bad base64 is a 400."""
    raw = base64.b64encode(b"Spring\x1b[31m\xff").decode()
    async with sim.session.post(sim.url("/_sim/taint"), json={"text": "Spring catalogue", "raw": raw}) as resp:
        assert (await resp.json()) == {"taints": 1}
    names = [j.original_name for j in await sim.client().get_active_jobs("47")]
    assert "Spring\ufffd[31m\ufffd" in names
    async with sim.session.post(sim.url("/_sim/taint"), json={"text": "x", "raw": "%%"}) as resp:
        assert resp.status == 400
