"""/api/*: the status page's data as JSON, one stable shape per section, from a real daemon after real activity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.sim import START
from tests.support.window import INTERVAL, Window

FIRED = START + timedelta(seconds=INTERVAL)  # the second poll: Lumière's banners pass 15 minutes stalled
COMPANY_KEYS = {
    "company", "name", "health", "interval_seconds", "last_success", "last_attempt", "last_error",
    "consecutive_failures", "active_jobs",
}  # fmt: skip
JOB_KEYS = {
    "company", "company_name", "job_handle", "name", "type", "state", "progress", "progress_message", "locale",
    "submit_user_email", "started_at", "last_progress_at", "stalled_seconds", "stalled", "company_health", "seen_at",
}  # fmt: skip
DELIVERY_KEYS = {
    "id", "channel", "state", "attempts", "rule", "severity", "status", "title", "locale", "company", "job_name",
    "recipients", "created_at", "error", "next_attempt_at",
}  # fmt: skip


async def active(window: Window) -> None:
    await window.silence_pager()
    await window.poll()
    await window.poll(after=INTERVAL)


async def test_status_holds_every_section_and_a_summary(window: Window) -> None:
    """/api/status has every section, readiness and a summary consistent with the sections."""
    await active(window)
    data = await window.json("/api/status")
    assert set(data) >= {"companies", "jobs", "alerts", "deliveries", "silences", "outbox", "summary", "ready",
                         "reasons", "generated_at", "version"}  # fmt: skip
    assert data["ready"] is True
    assert data["generated_at"] == window.clock.now().isoformat()
    summary = data["summary"]
    assert summary["companies"] == summary["companies_up"] == 3
    assert summary["jobs"] == len(data["jobs"])
    assert summary["alerts_firing"] == 1
    assert summary["dead_letters"] == 2
    assert summary["silences"] == 1


async def test_companies_show_health_and_last_poll(window: Window) -> None:
    """Each company reports its health, its poll times and how many jobs it runs; failing ones sort first."""
    await window.poll()
    window.sim.world.chaos.down = True
    await window.daemon.pollers.pollers[1].poll_once()  # 311 fails once
    companies = await window.json("/api/companies")
    assert companies[0]["company"] == "311"
    failing = companies[0]
    assert set(failing) == COMPANY_KEYS
    assert failing["health"] == "failing"
    assert failing["consecutive_failures"] == 1
    assert "503" in failing["last_error"]
    assert failing["last_success"] == START.isoformat()
    assert [c["health"] for c in companies[1:]] == ["up", "up"]
    planetary = next(c for c in companies if c["company"] == "47")
    assert planetary["active_jobs"] == len(window.sim.world.active_jobs("47", "en-US"))


async def test_jobs_are_listed_longest_stalled_first(window: Window) -> None:
    """Active jobs come with progress and time without progress; the stalled one is first and flagged."""
    await window.poll()
    await window.poll(after=INTERVAL)  # Lumière's banners job passes 15 minutes without progress
    jobs = await window.json("/api/jobs")
    simulated = {j.original_name for c in ("47", "311", "118") for j in window.sim.world.active_jobs(c, "en-US")}
    assert {j["name"] for j in jobs} == simulated
    assert all(set(j) == JOB_KEYS for j in jobs)
    first = jobs[0]
    assert first["name"] == "Bannières page d’accueil"
    assert first["stalled"] is True
    assert first["stalled_seconds"] >= 900
    assert [j["stalled"] for j in jobs[1:]] == [False] * (len(jobs) - 1)
    assert all(0 <= j["progress"] <= 100 for j in jobs)


async def test_jobs_filter_by_company_and_limit(window: Window) -> None:
    """`company=` keeps one company's jobs, `limit=` the first N; a malformed limit is a 400."""
    await window.poll()
    only = await window.json("/api/jobs?company=311")
    assert {j["company"] for j in only} == {"311"}
    assert len(await window.json("/api/jobs?limit=1")) == 1
    status, _ = await window.get("/api/jobs?limit=lots")
    assert status == 400


async def test_alerts_name_rule_severity_and_job(window: Window) -> None:
    """A firing alert carries its rule's severity, the job's name and when it started firing."""
    await active(window)
    alerts: list[dict[str, Any]] = await window.json("/api/alerts")
    assert alerts == [
        {
            "rule": "stalled-progress", "severity": "warning", "state": "firing", "company": "311",
            "job": alerts[0]["job"], "job_name": "Bannières page d’accueil", "since": FIRED.isoformat(),
            "last_sent": FIRED.isoformat(), "sends": 1,
        }
    ]  # fmt: skip
    assert alerts[0]["job"]


async def test_deliveries_keep_dead_letters_apart(window: Window) -> None:
    """Deliveries list recent rows of every state and dead letters separately, with their errors."""
    await active(window)
    deliveries = await window.json("/api/deliveries")
    assert set(deliveries) == {"recent", "dead_letters", "disabled_channels"}
    states = {(d["channel"], d["state"]) for d in deliveries["recent"]}
    assert states == {("hook", "delivered"), ("broken", "dead"), ("busy", "pending"), ("pager", "silenced")}
    dead = deliveries["dead_letters"]
    assert [d["channel"] for d in dead] == ["broken", "broken"]
    assert all(set(d) == DELIVERY_KEYS and d["error"] == "Slack invalid_payload (HTTP 400)" for d in dead)
    busy = next(d for d in deliveries["recent"] if d["channel"] == "busy")
    assert busy["next_attempt_at"] is not None
    assert busy["attempts"] >= 1


async def test_silences_show_matchers_and_what_they_held_back(window: Window) -> None:
    """An active silence lists its matchers, end, author and how many notifications it held back."""
    await active(window)
    silences = await window.json("/api/silences")
    assert len(silences) == 1
    silence = silences[0]
    assert silence["matchers"] == [{"label": "channel", "value": "pager"}]
    assert silence["comment"] == "pager maintenance"
    assert silence["created_by"] == "ops@example.com"
    assert silence["held_back"] == 1


async def test_unknown_section_is_a_404(window: Window) -> None:
    """Asking for a section that does not exist says which ones do."""
    status, text = await window.get("/api/nonsense")
    assert status == 404
    assert "companies" in text


async def test_jobs_of_a_failing_company_say_when_they_were_last_seen(window: Window) -> None:
    """While a company's polls fail, its jobs are shown as last seen, with that time and the company's health."""
    await window.poll()
    window.sim.world.chaos.down = True
    await window.poll(after=INTERVAL)
    jobs = await window.json("/api/jobs?company=47")
    assert jobs
    assert {(j["company_health"], j["seen_at"]) for j in jobs} == {("failing", START.isoformat())}
