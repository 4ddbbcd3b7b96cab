"""Where the state lives, read from the `state:` setting: the one place outside a backend that knows which URLs
name a backend, so config validates `state:` (with its `file:line`) without knowing any backend itself.

`sqlite:///PATH` is a file relative to the config file, `sqlite:////ABSOLUTE/PATH` an absolute one; a bare
path means the same as `sqlite:///PATH`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from notifier.sources.paths import expand

SQLITE = "sqlite://"
DEFAULT_STATE = "sqlite:///notifier-state.db"
USAGE = "state must be sqlite:///PATH (relative to this file) or sqlite:////ABSOLUTE/PATH"


@dataclass(frozen=True, slots=True)
class StateLocation:
    """A parsed `state:` URL: the backend's scheme and, for a backend that keeps a file, that file."""

    url: str
    scheme: str
    path: Path

    def __str__(self) -> str:
        return self.url


def locate(value: str, base: Path) -> StateLocation:
    """The location `value` names, relative paths taken from `base`; `ValueError` says what to write instead."""
    if "://" in value and not value.startswith(SQLITE):
        raise ValueError(USAGE)
    path = value.removeprefix("sqlite:///") if value.startswith(SQLITE) else value
    if not path:
        raise ValueError("state needs a file name, e.g. sqlite:///notifier-state.db")
    file = base / expand(Path(path))
    return StateLocation("sqlite:///" + str(file), "sqlite", file)


def state_problem(location: StateLocation, *, thorough: bool = False) -> str | None:
    """Why the state at `location` cannot be used, found before a daemon starts on it: a file that could not be
    created or written, or a damaged database (its header; every page when `thorough`, read-only)."""
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
