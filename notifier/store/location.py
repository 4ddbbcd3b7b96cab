"""Where the state lives, read from the `state:` setting: the one place outside a backend that knows which URLs
name a backend, so config validates `state:` (with its `file:line`) without knowing any backend itself.

`sqlite:///PATH` is a file relative to the config file, `sqlite:////ABSOLUTE/PATH` an absolute one; a bare
path means the same as `sqlite:///PATH`. `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]` (or
`postgres://…`) is a PostgreSQL database that several replicas share; its password may also come from
`state_password` (`state_password_file`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from notifier.sources.paths import expand

SQLITE = "sqlite://"
POSTGRESQL = ("postgresql://", "postgres://")
DEFAULT_STATE = "sqlite:///notifier-state.db"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
USAGE = (
    "state must be sqlite:///PATH (relative to this file), sqlite:////ABSOLUTE/PATH "
    "or postgresql://USER@HOST:PORT/DATABASE"
)


@dataclass(frozen=True, slots=True)
class StateLocation:
    """A parsed `state:` URL: the backend's scheme and, for a backend that keeps a file, that file; for a
    database server, the password given beside the URL (never part of `url` unless written there)."""

    url: str
    scheme: str
    path: Path = Path()
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.url

    @property
    def shared(self) -> bool:
        """Whether several daemons may work on this state at once (a database server, not a file)."""
        return self.scheme == "postgresql"


def locate(value: str, base: Path, password: str | None = None) -> StateLocation:
    """The location `value` names, relative paths taken from `base`; `ValueError` says what to write instead."""
    if value.startswith(POSTGRESQL):
        return _postgresql(value, password)
    if "://" in value and not value.startswith(SQLITE):
        raise ValueError(USAGE)
    path = value.removeprefix("sqlite:///") if value.startswith(SQLITE) else value
    if not path:
        raise ValueError("state needs a file name, e.g. sqlite:///notifier-state.db")
    file = base / expand(Path(path))
    return StateLocation("sqlite:///" + str(file), "sqlite", file)


def _postgresql(value: str, password: str | None) -> StateLocation:
    """A PostgreSQL URL, checked for what can be checked without connecting (never echoing a password)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("state: not a valid postgresql:// URL (postgresql://USER@HOST:PORT/DATABASE)") from None
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise ValueError("state needs a database name, e.g. postgresql://notifier@db.example.com/notifier")
    modes = [v for k, v in parse_qsl(parts.query) if k == "sslmode"]
    if modes and modes[-1] not in SSL_MODES:
        raise ValueError(f"state: sslmode must be one of {', '.join(SSL_MODES)}")
    if password is not None and parts.password is not None:
        raise ValueError("give the state password in the URL or as state_password, not both")
    url = "postgresql://" + value.split("://", 1)[1]
    return StateLocation(url, "postgresql", password=password)


def state_problem(location: StateLocation, *, thorough: bool = False) -> str | None:
    """Why the state at `location` cannot be used, found before a daemon starts on it: a file that could not be
    created or written, or a damaged database (its header; every page when `thorough`, read-only). A database
    server is asked when the daemon starts, not here."""
    if location.shared:
        return None
    from notifier.store.errors import StateFileError
    from notifier.store.sqlite.inspect import file_problem, header_problem

    problem = _unwritable(location.path)
    if problem is not None:
        return problem
    damage = file_problem(location.path) if thorough else header_problem(location.path)
    return None if damage is None else str(StateFileError(location.path, damage))


def _unwritable(path: Path) -> str | None:
    """Why the state file could not be created or written, found before the daemon tries to."""
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"{path} is not readable and writable"
    folder = path.parent
    if not folder.exists():
        # Not created on the fly: a typo or an unmounted volume would otherwise put the alert state and the
        # outbox somewhere nobody looks, and the next start (with the volume back) would begin empty.
        existing = next(parent for parent in folder.parents if parent.exists())
        if not existing.is_dir():
            return f"{existing} is not a directory"
        return f"the directory {folder} does not exist: create it, or point state: at an existing one"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"cannot create {path}: {folder} is not writable"
