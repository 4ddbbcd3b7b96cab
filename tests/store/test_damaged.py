"""A damaged state file: commands stop with one line an operator can act on, `check` finds it without writing,
and damage met while running makes the daemon not ready, logged once per back-off step and counted.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs

from notifier.app.daemon import Daemon
from notifier.cli import main
from notifier.config import load_config
from notifier.runtime.clock import ManualClock
from notifier.store.errors import StateFileError
from notifier.store.records import Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support import daemon as support
from tests.support.channels import sample_notification
from tests.support.processes import Processes
from tests.support.sim import START

GUARD = 45.0  # seconds before a wait on a real process is a failure; about one on an idle machine
SECRET = "whsec_ZGFtYWdlZC1zdGF0ZS1maWxlLXRlc3Qta2V5"
ADVICE = "move it aside to start fresh"


UNREACHABLE = "http://127.0.0.1:9"  # nothing answers there: no IPS call or delivery is meant to succeed


def write_config(folder: Path) -> Path:
    channels = f'  hook: {{type: webhook, url: "{UNREACHABLE}/hook", secret: "{SECRET}"}}'
    return support.write_config(folder, f"{UNREACHABLE}/ips", rules=None, channels=channels,
                                http='listen: "127.0.0.1:0"')  # fmt: skip


def state_line(config: Path) -> int:
    """The line of the config's `state:` setting."""
    return next(
        n for n, line in enumerate(config.read_text(encoding="utf-8").splitlines(), 1) if line.startswith("state:")
    )


async def seeded(path: Path, count: int = 300) -> None:
    """A state file holding `count` pending deliveries: its deliveries table spans many pages."""
    store = await SqliteStore.open(path)
    try:
        items = [Outgoing(sample_notification(key=f"msg_{i:04d}"), (Destination("hook"),)) for i in range(count)]
        await store.commit(items, [], [], START)
    finally:
        await store.close()


def random_header(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def damaged_page(path: Path, table: str = "deliveries") -> None:
    """Overwrite the root page of `table` (somewhere after the header and the schema) with garbage."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xa5" * size)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "random header": random_header,
    "truncated": truncated,
    "damaged page": damaged_page,
}


async def test_commands_on_a_damaged_state_file_end_at_once_with_one_line(
    tmp_path: Path, notifier_process: Processes
) -> None:
    """Real processes: `run` and `outbox list` on a damaged file exit 1 with one line naming the file and what
    to do, instead of hanging with the connection's thread alive."""
    cases = [(random_header, ["run"]), (truncated, ["outbox", "list"])]
    runs: list[asyncio.subprocess.Process] = []
    for n, (damage, command) in enumerate(cases):
        folder = tmp_path / str(n)
        folder.mkdir()
        config = write_config(folder)
        await seeded(folder / "state.db")
        damage(folder / "state.db")
        runs.append(await notifier_process(*command, "--config", str(config)))
    for proc in runs:
        _out, err = await asyncio.wait_for(proc.communicate(), GUARD)
        lines = err.decode().splitlines()
        assert proc.returncode == 1, lines
        assert len(lines) == 1, lines
        assert "state.db is not a valid database: " in lines[0]
        assert lines[0].endswith(ADVICE)


@pytest.mark.parametrize("damage", DAMAGE)
async def test_check_finds_a_damaged_state_file_without_writing_to_it(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`notifier check` reports the damage at the `state:` line, exits 1, and leaves the file byte for byte."""
    config = write_config(tmp_path)
    await seeded(tmp_path / "state.db")
    DAMAGE[damage](tmp_path / "state.db")
    before = (tmp_path / "state.db").read_bytes()
    assert main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"{config}:{state_line(config)}: state: state file {tmp_path / 'state.db'} is not a valid database: "
    )
    assert ADVICE in err
    assert (tmp_path / "state.db").read_bytes() == before


async def test_check_passes_a_sound_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sound state file, written by a previous run, passes `notifier check`."""
    config = write_config(tmp_path)
    await seeded(tmp_path / "state.db", count=3)
    assert main(["check", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == f"{config}: OK"


async def test_opening_a_file_sqlite_refuses_leaves_no_thread_behind(tmp_path: Path) -> None:
    """A file with SQLite's magic and garbage after it passes the header check but fails the first query: the
    store is refused and the connection's thread is gone, so the process can end."""
    path = tmp_path / "state.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(7, 250)) * 40)
    threads = threading.active_count()
    with pytest.raises(StateFileError, match="file is not a database"):
        await SqliteStore.open(path)
    async with asyncio.timeout(5):
        while threading.active_count() > threads:  # noqa: ASYNC110 - a thread ending has nothing to await
            await asyncio.sleep(0.01)


class Steps:
    """An injected sleep: each call is one back-off step, held until the test lets it end."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.taken = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.taken.set()
        await self.go.wait()
        self.go.clear()

    async def next(self) -> None:
        """Wait for the next step to begin."""
        self.taken.clear()
        self.go.set()
        await self.taken.wait()


async def test_a_page_damaged_while_running_makes_the_daemon_not_ready(tmp_path: Path) -> None:
    """The dispatcher meeting a damaged page waits it out with growing steps, logging it once per step; /readyz
    answers 503 naming the failing operation and /metrics shows the store down and its errors."""
    path = write_config(tmp_path)
    config = load_config(path)
    await seeded(config.state_location.path)
    damaged_page(config.state_location.path)
    steps = Steps()
    with capture_logs() as logs:
        async with Daemon.open(config, clock=ManualClock(START), polling=False, sleep=steps) as daemon:
            async with asyncio.timeout(10):
                await steps.taken.wait()
                for _ in range(2):
                    await steps.next()
            async with aiohttp.ClientSession() as session:
                async with session.get(daemon.window.url("/readyz")) as response:
                    assert response.status == 503
                    body = await response.json()
                async with session.get(daemon.window.url("/metrics")) as response:
                    metrics = await response.text()
                async with session.get(daemon.window.url("/status")) as response:
                    assert response.status == 200
    failures = [e for e in logs if e["event"] == "state store failed; deliveries wait"]
    assert [e["retry_in"] for e in failures] == steps.delays == [1.0, 2.0, 4.0]
    assert all("database disk image is malformed" in e["error"] for e in failures)
    [reason] = [r for r in body["reasons"] if r.startswith("state store is failing: ")]
    assert "claim_due failing for" in reason
    assert "database disk image is malformed" in reason
    assert "notifier_store_up 0.0" in metrics
    assert 'notifier_store_errors_total{operation="claim_due"} 3.0' in metrics
