"""A real PostgreSQL server for tests: made with `initdb` in a temporary directory, listening only on a unix
socket there (no port to race for), started with `pg_ctl` once per test process and stopped at its end.

Each test gets a database of its own (`database()`), so tests never see each other's rows. The server is
Debian's `postgresql` package (CI installs it); when its programs are missing the tests that need it fail and
say so, they are never skipped.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from notifier.store.location import StateLocation, locate
from notifier.store.postgres.store import PostgresStore

TEMPLATE = "notifier_template"
SERVER_USER = "postgres"  # initdb refuses root: a root test run starts the server as this user
DEBIAN_BIN = Path("/usr/lib/postgresql/15/bin")
SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",  # a test database need not survive power loss; what is asserted does not change
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class MissingPostgres(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def programs() -> Path:
    """The folder holding `initdb` and `pg_ctl` (Debian's versioned one, or wherever PATH finds them)."""
    if (DEBIAN_BIN / "initdb").exists():
        return DEBIAN_BIN
    found = shutil.which("initdb")
    if found is None:
        raise MissingPostgres("PostgreSQL server programs (initdb, pg_ctl) not found: apt-get install postgresql")
    return Path(found).parent


class PostgresServer:
    """A running server in `folder`, reached through its unix socket there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self._names = itertools.count(1)
        self._template = False

    def url(self, database: str) -> str:
        return f"postgresql://{SERVER_USER}@/{database}?host={self.folder}"

    async def database(self) -> StateLocation:
        """A new database on the server, its tables created (copied from a template made once: faster than
        creating them for every test) and empty."""
        if not self._template:
            await self._create(TEMPLATE)
            store = await PostgresStore.open(locate(self.url(TEMPLATE), Path("/")))
            await store.close()
            self._template = True
        name = f"test_{os.getpid()}_{next(self._names)}"
        await self._create(name, TEMPLATE)
        return locate(self.url(name), Path("/"))

    async def _create(self, name: str, template: str = "template0") -> None:
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()

    def stop(self, mode: str = "immediate") -> None:
        self._ctl("stop", "-m", mode)

    def start(self) -> None:
        options = " ".join(f"-c {key}={value}" for key, value in SETTINGS.items())
        self._ctl("start", "-w", "-l", str(self.folder / "server.log"),
                  "-o", f"{options} -c unix_socket_directories='{self.folder}'")  # fmt: skip

    def _ctl(self, *args: str) -> None:
        _as_server_user([str(programs() / "pg_ctl"), "-D", str(self.data), *args])


def _as_server_user(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh server for the block, its directory removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="notifier-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    folder.chmod(0o700)
    server = PostgresServer(folder)
    try:
        _as_server_user([str(programs() / "initdb"), "-D", str(server.data), "-A", "trust", "-U", SERVER_USER,
                         "-E", "UTF8", "--no-sync", "--no-instructions"])  # fmt: skip
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
