"""kill -9 at any moment loses no job ending: a restarted `notifier run` announces what ended while it was down.

Real processes on the simulator, whose time follows the wall clock here as a real IPS's would. The first
daemon is killed as its first poll begins, the second as soon as one of its polls is committed, long before
any periodic save could have happened; each restart must announce every ending it missed, once, in the job's own locale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from notifier.ips.simulator.scenarios import JobSpec
from notifier.ips.simulator.server import SERVICE_PATH, create_app, make_world
from notifier.ips.simulator.world import World
from tests.support import daemon as support
from tests.support.processes import Processes

RULES = """
- name: job-ended
  on: [job.completed, job.failed]
  severity: info
  notify: [{channel: console}]
"""
GUARD = 45.0  # seconds before a wait is a failure; a few on an idle machine
LOCALES = {"Katalog": "de-DE", "カタログ": "ja-JP", "Catalogue": "fr-FR"}


@pytest.fixture
async def live_sim() -> AsyncIterator[tuple[World, TestServer]]:
    """The stall scenario on simulated time that follows the wall clock, plus three stalled jobs in locales."""
    world = make_world("stall", speed=1.0, start=datetime.now(UTC))
    for name, locale in LOCALES.items():
        world.add_job(JobSpec("47", "ImageServingPublish", "stall", name, run=600, files=20, stall_files=5,
                              locale=locale))  # fmt: skip
    server = TestServer(create_app(world), host="127.0.0.1")
    await server.start_server()
    yield world, server
    await server.close()


def write_config(tmp_path: Path, server: TestServer) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    return support.write_config(
        tmp_path, str(server.make_url(SERVICE_PATH)), interval="1s", poll="jitter: 0", rules="rules.yaml",
        log="format: json, level: warning",
    )  # fmt: skip


async def start(spawn: Processes, config: Path, out: Path) -> asyncio.subprocess.Process:
    # Files, not pipes: nothing reads them while the daemon runs.
    with out.open("ab") as sink, out.with_suffix(".err").open("ab") as errors:
        return await spawn("run", "--config", str(config), stdout=sink, stderr=errors)


def endings(out: Path) -> dict[str, set[tuple[str, str]]]:
    """Each job whose ending was announced → the distinct notifications about it, as (created at, locale).

    One notification printed twice is the same (timestamp, locale): a daemon killed between sending it and
    recording that it was sent sends it again after the restart, as the outbox promises — never a second one.
    """
    found: dict[str, set[tuple[str, str]]] = {}
    complete = out.read_text(encoding="utf-8").split("\n")[:-1]  # a line still being written is not read yet
    for line in complete:
        if line.startswith("{"):
            body = json.loads(line)
            data = body["data"]
            found.setdefault(data["job"]["original_name"], set()).add((body["timestamp"], data["message"]["locale"]))
    return found


async def until(condition: Callable[[], bool], what: str, out: Path) -> None:
    try:
        async with asyncio.timeout(GUARD):
            while not condition():  # noqa: ASYNC110 - the simulator's counters and a file are plain state
                await asyncio.sleep(0.02)
    except TimeoutError:
        errors = out.with_suffix(".err").read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"timed out waiting for {what}; daemon stderr:\n{errors[-3000:]}")


def marked_locales(state: Path) -> set[str]:
    """The job locales the state file's committed poll mark holds (read-only, beside the running daemon)."""
    with contextlib.closing(sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT locales FROM poll_marks WHERE company = '47'").fetchone()
    return set(json.loads(row[0]).values()) if row else set()


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL


def finish(world: World, name: str) -> None:
    handle = next(j.job_handle for j in world.active_jobs("47", "en-US") if j.original_name == name)
    world.finish(handle or "", "failure")


@pytest.mark.timeout(4 * GUARD)  # three daemons start here; on a loaded machine each start takes seconds
async def test_endings_while_killed_are_announced_after_the_restart(
    live_sim: tuple[World, TestServer], tmp_path: Path, notifier_process: Processes
) -> None:
    """Killed as its first poll began, then killed once a poll of its next run was committed: every job that ended while
    a daemon was down is announced by the next one, by one notification (resent, never duplicated, if a kill
    came before its delivery was recorded), in the job's locale once a run saw it."""
    world, server = live_sim
    config, out = write_config(tmp_path, server), tmp_path / "out.jsonl"

    first = await start(notifier_process, config, out)
    await until(lambda: world.calls >= 1, "the first poll to begin", out)
    await kill(first)
    finish(world, "Supplier feed")  # ends while nothing runs: no run ever saw it, but the first had begun

    second = await start(notifier_process, config, out)
    await until(lambda: len(endings(out)) == 1, "the ending missed while down", out)
    await until(lambda: marked_locales(tmp_path / "state.db") >= set(LOCALES.values()), "a poll's mark", out)
    await kill(second)
    for name in LOCALES:
        finish(world, name)

    third = await start(notifier_process, config, out)
    await until(lambda: len(endings(out)) == 1 + len(LOCALES), "the endings missed while down", out)
    third.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(third.wait(), GUARD) == 0

    announced = endings(out)
    assert all(len(notifications) == 1 for notifications in announced.values()), announced
    assert {name: locale for name, [(_at, locale)] in announced.items()} == {"Supplier feed": "en-US", **LOCALES}
