"""One daemon per state file: a second `notifier run` on the same file would send every notification twice.

The lock is an advisory `flock` on the database file itself, held for the life of the process. It belongs to
the file, not to the path that named it, so a symlink, a hard link or another spelling of the path finds it
taken; the kernel drops it when the process ends, however it ends, so a crash never leaves a stale lock.
(`flock` and SQLite's own POSIX locks do not interact on local file systems; the descriptor stays open
until the store is closed, as SQLite requires of other descriptors on its file.) Operator commands
(`outbox`, `silence`) do not take it: they are meant to run beside the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from notifier.store.errors import StateInUse


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    # An empty file is a valid empty database, so creating it here changes nothing for SQLite.
    fd = os.open(state, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateInUse(f"{state} is in use by another notifier (pid {holder(fd)})") from None
        yield
    finally:
        os.close(fd)


def holder(fd: int) -> str:
    """The pid holding a `flock` on the open file `fd`, from /proc/locks (Linux); "unknown" elsewhere."""
    st = os.fstat(fd)
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        fields = line.split()  # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2153452 0 EOF"
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == where:
            return fields[4]
    return "unknown"
