"""One daemon per database file, however the path to it is spelled: a symlink, a hard link, `./` or `..` in it.

The lock sits on the database file itself, so every name of that file shares it; two daemons on one file
would otherwise send every notification twice, under different webhook-ids.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from notifier.store.errors import StateInUse
from notifier.store.sqlite.lock import exclusive
from tests.support import daemon as support
from tests.support.processes import Processes

GUARD = 45.0  # seconds before a wait on a real process is a failure; about one on an idle machine
SPELLINGS: dict[str, Callable[[Path], Path]] = {
    "a symlink to the file": lambda db: _link(db.parent.parent / "elsewhere" / "state.db", db),
    "a symlink to its folder": lambda db: _link(db.parent.parent / "alias", db.parent) / db.name,
    "a hard link": lambda db: _hard(db.parent.parent / "elsewhere" / "hard.db", db),
    "a path with .. in it": lambda db: db.parent / ".." / db.parent.name / "." / db.name,
}


def _link(link: Path, target: Path) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return link


def _hard(link: Path, target: Path) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.link(target, link)
    return link


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_name_of_the_database_file_shares_its_lock(tmp_path: Path, spelling: str) -> None:
    """Holding the lock through one name refuses it through any other name of the same file, naming the holder."""
    db = tmp_path / "main" / "state.db"
    db.parent.mkdir()
    with exclusive(db):
        other = SPELLINGS[spelling](db)
        with pytest.raises(StateInUse, match=rf"in use by another notifier \(pid {os.getpid()}\)"), exclusive(other):
            pass


def test_the_lock_is_released_with_its_holder(tmp_path: Path) -> None:
    """Once the first holder lets go, another name of the same file can take the lock."""
    db = tmp_path / "main" / "state.db"
    db.parent.mkdir()
    with exclusive(db):
        pass
    with exclusive(SPELLINGS["a symlink to the file"](db)):
        pass


def write_config(folder: Path, state: Path, ips_port: int) -> Path:
    """A daemon on the state file `state`, polling an IPS that refuses every connection."""
    folder.mkdir(parents=True, exist_ok=True)
    ips = f"http://127.0.0.1:{ips_port}/scene7/services/IpsApiService"
    return support.write_config(folder, ips, rules=None, state=f"sqlite:///{state}", log="format: json, level: info")


async def run_notifier(spawn: Processes, config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:  # a file, not a pipe: nobody reads the daemon's output while it runs
        return await spawn("run", "--config", str(config), stdout=sink, stderr=sink)


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


async def wait_for_line(log: Path, text: str, proc: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(GUARD):
        while text not in (output := await asyncio.to_thread(read, log)):
            assert proc.returncode is None, output
            await asyncio.sleep(0.02)


@pytest.mark.timeout(3 * GUARD)
async def test_a_second_daemon_through_a_symlink_is_refused(
    tmp_path: Path, notifier_process: Processes, refused: int
) -> None:
    """Real processes: while one daemon runs on a file, a daemon configured with a symlink to it exits 1 with
    one line naming the first one's pid, and the first keeps running."""
    db = tmp_path / "main" / "state.db"
    ips_port = refused
    first_log = tmp_path / "first.log"
    first = await run_notifier(notifier_process, write_config(tmp_path / "main", db, ips_port), first_log)
    try:
        await wait_for_line(first_log, '"started"', first)
        config = write_config(tmp_path / "second", SPELLINGS["a symlink to the file"](db), ips_port)
        second = await notifier_process("run", "--config", str(config))
        _out, err = await asyncio.wait_for(second.communicate(), GUARD)
        assert second.returncode == 1, err.decode()
        assert err.decode().splitlines() == [
            f"error: {tmp_path / 'elsewhere' / 'state.db'} is in use by another notifier (pid {first.pid})"
        ]
        assert first.returncode is None
    finally:
        first.terminate()
        assert await asyncio.wait_for(first.wait(), GUARD) == 0
