"""SIGHUP reload, in process: all or nothing, trackers kept, companies and channels switched, restart-only kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from notifier import i18n
from notifier.i18n import LOCALES_DIR
from notifier.runtime.clock import ManualClock
from tests.support.daemon import Harness, console_lines, daemon_config, summary
from tests.support.i18n import failed_publish
from tests.support.sim import START, Sim, StartSim
from tests.support.store import disable_channel, sqlite_store


@pytest.fixture
async def sim(start_sim: StartSim) -> Sim:
    return await start_sim("demo")


def rewrite(harness: Harness, old: str, new: str) -> Path:
    path = harness.config.source
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


async def test_broken_config_changes_nothing(sim: Sim, tmp_path: Path) -> None:
    """A reload of a file with an error is refused with file:line, and the running setup stays as it was."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:
        before = (daemon.config, daemon.engine.rules, daemon.pollers.pollers)
        path = rewrite(harness, "poll: {interval: 30s", "poll: {interval: 30 seconds")
        with capture_logs() as logs:
            assert await daemon.reloader.reload(path) is False
        assert (daemon.config, daemon.engine.rules, daemon.pollers.pollers) == before
    [refusal] = [e for e in logs if e["event"].startswith("reload failed")]
    assert refusal["error"].startswith(f"{path}:3: poll.interval: not a duration")


async def test_added_company_is_polled_and_kept_company_keeps_its_tracker(
    sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A company added by reload gets a poller; the one that stays keeps its tracker, so an ending is not lost."""
    harness = Harness(sim, daemon_config(tmp_path, sim, companies='[{handle: "47"}]'), ManualClock(START))
    async with harness.running() as daemon:
        await harness.poll()
        [kept] = daemon.pollers.pollers
        tracker = kept.tracker
        assert await daemon.reloader.reload(rewrite(harness, '[{handle: "47"}]', '[{handle: "47"}, {handle: "203"}]'))
        assert [p.company.handle for p in daemon.pollers.pollers] == ["47", "203"]
        assert daemon.pollers.pollers[0] is kept
        assert kept.tracker is tracker
        console_lines(capsys)
        await harness.poll(after=3)  # the new company's first poll is its baseline, before its job starts at 5 s
        await harness.poll(after=60)
        lines = summary(console_lines(capsys))
    assert ("publish-completed", "firing", "Spring catalogue") in lines  # 47's job that was running across reload
    assert ("failed-publish", "firing", "秋の新作カタログ") in lines  # the new company's failure


async def test_removed_company_stops_polling(sim: Sim, tmp_path: Path) -> None:
    """A company removed by reload has no poller any more."""
    companies = '[{handle: "47"}, {handle: "203"}]'
    harness = Harness(sim, daemon_config(tmp_path, sim, companies=companies), ManualClock(START))
    async with harness.running() as daemon:
        assert await daemon.reloader.reload(rewrite(harness, companies, '[{handle: "203"}]'))
        assert [p.company.handle for p in daemon.pollers.pollers] == ["203"]


async def test_restart_only_settings_are_kept_and_said(sim: Sim, tmp_path: Path) -> None:
    """Changing the state file on reload keeps the running one and logs that it needs a restart."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:
        with capture_logs() as logs:
            assert await daemon.reloader.reload(rewrite(harness, "sqlite:///state.db", "sqlite:///elsewhere.db"))
        assert daemon.config.state_location.path == tmp_path / "state.db"
    assert any(e.get("setting") == "state" for e in logs)


async def test_fixed_channel_settings_re_enable_a_disabled_channel(sim: Sim, tmp_path: Path) -> None:
    """A channel disabled by its endpoint is enabled again when a reload changes its settings."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with sqlite_store(harness.config.state_location.path) as store:
        await disable_channel(store, "console", "HTTP 410", START)
    async with harness.running() as daemon:
        assert await daemon.store.disabled_channels() == {"console": "HTTP 410"}
        path = rewrite(harness, "console: {type: console}", "console: {type: console, concurrency: 2}")
        assert await daemon.reloader.reload(path)
        assert await daemon.store.disabled_channels() == {}
        assert daemon.dispatcher.lanes["console"].concurrency == 2


async def test_rules_swap_and_forget_alerts_of_removed_rules(sim: Sim, tmp_path: Path) -> None:
    """New rules apply from the next event; alerts of rules no longer configured are forgotten."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- name: any-active\n  on: job.active\n  where: job.progress is not none\n  notify: [{channel: console}]\n",
        encoding="utf-8",
    )
    harness = Harness(sim, daemon_config(tmp_path, sim, rules=rules), ManualClock(START))
    async with harness.running() as daemon:
        await harness.poll(after=30)
        assert {a.rule for a in daemon.alerts()} == {"any-active"}
        rules.write_text("- name: failed\n  on: job.failed\n  notify: [{channel: console}]\n", encoding="utf-8")
        assert await daemon.reloader.reload(harness.config.source)
        await daemon.settle()
        assert daemon.alerts() == []
        assert [r.name for r in daemon.engine.rules.rules] == ["failed"]


