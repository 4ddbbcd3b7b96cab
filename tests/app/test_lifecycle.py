"""The daemon as operators run it: a real process, real signals, a real state file.

SIGTERM stops polling, lets in-flight sends finish within `shutdown_grace` and exits 0, leaving the rest in
the outbox; SIGHUP with a broken rule file keeps the running rules (and says why), a fixed one is taken.
"""

from __future__ import annotations

import signal
from pathlib import Path

from notifier.store.records import DELIVERED, PENDING, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support import daemon as support
from tests.support.channels import sample_notification
from tests.support.daemon import CONSOLE
from tests.support.processes import Processes
from tests.support.receiver import Receiver
from tests.support.sim import START, Sim, StartSim

SECRET = "whsec_bGlmZWN5Y2xlLXRlc3Qtc2lnbmluZy1rZXk="
PUBLISH_COMPLETED = """
- name: publish-completed
  on: job.completed
  where: job.type == "ImageServingPublish"
  severity: info
  notify: [{channel: console}]
"""


def write_config(tmp_path: Path, sim: Sim, channels: str, rules: str | None = None, grace: str = "5s") -> Path:
    """The daemon polling every second, JSON logs at info; `rules` (YAML text) when given."""
    if rules is not None:
        (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    return support.write_config(
        tmp_path, sim.endpoint, interval="1s", poll="jitter: 0", rules="rules.yaml" if rules is not None else None,
        channels=channels, grace=grace, log="format: json, level: info",
    )  # fmt: skip


async def seed_outbox(path: Path, count: int) -> None:
    store = await SqliteStore.open(path)
    try:
        outgoing = [Outgoing(sample_notification(key=f"msg_{i:04d}"), (Destination("hook"),)) for i in range(count)]
        await store.commit(outgoing, [], [], START)
    finally:
        await store.close()


async def delivery_states(path: Path) -> dict[str, int]:
    store = await SqliteStore.open(path)
    try:
        stats = await store.stats()
    finally:
        await store.close()
    return {PENDING: stats.pending, DELIVERED: stats.delivered, "dead": stats.dead}


async def test_sigterm_finishes_in_flight_sends_and_exits_zero(
    start_sim: StartSim, tmp_path: Path, notifier_process: Processes, receiver: Receiver
) -> None:
    """On SIGTERM the sends in flight complete, the process exits 0 and undelivered rows stay pending."""
    sim = await start_sim("stall")
    receiver.delay = 0.5  # each delivery takes half a second
    hook = f'  hook: {{type: webhook, url: "{receiver.url()}", secret: "{SECRET}", concurrency: 2}}'
    config = write_config(tmp_path, sim, hook)
    await seed_outbox(tmp_path / "state.db", 20)
    daemon = await notifier_process.collected("run", "--config", str(config))
    await daemon.until(lambda: len(receiver.requests) >= 2, "the first deliveries to start")
    daemon.send(signal.SIGTERM)
    assert await daemon.exit_code() == 0
    states = await delivery_states(tmp_path / "state.db")
    assert states[DELIVERED] == len(receiver.answered) >= 2
    assert states[PENDING] == 20 - states[DELIVERED] > 0
    assert states["dead"] == 0
    assert any(entry.get("event") == "stopped" for entry in daemon.logs())
    assert not (tmp_path / "state.db.lock").exists(), "a clean exit removes the lock file"


async def test_sighup_with_a_broken_rule_file_keeps_the_running_rules(
    start_sim: StartSim, tmp_path: Path, notifier_process: Processes
) -> None:
    """A broken rule file on SIGHUP is reported with file:line and the old rules keep notifying; a fixed one loads."""
    sim = await start_sim("progress")
    config = write_config(tmp_path, sim, CONSOLE, rules=PUBLISH_COMPLETED)
    daemon = await notifier_process.collected("run", "--config", str(config))
    polled = sim.world.calls
    await daemon.until(lambda: sim.world.calls >= polled + 4, "the first polls")

    (tmp_path / "rules.yaml").write_text(PUBLISH_COMPLETED + "  wher: oops\n", encoding="utf-8")
    daemon.send(signal.SIGHUP)
    await daemon.until(lambda: any("reload failed" in e.get("event", "") for e in daemon.logs()), "the refusal")
    refusal = next(e for e in daemon.logs() if "reload failed" in e.get("event", ""))
    assert refusal["error"].startswith(f"{tmp_path / 'rules.yaml'}:7: ")

    sim.world.advance(45)  # "Product images" completes: the rule from before the failed reload must still fire
    await daemon.until(lambda: any('"publish-completed"' in line for line in daemon.out), "a notification")

    second = PUBLISH_COMPLETED + PUBLISH_COMPLETED.replace("publish-completed", "publish-completed-2")
    (tmp_path / "rules.yaml").write_text(second, encoding="utf-8")
    daemon.send(signal.SIGHUP)
    await daemon.until(lambda: any(e.get("event") == "reloaded" for e in daemon.logs()), "the reload")
    assert next(e for e in daemon.logs() if e.get("event") == "reloaded")["rules"] == 2
    daemon.send(signal.SIGTERM)
    assert await daemon.exit_code() == 0
