"""One daemon per state file: a second `notifier run` on the same file would send every notification twice.

The lock is an advisory `flock` on `<state file>.lock`, held for the life of the process; the kernel drops it
when the process ends, however it ends, so a crash never leaves a stale lock behind. Operator commands
(`outbox`, `silence`) do not take it: they are meant to run beside the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class StateInUse(RuntimeError):
    """Another process holds the state file."""


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    path = state.with_name(state.name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateInUse(f"{state} is in use by another notifier (pid {_holder(fd)})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip() or "unknown"
    except OSError:
        return "unknown"