async def test_alerts_of_a_removed_company_are_forgotten(sim: Sim, tmp_path: Path) -> None:
    """A company dropped from the config takes its open alerts with it: they could never resolve."""
    companies = '[{handle: "47"}, {handle: "311"}]'
    harness = Harness(sim, daemon_config(tmp_path, sim, companies=companies), ManualClock(START))
    async with harness.running() as daemon:
        await harness.poll(after=30)  # 311's homepage banners have not moved for 15 minutes: stalled-progress fires
        assert {a.company for a in daemon.alerts()} == {"311"}
        assert await daemon.reloader.reload(rewrite(harness, companies, '[{handle: "47"}]'))
        await daemon.settle()
        assert daemon.alerts() == []
    async with harness.running() as restarted:
        assert restarted.alerts() == []


async def test_an_unexpected_failure_while_reloading_keeps_the_daemon_running(sim: Sim, tmp_path: Path) -> None:
    """Whatever goes wrong while reading the new config, the reload is refused and the old setup stays."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:
        before = daemon.config
        path = harness.config.source
        path.write_text(path.read_text(encoding="utf-8") + "junk: &a [*a]\n", encoding="utf-8")
        with capture_logs() as logs:
            assert await daemon.reloader.reload(path) is False
        assert daemon.config is before
    assert any("an alias refers to a value it is part of" in e.get("error", "") for e in logs)


async def test_queue_size_changes_only_on_restart(sim: Sim, tmp_path: Path) -> None:
    """A new poll.queue_size is reported as restart-only and the running queue keeps its size."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:
        with capture_logs() as logs:
            assert await daemon.reloader.reload(
                rewrite(harness, "poll: {interval: 30s", "poll: {queue_size: 5, interval: 30s")
            )
        assert daemon.config.poll.queue_size == 10_000
    assert any(e.get("setting") == "poll.queue_size" for e in logs)


async def test_public_url_changes_live_and_listen_only_on_restart(sim: Sim, tmp_path: Path) -> None:
    """A new http.public_url reaches the renderer at once; a new http.listen is kept for the next start and said."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    http = "shutdown_grace: 2s\nhttp: {listen: '127.0.0.1:9999', public_url: 'https://ops.example.com/dmc'}"
    async with harness.running() as daemon:
        with capture_logs() as logs:
            assert await daemon.reloader.reload(rewrite(harness, "shutdown_grace: 2s", http))
        assert daemon.config.http.listen is None
        assert daemon.config.http.public_url == "https://ops.example.com/dmc"
        assert daemon.composer.renderer.status_url == "https://ops.example.com/dmc/status"
    assert [e.get("setting") for e in logs if "setting" in e] == ["http.listen"]


async def test_a_reload_retunes_schedules_keeping_what_they_know_or_turns_them_off(sim: Sim, tmp_path: Path) -> None:
    """A new schedules interval or grace applies to the running watch, which keeps its state; 0 drops it and
    the schedules are no longer asked for."""
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:
        await harness.poll()
        [poller] = daemon.pollers.pollers
        watch = poller.schedules
        assert watch is not None
        assert watch.tracker.states
        poll = "poll: {interval: 30s, unreachable_after: 2"
        assert await daemon.reloader.reload(
            rewrite(harness, poll, poll + ", schedules_interval: 1m, schedule_grace: 20m")
        )
        await harness.poll(after=30)
        assert poller.schedules is watch
        assert (watch.polling.interval, watch.tracker.grace.total_seconds()) == (60.0, 1200.0)
        assert await daemon.reloader.reload(rewrite(harness, "schedules_interval: 1m", "schedules_interval: 0"))
        calls = sim.world.calls
        await harness.poll(after=120)
        assert poller.schedules is None
        assert sim.world.calls - calls == 2  # getActiveJobs and getJobLogs only


async def test_catalog_edits_take_effect_on_reload_and_broken_ones_are_refused(
    sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited `.po` translation is used after SIGHUP's reload without a restart; one that lost a placeholder
    is refused with its file:line and the running catalogs stay."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    po = locales / "de_DE" / "LC_MESSAGES" / "messages.po"
    shipped = "Veröffentlichungsauftrag „%(name)s“ ist fehlgeschlagen"
    harness = Harness(sim, daemon_config(tmp_path, sim), ManualClock(START))
    async with harness.running() as daemon:

        def title() -> str:
            return daemon.composer.renderer.render(failed_publish("de-DE")).notification.message.title

        assert title() == "Veröffentlichungsauftrag „Spring catalog“ ist fehlgeschlagen"

        po.write_text(po.read_text(encoding="utf-8").replace(shipped, "Veröffentlichung „%(name)s“ gescheitert"))
        assert await daemon.reloader.reload(harness.config.source)
        assert title() == "Veröffentlichung „Spring catalog“ gescheitert"

        po.write_text(po.read_text(encoding="utf-8").replace("„%(name)s“ gescheitert", "gescheitert"))
        with capture_logs() as logs:
            assert await daemon.reloader.reload(harness.config.source) is False
        assert title() == "Veröffentlichung „Spring catalog“ gescheitert"
    [refusal] = [e for e in logs if e["event"].startswith("reload failed")]
    assert refusal["error"].startswith(f"{po}:")
    assert refusal["error"].endswith(": placeholders must be: %(name)s")
