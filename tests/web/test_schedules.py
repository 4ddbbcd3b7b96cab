"""Scheduled jobs in the operator's window: /api/schedules and the page's section, from the demo's schedules."""

from __future__ import annotations

from tests.support.window import Window

SCHEDULE_KEYS = {
    "company", "company_name", "job_handle", "name", "type", "locale", "exec_schedule", "time_zone", "trigger_state",
    "next_fire_time", "last_run", "last_run_job", "state", "due_at", "late_seconds", "submit_user_email", "refused",
}  # fmt: skip


async def polled_with_a_broken_trigger(window: Window) -> None:
    """Price refresh's trigger breaks at 09:11; schedules are polled every 5 minutes until 09:20."""
    await window.poll()
    for minute in range(5, 21, 5):
        await window.poll(after=300)
        if minute == 10:
            window.advance(60)
            window.sim.world.set_trigger("47||Price_refresh", "Error")


async def test_api_and_page_list_each_company_s_schedules_with_last_run_next_fire_and_state(window: Window) -> None:
    """The failed one first, then those running on time (with their last run), then the paused one; the page
    shows them with their state, trigger and cron."""
    await polled_with_a_broken_trigger(window)
    rows = await window.json("/api/schedules")
    assert all(set(row) == SCHEDULE_KEYS for row in rows)
    states = [(row["company"], row["name"], row["state"]) for row in rows]
    assert states == [
        ("47", "Price refresh", "failed"),
        ("118", "Feed-Abgleich", "ok"),
        ("47", "Nightly full publish", "ok"),
        ("311", "Soldes de la semaine", "paused"),
    ]
    failed = rows[0]
    assert (failed["trigger_state"], failed["due_at"], failed["late_seconds"]) == ("Error", None, None)
    assert failed["last_run"] == "2026-03-02T09:10:00+00:00"
    assert failed["next_fire_time"] == "2026-03-02T09:12:00+00:00"
    feed = rows[1]
    assert (feed["exec_schedule"], feed["time_zone"], feed["trigger_state"]) == (
        "0 0/3 * * * ?",
        "Europe/Berlin",
        "Normal",
    )
    assert feed["last_run"] == "2026-03-02T09:21:00+00:00"
    assert feed["last_run_job"] == "118||Feed-Abgleich_2026-03-02-09:21:00"
    nightly = rows[2]
    assert (nightly["last_run"], nightly["next_fire_time"]) == (None, "2026-03-02T02:00:00-08:00")
    summary = (await window.json("/api/status"))["summary"]
    assert (summary["schedules"], summary["schedules_failing"]) == (4, 1)
    status, html = await window.get("/status")
    assert status == 200
    assert '<section id="schedules"' in html
    assert '<span class="job-name">Price refresh</span>' in html
    assert '<span class="tag tag-bad">failed</span> <span class="muted small">trigger Error</span>' in html
    assert '<span class="tag tag-muted">paused</span>' in html
    assert "<code>0 0/2 * * * ?</code>" in html
