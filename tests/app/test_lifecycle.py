"""The daemon as operators run it: a real process, real signals, a real state file.

SIGTERM stops polling, lets in-flight sends finish within `shutdown_grace` and exits 0, leaving the rest in
the outbox; SIGHUP with a broken rule file keeps the running rules (and says why), a fixed one is taken.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from notifier.store.records import DELIVERED, PENDING, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support import daemon as support
from tests.support.channels import sample_notification
from tests.support.daemon import CONSOLE
from tests.support.processes import collect_lines
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


class DaemonProcess:
    """`python -m notifier run` with its stdout and stderr collected line by line as they come."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", "run", "--config", str(self.config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._readers = [
            asyncio.create_task(collect_lines(self.proc.stdout, self.stdout)),
            asyncio.create_task(collect_lines(self.proc.stderr, self.stderr)),
        ]

    def send(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr if line.startswith("{")]

    async def wait_for(self, condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
        """Poll `condition` until it holds; fail with the process's output if it does not `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline or (self.proc is not None and self.proc.returncode is not None):
                tail = "\n".join(self.stderr[-20:])
                pytest.fail(f"timed out waiting for {what}; daemon stderr:\n{tail}")
            await asyncio.sleep(0.05)

    async def exit_code(self, within: float = 20.0) -> int:
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), within)
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@pytest.fixture
async def daemons() -> AsyncIterator[Callable[[Path], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def make(config: Path) -> DaemonProcess:
        process = DaemonProcess(config)
        started.append(process)
        return process

    yield make
    for process in started:
        await process.kill()


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
    start_sim: StartSim, tmp_path: Path, daemons: Callable[[Path], DaemonProcess], receiver: Receiver
) -> None:
    """On SIGTERM the sends in flight complete, the process exits 0 and undelivered rows stay pending."""
    sim = await start_sim("stall")
    receiver.delay = 0.5  # each delivery takes half a second
    hook = f'  hook: {{type: webhook, url: "{receiver.url()}", secret: "{SECRET}", concurrency: 2}}'
    config = write_config(tmp_path, sim, hook)
    await seed_outbox(tmp_path / "state.db", 20)
    daemon = daemons(config)
    await daemon.start()
    await daemon.wait_for(lambda: len(receiver.requests) >= 2, "the first deliveries to start")
    daemon.send(signal.SIGTERM)
    assert await daemon.exit_code() == 0
    states = await delivery_states(tmp_path / "state.db")
    assert states[DELIVERED] == len(receiver.answered) >= 2
    assert states[PENDING] == 20 - states[DELIVERED] > 0
    assert states["dead"] == 0
    assert any(entry.get("event") == "stopped" for entry in daemon.logs())
    assert not (tmp_path / "state.db.lock").exists(), "a clean exit removes the lock file"


async def test_sighup_with_a_broken_rule_file_keeps_the_running_rules(
    start_sim: StartSim, tmp_path: Path, daemons: Callable[[Path], DaemonProcess]
) -> None:
    """A broken rule file on SIGHUP is reported with file:line and the old rules keep notifying; a fixed one loads."""
    sim = await start_sim("progress")
    config = write_config(tmp_path, sim, CONSOLE, rules=PUBLISH_COMPLETED)
    daemon = daemons(config)
    await daemon.start()
    polled = sim.world.calls
    await daemon.wait_for(lambda: sim.world.calls >= polled + 4, "the first polls")

    (tmp_path / "rules.yaml").write_text(PUBLISH_COMPLETED + "  wher: oops\n", encoding="utf-8")
    daemon.send(signal.SIGHUP)
    await daemon.wait_for(lambda: any("reload failed" in e.get("event", "") for e in daemon.logs()), "the refusal")
    refusal = next(e for e in daemon.logs() if "reload failed" in e.get("event", ""))
    assert refusal["error"].startswith(f"{tmp_path / 'rules.yaml'}:7: ")

    sim.world.advance(45)  # "Product images" completes: the rule from before the failed reload must still fire
    await daemon.wait_for(lambda: any('"publish-completed"' in line for line in daemon.stdout), "a notification")

    second = PUBLISH_COMPLETED + PUBLISH_COMPLETED.replace("publish-completed", "publish-completed-2")
    (tmp_path / "rules.yaml").write_text(second, encoding="utf-8")
    daemon.send(signal.SIGHUP)
    await daemon.wait_for(lambda: any(e.get("event") == "reloaded" for e in daemon.logs()), "the reload")
    assert next(e for e in daemon.logs() if e.get("event") == "reloaded")["rules"] == 2
    daemon.send(signal.SIGTERM)
    assert await daemon.exit_code() == 0
